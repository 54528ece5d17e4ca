"""Hyper-parameter sweeps as lists of {"config.a.b": value} dicts (the big_vision `get_hyper` API).

A config file may define `get_hyper(h)` beside `get_config`, e.g.

  def get_hyper(h):
    return h.product([h.sweep("config.schedule.learning_rate", [1e-3, 3e-3]),
                      h.sweep("config.seed", [0, 1])])

where `h` is this module. `python -m instrax.sweep` runs the result.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

Sweep = list[dict[str, Any]]


def sweep(name: str, values: Sequence[Any]) -> Sweep:
  """One axis: `name` takes each of `values`."""
  return [{name: v} for v in values]


def fixed(name: str, value: Any) -> Sweep:
  """A single setting, to combine with others."""
  return [{name: value}]


def product(sweeps: Sequence[Sweep]) -> Sweep:
  """Every combination of the given sweeps."""
  return [_merge(combo) for combo in itertools.product(*sweeps)]


def zipit(sweeps: Sequence[Sweep]) -> Sweep:
  """Settings taken together position by position (the sweeps must have equal lengths)."""
  lengths = {len(s) for s in sweeps}
  if len(lengths) > 1:
    raise ValueError(f"zipit needs sweeps of equal length, got {sorted(lengths)}")
  return [_merge(combo) for combo in zip(*sweeps)]


def chainit(sweeps: Sequence[Sweep]) -> Sweep:
  """One sweep after the other."""
  return [dict(s) for sw in sweeps for s in sw]


def _merge(dicts: Sequence[dict[str, Any]]) -> dict[str, Any]:
  out: dict[str, Any] = {}
  for d in dicts:
    clash = set(out) & set(d)
    if clash:
      raise ValueError(f"sweep sets {sorted(clash)} twice")
    out.update(d)
  return out


def to_flags(setting: dict[str, Any]) -> list[str]:
  """{"config.a.b": v} → ["--config.a.b=v"] for launch.py (tuples as Python tuple literals, their
  strings quoted, which is what ml_collections parses back into a tuple)."""
  flags = []
  for key, value in setting.items():
    if not key.startswith("config."):
      raise ValueError(f"sweep keys start with 'config.', got {key!r}")
    if isinstance(value, list | tuple):
      items = [repr(v) if isinstance(v, str) else str(v) for v in value]
      value = "(" + ",".join(items) + ("," if len(value) == 1 else "") + ")"
    flags.append(f"--{key}={value}")
  return flags


def run_name(index: int, setting: dict[str, Any]) -> str:
  """A readable, filesystem-safe name: 003-learning_rate=0.001-seed=1."""
  parts = [f"{k.rsplit('.', 1)[-1]}={v}" for k, v in setting.items()]
  safe = "".join(c if c.isalnum() or c in "=.-_," else "_" for c in "-".join(parts))
  return f"{index:03d}-{safe}"[:120]
