"""MSSPT's separator U-Net (cgaroufis/MSSPT `separators.py`, the "small" Kong et al. 2021 baseline).

Input: log magnitude features (B, 1, F, T) = (batch, channel, bins, frames) as the `msspt_stft`
frontend makes them (uncentred STFT 512/160 at 16 kHz, Nyquist dropped → F = 256,
log10(|X| + 1e-4); upstream divides ln by 2.3025 instead of ln 10, a 4·10⁻⁵ relative difference),
T = 384 frames (61,792 samples). Internally NHWC (B, T, F, C), time as height, as upstream.
Output: sigmoid masks (B, S, F, T) float32, S = 1 (one source) or 4 (multisource: vocals, other,
drums, bass); the task multiplies them with the linear mixture magnitude.

Layers (seeds.md §3.2): encoder block = 2 × (BN → LeakyReLU 0.01 → Conv3×3 + bias) → pool 2×2
(MaxPool; AveragePool in the multisource separator), filters (16, 32, 64, 128, 192, 192),
384×256 → 6×4. Decoder block d = [concat pooled encoder output 5 − d, d ≥ 1] → ConvTranspose
2×2/2 → 2 × (BN → LReLU → Conv3×3), filters reversed. Head: concat the log input → 2 × (BN →
LReLU → Conv3×3, 32) → Conv3×3 → sigmoid. BN as Keras: momentum 0.99, epsilon 1e-3.
3,921,061 trainable parameters for one source (+ 4,708 BN statistics: 3,925,769 as Keras counts).

Parameter names are stable: `enc_<i>/{bn_0,conv_0,bn_1,conv_1}`, `dec_<i>_up` (the transposed
conv), `dec_<i>/{bn_0,conv_0,bn_1,conv_1}`, `head/{bn_0,conv_0,bn_1,conv_1}`, `mask`; the
registered separator wraps the U-Net as
submodule `unet`, as TUne+ (`instrax.models.tune`) does, so a separator run's `unet/...`
parameters load into TUne+ by name.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from instrax.errors import ConfigError
from instrax.models.crnn import max_pool
from instrax.models.registry import MODELS

ENCODER_FILTERS = (16, 32, 64, 128, 192, 192)
HEAD_FILTERS = 32
POOLS = ("max", "avg")


def avg_pool(x: jax.Array, window: tuple[int, int]) -> jax.Array:
  """Non-overlapping floor-mode average pooling of (B, H, W, C) (Keras AveragePooling2D)."""
  (ph, pw), (b, h, w, c) = window, x.shape
  x = x[:, : h // ph * ph, : w // pw * pw]
  return x.reshape(b, h // ph, ph, w // pw, pw, c).mean(axis=(2, 4))


class _BnActConv(nn.Module):
  """n × (BatchNorm → LeakyReLU 0.01 → Conv3×3 + bias), named bn_k / conv_k."""
  features: int
  repeats: int = 2
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    for k in range(self.repeats):
      x = nn.BatchNorm(use_running_average=not train, momentum=0.99, epsilon=1e-3,
                       dtype=self.dtype, name=f"bn_{k}")(x)
      x = nn.Conv(self.features, (3, 3), padding="SAME", dtype=self.dtype,
                  name=f"conv_{k}")(nn.leaky_relu(x, 0.01))
    return x


class UNet(nn.Module):
  """The U-Net on NHWC log magnitudes (B, T, F, 1) → (sigmoid masks (B, T, F, S) float32,
  decoder outputs d0..d5 (coarsest first)). T and F must be multiples of 2^len(filters)."""
  num_sources: int = 1
  filters: tuple[int, ...] = ENCODER_FILTERS
  head_filters: int = HEAD_FILTERS
  pool: str = "max"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> tuple[jax.Array, list[jax.Array]]:
    if self.pool not in POOLS:
      raise ConfigError(f"unet pool {self.pool!r} unknown; valid: {', '.join(POOLS)}")
    need = 2 ** len(self.filters)
    if x.shape[1] % need or x.shape[2] % need:
      raise ConfigError(f"unet: {len(self.filters)} 2×2 pools need frames and bins divisible by "
                        f"{need}, got {x.shape[1]}×{x.shape[2]} (MSSPT: 384 frames × 256 bins)")
    pool = max_pool if self.pool == "max" else avg_pool
    block = partial(_BnActConv, dtype=self.dtype)
    log_input = x.astype(self.dtype)
    skips, h = [], log_input
    for i, f in enumerate(self.filters):
      h = pool(block(f, name=f"enc_{i}")(h, train), (2, 2))
      skips.append(h)
    decoded = []
    for d, f in enumerate(reversed(self.filters)):
      if d:
        h = jnp.concatenate([h, skips[len(self.filters) - 1 - d]], axis=-1)
      h = nn.ConvTranspose(f, (2, 2), strides=(2, 2), padding="SAME", dtype=self.dtype,
                           name=f"dec_{d}_up")(h)
      h = block(f, name=f"dec_{d}")(h, train)
      decoded.append(h)
    h = jnp.concatenate([h, log_input], axis=-1)
    h = _BnActConv(self.head_filters, dtype=self.dtype, name="head")(h, train)
    logits = nn.Conv(self.num_sources, (3, 3), padding="SAME", dtype=self.dtype,
                     name="mask")(h)
    return nn.sigmoid(logits.astype(jnp.float32)), decoded


def to_nhwc(x: jax.Array) -> jax.Array:
  """Features (B, C, F, T) → (B, T, F, C)."""
  return jnp.transpose(x, (0, 3, 2, 1))


@MODELS.register("unet_separator")
class UNetSeparator(nn.Module):
  """The MSSPT separator: (B, 1, F, T) log magnitudes → (B, S, F, T) float32 masks in [0, 1].

  num_classes: the number of sources S (1, or 4 for multisource); pool: "max" (unisource) or
  "avg" (the seed's multisource separator).
  """
  num_classes: int = 1
  filters: tuple[int, ...] = ENCODER_FILTERS
  head_filters: int = HEAD_FILTERS
  pool: str = "max"
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
    if x.ndim != 4 or x.shape[1] != 1:
      raise ConfigError(f"unet_separator takes (B, 1, bins, frames) log magnitudes, got "
                        f"{x.shape}; use the msspt_stft frontend on mono audio")
    masks, _ = UNet(self.num_classes, self.filters, self.head_filters, self.pool, self.dtype,
                    name="unet")(to_nhwc(x), train)
    return jnp.transpose(masks, (0, 3, 2, 1))
