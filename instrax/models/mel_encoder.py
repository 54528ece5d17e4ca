"""A log-mel frame encoder: raw waveform → log-mel frames → conv over time → transformer layers.

The lead model's default per-track encoder (`encoder="mel"`), small enough to train on a CPU. The
raw-waveform conv stack of HuBERT (`instrax.models.hubert`) costs most of a lead training step on
CPU (XLA's weight gradient of strided convs, BENCHMARKS.md #13) and its GroupNorm after the
first conv normalises every track's level over time — the very cue that tells a leading track
from an accompanying one. Here:

1. uncentred STFT, Hann window of `n_fft` samples, hop `hop_length`: F = (T − n_fft) // hop + 1
   frames, which for n_fft = 2·hop is T / hop − 1 — the frame count of HuBERT's conv stack for
   T = (F + 1)·hop samples (the lead task's segments), so both encoders give the same frames;
2. power → `n_mels` Slaney mel bands over [f_min, sr/2] → (log10(mel + 1e-8) + 3) / 3 (a fixed
   affine map of typical levels, 1e-8…1e2, to about ±2: the absolute level is kept, no
   per-track normalisation);
3. Dense(hidden), then `conv_layers` × (Conv1d(hidden, kernel, SAME) → GELU) as residuals over
   time (local context and relative position);
4. `layers` post-LN transformer layers (`hubert.EncoderLayer`, the same as HuBERT's), or with
   none, one LayerNorm — so the lead model's attention sees unit-scale features either way
   (unnormalised ones saturate its softmax and it never learns to pick a track).

Input (B, T) float waveform at `sample_rate`; output (B, F, hidden) float.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from instrax.audio import frontend
from instrax.errors import ConfigError
from instrax.models import hubert


@dataclasses.dataclass(frozen=True)
class MelEncoderConfig:
  """The mel encoder's fields (see the module docstring)."""

  sample_rate: int = 24000
  hop_length: int = 320
  n_fft: int = 640
  n_mels: int = 64
  f_min: float = 30.0
  hidden: int = 64
  conv_layers: int = 2
  conv_kernel: int = 5
  layers: int = 1
  heads: int = 4
  ffn: int = 128
  dropout: float = 0.1

  def __post_init__(self):
    if self.n_fft < self.hop_length:
      raise ConfigError(f"mel encoder: n_fft {self.n_fft} < hop_length {self.hop_length} would "
                        "skip samples")
    if self.hidden % self.heads:
      raise ConfigError(f"mel encoder: hidden {self.hidden} is not a multiple of heads "
                        f"{self.heads}")

  def num_frames(self, num_samples: int) -> int:
    """Output frames for `num_samples` input samples (uncentred STFT)."""
    return max((num_samples - self.n_fft) // self.hop_length + 1, 0)

  def transformer(self) -> hubert.HubertConfig:
    """The transformer layers' fields, as hubert.EncoderLayer reads them."""
    return hubert.HubertConfig(hidden_size=self.hidden, num_hidden_layers=self.layers,
                               num_attention_heads=self.heads, intermediate_size=self.ffn,
                               dropout=self.dropout)


class MelEncoder(nn.Module):
  """(B, T) waveform → (B, F, hidden) frame embeddings (see the module docstring)."""

  config: MelEncoderConfig
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, audio: jax.Array, train: bool = False) -> jax.Array:
    c = self.config
    if c.num_frames(audio.shape[-1]) < 1:
      raise ConfigError(f"mel encoder: {audio.shape[-1]} samples are too few for one frame of "
                        f"{c.n_fft}")
    spec = frontend.stft(audio.astype(jnp.float32), c.n_fft, c.hop_length, center=False)
    filters = frontend.mel_filterbank(c.sample_rate, c.n_fft, c.n_mels, f_min=c.f_min)
    mel = (jnp.real(spec) ** 2 + jnp.imag(spec) ** 2) @ filters
    x = ((jnp.log10(mel + 1e-8) + 3.0) / 3.0).astype(self.dtype)
    x = nn.Dense(c.hidden, dtype=self.dtype, name="projection")(x)
    for i in range(c.conv_layers):
      x = x + nn.gelu(nn.Conv(c.hidden, (c.conv_kernel,), padding="SAME", dtype=self.dtype,
                              name=f"conv_{i}")(x), approximate=False)
    x = nn.Dropout(c.dropout, deterministic=not train)(x)
    block = c.transformer()
    for i in range(c.layers):
      x = hubert.EncoderLayer(block, self.dtype, name=f"layer_{i}")(x, train)
    if not c.layers:
      x = nn.LayerNorm(dtype=self.dtype, name="norm")(x)
    return x
