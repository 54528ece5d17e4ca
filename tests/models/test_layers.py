"""layers.conv_general_dilated equals lax.conv_general_dilated (independent reference): outputs
and both gradients, on the rewritten paths (full height, paired rows, outputs padded to 8) and on
the passthrough; OnsetVelocityNet gives the same outputs with and without the rewrites."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from instrax.models import layers


def _run(conv, x, w, pad, dilation=(1, 1)):
  dn = lax.conv_dimension_numbers(x.shape, w.shape, layers.NHWC)
  f = lambda x, w: conv(x, w, (1, 1), pad, rhs_dilation=dilation, dimension_numbers=dn)
  loss = lambda x, w: jnp.sum(jnp.sin(f(x, w)))
  return f(x, w), jax.grad(loss, argnums=(0, 1))(x, w)


@pytest.mark.parametrize("kernel,pad", [((7, 3), ((0, 0), (1, 1))),  # full height: rewritten
                                        ((3, 3), ((1, 1), (1, 1)))])  # ordinary: passthrough
def test_matches_lax(kernel, pad):
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((2, 7, 9, 3)), jnp.float32)
  w = jnp.asarray(rng.standard_normal((*kernel, 3, 5)), jnp.float32)
  y, (dx, dw) = _run(layers.conv_general_dilated, x, w, pad)
  y_ref, (dx_ref, dw_ref) = _run(lax.conv_general_dilated, x, w, pad)
  assert y.shape == y_ref.shape
  for a, b in ((y, y_ref), (dx, dx_ref), (dw, dw_ref)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=5e-5)  # float32 sums of 63 products


def test_full_height_by_hand():
  # H = 2 rows, kernel (2, 1): each output is row0·k0 + row1·k1.
  x = jnp.array([[[[1.0], [2.0]], [[10.0], [20.0]]]])  # (1, 2, 2, 1)
  w = jnp.array([[[[3.0]]], [[[4.0]]]])  # (2, 1, 1, 1)
  dn = lax.conv_dimension_numbers(x.shape, w.shape, layers.NHWC)
  y = layers.conv_general_dilated(x, w, (1, 1), ((0, 0), (0, 0)), dimension_numbers=dn)
  np.testing.assert_allclose(y[0, 0, :, 0], [3 * 1 + 4 * 10, 3 * 2 + 4 * 20])


@pytest.mark.parametrize("kernel,out,pad,dilation", [
    ((1, 5), 4, ((0, 0), (4, 4)), (1, 2)),  # one row, 4 outputs: 2 rows paired
    ((1, 3), 2, ((0, 0), (1, 1)), (1, 1)),  # one row, 2 outputs: 4 rows paired
    ((3, 5), 4, ((1, 1), (6, 6)), (1, 3)),  # 4 outputs: padded to 8
    ((1, 1), 16, ((0, 0), (0, 0)), (1, 1))])  # 16 outputs: passthrough
def test_thin_convs_match_lax(kernel, out, pad, dilation):
  rng = np.random.default_rng(1)
  x = jnp.asarray(rng.standard_normal((2, 8, 11, 3)), jnp.float32)
  w = jnp.asarray(rng.standard_normal((*kernel, 3, out)), jnp.float32)
  y, (dx, dw) = _run(layers.conv_general_dilated, x, w, pad, dilation)
  y_ref, (dx_ref, dw_ref) = _run(lax.conv_general_dilated, x, w, pad, dilation)
  assert y.shape == y_ref.shape
  for a, b in ((y, y_ref), (dx, dx_ref), (dw, dw_ref)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=5e-5)


def test_paired_rows_are_chosen_and_by_hand():
  x = jnp.zeros((1, 6, 4, 3))
  dn = lax.conv_dimension_numbers(x.shape, (1, 3, 3, 4), layers.NHWC)
  thin = lambda o, rows=6: layers._is_thin_row(jnp.zeros((1, rows, 4, 3)), jnp.zeros((1, 3, 3, o)),
                                               (1, 1), ((0, 0), (1, 1)), None, dn, 1)
  assert thin(4) == 2 and thin(2) == 0 and thin(8) == 0  # 6 rows: 2 pair, 4 do not divide 6
  assert thin(2, rows=8) == 4
  # rows r = 0, 1 of a (1, 2, 1, 1) input, kernel (1, 1) weight 3: outputs 3·x, row by row
  x = jnp.array([[[[1.0]], [[2.0]]]])
  w = jnp.full((1, 1, 1, 1), 3.0)
  dn = lax.conv_dimension_numbers(x.shape, w.shape, layers.NHWC)
  y = layers.conv_general_dilated(x, w, (1, 1), ((0, 0), (0, 0)), dimension_numbers=dn)
  np.testing.assert_allclose(np.asarray(y).ravel(), [3.0, 6.0])


def test_onsets_velocities_same_outputs_without_rewrites(monkeypatch):
  from instrax.models import build_model

  model = build_model("onsets_velocities", 88)
  x = jnp.asarray(np.random.default_rng(0).normal(size=(1, 1, 229, 40)) * 10 - 40, jnp.float32)
  variables = model.init(jax.random.PRNGKey(0), x, train=False)
  fast = model.apply(variables, x, train=False)
  monkeypatch.setattr(layers, "conv_general_dilated", lax.conv_general_dilated)
  plain = build_model("onsets_velocities", 88).apply(variables, x, train=False)
  for k in ("onsets", "velocity"):
    np.testing.assert_allclose(fast[k], plain[k], rtol=1e-4, atol=1e-3)
