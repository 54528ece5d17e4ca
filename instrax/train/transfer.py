"""Starting a run from another run's weights (`config.init`): pretraining → downstream.

    config.init.workdir     the source run directory, or an exported folder such as a shipped
                            model's member (instrax/export.py: its parameters — the EMA where the
                            run kept one — and batch statistics); "" = start from scratch
    config.init.checkpoint  latest | best | STEP of the source run (ignored for an export)
    config.init.map         [[source path regex, target prefix], ...]: a source parameter whose
                            path ('module/sub/leaf', e.g. 'encoder/Conv_0/kernel') matches the
                            regex from its start has the matched part replaced by the prefix
                            (e.g. [['', 'unet/']] puts a separator's U-Net under 'unet/')
    config.init.exclude     [target path regex, ...] not to load (e.g. a classifier head)

Params and batch statistics are loaded by name, never by position: every mapped source leaf must
land on a target leaf of the same shape (else ConfigError), and the target leaves that receive
nothing keep their fresh initialisation (listed in the log). Only a run with no checkpoint of its
own is initialised; a relaunch resumes from its own checkpoint, not from the source.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

import jax
import jax.numpy as jnp
from flax import traverse_util

from instrax.errors import ConfigError


def _flat(tree: Any) -> dict[str, Any]:
  return {"/".join(k): v for k, v in traverse_util.flatten_dict(tree or {}).items()}


def _unflat(flat: dict[str, Any]) -> Any:
  return traverse_util.unflatten_dict({tuple(k.split("/")): v for k, v in flat.items()})


def map_paths(source: dict[str, Any], mapping: list[list[str]], exclude: list[str]
              ) -> dict[str, Any]:
  """Source leaves by path → target leaves by path (renamed per `mapping`, `exclude` dropped).

  With an empty mapping every path is kept as is; otherwise only paths matching a rule are kept
  (first matching rule wins).
  """
  rules = [(re.compile(str(r)), str(prefix)) for r, prefix in (mapping or [])]
  drops = [re.compile(str(r)) for r in (exclude or [])]
  out: dict[str, Any] = {}
  for path, value in source.items():
    target = path if not rules else None
    for pattern, prefix in rules:
      if m := pattern.match(path):
        target = prefix + path[m.end():]
        break
    if target is None or any(d.match(target) for d in drops):
      continue
    out[target] = value
  return out


def merge(target: Any, loaded: dict[str, Any], what: str) -> tuple[Any, list[str]]:
  """`target` tree with the leaves of `loaded` (by path) put in; returns (tree, paths loaded)."""
  flat = _flat(target)
  unknown = sorted(set(loaded) - set(flat))
  if unknown:
    raise ConfigError(f"config.init: {what} {unknown[:3]} of the source run have no counterpart in "
                      f"this model (its {what} start with {sorted(flat)[:3]}); adjust "
                      "config.init.map / config.init.exclude.")
  for path, value in loaded.items():
    if tuple(value.shape) != tuple(flat[path].shape):
      raise ConfigError(f"config.init: {what} {path!r} has shape {tuple(value.shape)} in the "
                        f"source run but {tuple(flat[path].shape)} here.")
    flat[path] = jnp.asarray(value, flat[path].dtype)
  return _unflat(flat), sorted(loaded)


def _source_state(workdir: str, checkpoint: str):
  """(state, step) of the source: a run's checkpoint (restored as `--mode=eval` would), or an
  exported folder's parameters and batch statistics (`instrax/export.py`; `checkpoint` is then
  ignored: an export holds one step, the one its export.json names)."""
  from instrax import ensemble, export, main
  from instrax.experiment import Experiment

  if ensemble.is_ensemble(workdir):
    raise ConfigError(f"config.init.workdir={workdir} is an ensemble: name one of its members "
                      f"(e.g. {os.path.join(workdir, 'member_0')})")
  src_config, src_format = main.load_workdir_config(workdir)
  source = Experiment(src_config, src_format)
  if export.is_export(workdir):
    return export.load_state(source, workdir), int(export.load_info(workdir)["step"])
  return main.restore_state(source, workdir, checkpoint)


def initialise_from(exp, state, init: dict[str, Any]):
  """`state` (fresh) with params and batch statistics loaded from `init['workdir']`."""
  src_state, step = _source_state(init["workdir"], str(init.get("checkpoint", "latest")))
  mapping, exclude = init.get("map", []), init.get("exclude", [])
  params, loaded = merge(state.params, map_paths(_flat(src_state.params), mapping, exclude),
                         "parameters")
  stats, _ = merge(state.batch_stats, map_paths(_flat(src_state.batch_stats), mapping, exclude),
                   "batch statistics")
  fresh = sorted(set(_flat(state.params)) - set(loaded))
  logging.info("Initialised %d parameter arrays from %s (step %d); %d kept their fresh init%s",
               len(loaded), init["workdir"], step, len(fresh),
               f" (e.g. {fresh[:3]})" if fresh else "")
  ema = jax.tree.map(jnp.copy, params) if state.ema_params else state.ema_params
  rep = jax.tree.leaves(state.params)[0].sharding
  params, stats, ema = jax.device_put((params, stats, ema), rep)
  return state.replace(params=params, batch_stats=stats, ema_params=ema)
