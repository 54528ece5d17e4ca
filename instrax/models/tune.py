"""MSSPT's downstream classifiers (cgaroufis/MSSPT `models.py`): TUne+ and the tail-only baseline.

Both read the separator's input, log magnitudes (B, 1, F, T) from the `msspt_stft` frontend
(F = 256 bins, T = 384 frames upstream), and return logits (B, num_classes) float32 (the task
applies sigmoid for MTAT tags, softmax for FMA genres). Layout inside: NHWC (B, T, bins, C).

TUne+ (`get_tune_network`, seeds.md §3.4): the separator U-Net (`instrax.models.unet.UNet`,
submodule `unet`, always MaxPool as upstream) gives masks; the separated linear magnitude
(mask × (10^x − 1e-4)) → mel 128 → log10(· + 1e-4) is concatenated with the mel projection of
the *log* mixture (upstream's quirk: no second log), 1 + 1 (or 4 + 1 multisource) channels at
T × 128. The tail: 7 blocks [concat skip] → 2 × (Conv3×3 + bias → BN → ReLU) → MaxPool 2×2
(the last (3, 2)), filters (64, 128, 128, 128, 128, 128, 256); blocks 1..`skips` first concat the
"etskips", the first 5 decoder outputs max-pooled (1, 2) (12×4×192 … 192×64×32 at 384×256).
Head: Flatten → Dense 512 → BN → ReLU → Dropout 0.5 → Dense. Trainable parameters:
7,240,151 (MTAT, 50 tags) / 7,222,709 (FMA, 16 genres); multisource 7,242,746. The mel matrix is
tf.signal's `linear_to_mel_weight_matrix(128, 256, 16000, 100, 7800)` (`frontend.mel_filterbank`
style "tf"). Tail-only (`get_tail_network`): the linear magnitude → mel → log10, 1 channel,
filters (64, 64, 128, 128, 128, 128, 256), no U-Net: 2,396,530 / 2,379,088.

Upstream maps the separator's Keras layers into TUne+ by position; here the U-Net's parameters
sit under `unet/` in both models, so a separator checkpoint transfers by name. `freeze_unet`
stops gradients into the U-Net and runs its BatchNorm on running statistics (Keras
`trainable=False`).
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from instrax.audio.frontend import mel_filterbank
from instrax.errors import ConfigError
from instrax.models.crnn import max_pool
from instrax.models.registry import MODELS
from instrax.models.unet import ENCODER_FILTERS, HEAD_FILTERS, UNet, to_nhwc

TUNE_FILTERS = (64, 128, 128, 128, 128, 128, 256)
TAIL_FILTERS = (64, 64, 128, 128, 128, 128, 256)
LOG_OFFSET = 1e-4  # MSSPT's log(x + 1e-4)


@functools.lru_cache(maxsize=8)
def tail_mel_matrix(n_bins: int, sample_rate: int, f_min: float, f_max: float) -> np.ndarray:
  """(n_bins, n_bins // 2) HTK mel matrix for bins of an n_fft = 2·n_bins STFT without Nyquist,
  as tf.signal.linear_to_mel_weight_matrix(n_bins // 2, n_bins, sample_rate, f_min, f_max)."""
  return mel_filterbank(sample_rate, 2 * n_bins, n_bins // 2, f_min, f_max, "htk", "none", "tf",
                        n_freqs=n_bins)


def _mel(x: jax.Array, matrix: np.ndarray) -> jax.Array:
  """(B, T, F, C) float32 → (B, T, M, C) through an (F, M) matrix at full precision."""
  return jnp.einsum("btfc,fm->btmc", x.astype(jnp.float32), matrix,
                    precision=jax.lax.Precision.HIGHEST)


def linear_magnitude(log_magnitude: jax.Array) -> jax.Array:
  """Inverse of the frontend's log10(|X| + 1e-4), float32, floored at 0."""
  return jnp.maximum(10.0 ** log_magnitude.astype(jnp.float32) - LOG_OFFSET, 0.0)


class Tail(nn.Module):
  """The convolutional tail on (B, T, M, C) and the dense head → (B, num_classes) float32.

  skips[k] is concatenated before block k + 1 and must have that block's input size.
  """
  num_classes: int
  filters: tuple[int, ...]
  dense: int = 512
  dropout: float = 0.5
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, skips: list[jax.Array], train: bool) -> jax.Array:
    if len(skips) >= len(self.filters):
      raise ConfigError(f"tail: {len(skips)} skips but only {len(self.filters) - 1} blocks "
                        "can take one")
    x = x.astype(self.dtype)
    for b, f in enumerate(self.filters):
      if 1 <= b <= len(skips):
        skip = skips[b - 1].astype(self.dtype)
        if skip.shape[1:3] != x.shape[1:3]:
          raise ConfigError(f"tail block {b}: skip {skip.shape[1:3]} ≠ input {x.shape[1:3]}; "
                            "TUne+ needs the U-Net bins = 2 × mel bands (256 → 128)")
        x = jnp.concatenate([x, skip], axis=-1)
      for k in range(2):
        x = nn.Conv(f, (3, 3), padding="SAME", dtype=self.dtype, name=f"block_{b}_conv_{k}")(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.99, epsilon=1e-3,
                         dtype=self.dtype, name=f"block_{b}_bn_{k}")(x)
        x = nn.relu(x)
      window = (3, 2) if b == len(self.filters) - 1 else (2, 2)
      if x.shape[1] < window[0] or x.shape[2] < window[1]:
        raise ConfigError(f"tail block {b}: {x.shape[1]}×{x.shape[2]} is smaller than its pool "
                          f"{window}; MSSPT's tail needs 384 frames × 128 mel bands")
      x = max_pool(x, window)
    x = x.reshape(x.shape[0], -1)
    x = nn.Dense(self.dense, dtype=self.dtype, name="dense_0")(x)
    x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.99, epsilon=1e-3,
                             dtype=self.dtype, name="dense_bn")(x))
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(self.num_classes, dtype=self.dtype, name="dense_1")(x).astype(jnp.float32)


def _check_input(name: str, x: jax.Array) -> None:
  if x.ndim != 4 or x.shape[1] != 1:
    raise ConfigError(f"{name} takes (B, 1, bins, frames) log magnitudes, got {x.shape}; use the "
                      "msspt_stft frontend on mono audio")


@MODELS.register("tune_plus")
class TUnePlus(nn.Module):
  """TUne+: U-Net masks + separated/mixture mel channels + tail with `skips` etskips."""
  num_classes: int
  num_sources: int = 1
  skips: int = 5
  unet_filters: tuple[int, ...] = ENCODER_FILTERS
  unet_head_filters: int = HEAD_FILTERS
  unet_pool: str = "max"
  freeze_unet: bool = False
  filters: tuple[int, ...] = TUNE_FILTERS
  dense: int = 512
  dropout: float = 0.5
  sample_rate: int = 16000
  f_min: float = 100.0
  f_max: float = 7800.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
    _check_input("tune_plus", x)
    if not 0 <= self.skips <= min(5, len(self.unet_filters) - 1):
      raise ConfigError(f"tune_plus skips={self.skips}; valid: 0..5 (decoder outputs d0..d4)")
    log_mix = to_nhwc(x).astype(jnp.float32)
    unet = UNet(self.num_sources, self.unet_filters, self.unet_head_filters, self.unet_pool,
                self.dtype, name="unet")
    masks, decoded = unet(log_mix, train and not self.freeze_unet)
    if self.freeze_unet:
      masks, decoded = jax.lax.stop_gradient((masks, decoded))
    matrix = tail_mel_matrix(x.shape[2], self.sample_rate, self.f_min, self.f_max)
    separated = jnp.log10(_mel(masks * linear_magnitude(log_mix), matrix) + LOG_OFFSET)
    h = jnp.concatenate([separated, _mel(log_mix, matrix)], axis=-1)
    n_dec = len(decoded)
    skips = [max_pool(decoded[n_dec - 2 - k], (1, 2)) for k in range(self.skips)]
    return Tail(self.num_classes, self.filters, self.dense, self.dropout, self.dtype,
                name="tail")(h, skips, train)


@MODELS.register("tune_tail")
class TailOnly(nn.Module):
  """The tail-only baseline: linear magnitude → mel → log10, one channel, no skips."""
  num_classes: int
  filters: tuple[int, ...] = TAIL_FILTERS
  dense: int = 512
  dropout: float = 0.5
  sample_rate: int = 16000
  f_min: float = 100.0
  f_max: float = 7800.0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
    _check_input("tune_tail", x)
    log_mix = to_nhwc(x)
    matrix = tail_mel_matrix(x.shape[2], self.sample_rate, self.f_min, self.f_max)
    h = jnp.log10(_mel(linear_magnitude(log_mix), matrix) + LOG_OFFSET)
    return Tail(self.num_classes, self.filters, self.dense, self.dropout, self.dtype,
                name="tail")(h, [], train)
