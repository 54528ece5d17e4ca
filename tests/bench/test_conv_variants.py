"""bench/conv_variants.conv_matmul_dw: same outputs and gradients as lax.conv_general_dilated
(independent reference), on both of its paths (matmul weight gradient, and the lax fallback)."""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import conv_variants as layers

DN = ("NHWC", "HWIO", "NHWC")


def _grads(conv, x, w, strides, pad):
  dn = lax.conv_dimension_numbers(x.shape, w.shape, DN)
  f = lambda x, w: jnp.sum(jnp.sin(conv(x, w, strides, pad, dimension_numbers=dn)))
  return conv(x, w, strides, pad, dimension_numbers=dn), jax.grad(f, argnums=(0, 1))(x, w)


@pytest.mark.parametrize("strides", [(2, 2), (4, 2)])
@pytest.mark.parametrize("limit", [10**9, 0])  # matmul dw path / lax fallback
def test_matches_lax(monkeypatch, strides, limit):
  monkeypatch.setattr(layers, "MAX_PATCH_ELEMENTS", limit)
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((2, 13, 10, 3)), jnp.float32)
  w = jnp.asarray(rng.standard_normal((3, 3, 3, 5)), jnp.float32)
  pad = ((1, 1), (1, 1))
  y, (dx, dw) = _grads(layers.conv_matmul_dw, x, w, strides, pad)
  y_ref, (dx_ref, dw_ref) = _grads(lax.conv_general_dilated, x, w, strides, pad)
  np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(dw, dw_ref, rtol=1e-5, atol=1e-5)


def test_weight_gradient_by_hand():
  # 1 output pixel, stride 2 on a 3x3 input with padding 0: dw = x (times dy = 1).
  x = jnp.arange(9.0).reshape(1, 3, 3, 1)
  w = jnp.zeros((3, 3, 1, 1))
  dn = lax.conv_dimension_numbers(x.shape, w.shape, DN)
  dw = jax.grad(lambda w: layers.conv_matmul_dw(x, w, (2, 2), ((0, 0), (0, 0)),
                                                dimension_numbers=dn).sum())(w)
  np.testing.assert_array_equal(dw[..., 0, 0], np.arange(9.0).reshape(3, 3))
