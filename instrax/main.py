"""Runs an experiment: `run(config, workdir, mode)` for mode train | eval | train_and_eval.

What each number is (see `instrax/records.py` for the files):
- train_and_eval reports the test split scored by the checkpoint selected on validation
  (`train.best_metric`) when a best checkpoint is kept, else by the final state, and says which
  step; the final state's numbers are kept beside them, labelled "final/…".
- Each checkpoint's decoding parameters (thresholds) are tuned on validation for that step and
  stored per step; eval and predict use the calibration of the step they restore.
- `--mode=eval` writes under `<workdir>/eval/<tag>/`, never over the training run's record.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import jax
import ml_collections

from instrax import evaluate as evaluate_lib
from instrax import records
from instrax.data import sources
from instrax.errors import CheckpointError, ConfigError
from instrax.experiment import DataFormat, Experiment
from instrax.train import loop, writers

MODES = ("train", "eval", "train_and_eval")
#: config fields that may change between launches of one run (they do not change results):
#: where the data is, how it is read, how checkpoints are written and how many recent ones are kept.
RELAUNCH_FREE = ("data_dir", "dataset.num_workers", "dataset.read_threads",
                 "train.async_checkpoints", "train.keep_last")


def load_workdir_config(workdir: str) -> tuple[ml_collections.ConfigDict, DataFormat]:
  """The config and data format a workdir was trained with (its config.json)."""
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    raise CheckpointError(f"{path} not found: {workdir} is not an instrax run directory "
                          "(train into it first, or pass --config).")
  with open(path) as f:
    saved = json.load(f)
  return ml_collections.ConfigDict(saved["config"]), DataFormat(**saved["data_format"])


def restore_state(exp: Experiment, workdir: str, checkpoint: str = "latest"):
  """(state, step) of checkpoint `latest`/`best`/STEP of a run, checked against exp's model."""
  ckpt = loop.make_checkpointer(exp, workdir)
  try:
    step = ckpt.resolve(checkpoint)
    abstract = exp.abstract_state()
    loop.check_compatible(exp, ckpt.meta(step), abstract.params, ckpt.directory)
    return ckpt.restore(step, abstract), step
  finally:
    ckpt.close()


def best_step(exp: Experiment, workdir: str) -> int | None:
  """The kept checkpoint selected on validation, or None when the run keeps none."""
  t = exp.config.train
  if not (t.best_metric and t.keep_best):
    return None
  ckpt = loop.make_checkpointer(exp, workdir)
  try:
    return ckpt.best_step()
  finally:
    ckpt.close()


def _open_dataset(config: ml_collections.ConfigDict):
  """Opens the dataset; process 0 builds a missing embedded one while the others wait."""
  data_dir = config.data_dir or None
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils

    if jax.process_index() == 0:
      sources.load(config.dataset.name, data_dir)
    multihost_utils.sync_global_devices("dataset built")
  return sources.load(config.dataset.name, data_dir)


def validate(config: ml_collections.ConfigDict, dataset, exp: Experiment, mode: str) -> None:
  """Split and metric names checked before anything is written (ConfigError naming valid ones)."""
  splits = sorted(dataset.builder.info.splits)
  needed = [("dataset.eval_split", config.dataset.eval_split)]
  if mode != "eval":
    needed.append(("dataset.train_split", config.dataset.train_split))
  if config.dataset.test_split:
    needed.append(("dataset.test_split", config.dataset.test_split))
  for field, name in needed:
    if name not in splits:
      raise ConfigError(f"{field}={name!r} is not a split of {config.dataset.name}; its splits: "
                        f"{', '.join(splits)}" + (" (test_split='' skips the test split)"
                                                  if field == "dataset.test_split" else ""))
  names = exp.task.metric_names()
  metric = config.train.best_metric
  if metric and names is not None and metric not in names:
    raise ConfigError(f"train.best_metric={metric!r} is not a metric of task "
                      f"{config.task.name!r}; choose one of: {', '.join(names)} (or '' to keep no "
                      "best checkpoint)")


def check_relaunch(config: ml_collections.ConfigDict, exp: Experiment, workdir: str,
                   allow_config_change: bool) -> None:
  """A relaunch on a run with checkpoints must use the run's config (unless allowed)."""
  path = os.path.join(workdir, "config.json")
  if allow_config_change or not os.path.exists(path):
    return
  ckpt = loop.make_checkpointer(exp, workdir)
  try:
    if ckpt.latest_step() is None:
      return
  finally:
    ckpt.close()
  with open(path) as f:
    saved = json.load(f)["config"]
  diff = records.config_differences(saved, config.to_dict(), RELAUNCH_FREE)
  if diff:
    shown = "; ".join(f"{k}: {a!r} → {b!r}" for k, a, b in diff[:6])
    raise ConfigError(
        f"{workdir} holds a run trained with another config ({len(diff)} field(s) differ: "
        f"{shown}). Nothing was changed. Use a new --workdir, relaunch with the run's config, or "
        "pass --allow_config_change to continue this run with the new values.")


def run(config: ml_collections.ConfigDict | None, workdir: str, mode: str = "train_and_eval",
        checkpoint: str = "latest", allow_config_change: bool = False) -> dict[str, float]:
  """Trains and/or evaluates; returns the reported results (empty for mode=train)."""
  if mode not in MODES:
    raise ConfigError(f"--mode must be one of {', '.join(MODES)}; got {mode!r}")
  workdir = os.path.abspath(workdir)
  if config is None:
    config, _ = load_workdir_config(workdir)
  dataset = _open_dataset(config)
  exp = Experiment(config, DataFormat.from_dataset(dataset))
  validate(config, dataset, exp, mode)
  logging.info("devices: %d (%s), processes: %d", jax.device_count(),
               jax.devices()[0].platform, jax.process_count())
  if mode == "eval":
    return _evaluate_checkpoint(config, exp, dataset, workdir, checkpoint)
  check_relaunch(config, exp, workdir, allow_config_change)
  run_meta = {"config": config.to_dict(), "data_format": exp.data_format.__dict__}
  state = loop.train(exp, dataset, workdir, run_meta)
  if mode == "train":
    return {}
  return _final_report(config, exp, dataset, workdir, state)


def _evaluate(exp: Experiment, state, dataset, workdir: str, step: int):
  """(results, calibration, extras) of a state, with the calibration stored for its step (tuned
  on validation and saved when missing)."""
  calibration = records.load_calibration(workdir, step)
  if calibration is None:
    logging.warning("no calibration stored for step %d: tuning it on %s now", step,
                    exp.config.dataset.eval_split)
  results, calibration, extras = evaluate_lib.evaluate(exp, state, dataset,
                                                       calibration=calibration, oracle=True)
  records.save_calibration(workdir, step, calibration)
  return results, calibration, extras


def _split_metrics(results: dict[str, float], split: str) -> dict[str, float]:
  prefix = f"{split}/"
  return {k[len(prefix):]: v for k, v in results.items()
          if k.startswith(prefix) and not k.startswith(f"{prefix}oracle/")}


def _oracle(results: dict[str, float], split: str) -> dict[str, float]:
  prefix = f"{split}/oracle/"
  return {k: v for k, v in results.items() if k.startswith(prefix) and k.count("/") == 2}


def _final_report(config, exp: Experiment, dataset, workdir: str, state) -> dict[str, float]:
  final_step = int(state.step)
  final, _, final_extras = _evaluate(exp, state, dataset, workdir, final_step)
  chosen = best_step(exp, workdir)
  if chosen is not None and chosen != final_step:
    best_state, _ = restore_state(exp, workdir, str(chosen))
    results, _, extras = _evaluate(exp, best_state, dataset, workdir, chosen)
    record = {"step": chosen, "checkpoint": "best",
              "selected_on": f"{config.dataset.eval_split}/{config.train.best_metric}",
              "final/step": final_step}
    results = {**results, **{f"final/{k}": v for k, v in final.items()}}
  else:
    results, extras = final, final_extras
    record = {"step": final_step, "checkpoint": "best" if chosen is not None else "final"}
  title = (f"Evaluation at step {record['step']} ({record['checkpoint']} checkpoint"
           + (f", selected on {record['selected_on']})" if "selected_on" in record else ")"))
  return _write_report(config, exp, workdir, record, results, extras, title,
                       records.headline(final) if "final/step" in record else None)


def _evaluate_checkpoint(config, exp: Experiment, dataset, workdir: str,
                         checkpoint: str) -> dict[str, float]:
  """--mode=eval: scores a saved checkpoint into <workdir>/eval/<tag>/ (its own record)."""
  state, step = restore_state(exp, workdir, checkpoint)
  saved, _ = load_workdir_config(workdir)
  diff = records.config_differences(saved.to_dict(), config.to_dict(), RELAUNCH_FREE)
  out_dir = records.eval_dir(workdir, step, diff)
  stored = records.load_calibration(workdir, step) if not diff else None
  if stored is None:
    logging.warning("calibrating step %d on %s%s", step, config.dataset.eval_split,
                    " (config differs from the run's)" if diff else " (none stored)")
  results, calibration, extras = evaluate_lib.evaluate(exp, state, dataset,
                                                       calibration=stored, oracle=True)
  if stored is None and not diff:  # the run's own decoding, missing so far: store it
    records.save_calibration(workdir, step, calibration)
  writers.write_json(os.path.join(out_dir, "calibration.json"), calibration)
  writers.write_json(os.path.join(out_dir, "config_differences.json"),
                     {"checkpoint": checkpoint, "step": step,
                      "differences": [{"field": k, "run": a, "eval": b} for k, a, b in diff],
                      "config": config.to_dict()})
  record = {"step": step, "checkpoint": checkpoint}
  title = f"Evaluation of checkpoint {checkpoint} (step {step})" + (
      f" with {len(diff)} changed config field(s)" if diff else "")
  return _write_report(config, exp, out_dir, record, results, extras, title, None,
                       run_dir=workdir)


def _write_report(config, exp: Experiment, out_dir: str, record: dict[str, Any],
                  results: dict[str, float], extras: dict[str, Any], title: str,
                  final: dict[str, float] | None, run_dir: str | None = None
                  ) -> dict[str, float]:
  """Writes the record into `out_dir` (the run directory, or its eval/<tag>/ folder for
  `run_dir`) and prints the report."""
  run_dir = run_dir or out_dir
  step = int(record["step"])
  records.write_results(out_dir, record, results)
  writer = writers.MetricWriter(out_dir)
  records.write_extras(out_dir, step, extras, writer)
  writer.scalars(step, {k: v for k, v in results.items() if not k.startswith("final/")})
  writer.hparams(records.flat(config.to_dict()), records.headline(results))
  writer.close()
  test = config.dataset.test_split
  test_metrics = _split_metrics(results, test) if test else {}
  reference = config.reference_numbers.to_dict() if "reference_numbers" in config else None
  table = records.format_report(title, results, exp.task.table(test_metrics) if test_metrics
                                else "", reference, final, _oracle(results, test) if test else None)
  if jax.process_index() == 0:
    python = os.path.relpath(sys.executable) if sys.executable else "python"
    tensorboard = os.path.join(os.path.dirname(python), "tensorboard")
    print(table)
    print(f"\nRecord: {os.path.join(out_dir, 'results.json')}\n"
          f"  TensorBoard:  {tensorboard} --logdir {run_dir}\n"
          f"  Re-evaluate:  {python} launch.py --workdir={run_dir} --mode=eval "
          "[--checkpoint=latest|best|STEP] [--config.task.FIELD=VALUE]\n"
          f"  Predict:      {python} -m instrax.predict --workdir={run_dir} FILE...")
  return results
