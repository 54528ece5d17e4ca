"""A Flax HuBERT/MERT-style audio encoder: raw waveform → frame embeddings.

Architecture as Hugging Face `transformers.HubertModel` with `feat_extract_norm="group"` and
`do_stable_layer_norm=False` (HuBERT base; MERT-v1-95M, seed 000 §1.2):

1. conv feature extractor: `len(conv_dim)` Conv1d layers (no bias by default), GroupNorm with one
   group per channel after the first, exact-erf GELU after each; hop = prod(conv_stride)
   (320 samples for (5,2,2,2,2,2,2): 24 kHz → 75 frames/s);
2. feature projection: LayerNorm(conv_dim[-1]) → Dense(hidden) → dropout;
3. convolutional positional embedding: grouped Conv1d(hidden, kernel K, padding K//2, groups G)
   (weight-normalised in PyTorch; folded into one kernel here), the last frame dropped for even K,
   GELU, added to the input; LayerNorm → dropout;
4. post-LN transformer layers: x = LN(x + attn(x)); x = LN(x + FFN(x)), FFN = Dense → GELU → Dense.

Input (B, T) float waveform (no normalisation, as the seed); output (B, F, hidden) with
F = `num_frames(T)`. Training-time SpecAugment-style masking and layer drop are not implemented.
`instrax.models.hubert_convert` loads a Hugging Face checkpoint into these parameters.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from instrax.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class HubertConfig:
  """The architecture fields of a Hugging Face HuBERT `config.json` that this module honours."""

  hidden_size: int = 768
  num_hidden_layers: int = 12
  num_attention_heads: int = 12
  intermediate_size: int = 3072
  conv_dim: tuple[int, ...] = (512,) * 7
  conv_kernel: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
  conv_stride: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
  conv_bias: bool = False
  num_conv_pos_embeddings: int = 128
  num_conv_pos_embedding_groups: int = 16
  layer_norm_eps: float = 1e-5
  feat_proj_layer_norm: bool = True
  dropout: float = 0.1  # hidden_dropout / activation / feature-projection dropout

  def __post_init__(self):
    if not len(self.conv_dim) == len(self.conv_kernel) == len(self.conv_stride):
      raise ConfigError("hubert: conv_dim, conv_kernel and conv_stride must have equal lengths")
    if self.hidden_size % self.num_attention_heads:
      raise ConfigError(f"hubert: hidden_size {self.hidden_size} is not a multiple of "
                        f"num_attention_heads {self.num_attention_heads}")

  @property
  def hop_length(self) -> int:
    """Samples per output frame: the product of the conv strides."""
    hop = 1
    for s in self.conv_stride:
      hop *= s
    return hop

  def num_frames(self, num_samples: int) -> int:
    """Output frames for `num_samples` input samples (valid convolutions, floor division)."""
    n = num_samples
    for k, s in zip(self.conv_kernel, self.conv_stride):
      n = (n - k) // s + 1
    return max(n, 0)


def _gelu(x: jax.Array) -> jax.Array:
  return nn.gelu(x, approximate=False)  # PyTorch's "gelu" is the exact erf form


class FeatureExtractor(nn.Module):
  """(B, T) → (B, F, conv_dim[-1]): the strided conv stack (layers `conv_{i}`, `norm_0`)."""

  config: HubertConfig
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, audio: jax.Array) -> jax.Array:
    c = self.config
    x = audio[..., None].astype(self.dtype)
    for i, (dim, k, s) in enumerate(zip(c.conv_dim, c.conv_kernel, c.conv_stride)):
      x = nn.Conv(dim, (k,), strides=(s,), padding="VALID", use_bias=c.conv_bias,
                  dtype=self.dtype, name=f"conv_{i}")(x)
      if i == 0:
        x = nn.GroupNorm(num_groups=dim, epsilon=1e-5, dtype=self.dtype, name="norm_0")(x)
      x = _gelu(x)
    return x


class SelfAttention(nn.Module):
  """Multi-head self-attention with biased q/k/v/out projections (q scaled by head_dim^-0.5)."""

  hidden: int
  heads: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    dense = lambda name: nn.Dense(self.hidden, dtype=self.dtype, name=name)
    head_dim = self.hidden // self.heads
    split = lambda t: t.reshape(*t.shape[:-1], self.heads, head_dim)
    q = split(dense("q_proj")(x)) * head_dim ** -0.5
    k, v = split(dense("k_proj")(x)), split(dense("v_proj")(x))
    weights = jax.nn.softmax((jnp.einsum("...qhd,...khd->...hqk", q, k)).astype(jnp.float32),
                             axis=-1).astype(self.dtype)
    out = jnp.einsum("...hqk,...khd->...qhd", weights, v).reshape((*x.shape[:-1], self.hidden))
    return dense("out_proj")(out)


class EncoderLayer(nn.Module):
  """One post-LN transformer layer: x = LN(x + attn(x)); x = LN(x + FFN(x))."""

  config: HubertConfig
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    c = self.config
    drop = lambda h: nn.Dropout(c.dropout, deterministic=not train)(h)
    ln = lambda name: nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name=name)
    x = ln("layer_norm")(x + drop(SelfAttention(c.hidden_size, c.num_attention_heads, self.dtype,
                                                 name="attention")(x)))
    h = _gelu(nn.Dense(c.intermediate_size, dtype=self.dtype, name="intermediate_dense")(x))
    h = drop(nn.Dense(c.hidden_size, dtype=self.dtype, name="output_dense")(drop(h)))
    return ln("final_layer_norm")(x + h)


class Hubert(nn.Module):
  """(B, T) waveform → (B, F, hidden) frame embeddings (see the module docstring)."""

  config: HubertConfig
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, audio: jax.Array, train: bool = False) -> jax.Array:
    c = self.config
    if audio.shape[-1] < c.conv_kernel[0] or c.num_frames(audio.shape[-1]) < 1:
      raise ConfigError(f"hubert: {audio.shape[-1]} samples are too few for one frame")
    drop = lambda h: nn.Dropout(c.dropout, deterministic=not train)(h)
    x = FeatureExtractor(c, self.dtype, name="feature_extractor")(audio)
    if c.feat_proj_layer_norm:
      x = nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="feature_norm")(x)
    x = drop(nn.Dense(c.hidden_size, dtype=self.dtype, name="feature_projection")(x))
    k = c.num_conv_pos_embeddings
    pos = nn.Conv(c.hidden_size, (k,), padding=[(k // 2, k // 2)],
                  feature_group_count=c.num_conv_pos_embedding_groups, dtype=self.dtype,
                  name="pos_conv")(x)
    if k % 2 == 0:
      pos = pos[..., :-1, :]
    x = x + _gelu(pos)
    x = drop(nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="encoder_norm")(x))
    for i in range(c.num_hidden_layers):
      x = EncoderLayer(c, self.dtype, name=f"layer_{i}")(x, train)
    return x
