"""The train step's arithmetic on a known model and batch, with hand-computed expectations.

Model: y = x·W (one Dense unit, no bias), loss ½·mean((y − t)²). With W = (1, 2), x = (1, 1),
t = 0: y = 3, loss = 4.5, ∂loss/∂W = (y − t)·x = (3, 3).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from instrax.train import optim
from instrax.train import state as state_lib
from instrax.train import step as step_lib

W0 = np.array([[1.0], [2.0]], np.float32)
BATCH = {"audio": np.array([[1.0, 1.0]], np.float32), "targets": np.zeros((1, 1), np.float32)}


def _audio(batch):
  """The model input of a batch (`Experiment.model_inputs` with an identity frontend)."""
  return batch["audio"]


class _Linear(nn.Module):
  dtype: jnp.dtype | None = None  # compute dtype of the layer (None: promote from the inputs)

  @nn.compact
  def __call__(self, x, train: bool):
    del train
    return nn.Dense(1, use_bias=False, dtype=self.dtype)(x.reshape(x.shape[0], -1))


class _Squared:
  """A task whose loss is ½·mean((y − t)²), optionally with a `transform` of that loss."""

  input_key = "audio"
  frontend_inputs = ("audio",)

  def __init__(self, transform=None):
    self.transform = transform

  def loss(self, outputs, batch):
    assert outputs.dtype == jnp.float32, outputs.dtype  # the step casts model outputs
    loss = 0.5 * jnp.mean((outputs - batch["targets"]) ** 2)
    if self.transform is not None:
      loss = self.transform(outputs, loss)
    return loss, {}


def _setup(optimizer: dict, lr: float = 0.1, ema_decay: float = 0.0, task=None,
           augment_cfg: dict | None = None, compute_dtype=jnp.float32, w0=W0, model=None,
           schedule: dict | None = None):
  tx, _ = optim.make(optimizer, schedule or {"name": "constant", "learning_rate": lr}, 100)
  state = state_lib.create({"params": {"Dense_0": {"kernel": jnp.asarray(w0)}}}, tx,
                           jax.random.key(0), ema=ema_decay > 0)
  step = step_lib.make_train_step(model or _Linear(), _audio, task or _Squared(), tx,
                                  augment_cfg=augment_cfg or {}, compute_dtype=compute_dtype,
                                  ema_decay=ema_decay)
  return state, jax.jit(step)


def _kernel(params) -> np.ndarray:
  return np.asarray(params["Dense_0"]["kernel"])


def _loss(w: np.ndarray) -> float:
  return 0.5 * float((BATCH["audio"] @ w)[0, 0]) ** 2


def test_sgd_step_applies_exactly_minus_lr_times_gradient_and_lowers_the_loss():
  state, step = _setup({"name": "sgd", "momentum": 0.0})
  new, m = step(state, BATCH)
  assert float(m["loss"]) == pytest.approx(4.5, rel=1e-6)
  assert float(m["grad_norm"]) == pytest.approx(np.sqrt(18.0), rel=1e-6)
  assert bool(m["finite"])
  np.testing.assert_allclose(_kernel(new.params), [[0.7], [1.7]], rtol=1e-6)  # W − 0.1·(3, 3)
  assert int(new.step) == 1 and int(new.nonfinite) == 0
  again, m2 = step(new, BATCH)
  assert float(m2["loss"]) == pytest.approx(0.5 * 2.4**2, rel=1e-6)  # 2.88 < 4.5
  assert float(m2["loss"]) < float(m["loss"])
  np.testing.assert_allclose(_kernel(again.params), [[0.46], [1.46]], rtol=1e-6)


def test_adamw_step_is_the_documented_first_adam_update_plus_decoupled_decay():
  # Adam's first step: m̂ = g, v̂ = g², update = −lr·(g/(|g| + eps) + wd·W) (AdamW, decay on
  # kernels). g = 3, eps = 1e-8, lr = 0.01, wd = 0.1.
  state, step = _setup({"name": "adamw", "weight_decay": 0.1}, lr=0.01)
  new, _ = step(state, BATCH)
  expected = W0 - 0.01 * (3.0 / (3.0 + 1e-8) + 0.1 * W0)
  np.testing.assert_allclose(_kernel(new.params), expected, rtol=1e-6)  # (0.989, 1.988)
  assert _loss(_kernel(new.params)) < 4.5


def test_ema_is_decay_times_ema_plus_rest_times_new_params():
  state, step = _setup({"name": "sgd", "momentum": 0.0}, ema_decay=0.9)
  np.testing.assert_array_equal(_kernel(state.ema_params), W0)
  new, _ = step(state, BATCH)
  np.testing.assert_allclose(_kernel(new.ema_params), 0.9 * W0 + 0.1 * np.array([[0.7], [1.7]]),
                             rtol=1e-6)  # (0.97, 1.97)
  assert not np.allclose(_kernel(new.ema_params), _kernel(new.params))
  assert new.eval_params() is new.ema_params


@pytest.mark.parametrize("what, transform", [
    # ½·sqrt(Σy²) at y = 0: the loss is 0 (finite) but its gradient is 0·∞ = NaN.
    ("grads", lambda y, loss: 0.5 * jnp.sqrt(jnp.sum(y**2))),
    # a non-finite constant added to the loss: gradients stay finite.
    ("loss", lambda y, loss: loss + jax.lax.stop_gradient(jnp.inf)),
])
def test_nonfinite_loss_or_gradients_leave_the_state_untouched(what, transform):
  w0 = np.zeros((2, 1), np.float32)
  state, step = _setup({"name": "sgd", "momentum": 0.9}, ema_decay=0.5, task=_Squared(transform),
                       w0=w0)
  new, m = step(state, BATCH)
  if what == "grads":
    assert float(m["loss"]) == 0.0 and not np.isfinite(float(m["grad_norm"]))
  else:
    assert not np.isfinite(float(m["loss"])) and np.isfinite(float(m["grad_norm"]))
  assert not bool(m["finite"])
  assert int(new.step) == 1 and int(new.nonfinite) == 1
  for a, b in zip(jax.tree.leaves((new.params, new.opt_state, new.ema_params)),
                  jax.tree.leaves((state.params, state.opt_state, state.ema_params))):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_clipping_comes_before_adamw():
  # g = (3e6, 4e6), |g| = 5e6, clipped to norm 5e-8: (3e-8, 4e-8). Adam's first step on the
  # clipped gradient: −lr·g_c/(|g_c| + eps) with eps = 1e-8 → −lr·(0.75, 0.8); unclipped it would
  # be ≈ −lr·(1, 1), and clipping after Adam would give an update of norm 5e-8. W = 0: no decay.
  tx, _ = optim.make({"name": "adamw", "grad_clip_norm": 5e-8},
                     {"name": "constant", "learning_rate": 0.1}, 10)
  params = {"kernel": jnp.zeros((2, 1))}
  updates, _ = tx.update({"kernel": jnp.array([[3e6], [4e6]])}, tx.init(params), params)
  np.testing.assert_allclose(np.asarray(updates["kernel"]), [[-0.075], [-0.08]], rtol=1e-5)


def test_clipped_sgd_update_norm_is_lr_times_the_clip_norm():
  # SGD lr 0.1 after clipping to norm 1: |update| = 0.1·1 (clipping after SGD would give 1).
  tx, _ = optim.make({"name": "sgd", "momentum": 0.0, "grad_clip_norm": 1.0},
                     {"name": "constant", "learning_rate": 0.1}, 10)
  params = {"kernel": jnp.zeros((2, 1))}
  grads = {"kernel": jnp.array([[30.0], [40.0]])}
  updates, _ = tx.update(grads, tx.init(params), params)
  np.testing.assert_allclose(np.asarray(updates["kernel"]), [[-0.06], [-0.08]], rtol=1e-6)
  small = {"kernel": jnp.array([[0.3], [0.4]])}  # |g| = 0.5 < 1: not clipped
  updates, _ = tx.update(small, tx.init(params), params)
  np.testing.assert_allclose(np.asarray(updates["kernel"]), [[-0.03], [-0.04]], rtol=1e-6)


def test_bfloat16_compute_rounds_the_model_input():
  # x = 1 + 2⁻⁹ is not a bfloat16 (8 significant bits): rounded to 1, y = 3 and loss = 4.5;
  # in float32 y = 3 + 2⁻⁹.
  batch = {**BATCH, "audio": np.array([[1.0 + 2.0**-9, 1.0]], np.float32)}
  _, step32 = _setup({"name": "sgd", "momentum": 0.0})
  state, step16 = _setup({"name": "sgd", "momentum": 0.0}, compute_dtype=jnp.bfloat16,
                         model=_Linear(dtype=jnp.bfloat16))  # bf16 outputs, cast for the loss
  assert float(step16(state, batch)[1]["loss"]) == 4.5
  assert float(step32(state, batch)[1]["loss"]) == pytest.approx(0.5 * (3 + 2.0**-9) ** 2,
                                                                 rel=1e-7)


SPEC = {"specaugment": True, "freq_masks": 1, "freq_mask_width": 1, "time_masks": 1,
        "time_mask_width": 1}


@pytest.mark.parametrize("augment_cfg", [SPEC, {"mixup_alpha": 1.0}])
def test_augmentation_changes_what_the_model_sees(augment_cfg):
  # Two different examples of 2×2 "features" (B, C=1, F=2, T=2): SpecAugment replaces cells by the
  # example mean, mixup blends the two examples (and their targets).
  x = np.array([[[[1.0, 2.0], [3.0, 4.0]]], [[[-5.0, 0.5], [2.0, 7.0]]]], np.float32)
  batch = {"audio": x, "targets": np.array([[1.0], [0.0]], np.float32)}
  w0 = np.array([[1.0], [-1.0], [0.5], [2.0]], np.float32)
  state, plain = _setup({"name": "sgd", "momentum": 0.0}, w0=w0)
  _, augmented = _setup({"name": "sgd", "momentum": 0.0}, w0=w0, augment_cfg=augment_cfg)
  base = 0.5 * np.mean((x.reshape(2, 4) @ w0 - batch["targets"]) ** 2)
  assert float(plain(state, batch)[1]["loss"]) == pytest.approx(base, rel=1e-6)
  losses = {float(augmented(state.replace(rng=jax.random.key_data(jax.random.key(s))), batch)[1]
                  ["loss"]) for s in range(12)}
  # (a draw may change nothing: a width-0 mask, mixup pairing each example with itself)
  assert any(abs(v - base) > 1e-3 for v in losses) and len(losses) > 1


def test_predict_step_uses_the_ema_params_when_kept():
  state, step = _setup({"name": "sgd", "momentum": 0.0}, ema_decay=0.9)
  state, _ = step(state, BATCH)  # params (0.7, 1.7), EMA (0.97, 1.97)
  predict = step_lib.make_predict_step(_Linear(), _audio)
  x = np.array([[1.0, 10.0]], np.float32)
  out = predict(state, {"audio": x})
  assert out.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(out), [[0.97 + 19.7]], rtol=1e-6)
  plain, _ = _setup({"name": "sgd", "momentum": 0.0})
  np.testing.assert_allclose(np.asarray(predict(plain, {"audio": x})), [[1.0 + 20.0]],
                             rtol=1e-6)


def test_adam_state_advances_with_the_first_moment_of_the_gradient():
  state, step = _setup({"name": "adam"}, lr=0.01)
  new, _ = step(state, BATCH)
  adam = new.opt_state[0][0]  # chain(adam) → (ScaleByAdamState, ...)
  assert int(adam.count) == 1
  np.testing.assert_allclose(np.asarray(adam.mu["Dense_0"]["kernel"]), [[0.3], [0.3]],
                             rtol=1e-6)  # (1 − β1)·g = 0.1·3
  np.testing.assert_allclose(np.asarray(adam.nu["Dense_0"]["kernel"]), [[0.009], [0.009]],
                             rtol=1e-5)  # (1 − β2)·g² = 0.001·9


class _Norm(nn.Module):
  """BatchNorm (momentum 0.9) then a Dense: the step must run it in training mode."""

  @nn.compact
  def __call__(self, x, train: bool):
    x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x.reshape(x.shape[0], -1))
    return nn.Dense(1, use_bias=False)(x)


def test_batch_norm_runs_in_training_mode_and_its_statistics_are_kept():
  # x = (1, 3) and (3, 5): batch means (2, 4), variances (1, 1); running stats start at mean 0,
  # var 1 → 0.9·0 + 0.1·(2, 4) = (0.2, 0.4) and 0.9·1 + 0.1·1 = 1.
  model = _Norm()
  x = np.array([[1.0, 3.0], [3.0, 5.0]], np.float32)
  batch = {"audio": x, "targets": np.zeros((2, 1), np.float32)}
  variables = model.init(jax.random.key(0), x, train=False)
  tx, _ = optim.make({"name": "sgd", "momentum": 0.0}, {"name": "constant",
                                                        "learning_rate": 0.1}, 10)
  state = state_lib.create(dict(variables), tx, jax.random.key(0), ema=False)
  step = jax.jit(step_lib.make_train_step(model, _audio, _Squared(), tx, augment_cfg={}))
  new, m = step(state, batch)
  stats = new.batch_stats["BatchNorm_0"]
  np.testing.assert_allclose(np.asarray(stats["mean"]), [0.2, 0.4], rtol=1e-6)
  np.testing.assert_allclose(np.asarray(stats["var"]), [1.0, 1.0], rtol=1e-5)
  # Training mode normalises by the batch: inputs (∓1, ∓1) (·1/sqrt(1 + 1e-5)), kernel W.
  w = np.asarray(variables["params"]["Dense_0"]["kernel"])[:, 0]
  y = np.array([-1.0, 1.0]) * (w[0] + w[1]) / np.sqrt(1 + 1e-5)
  assert float(m["loss"]) == pytest.approx(0.5 * np.mean(y**2), rel=1e-5)


class _Masked(_Squared):
  """Reports the label mask the loss received."""

  def loss(self, outputs, batch):
    loss, _ = super().loss(outputs, batch)
    return loss, {"mask_sum": jnp.sum(batch["mask"])}


def test_mixup_mixes_the_label_mask_too():
  # Mask (1, 0): a mixed entry is supervised when either clip observed it (PaSST's rule, issue
  # #9 item 8; an unobserved entry counts as absent) → (1, 1) when the partners swap.
  x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
  batch = {"audio": x, "targets": np.array([[1.0], [0.0]], np.float32),
           "mask": np.array([[True], [False]])}
  state, step = _setup({"name": "sgd", "momentum": 0.0}, task=_Masked(),
                       augment_cfg={"mixup_alpha": 1.0})
  sums = {int(step(state.replace(rng=jax.random.key_data(jax.random.key(s))), batch)[1]
              ["mask_sum"]) for s in range(12)}
  assert sums == {1, 2}  # partner swapped: observed in either; identity: unchanged


class _Flat(_Squared):
  """Loss value 1 whatever the params (a plateau), gradient that of ½·mean((y − t)²)."""

  def loss(self, outputs, batch):
    loss, aux = super().loss(outputs, batch)
    return loss - jax.lax.stop_gradient(loss) + 1.0, aux


def test_reduce_on_plateau_sees_the_loss():
  state, step = _setup({"name": "sgd", "momentum": 0.0, "plateau_patience": 1,
                        "plateau_factor": 0.5}, task=_Flat(),
                       schedule={"name": "reduce_on_plateau", "learning_rate": 0.1})
  for _ in range(3):
    state, m = step(state, BATCH)
    assert float(m["loss"]) == 1.0
  plateau = [s for s in state.opt_state if hasattr(s, "scale")]
  assert plateau and float(plateau[0].scale) < 1.0  # the flat loss lowered the scale
