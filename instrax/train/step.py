"""The jitted train and predict steps (pure functions of state and batch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from instrax.audio import augment
from instrax.train.state import TrainState


def make_train_step(model, model_inputs: Callable, task, tx: optax.GradientTransformation, *,
                    augment_cfg: dict[str, Any], compute_dtype=jnp.float32,
                    ema_decay: float = 0.0, frozen: Callable[[str], bool] | None = None):
  """`train_step(state, batch) -> (state, metrics)`; the caller jits it with shardings.

  `model_inputs(batch)` gives the model's input (array or dict; frontend applied). SpecAugment
  acts on the frontend features of each frontend input; mixup needs a lone input and array
  targets. `frozen(path)` marks sub-modules whose batch statistics stay fixed (their params are
  frozen by the optimizer's parameter groups).

  A batch whose loss or gradients are not finite leaves params/optimizer/EMA untouched (always:
  the state is never poisoned); `metrics["finite"]` tells the loop, which stops or continues per
  `train.on_nonfinite`.
  """

  def spec_augment(rng, x):
    return augment.spec_augment(
        rng, x, num_freq_masks=augment_cfg["freq_masks"],
        freq_mask_width=augment_cfg["freq_mask_width"],
        num_time_masks=augment_cfg["time_masks"],
        time_mask_width=augment_cfg["time_mask_width"])

  def loss_fn(params, state: TrainState, batch, rng):
    r_drop, r_spec, r_mix = jax.random.split(rng, 3)
    x = model_inputs(batch)
    targets, mask = batch["targets"], batch.get("mask")
    if augment_cfg.get("specaugment"):
      if isinstance(x, dict):
        keys = [k for k in task.frontend_inputs if k in x]
        x = {**x, **{k: spec_augment(r, x[k])
                     for k, r in zip(keys, jax.random.split(r_spec, max(len(keys), 1)))}}
      else:
        x = spec_augment(r_spec, x)
    if augment_cfg.get("mixup_alpha", 0.0) > 0:
      x, targets, mask = augment.mixup(r_mix, x, targets, augment_cfg["mixup_alpha"], mask=mask)
    batch = {**batch, "targets": targets}
    if mask is not None:
      batch["mask"] = mask
    variables = {"params": params}
    if state.batch_stats:
      variables["batch_stats"] = state.batch_stats
    outputs, updates = model.apply(variables, cast_floating(x, compute_dtype), train=True,
                                   rngs={"dropout": r_drop}, mutable=["batch_stats"])
    loss, aux = task.loss(cast_floating(outputs, jnp.float32), batch)
    return loss, (aux, updates.get("batch_stats", {}))

  def train_step(state: TrainState, batch):
    rng = jax.random.fold_in(state.key, state.step)
    (loss, (aux, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        state.params, state, batch, rng)
    if frozen is not None and state.batch_stats:
      batch_stats = keep_frozen(batch_stats, state.batch_stats, frozen)
    updates, opt_state = tx.update(grads, state.opt_state, state.params, value=loss)
    params = optax.apply_updates(state.params, updates)
    grad_norm = optax.global_norm(grads)  # NaN/Inf when any gradient entry is
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
    keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, old)
    ema = state.ema_params
    if ema:
      ema = jax.tree.map(lambda e, p: ema_decay * e + (1.0 - ema_decay) * p, ema, params)
    new_state = state.replace(
        step=state.step + 1, params=keep(params, state.params),
        batch_stats=keep(batch_stats, state.batch_stats),
        opt_state=keep(opt_state, state.opt_state), ema_params=keep(ema, state.ema_params),
        nonfinite=state.nonfinite + (~finite).astype(jnp.int32))
    metrics = {"loss": loss, "grad_norm": grad_norm, "finite": finite, **aux}
    return new_state, metrics

  return train_step


def make_predict_step(model, model_inputs: Callable, compute_dtype=jnp.float32):
  """`predict_step(state, inputs) -> float32 outputs` in inference mode (EMA params if kept).

  `inputs`: the dict of model inputs by name (a batch without targets).
  """

  def predict_step(state: TrainState, inputs: dict[str, jax.Array]):
    variables = {"params": state.eval_params()}
    if state.batch_stats:
      variables["batch_stats"] = state.batch_stats
    outputs = model.apply(variables, cast_floating(model_inputs(inputs), compute_dtype),
                          train=False)
    return cast_floating(outputs, jnp.float32)

  return predict_step


def cast_floating(tree: Any, dtype) -> Any:
  """Floating leaves → `dtype`; integer and bool leaves unchanged."""
  return jax.tree.map(
      lambda x: x.astype(dtype) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating) else x,
      tree)


def path_name(path) -> str:
  """A pytree path → 'module/sub/leaf' (dict keys joined by '/')."""
  return "/".join(str(getattr(k, "key", getattr(k, "name", k))) for k in path)


def keep_frozen(new: Any, old: Any, frozen: Callable[[str], bool]) -> Any:
  """`new` with the leaves whose path is `frozen` taken from `old` (frozen batch statistics)."""
  return jax.tree_util.tree_map_with_path(
      lambda p, n, o: o if frozen(path_name(p)) else n, new, old)
