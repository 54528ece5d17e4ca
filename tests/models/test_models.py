"""Models: parameter counts vs the seeds, one real train step per registered model, dtypes."""

from __future__ import annotations

import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from instrax.errors import ConfigError
from instrax.models import MODELS, build_model, model_fields
from instrax.models.coatnet import relative_index
from instrax.models.crnn import GRU, max_pool
from instrax.models.patchout import structured_patchout

# Tiny test programs: LLVM's optimisation dominates CPU compile time (~10× here), so skip it.
jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})
NUM_CLASSES = 5
DEFAULT_TINY: tuple[dict, tuple[int, ...]] = ({}, (2, 1, 32, 48))
# Tiny widths and shapes per model so that compiling a train step stays cheap; a model
# registered later without an entry here is tested with DEFAULT_TINY.
TINY: dict[str, tuple[dict, tuple[int, ...]]] = {
    "simple_cnn": (dict(n=4, hidden=8), (2, 1, 32, 48)),
    "cnn_rnn": (dict(n=4, hidden=8, leaky=True), (2, 2, 64, 32)),  # 64 mels → 2 GRU steps
    "han2016": (dict(channels=(4, 8, 8, 16), hidden=16), (2, 1, 32, 48)),
    "coatnet0": (dict(num_blocks=(1, 1, 1, 1, 2), channels=(8, 8, 16, 16, 32), heads=2,
                      dim_head=8), (2, 1, 64, 64)),  # 2×2 at the last stage
    "crnn": (dict(channels=(4, 8), pools=((2, 2), (2, 1)), rnn_features=8), (2, 1, 32, 48)),
    "short_chunk": (dict(channels=(4, 8)), (2, 1, 32, 48)),
    "short_chunk_res": (dict(channels=(4, 8, 8)), (2, 1, 32, 48)),
    "patchout": (dict(embed_dim=16, depth=1, heads=2, patch_size=(8, 8), patch_stride=(8, 8),
                      max_time_patches=8, patchout_freq=1, patchout_time=2), (2, 1, 32, 48)),
    "vggish_mlp": (dict(hidden=16), (2, 10, 128)),
}
# Models of the other task families (dict inputs, dict or mask outputs, fixed feature sizes) are
# tested in their own files: tests/models/test_lead*.py, test_onsets_velocities.py,
# test_unet_tune.py. musicnn too (tests/models/test_musicnn.py): a fixed pretrained architecture
# whose front-end convolutions (up to 128 × 1 and 7 × 67 taps) give non-finite gradients when XLA
# CPU compiles them at this file's optimisation level 0 (finite at the default level, as trained),
# and take minutes in bfloat16 on CPU.
DICT_INPUT = {"lead_ch_cls", "lead_inst_cls", "lead_crnn", "onsets_velocities", "unet_separator",
              "tune_plus", "tune_tail", "musicnn"}


def _init_shapes(model: nn.Module, shape: tuple[int, ...]):
  rngs = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
  return jax.eval_shape(lambda: model.init(rngs, jnp.zeros(shape), train=False))


def _count(model: nn.Module, shape: tuple[int, ...]) -> int:
  return sum(math.prod(p.shape) for p in jax.tree.leaves(_init_shapes(model, shape)["params"]))


@pytest.mark.parametrize("name, fields, shape, classes, expected", [
    ("simple_cnn", dict(n=32), (1, 1, 224, 256), 11, 5_436_139),
    ("simple_cnn", dict(n=16), (1, 1, 224, 256), 11, 2_621_835),
    ("simple_cnn", dict(n=32), (1, 2, 224, 256), 11, 5_436_139 + 288),
    ("simple_cnn", dict(n=16), (1, 2, 224, 256), 11, 2_621_835 + 144),
    ("cnn_rnn", dict(n=32), (1, 1, 224, 256), 11, 3_756_267),
    ("cnn_rnn", dict(n=16), (1, 1, 224, 256), 11, 946_315),
    ("coatnet0", {}, (1, 1, 224, 224), 11, 17_028_920),
    ("vggish_mlp", {}, (1, 10, 128), 20, 1_332_244),
])
def test_seed_parameter_counts(name, fields, shape, classes, expected):
  assert _count(build_model(name, classes, **fields), shape) == expected


def test_every_brief_model_is_registered():
  assert set(MODELS.names()) >= {"simple_cnn", "cnn_rnn", "han2016", "coatnet0", "crnn",
                                 "short_chunk", "short_chunk_res", "patchout", "vggish_mlp"}


def test_unknown_field_is_a_config_error_listing_fields():
  with pytest.raises(ConfigError, match="rnn_features") as e:
    build_model("crnn", 3, rnn_size=8)
  assert "rnn_size" in str(e.value)
  with pytest.raises(ConfigError, match="Valid names"):
    build_model("no_such_model", 3)
  assert model_fields("simple_cnn")["n"] == 32


def test_config_values_are_normalised():
  model = build_model("crnn", 3, channels=[4, 8], pools=[[2, 2], [2, 1]], dtype="bfloat16")
  assert model.channels == (4, 8) and model.pools == ((2, 2), (2, 1))
  assert model.dtype == jnp.bfloat16


@pytest.mark.parametrize("name", [n for n in MODELS.names() if n not in DICT_INPUT])
def test_train_step_eval_and_bf16(name):
  fields, shape = TINY.get(name, DEFAULT_TINY)
  model = build_model(name, NUM_CLASSES, **fields)
  rng = np.random.default_rng(0)  # numpy for everything outside jit: eager jax ops compile
  x = rng.normal(size=shape).astype(np.float32)
  y = (rng.uniform(size=(shape[0], NUM_CLASSES)) > 0.5).astype(np.float32)
  # jit, as eager init is slow on CPU; x is an argument, as XLA would constant-fold a closure
  init = jit(lambda rngs, x: model.init(rngs, x, train=False))
  variables = init({"params": jax.random.key(0), "dropout": jax.random.key(1)}, x)
  params = variables["params"]
  state = {k: v for k, v in variables.items() if k != "params"}
  tx = optax.adam(1e-2)

  @jit
  def train_step(params, state, opt_state, x, y, rng):
    def loss_fn(p):
      logits, new_state = model.apply({"params": p, **state}, x, train=True,
                                      rngs={"dropout": rng}, mutable=["batch_stats"])
      return optax.sigmoid_binary_cross_entropy(logits, y).mean(), new_state
    (loss, new_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), new_state, loss, grads

  new_params, new_state, loss, grads = train_step(params, state, tx.init(params), x, y,
                                                  jax.random.key(4))
  assert np.isfinite(float(loss)) and float(loss) > 0
  assert all(np.isfinite(np.asarray(g)).all() for g in jax.tree.leaves(grads))
  unchanged = [jax.tree_util.keystr(path)
               for (path, old), new in zip(jax.tree_util.tree_leaves_with_path(params),
                                           jax.tree.leaves(new_params))
               if np.array_equal(np.asarray(old), np.asarray(new))]
  assert not unchanged, f"parameters not updated: {unchanged}"
  if "batch_stats" in state:
    before, after = state["batch_stats"], new_state["batch_stats"]
    assert not any(np.array_equal(np.asarray(a), np.asarray(b))
                   for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(after)))

  trained = {"params": new_params, **state, **new_state}
  low = model.clone(dtype=jnp.bfloat16)
  assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(_init_shapes(low, shape)))
  # One compile for both dtypes: f32 and bf16-compute logits from the same float32 variables.
  predict = jit(lambda v, x: (model.apply(v, x, train=False), low.apply(v, x, train=False)))
  (first, low_first), (second, low_second) = predict(trained, x), predict(trained, x)
  first, second, low_first, low_second = map(np.asarray, (first, second, low_first, low_second))
  for logits in (first, low_first):
    assert logits.shape == (shape[0], NUM_CLASSES) and logits.dtype == np.float32
    assert np.isfinite(logits).all()
  np.testing.assert_array_equal(first, second)
  np.testing.assert_array_equal(low_first, low_second)
  np.testing.assert_allclose(low_first, first, atol=0.5 + 0.1 * np.abs(first).max())

def _torch_gru(x: np.ndarray, w_i, b_i, w_h, b_h) -> np.ndarray:
  """torch.nn.GRU's equations, step by step in numpy (gate order r, z, n)."""
  sig = lambda v: 1 / (1 + np.exp(-v))
  h = np.zeros((x.shape[0], w_h.shape[0]))
  out = []
  for t in range(x.shape[1]):
    i_r, i_z, i_n = np.split(x[:, t] @ w_i + b_i, 3, axis=-1)
    h_r, h_z, h_n = np.split(h @ w_h + b_h, 3, axis=-1)
    r, z = sig(i_r + h_r), sig(i_z + h_z)
    h = (1 - z) * np.tanh(i_n + r * h_n) + z * h
    out.append(h)
  return np.stack(out, axis=1)


def test_gru_matches_torch_equations_both_directions():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(2, 5, 3)).astype(np.float32)
  w_i, b_i = rng.normal(size=(3, 12)), rng.normal(size=12)
  w_h, b_h = rng.normal(size=(4, 12)), rng.normal(size=12)
  params = {"params": {"input": {"kernel": w_i, "bias": b_i}, "hidden_kernel": w_h,
                       "hidden_bias": b_h}}
  params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params)
  expected = _torch_gru(x, w_i, b_i, w_h, b_h)
  np.testing.assert_allclose(GRU(4).apply(params, x), expected, atol=1e-5)
  backward = GRU(4, reverse=True).apply(params, x)
  np.testing.assert_allclose(backward, _torch_gru(x[:, ::-1], w_i, b_i, w_h, b_h)[:, ::-1],
                             atol=1e-5)


def test_relative_index_matches_brute_force():
  h, w = 2, 3
  idx = relative_index(h, w)
  cells = [(i, j) for i in range(h) for j in range(w)]
  for a, (ia, ja) in enumerate(cells):
    for b, (ib, jb) in enumerate(cells):
      assert idx[a, b] == (ia - ib + h - 1) * (2 * w - 1) + (ja - jb + w - 1)
  assert idx.max() == (2 * h - 1) * (2 * w - 1) - 1


def test_reshape_max_pool_equals_flax_max_pool_on_odd_sizes():
  x = np.random.default_rng(0).normal(size=(2, 7, 11, 3)).astype(np.float32)
  for window in ((2, 2), (3, 3), (2, 1)):
    both = jit(lambda x, w=window: (max_pool(x, w), nn.max_pool(x, w, strides=w)))(x)
    np.testing.assert_array_equal(*both)


def test_structured_patchout_keeps_whole_rows_and_columns():
  x = np.arange(2 * 4 * 6 * 1, dtype=np.float32).reshape(2, 4, 6, 1)
  y = np.asarray(jit(structured_patchout, static_argnums=(2, 3))(x, jax.random.key(0), 1, 2))
  assert y.shape == (2, 3, 4, 1)
  rows = [int(r) for r in y[0, :, 0, 0] // 6]  # the kept frequency rows, in order
  cols = [int(c) for c in y[0, 0, :, 0] % 6]
  assert rows == sorted(set(rows)) and cols == sorted(set(cols))
  np.testing.assert_array_equal(y, x[:, rows][:, :, cols])
  drop_all = functools.partial(structured_patchout, drop_freq=10, drop_time=10)
  assert jax.eval_shape(drop_all, x, jax.random.key(0)).shape == (2, 1, 1, 1)


def test_too_small_or_too_long_inputs_are_config_errors():
  with pytest.raises(ConfigError, match="short_chunk_res"):
    _init_shapes(build_model("short_chunk", 3), (1, 1, 64, 200))
  _init_shapes(build_model("short_chunk_res", 3, channels=(4,) * 7), (1, 1, 64, 200))
  with pytest.raises(ConfigError, match="max_time_patches"):
    _init_shapes(build_model("patchout", 3, max_time_patches=4), (1, 1, 64, 150))
