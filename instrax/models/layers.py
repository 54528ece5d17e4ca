"""`conv_general_dilated`: a drop-in for `lax.conv_general_dilated` (flax `nn.Conv(...,
conv_general_dilated=conv_general_dilated)`) that rewrites convs XLA CPU differentiates slowly.

A kernel as tall as its unpadded input (OnsetVelocityNet's (88 keys, 3) conv that collapses the
keys) gives an output of height 1; XLA CPU computes its input gradient as a transposed conv over
an 87-row padded gradient, 2.9 s for (8, 88, 207, 12) → 200 channels on one core
(BENCHMARKS.md, "Train step vs PyTorch"). The same conv is a (1, kw) conv over the input with
its rows folded into the channels, (B, 1, W, H·C) ⊛ (1, kw, H·C, C_out): 68 ms forward and both
gradients, equal to float32 rounding. Every other conv goes to lax unchanged. The parameter
tree does not change (the kernel is reshaped at apply time).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

NHWC = ("NHWC", "HWIO", "NHWC")


def _is_full_height(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                    dimension_numbers, feature_group_count) -> bool:
  return (lhs.ndim == 4 and feature_group_count == 1 and not isinstance(padding, str)
          and tuple(padding[0]) == (0, 0) and rhs.shape[0] == lhs.shape[1] > 1
          and window_strides[0] == 1
          and all(d == 1 for d in (lhs_dilation or (1, 1)))
          and all(d == 1 for d in (rhs_dilation or (1, 1)))
          and dimension_numbers == lax.conv_dimension_numbers(lhs.shape, rhs.shape, NHWC))


def conv_general_dilated(lhs: jax.Array, rhs: jax.Array, window_strides, padding,
                         lhs_dilation=None, rhs_dilation=None, dimension_numbers=None,
                         feature_group_count: int = 1, precision: Any = None,
                         **kwargs: Any) -> jax.Array:
  """`lax.conv_general_dilated` (same arguments and result); an NHWC conv whose HWIO kernel is
  as tall as the unpadded input, (B, H, W, C) ⊛ (H, kw, C, O) → (B, 1, W', O), runs as
  (B, 1, W, H·C) ⊛ (1, kw, H·C, O)."""
  if not kwargs and _is_full_height(lhs, rhs, window_strides, padding, lhs_dilation,
                                    rhs_dilation, dimension_numbers, feature_group_count):
    (b, h, w, c), (_, kw, _, o) = lhs.shape, rhs.shape
    x = jnp.transpose(lhs, (0, 2, 1, 3)).reshape(b, 1, w, h * c)
    k = jnp.transpose(rhs, (1, 0, 2, 3)).reshape(1, kw, h * c, o)
    return lax.conv_general_dilated(x, k, (1, tuple(window_strides)[1]),
                                    ((0, 0), tuple(padding[1])), dimension_numbers=NHWC,
                                    precision=precision)
  return lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
                                  rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
                                  feature_group_count=feature_group_count, precision=precision,
                                  **kwargs)
