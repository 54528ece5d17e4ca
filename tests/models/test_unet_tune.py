"""MSSPT's separator U-Net and the TUne+ / tail-only classifiers: sizes, names, shapes, dtypes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from instrax.audio.frontend import make_frontend
from instrax.errors import ConfigError
from instrax.models import build_model
from instrax.models.tune import linear_magnitude, tail_mel_matrix
from instrax.models.unet import avg_pool

FULL = (1, 1, 256, 384)  # MSSPT: 256 bins × 384 frames
SMALL_UNET = dict(filters=(2, 2, 3, 3, 4, 4), head_filters=2)


def conv(i: int, o: int, k: int = 3) -> int:
  return k * k * i * o + o


def unet_params(sources: int) -> int:
  """Trainable U-Net parameters from the layer table of seeds.md §3.2 (BN: γ and β)."""
  enc, total, c = (16, 32, 64, 128, 192, 192), 0, 1
  for f in enc:
    total += 2 * c + conv(c, f) + 2 * f + conv(f, f)
    c = f
  skips = [0, 192, 128, 64, 32, 16]  # pooled encoder outputs 4..0 joined before dec 1..5
  for d, f in enumerate(reversed(enc)):
    total += conv(c + skips[d], f, 2) + 2 * (2 * f + conv(f, f))
    c = f
  return total + 2 * (c + 1) + conv(c + 1, 32) + 2 * 32 + conv(32, 32) + conv(32, sources)


def tail_params(cin: int, filters: list[int], skips: list[int], classes: int) -> int:
  total, c = 0, cin
  for b, f in enumerate(filters):
    c += skips[b - 1] if 1 <= b <= len(skips) else 0
    total += conv(c, f) + 2 * f + conv(f, f) + 2 * f
    c = f
  return total + 512 * 512 + 512 + 2 * 512 + 512 * classes + classes


def n_params(tree) -> int:
  return sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(tree))


def shapes(name: str, num_classes: int, **kw):
  model = build_model(name, num_classes, **kw)
  return jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros(FULL), train=False))


@pytest.mark.parametrize("name,classes,kw,expected", [
    ("unet_separator", 1, {}, unet_params(1)),
    ("unet_separator", 4, {"pool": "avg"}, unet_params(4)),
    ("tune_plus", 50, {}, unet_params(1) + tail_params(2, [64, 128, 128, 128, 128, 128, 256],
                                                       [32, 64, 128, 192, 192], 50)),
    ("tune_plus", 16, {}, unet_params(1) + tail_params(2, [64, 128, 128, 128, 128, 128, 256],
                                                       [32, 64, 128, 192, 192], 16)),
    ("tune_plus", 50, {"num_sources": 4},
     unet_params(4) + tail_params(5, [64, 128, 128, 128, 128, 128, 256],
                                  [32, 64, 128, 192, 192], 50)),
    ("tune_tail", 50, {}, tail_params(1, [64, 64, 128, 128, 128, 128, 256], [], 50)),
    ("tune_tail", 16, {}, tail_params(1, [64, 64, 128, 128, 128, 128, 256], [], 16)),
])
def test_parameter_counts_match_the_layer_tables(name, classes, kw, expected):
  assert n_params(shapes(name, classes, **kw)["params"]) == expected


def test_parameter_counts_are_the_seeds_derived_sizes():
  assert unet_params(1) == 3_921_061  # ≈ 3.92 M
  assert round(n_params(shapes("tune_plus", 50)["params"]) / 1e6, 2) == 7.24
  assert round(n_params(shapes("tune_tail", 50)["params"]) / 1e6, 2) == 2.40


@pytest.mark.parametrize("sources", [1, 4])
def test_separator_unet_parameters_map_onto_tune_plus_by_name(sources):
  sep = shapes("unet_separator", sources)["params"]
  tune = shapes("tune_plus", 50, num_sources=sources)["params"]
  assert set(sep) == {"unet"} and set(tune) == {"unet", "tail"}
  same = jax.tree_util.tree_map(lambda a, b: a.shape == b.shape, sep["unet"], tune["unet"])
  assert jax.tree_util.tree_structure(sep["unet"]) == jax.tree_util.tree_structure(tune["unet"])
  assert all(jax.tree_util.tree_leaves(same))
  assert {"enc_0", "dec_5", "dec_5_up", "head", "mask"} <= set(sep["unet"])


def test_avg_pool_by_hand():
  x = jnp.arange(16.0).reshape(1, 4, 4, 1)
  np.testing.assert_allclose(avg_pool(x, (2, 2))[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_separator_masks(dtype):
  model = build_model("unet_separator", 4, pool="avg", dtype=dtype, **SMALL_UNET)
  x = jax.random.normal(jax.random.key(1), (2, 1, 64, 128))
  variables = model.init(jax.random.key(0), x, train=False)
  masks, updates = model.apply(variables, x, train=True, mutable=["batch_stats"])
  assert masks.shape == (2, 4, 64, 128) and masks.dtype == jnp.float32
  assert bool(jnp.all((masks >= 0) & (masks <= 1)))
  assert set(updates) == {"batch_stats"}


def test_separator_rejects_bad_input():
  model = build_model("unet_separator", 1, **SMALL_UNET)
  with pytest.raises(ConfigError, match="divisible by 64"):
    model.init(jax.random.key(0), jnp.zeros((1, 1, 64, 100)), train=False)
  with pytest.raises(ConfigError, match="mono"):
    model.init(jax.random.key(0), jnp.zeros((1, 2, 64, 128)), train=False)


def test_tail_mel_matrix_is_the_msspt_classifier_frontends():
  np.testing.assert_array_equal(tail_mel_matrix(256, 16000, 100.0, 7800.0),
                                make_frontend("msspt_mel").mel_matrix)


def test_linear_magnitude_inverts_the_frontend_log():
  mag = np.array([0.0, 1e-5, 0.3, 20.0], np.float32)
  np.testing.assert_allclose(linear_magnitude(jnp.log10(mag + 1e-4)), mag, rtol=1e-5, atol=1e-8)


TINY_TUNE = dict(unet_filters=(2, 2, 2, 2, 3, 3), unet_head_filters=2,
                 filters=(2, 2, 2, 2, 2, 2, 4), dense=8)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("name,kw", [("tune_plus", dict(num_sources=4, skips=3, **TINY_TUNE)),
                                     ("tune_tail", dict(filters=(2, 2, 2, 2, 2, 2, 4), dense=8))])
def test_classifiers_give_logits(name, kw, dtype):
  model = build_model(name, 7, dtype=dtype, **kw)
  x = jax.random.normal(jax.random.key(1), (2, 1, 256, 192)) - 2.0
  variables = model.init(jax.random.key(0), x, train=False)
  logits = model.apply(variables, x, train=False)
  assert logits.shape == (2, 7) and logits.dtype == jnp.float32
  assert bool(jnp.all(jnp.isfinite(logits)))


@pytest.mark.slow
def test_frozen_unet_gets_no_gradient_and_keeps_its_statistics():
  x = jax.random.normal(jax.random.key(1), (2, 1, 256, 192)) - 2.0
  grads = {}
  for freeze in (False, True):
    model = build_model("tune_plus", 3, freeze_unet=freeze, skips=2, **TINY_TUNE)
    variables = model.init(jax.random.key(0), x, train=False)

    def loss(params, model=model, variables=variables):
      out, upd = model.apply({**variables, "params": params}, x, train=True,
                             mutable=["batch_stats"], rngs={"dropout": jax.random.key(2)})
      return out.sum(), upd

    g, upd = jax.grad(loss, has_aux=True)(variables["params"])
    grads[freeze] = max(float(jnp.abs(v).max()) for v in jax.tree_util.tree_leaves(g["unet"]))
    moved = jax.tree_util.tree_map(lambda a, b: bool(jnp.any(a != b)),
                                   variables["batch_stats"]["unet"], upd["batch_stats"]["unet"])
    assert any(jax.tree_util.tree_leaves(moved)) != freeze
  assert grads[False] > 0 and grads[True] == 0


def test_tune_plus_needs_matching_skips():
  model = build_model("tune_plus", 3, **{**TINY_TUNE, "unet_filters": (2, 2, 2, 2, 2)})
  with pytest.raises(ConfigError):
    model.init(jax.random.key(0), jnp.zeros((1, 1, 256, 192)), train=False)
