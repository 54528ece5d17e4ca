"""Orbax checkpoints of the training state, the data iterator and run metadata.

Each saved step holds `state` (params, batch stats, optimizer state, step, rng, EMA), `data`
(grain iterator state, one file per process) and `meta` (config, model name, parameter shapes,
eval metrics). Saves are atomic: Orbax writes `<step>.orbax-checkpoint-tmp-*` and renames it to
`<step>` only when every item is written, so a save interrupted by a kill is never listed or
restored (the training Checkpointer deletes such leftovers when it opens). The last `keep_last`
steps and the best `keep_best` by the configured metric are kept.

Only training opens a writable Checkpointer; evaluation and `predict` open it read-only, so they
never create, clean up or delete anything in a run directory (even one that is still training).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from typing import Any

import grain
import jax
import numpy as np
import orbax.checkpoint as ocp
from orbax.checkpoint.checkpoint_managers import AnyPreservationPolicy, BestN, LatestN

from instrax.errors import CheckpointError


def param_shapes(params: Any) -> dict[str, list[int]]:
  """{"/path/to/param": shape} of a parameter tree: the model's signature in `meta`."""
  flat = jax.tree_util.tree_flatten_with_path(params)[0]
  return {jax.tree_util.keystr(p): list(np.shape(v)) for p, v in flat}


def _quiet_read_only(record: logging.LogRecord) -> bool:
  return not record.getMessage().startswith("Given directory is read only")


TMP_MARK = ".orbax-checkpoint-tmp"


def remove_unfinished(directory: str) -> list[str]:
  """Deletes the half-written steps (`<step>.orbax-checkpoint-tmp-*`) a killed save left in
  `directory`, before anything opens it for writing; returns their names. Done here, at once,
  rather than left to Orbax's own cleanup, which may run in the background after the manager
  is created."""
  if not os.path.isdir(directory):
    return []
  names = sorted(n for n in os.listdir(directory) if TMP_MARK in n)
  for name in names:
    shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
  if names:
    logging.info("removed unfinished checkpoint(s) %s from %s", names, directory)
  return names


class Checkpointer:
  """A CheckpointManager over `<workdir>/checkpoints` with our save/restore conventions."""

  def __init__(self, directory: str, *, keep_last: int = 2, keep_best: int = 1,
               best_metric: str = "", best_mode: str = "max", async_save: bool = True,
               writable: bool = False):
    self.directory = os.path.abspath(directory)
    self.writable = writable
    self.best_metric, self.best_mode = best_metric, best_mode
    policies = [LatestN(max(keep_last, 1))]
    if best_metric and keep_best:
      policies.append(BestN(get_metric_fn=lambda m: m[best_metric], reverse=best_mode == "min",
                            n=keep_best, keep_checkpoints_without_metrics=False))
    options = ocp.CheckpointManagerOptions(
        preservation_policy=AnyPreservationPolicy(policies),
        enable_async_checkpointing=async_save, create=writable, read_only=not writable,
        cleanup_tmp_directories=writable, save_interval_steps=1 if writable else 0)
    if writable:
      remove_unfinished(self.directory)
    absl_log = logging.getLogger("absl")
    absl_log.addFilter(_quiet_read_only)  # Orbax warns on every read-only open; it is intended
    try:
      self.manager = ocp.CheckpointManager(self.directory, options=options,
                                           item_names=("state", "data", "meta"))
    finally:
      absl_log.removeFilter(_quiet_read_only)

  def save(self, step: int, state: Any, data_iterator: Any, meta: dict[str, Any],
           metrics: dict[str, float] | None = None) -> bool:
    """Saves `step` unless it is already saved (then False: a step is never overwritten)."""
    if step in self.steps():
      return False
    metrics = {k: float(v) for k, v in (metrics or {}).items()}
    usable = metrics if self.best_metric in metrics else None
    args = ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        data=grain.checkpoint.CheckpointSave(data_iterator),
        meta=ocp.args.JsonSave({**meta, "step": step, "metrics": metrics}))
    self.manager.save(step, args=args, metrics=usable, force=True)
    return True

  def steps(self) -> list[int]:
    return list(self.manager.all_steps())

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def meta(self, step: int) -> dict[str, Any]:
    path = os.path.join(self.directory, str(step), "meta", "metadata")
    if os.path.exists(path):
      with open(path) as f:
        return json.load(f)
    return dict(self.manager.restore(step, args=ocp.args.Composite(
        meta=ocp.args.JsonRestore()))["meta"])

  def best_step(self) -> int | None:
    """Step with the best `best_metric` among kept checkpoints (None if none has it)."""
    scored = [(m[self.best_metric], s) for s in self.steps()
              if self.best_metric in (m := self.meta(s).get("metrics", {}))]
    if not scored:
      return None
    pick = max if self.best_mode == "max" else min
    return pick(scored)[1]

  def resolve(self, which: str | int) -> int:
    """"latest", "best" or a step number → an existing step, else CheckpointError."""
    steps = self.steps()
    if not steps:
      raise CheckpointError(f"No checkpoint in {self.directory}: train first, or point "
                            "--workdir at a run that has one.")
    if which == "latest":
      return max(steps)
    if which == "best":
      step = self.best_step()
      if step is None:
        raise CheckpointError(f"No checkpoint in {self.directory} records {self.best_metric!r}; "
                              f"use --checkpoint=latest or one of {steps}.")
      return step
    try:
      step = int(which)
    except ValueError:
      raise CheckpointError(f"--checkpoint={which!r}: use latest, best or a step number (have "
                            f"{steps}).") from None
    if step not in steps:
      raise CheckpointError(f"No checkpoint at step {step} in {self.directory}; have {steps}.")
    return step

  def restore(self, step: int, abstract_state: Any, data_iterator: Any | None = None) -> Any:
    """Restores `state` (onto the shardings in `abstract_state`) and, if given, the iterator."""
    items = {"state": ocp.args.StandardRestore(abstract_state)}
    if data_iterator is not None:
      items["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
    try:
      return self.manager.restore(step, args=ocp.args.Composite(**items))["state"]
    except Exception as e:  # Orbax/grain/tensorstore raise many types; say what to do instead.
      raise CheckpointError(
          f"Could not restore step {step} from {self.directory} ({type(e).__name__}: {e}). "
          f"If that step is damaged, move {os.path.join(self.directory, str(step))} away to use "
          "the previous one, or train into a new --workdir.") from e

  def wait(self) -> None:
    self.manager.wait_until_finished()

  def close(self) -> None:
    self.manager.wait_until_finished()
    self.manager.close()
