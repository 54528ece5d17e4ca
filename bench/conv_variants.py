"""Attempt 5 of BENCHMARKS.md "Train step vs PyTorch" (measured, not merged): a drop-in
`lax.conv_general_dilated` whose weight gradient is one matmul when that is cheap.

Profile: on XLA CPU the weight gradient (dw) of a strided
3×3 conv runs at 10–36 GFLOP/s, against 33–169 for oneDNN, while the forward and input gradient
are on par. dw = patchesᵀ · dy, with patches the (B·Ho·Wo, kh·kw·C) im2col matrix, is one dense
matmul; building the patch matrix costs a copy of kh·kw× the input, which wins only while that
matrix is small (the late, downsampled layers: 4× faster dw for seed 004's block 4). Forward and
input gradient stay XLA's. `patched_flax_convs()` makes every flax `nn.Conv` traced inside it use
it (bench_train_step.py --matmul_dw): the parameter tree is unchanged and outputs / gradients
agree with XLA's to float32 rounding (tests/bench/test_conv_variants.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

# Largest patch matrix (elements) for which the matmul weight gradient is used (measured: seed
# 004's block 4, 4.1 M, is 4× faster; block 3, 16.5 M, is slower than XLA's own).
MAX_PATCH_ELEMENTS = 9_000_000
_LAX_CONV = lax.conv_general_dilated  # the original, safe while patched_flax_convs() is active


def patches(x: jax.Array, kernel: tuple[int, int], strides: tuple[int, int],
             padding: tuple[tuple[int, int], ...], out_hw: tuple[int, int]) -> jax.Array:
  """(B, H, W, C) → (B·Ho·Wo, kh·kw·C) im2col matrix, taps in (kh, kw) row-major order."""
  (b, _, _, c), (kh, kw), (sh, sw), (ho, wo) = x.shape, kernel, strides, out_hw
  xp = jnp.pad(x, ((0, 0), padding[0], padding[1], (0, 0)))
  taps = [lax.slice(xp, (0, i, j, 0), (b, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1, c),
                    (1, sh, sw, 1)) for i in range(kh) for j in range(kw)]
  return jnp.concatenate(taps, axis=-1).reshape(b * ho * wo, kh * kw * c)


def _conv(x, w, strides, padding, precision):
  return _LAX_CONV(x, w, strides, padding, precision=precision,
                    dimension_numbers=("NHWC", "HWIO", "NHWC"))


@partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _conv_mm_dw(x, w, strides, padding, precision):
  return _conv(x, w, strides, padding, precision)


def _fwd(x, w, strides, padding, precision):
  return _conv(x, w, strides, padding, precision), (x, w)


def _bwd(strides, padding, precision, res, dy):
  x, w = res
  dx = jax.vjp(lambda x: _conv(x, w, strides, padding, precision), x)[1](dy)[0]
  p = patches(x, w.shape[:2], strides, padding, dy.shape[1:3])
  dw = jnp.matmul(p.T, dy.reshape(-1, dy.shape[-1]), precision=precision).reshape(w.shape)
  return dx, dw.astype(w.dtype)


_conv_mm_dw.defvjp(_fwd, _bwd)


def conv_matmul_dw(lhs: jax.Array, rhs: jax.Array, window_strides, padding, lhs_dilation=None,
                   rhs_dilation=None, dimension_numbers=None, feature_group_count: int = 1,
                   precision: Any = None, **kwargs: Any) -> jax.Array:
  """`lax.conv_general_dilated` (same arguments and result) for NHWC/HWIO 2-D convs; its weight
  gradient is patchesᵀ · dy when the patch matrix has ≤ MAX_PATCH_ELEMENTS elements. Anything
  else (dilation, groups, string padding, other layouts) goes to lax unchanged."""
  plain = (lhs.ndim == 4 and feature_group_count == 1 and not kwargs
           and not isinstance(padding, str)
           and all(d == 1 for d in (lhs_dilation or (1, 1)))
           and all(d == 1 for d in (rhs_dilation or (1, 1)))
           and dimension_numbers == lax.conv_dimension_numbers(lhs.shape, rhs.shape,
                                                               ("NHWC", "HWIO", "NHWC")))
  if plain:
    strides = tuple(int(s) for s in window_strides)
    pads = tuple((int(lo), int(hi)) for lo, hi in padding)
    (kh, kw, c, _), (b, h, w, _) = rhs.shape, lhs.shape
    ho = (h + sum(pads[0]) - kh) // strides[0] + 1
    wo = (w + sum(pads[1]) - kw) // strides[1] + 1
    if b * ho * wo * kh * kw * c <= MAX_PATCH_ELEMENTS:
      return _conv_mm_dw(lhs, rhs, strides, pads, precision)
  return _LAX_CONV(lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
                   rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
                   feature_group_count=feature_group_count, precision=precision, **kwargs)


@contextlib.contextmanager
def patched_flax_convs() -> Iterator[None]:
  """Within it, `jax.lax.conv_general_dilated` (which flax's nn.Conv calls) is conv_matmul_dw."""
  lax.conv_general_dilated = conv_matmul_dw
  try:
    yield
  finally:
    lax.conv_general_dilated = _LAX_CONV
