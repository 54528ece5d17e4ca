"""The training loop: resume, step, log, evaluate, checkpoint, stop early or on preemption.

A relaunch on the same workdir resumes from the latest complete checkpoint and continues exactly as
an uninterrupted run would: the checkpoint holds the state (params, optimizer, RNG, step), the data
iterator's position, the early-stopping record and the losses of the unfinished logging window,
and metrics.jsonl is cut back to the restored step so it reads as one run.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import threading
import time
from typing import Any

import jax
import numpy as np

from instrax import evaluate as evaluate_lib
from instrax import records
from instrax.data import pipeline
from instrax.errors import CheckpointError, ConfigError, UserError
from instrax.experiment import Experiment
from instrax.train import checkpoints, lock, progress, sharding, transfer, writers

NONFINITE_POLICIES = ("stop", "skip")


class NonFiniteError(UserError):
  """Loss or gradients became NaN/Inf (with train.on_nonfinite=stop)."""


class Preempted(UserError):
  """SIGTERM received: a checkpoint was written at the current step; relaunch to resume."""


def make_checkpointer(exp: Experiment, workdir: str,
                      writable: bool = False) -> checkpoints.Checkpointer:
  """The run's Checkpointer: read-only (eval, predict) unless `writable` (training)."""
  t = exp.config.train
  return checkpoints.Checkpointer(
      f"{workdir}/checkpoints", keep_last=t.keep_last, keep_best=t.keep_best,
      best_metric=f"{exp.config.dataset.eval_split}/{t.best_metric}" if t.best_metric else "",
      best_mode=t.best_mode, async_save=t.async_checkpoints, writable=writable)


def check_compatible(exp: Experiment, meta: dict[str, Any], abstract_params: Any,
                     directory: str) -> None:
  """The checkpoint must hold the parameters of the configured model, else CheckpointError."""
  saved = meta.get("param_shapes", {})
  current = checkpoints.param_shapes(abstract_params)
  if meta.get("model") != exp.model_name or saved != current:
    diff = [(k, saved.get(k), current.get(k)) for k in sorted(set(saved) | set(current))
            if saved.get(k) != current.get(k)][:3]
    raise CheckpointError(
        f"{directory} holds a checkpoint of model {meta.get('model')!r} whose parameters do not "
        f"match the configured model {exp.model_name!r} (first differences (param, saved, "
        f"configured): {diff}). Nothing was overwritten. Use a new --workdir, or the config that "
        "trained this one.")


class _Stopper:
  """Early stopping on the best metric; its state is saved in checkpoint meta."""

  def __init__(self, patience: int, mode: str, state: dict[str, Any] | None = None):
    self.patience, self.mode = patience, mode
    state = state or {}
    self.best = state.get("best", -math.inf if mode == "max" else math.inf)
    self.bad = state.get("bad", 0)
    self.stopped = bool(state.get("stopped", False))

  def update(self, value: float | None) -> bool:
    """Records an evaluation; True when training should stop."""
    if value is None:
      return False
    better = value > self.best if self.mode == "max" else value < self.best
    self.best, self.bad = (value, 0) if better else (self.best, self.bad + 1)
    self.stopped = bool(self.patience) and self.bad >= self.patience
    return self.stopped

  def state(self) -> dict[str, Any]:
    return {"best": self.best, "bad": self.bad, "stopped": self.stopped}


class _Sigterm:
  """While entered, SIGTERM and SIGINT (Ctrl-C) set a flag instead of killing the process (main
  thread only): the loop checkpoints after the current step and exits. A second Ctrl-C
  interrupts at once."""

  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __enter__(self) -> _Sigterm:
    self.received, self._old = False, {}
    if threading.current_thread() is threading.main_thread():
      self._old = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
    return self

  def _handle(self, signum, frame) -> None:
    if self.received and signum == signal.SIGINT:
      raise KeyboardInterrupt
    logging.warning("%s: saving a checkpoint after the current step, then exiting",
                    signal.Signals(signum).name)
    self.received = True

  def agreed(self) -> bool:
    """True when any process got SIGTERM (a collective: all processes must call it together)."""
    if jax.process_count() == 1:
      return self.received
    from jax.experimental import multihost_utils

    return bool(np.max(multihost_utils.process_allgather(np.int32(self.received))))

  def __exit__(self, *_) -> None:
    for sig, old in self._old.items():
      signal.signal(sig, old)


def _restore(exp: Experiment, workdir: str, abstract: Any, iterator) -> tuple[Any, dict]:
  """(state, meta) of the latest checkpoint, restored into `iterator` too; (None, {}) if none.

  Read-only, so a checkpoint of another model is refused before anything in the workdir changes.
  """
  reader = make_checkpointer(exp, workdir)
  try:
    latest = reader.latest_step()
    if latest is None:
      return None, {}
    saved = reader.meta(latest)
    check_compatible(exp, saved, abstract.params, reader.directory)
    state = reader.restore(latest, abstract, iterator)
  finally:
    reader.close()
  logging.info("Resumed from %s at step %d", reader.directory, latest)
  return state, saved


def _trim_metrics(workdir: str, step: int) -> None:
  """Drops metrics.jsonl rows logged after `step` (and a line torn by a kill), so that a resumed
  run's file reads as one run. TensorBoard event files keep their rows (shown as duplicates)."""
  path = os.path.join(workdir, "metrics.jsonl")
  if jax.process_index() != 0 or not os.path.exists(path):
    return
  with open(path) as f:
    lines = f.readlines()
  keep = []
  for line in lines:
    try:
      row = json.loads(line)
    except json.JSONDecodeError:
      continue
    if row.get("step", 0) <= step:
      keep.append(line if line.endswith("\n") else line + "\n")
  if len(keep) < len(lines):
    logging.info("metrics.jsonl: dropped %d row(s) logged after step %d", len(lines) - len(keep),
                 step)
    with open(f"{path}.tmp", "w") as f:
      f.writelines(keep)
    os.replace(f"{path}.tmp", path)


def train(exp: Experiment, dataset, workdir: str, run_meta: dict[str, Any]):
  """Trains (resuming from the workdir's latest checkpoint); returns the final state.

  Holds the workdir's lock throughout: a second training process on it fails at once.
  """
  with lock.WorkdirLock(workdir):
    return _train(exp, dataset, workdir, run_meta)


def _train(exp: Experiment, dataset, workdir: str, run_meta: dict[str, Any]):
  cfg, t = exp.config, exp.config.train
  if t.on_nonfinite not in NONFINITE_POLICIES:
    raise ConfigError(f"train.on_nonfinite must be one of {NONFINITE_POLICIES}; "
                      f"got {t.on_nonfinite!r}")
  sharding.check_batch_size(t.batch_size, exp.mesh)
  ds = pipeline.train_dataset(
      dataset.source(cfg.dataset.train_split, exp.task.train_features()), exp.task.train_example,
      global_batch_size=t.batch_size, seed=cfg.seed, process_index=jax.process_index(),
      process_count=jax.process_count(), extra_examples=exp.task.extra_examples)
  iterator = pipeline.train_iterator(ds, read_threads=cfg.dataset.read_threads,
                                     num_workers=cfg.dataset.num_workers)
  abstract = exp.abstract_state()
  state, saved = _restore(exp, workdir, abstract, iterator)
  if state is None:
    state = exp.init_state()
    if cfg.get("init") and cfg.init.get("workdir"):
      state = transfer.initialise_from(exp, state, cfg.init.to_dict())
  step = int(state.step)
  stopper = _Stopper(t.early_stopping_patience, t.best_mode, saved.get("early_stopping"))
  log_losses: list[Any] = list(saved.get("log_window", []))
  writers.write_json(f"{workdir}/config.json",
                     {k: run_meta[k] for k in ("config", "data_format")})
  _trim_metrics(workdir, step)
  if stopper.stopped:
    logging.info("This run stopped early at step %d; nothing to train.", step)
    return state

  ckpt = make_checkpointer(exp, workdir, writable=True)
  meta = {**run_meta, "model": exp.model_name,
          "param_shapes": checkpoints.param_shapes(abstract.params)}
  eval_metric = f"{cfg.dataset.eval_split}/{t.best_metric}" if t.best_metric else ""
  writer = writers.MetricWriter(workdir, purge_step=step + 1 if step else None)
  bar = progress.bar(t.num_steps, initial=step, desc="train")
  pending = None  # (step, metrics) of the last dispatched update, checked one step late
  last_log = (time.time(), step)
  multiprocess = jax.process_count() > 1

  def check_pending() -> None:
    nonlocal pending
    if pending is not None:
      _check_finite(*pending, t.on_nonfinite, ckpt)
      pending = None

  def save(metrics: dict[str, float] | None = None) -> None:
    window = [float(x) for x in jax.device_get(log_losses)]
    ckpt.save(step, state, iterator,
              {**meta, "early_stopping": stopper.state(), "log_window": window}, metrics)

  try:
    with _Sigterm() as sigterm:
      while step < t.num_steps:
        batch = sharding.to_global(next(iterator), exp.mesh)
        state, m = exp.train_step(state, batch)
        check_pending()  # the previous update's, while this one computes
        step += 1
        pending = (step, m)
        log_losses.append(m["loss"])
        bar.update(1)
        is_log = step % t.log_every == 0 or step == t.num_steps
        is_eval = step == t.num_steps or bool(t.eval_every and step % t.eval_every == 0)
        is_ckpt = is_eval or step % t.checkpoint_every == 0
        _hold_for_tests(step, sigterm)
        if multiprocess:  # agree on SIGTERM only at steps where every process syncs anyway
          preempted = (is_log or is_ckpt) and sigterm.agreed()
        else:
          preempted = sigterm.received
        if is_log or is_ckpt or preempted:
          check_pending()  # nothing non-finite is ever logged as good, evaluated or saved
        if is_log:
          now = time.time()
          losses = np.asarray(jax.device_get(log_losses), np.float64)
          rate = (step - last_log[1]) / max(now - last_log[0], 1e-9)
          finite_losses = losses[np.isfinite(losses)]
          scalars = {"loss": float(finite_losses.mean()) if finite_losses.size else float("nan"),
                     "grad_norm": float(m["grad_norm"]),
                     "learning_rate": float(exp.lr_fn(step - 1)),
                     "steps_per_sec": rate, "examples_per_sec": rate * t.batch_size,
                     "nonfinite_batches": int(state.nonfinite)}
          writer.scalars(step, scalars, prefix="train/")
          bar.set_postfix(loss=f"{scalars['loss']:.4f}", lr=f"{scalars['learning_rate']:.2e}")
          log_losses, last_log = [], (now, step)
        metrics = None
        if is_eval:
          metrics, calibration, _ = evaluate_lib.evaluate(exp, state, dataset,
                                                          splits=(cfg.dataset.eval_split, ""))
          records.save_calibration(workdir, step, calibration)
          writer.scalars(step, metrics)
          logging.info("step %d: %s", step, {k: round(v, 4) for k, v in metrics.items()
                                             if k.count("/") == 1})
          if stopper.update(metrics.get(eval_metric)):
            logging.info("Early stopping at step %d: no improvement of %s in %d evaluations",
                         step, eval_metric, t.early_stopping_patience)
        if is_ckpt or preempted:
          save(metrics)
        if stopper.stopped:
          break
        if preempted:
          ckpt.wait()
          raise Preempted(f"Preempted (SIGTERM/Ctrl-C): checkpoint written at step {step}. "
                          "Relaunch the same command to resume from it.")
      check_pending()
  finally:
    bar.close()
    ckpt.close()
    writer.close()
  return state


def _hold_for_tests(step: int, sigterm: _Sigterm) -> None:
  """Fault-injection hook (tests/reliability): with INSTRAX_HOLD_AT_STEP=N, once update N is
  computed (before it is logged or saved) touch the file $INSTRAX_HOLD_MARK and wait, at most 10
  minutes, for SIGTERM or a kill, so a test signals the run at a known step. Unset: nothing."""
  if os.environ.get("INSTRAX_HOLD_AT_STEP") != str(step):
    return
  open(os.environ["INSTRAX_HOLD_MARK"], "w").close()
  deadline = time.time() + 600
  while not sigterm.received and time.time() < deadline:
    time.sleep(0.01)


def _check_finite(step: int, metrics: dict[str, Any], policy: str,
                  ckpt: checkpoints.Checkpointer) -> None:
  """Acts on a non-finite update `step` (1-based: the step it would have produced)."""
  if bool(metrics["finite"]):
    return
  if policy == "skip":
    logging.warning("step %d: non-finite loss/gradients; batch skipped (update not applied)", step)
    return
  ckpt.wait()
  last = ckpt.latest_step()
  raise NonFiniteError(
      f"Loss or gradients became NaN/Inf at step {step} (loss={float(metrics['loss'])}); the "
      f"update was not applied and training stopped. Last good checkpoint: "
      f"{'step ' + str(last) if last is not None else 'none'} (a relaunch resumes from it). Lower "
      "the learning rate, enable optimizer.grad_clip_norm, check the data, or set "
      "--config.train.on_nonfinite=skip to skip such batches.")
