"""layers.conv_general_dilated equals lax.conv_general_dilated (independent reference): outputs
and both gradients, on the rewritten full-height path and on the passthrough."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from instrax.models import layers


def _run(conv, x, w, pad):
  dn = lax.conv_dimension_numbers(x.shape, w.shape, layers.NHWC)
  f = lambda x, w: conv(x, w, (1, 1), pad, dimension_numbers=dn)
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
