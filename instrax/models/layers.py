"""`conv_general_dilated`: a drop-in for `lax.conv_general_dilated` (flax `nn.Conv(...,
conv_general_dilated=conv_general_dilated)`) that rewrites convs XLA CPU differentiates slowly.

A kernel as tall as its unpadded input (OnsetVelocityNet's (88 keys, 3) conv that collapses the
keys) gives an output of height 1; XLA CPU computes its input gradient as a transposed conv over
an 87-row padded gradient, 2.9 s for (8, 88, 207, 12) → 200 channels on one core
(BENCHMARKS.md, "Train step vs PyTorch"). The same conv is a (1, kw) conv over the input with
its rows folded into the channels, (B, 1, W, H·C) ⊛ (1, kw, H·C, C_out): 68 ms forward and both
gradients, equal to float32 rounding.

Convs with few outputs run slowly too: XLA CPU fills half-empty 8-lane vectors for
OnsetVelocityNet's 42 dilated convs with 4 outputs (78 % of its forward time). A one-row kernel
(the stages' (1, 11) convs, 12 → 4) pairs R = 8 // C_out adjacent rows into the channels,
(B·H/R, 1, W, R·C) ⊛ a block-diagonal (1, kw, R·C, R·C_out) kernel (rows are independent); any
other NHWC conv with fewer than 8 outputs (the stem's (3, 5) convs, 16 → 4) gets zero output
channels up to 8, sliced off after. Together: the whole model's forward 1.49× less CPU time
(BENCHMARKS.md, "Piano inference speed"), equal to float32 rounding. Every other conv goes to lax
unchanged. The parameter tree does not change (kernels are rebuilt at apply time).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

NHWC = ("NHWC", "HWIO", "NHWC")
LANES = 8  # float32 lanes of an AVX2 vector: convs with fewer outputs are padded up to it


def _is_full_height(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                    dimension_numbers, feature_group_count) -> bool:
  return (lhs.ndim == 4 and feature_group_count == 1 and not isinstance(padding, str)
          and tuple(padding[0]) == (0, 0) and rhs.shape[0] == lhs.shape[1] > 1
          and window_strides[0] == 1
          and all(d == 1 for d in (lhs_dilation or (1, 1)))
          and all(d == 1 for d in (rhs_dilation or (1, 1)))
          and dimension_numbers == lax.conv_dimension_numbers(lhs.shape, rhs.shape, NHWC))


def _is_thin_row(lhs, rhs, window_strides, padding, lhs_dilation, dimension_numbers,
                 feature_group_count) -> int:
  """Rows to pair (≥ 2) for a one-row NHWC kernel with ≤ 4 outputs, else 0."""
  if (lhs.ndim != 4 or feature_group_count != 1 or isinstance(padding, str)
      or rhs.shape[0] != 1 or tuple(padding[0]) != (0, 0) or window_strides[0] != 1
      or any(d != 1 for d in (lhs_dilation or (1, 1)))
      or dimension_numbers != lax.conv_dimension_numbers(lhs.shape, rhs.shape, NHWC)):
    return 0
  rows = LANES // rhs.shape[3]
  return rows if rows >= 2 and lhs.shape[1] % rows == 0 else 0


def _paired_rows(lhs, rhs, rows: int, window_strides, padding, rhs_dilation, precision):
  """(B, H, W, C) ⊛ (1, kw, C, O) as (B·H/R, 1, W, R·C) ⊛ block-diagonal (1, kw, R·C, R·O)."""
  (b, h, w, c), (_, kw, _, o) = lhs.shape, rhs.shape
  x = lhs.reshape(b * h // rows, rows, w, c).transpose(0, 2, 1, 3).reshape(-1, 1, w, rows * c)
  k = jnp.einsum("rs,jco->jrcso", jnp.eye(rows, dtype=rhs.dtype), rhs[0])
  y = lax.conv_general_dilated(x, k.reshape(1, kw, rows * c, rows * o), window_strides, padding,
                               rhs_dilation=rhs_dilation, dimension_numbers=NHWC,
                               precision=precision)
  return y.reshape(-1, y.shape[2], rows, o).transpose(0, 2, 1, 3).reshape(b, h, y.shape[2], o)


def conv_general_dilated(lhs: jax.Array, rhs: jax.Array, window_strides, padding,
                         lhs_dilation=None, rhs_dilation=None, dimension_numbers=None,
                         feature_group_count: int = 1, precision: Any = None,
                         **kwargs: Any) -> jax.Array:
  """`lax.conv_general_dilated` (same arguments and result); an NHWC conv whose HWIO kernel is
  as tall as the unpadded input, (B, H, W, C) ⊛ (H, kw, C, O) → (B, 1, W', O), runs as
  (B, 1, W, H·C) ⊛ (1, kw, H·C, O); a one-row kernel with ≤ 4 outputs pairs rows; other
  convs with < 8 outputs are padded to 8 (module doc)."""
  if not kwargs and _is_full_height(lhs, rhs, window_strides, padding, lhs_dilation,
                                    rhs_dilation, dimension_numbers, feature_group_count):
    (b, h, w, c), (_, kw, _, o) = lhs.shape, rhs.shape
    x = jnp.transpose(lhs, (0, 2, 1, 3)).reshape(b, 1, w, h * c)
    k = jnp.transpose(rhs, (1, 0, 2, 3)).reshape(1, kw, h * c, o)
    return lax.conv_general_dilated(x, k, (1, tuple(window_strides)[1]),
                                    ((0, 0), tuple(padding[1])), dimension_numbers=NHWC,
                                    precision=precision)
  rows = 0 if kwargs else _is_thin_row(lhs, rhs, window_strides, padding, lhs_dilation,
                                       dimension_numbers, feature_group_count)
  if rows:
    return _paired_rows(lhs, rhs, rows, window_strides, padding, rhs_dilation, precision)
  if (not kwargs and feature_group_count == 1 and lhs.ndim == 4 and rhs.shape[3] < LANES
      and dimension_numbers == lax.conv_dimension_numbers(lhs.shape, rhs.shape, NHWC)):
    o = rhs.shape[3]
    rhs = jnp.pad(rhs, ((0, 0), (0, 0), (0, 0), (0, LANES - o)))
    return lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
                                    rhs_dilation=rhs_dilation, dimension_numbers=NHWC,
                                    precision=precision)[..., :o]
  return lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
                                  rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
                                  feature_group_count=feature_group_count, precision=precision,
                                  **kwargs)
