"""Optax optimizers and learning-rate schedules, chosen by name from the config."""

from __future__ import annotations

import math
import re
from typing import Any

import jax
import jax.numpy as jnp
import optax

from instrax.errors import ConfigError
from instrax.registry import Registry, build

OPTIMIZERS: Registry = Registry("optimizer")
SCHEDULES: Registry = Registry("schedule")


def _decay_mask(params: Any) -> Any:
  """Weight decay on kernels only (not biases, norms' scales or embeddings of rank 1)."""
  return jax.tree.map(lambda p: p.ndim > 1, params)


@OPTIMIZERS.register("adam")
def adam(learning_rate, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
  return optax.adam(learning_rate, b1=b1, b2=b2, eps=eps)


@OPTIMIZERS.register("adamw")
def adamw(learning_rate, weight_decay: float = 1e-4, b1: float = 0.9, b2: float = 0.999,
          eps: float = 1e-8):
  return optax.adamw(learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay,
                     mask=_decay_mask)


@OPTIMIZERS.register("sgd")
def sgd(learning_rate, momentum: float = 0.9, nesterov: bool = False):
  return optax.sgd(learning_rate, momentum=momentum or None, nesterov=nesterov)


def _warmup(schedule, learning_rate: float, warmup_steps: int):
  """`schedule` after a linear warmup from 0 over `warmup_steps`."""
  if not warmup_steps:
    return schedule
  return optax.join_schedules([optax.linear_schedule(0.0, learning_rate, warmup_steps),
                               schedule], [warmup_steps])


@SCHEDULES.register("constant")
def constant(learning_rate: float, num_steps: int, warmup_steps: int = 0):
  del num_steps
  return _warmup(optax.constant_schedule(learning_rate), learning_rate, warmup_steps)


@SCHEDULES.register("warmup_cosine")
def warmup_cosine(learning_rate: float, num_steps: int, warmup_steps: int = 0,
                  end_factor: float = 0.0):
  """Linear warmup from 0, then cosine decay to `end_factor`·lr at `num_steps`."""
  warmup_steps = min(warmup_steps, max(num_steps - 1, 0))
  return optax.warmup_cosine_decay_schedule(0.0, learning_rate, warmup_steps,
                                            max(num_steps, warmup_steps + 1),
                                            end_value=learning_rate * end_factor)


@SCHEDULES.register("cyclic_cosine")
def cyclic_cosine(learning_rate: float, num_steps: int, warmup_steps: int = 500,
                  period: int = 1000, decay: float = 0.975):
  """Seed 002's AdamWR: linear warmup, then cycles lr·decay^k·cos(π/2·s/(P−1)), s in [0, P)."""
  del num_steps

  def schedule(step):
    step = jnp.asarray(step, jnp.float32)
    warm = learning_rate * step / max(warmup_steps, 1)
    after = jnp.maximum(step - warmup_steps, 0.0)
    cycle, pos = jnp.floor(after / period), jnp.mod(after, period)
    cyc = learning_rate * decay**cycle * jnp.cos(0.5 * math.pi * pos / max(period - 1, 1))
    return jnp.where(step < warmup_steps, warm, cyc)

  return schedule


@SCHEDULES.register("step_decay")
def step_decay(learning_rate: float, num_steps: int, every: int = 15000, factor: float = 0.9,
               warmup_steps: int = 0):
  """lr·factor^⌊step/every⌋ (MSSPT: ×0.9 every 15k steps), after an optional linear warmup."""
  del num_steps
  decay = optax.exponential_decay(learning_rate, every, factor, staircase=True)
  return _warmup(decay, learning_rate, warmup_steps)


@SCHEDULES.register("reduce_on_plateau")
def reduce_on_plateau(learning_rate: float, num_steps: int, warmup_steps: int = 0):
  """Constant lr (after warmup) scaled down by optax's reduce-on-plateau on the training loss;
  its patience/factor are the optimizer block's `plateau_*` fields."""
  return constant(learning_rate, num_steps, warmup_steps)


def _groups(param_groups: Any) -> list[tuple[re.Pattern, float]]:
  """[[regex, lr multiplier], ...] → compiled (pattern, multiplier) pairs, checked."""
  out = []
  for entry in param_groups or ():
    if len(entry) != 2:
      raise ConfigError(f"optimizer.param_groups entries are [path regex, lr multiplier]; got "
                        f"{entry!r}")
    pattern, mult = entry
    try:
      out.append((re.compile(str(pattern)), float(mult)))
    except re.error as e:
      raise ConfigError(f"optimizer.param_groups: bad regex {pattern!r}: {e}") from e
    if out[-1][1] < 0:
      raise ConfigError(f"optimizer.param_groups: negative multiplier for {pattern!r}")
  return out


def group_of(path: str, groups: list[tuple[re.Pattern, float]]) -> int:
  """Index of the first group whose regex matches the start of `path` ('module/sub/kernel');
  len(groups) when none does (the default group, multiplier 1)."""
  for i, (pattern, _) in enumerate(groups):
    if pattern.match(path):
      return i
  return len(groups)


def frozen_predicate(param_groups: Any):
  """path → True when the path's group has multiplier 0 (None when no group is frozen)."""
  groups = _groups(param_groups)
  if not any(m == 0 for _, m in groups):
    return None
  return lambda path: (i := group_of(path, groups)) < len(groups) and groups[i][1] == 0


def _grouped(make_tx, groups: list[tuple[re.Pattern, float]]) -> optax.GradientTransformation:
  """`make_tx()` per parameter group, its updates scaled by the group's multiplier; multiplier 0
  freezes (no update, no weight decay). Groups are matched on 'module/sub/leaf' paths."""
  from instrax.train.step import path_name

  transforms = {str(len(groups)): make_tx()}
  for i, (_, mult) in enumerate(groups):
    transforms[str(i)] = (optax.set_to_zero() if mult == 0
                          else optax.chain(make_tx(), optax.scale(mult)))

  def labels(params):
    return jax.tree_util.tree_map_with_path(lambda p, _: str(group_of(path_name(p), groups)),
                                            params)

  return optax.multi_transform(transforms, labels)


def make(optimizer: dict[str, Any], schedule: dict[str, Any], num_steps: int):
  """(optax transformation, learning-rate schedule) from the config's two blocks.

  `optimizer.param_groups`: [[path regex, lr multiplier], ...] — parameters whose path
  ('module/sub/leaf', matched from its start) matches a regex get that group's multiplier (first
  match wins; 0 freezes them); the rest train at the schedule's rate. Gradient clipping is over
  all parameters, before the optimizer.
  """
  opt = dict(optimizer)
  name = opt.pop("name")
  clip = opt.pop("grad_clip_norm", 0.0)
  groups = _groups(opt.pop("param_groups", ()))
  plateau = {k[len("plateau_"):]: opt.pop(k) for k in list(opt) if k.startswith("plateau_")}
  sched = dict(schedule)
  lr_fn = build(SCHEDULES, sched.pop("name"), num_steps=num_steps, **sched)
  parts = []
  if clip:
    parts.append(optax.clip_by_global_norm(clip))
  make_tx = lambda: build(OPTIMIZERS, name, learning_rate=lr_fn, **opt)
  parts.append(_grouped(make_tx, groups) if groups else make_tx())
  if schedule["name"] == "reduce_on_plateau":
    parts.append(optax.contrib.reduce_on_plateau(**{"patience": 10, "factor": 0.5, **plateau}))
  return optax.chain(*parts), lr_fn
