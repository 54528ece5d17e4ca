"""Onsets and Velocities (Fernandez 2023; seed 002, seeds.md §2.2): piano onset + velocity model.

Input: log-mel features (B, 1, 229, T) in dB (frontend preset `onsets_velocities`), or the dict
{"audio": those features UNFLOORED (frontend top_db=None), "ref_db": (B,) the whole file's max dB}:
the model then floors at ref_db − `top_db` (80), so every chunk of a file shares the file's floor as
the seed's whole-file AmplitudeToDB (`instrax.audio.file_db` computes ref_db). The model stacks
[x[..., 1:], Δx] into (B, 2, 229, T−1), so EVERY output has T−1 frames (the caller left-pads one
frame to align with the input, seeds.md §2.4). Layout inside is NHWC = (B, bins, frames, C).

specnorm: SubSpectralNorm = one BatchNorm per (channel, mel bin).
stem: Conv3×3 2→16 → BN → LReLU; 3 × [CAM(16) → BN → LReLU]; the mel→key grouped conv
  (each of the 16 channels maps its 229 mel rows to 88 key rows: Conv2d(16, 16·88, (229, 1),
  groups=16), written here as an einsum with the same 322,432 weights) → BN → LReLU.
CAM (context-aware module): skip(x) + concat_i HDC_i(x) · SE(x), HDC_i = dilated Conv → BN → ReLU,
  skip = 1×1 → BN → ReLU, SE = mean pool → Dense → ReLU → Dense → sigmoid (a per-channel gate).
stage (onsets ×3, velocity ×1): 1×1 → 12 → BN → LReLU; n × [CAM(12) → BN → LReLU];
  Conv (88, 3) 12→200 (collapses the keys) → BN → LReLU; 1×1 200→200 → BN → LReLU → Dropout;
  1×1 200→88 (bias); per-key BN → logits (B, T−1, 88).
Onset stage k reads the stem output and adds stage k−1; the velocity stage reads
concat(stem, last onset stage) (17 channels).

Returns {"onsets": (B, 3, T−1, 88) stage logits (the LAST stage is the prediction),
"velocity": (B, T−1, 88) logits}, float32. 3,127,168 parameters (plus batch statistics) with the
seed's sizes; `stem_channels`, `num_onset_stages`, `stage_cams` and `stage_hidden` shrink it
(configs/piano.py `size=small`: a faster variant, docs/piano.md).

Conventions converted from PyTorch: `bn_momentum` is given in PyTorch's convention (new = (1−m)·old
+ m·batch; the seed uses 0.95) and passed to Flax as 1 − m. Init: kaiming-normal (fan-in, gain √2,
untruncated, as `torch.nn.init.kaiming_normal_`) for every conv/dense weight, zero biases, SE
biases 1.0. Flax updates the running variance with the biased batch variance (PyTorch: unbiased).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from instrax.models import layers
from instrax.models.registry import MODELS

KAIMING = nn.initializers.variance_scaling(2.0, "fan_in", "normal")

STEM_CAM = dict(kernels=((3, 5),) * 4, dilations=((1, 1), (1, 2), (1, 3), (1, 4)))
STAGE_CAM = dict(kernels=((1, 11),) * 3, dilations=((1, 1), (1, 2), (1, 3)))


def _same(kernel: tuple[int, int], dilation: tuple[int, int]) -> tuple[tuple[int, int], ...]:
  """Symmetric 'same' padding of an odd (dilated) kernel: the seed's explicit paddings."""
  return tuple(((k - 1) * d // 2, (k - 1) * d // 2) for k, d in zip(kernel, dilation))


class _Layers(nn.Module):
  """Shared helpers: conv / BN / leaky ReLU with the model's dtype and BN momentum."""
  dtype: Any = jnp.float32
  bn_momentum: float = 0.95
  leaky_slope: float = 0.1

  def conv(self, features: int, kernel: tuple[int, int], dilation=(1, 1), padding=None,
           use_bias: bool = False, name: str | None = None) -> nn.Conv:
    return nn.Conv(features, kernel, kernel_dilation=dilation,
                   padding=padding if padding is not None else _same(kernel, dilation),
                   use_bias=use_bias, kernel_init=KAIMING, dtype=self.dtype, name=name,
                   conv_general_dilated=layers.conv_general_dilated)  # 42× faster key convs

  def bn(self, train: bool, axis: int | tuple[int, ...] = -1, name: str | None = None):
    return nn.BatchNorm(use_running_average=not train, axis=axis, momentum=1.0 - self.bn_momentum,
                        epsilon=1e-5, dtype=self.dtype, name=name)

  def lrelu(self, x: jax.Array) -> jax.Array:
    return nn.leaky_relu(x, self.leaky_slope)


class CAM(_Layers):
  """Context-aware module on (B, H, W, C) → (B, H, W, hdc·len(kernels)), 'same' size."""
  hdc: int = 4
  se_bottleneck: int = 8
  kernels: tuple[tuple[int, int], ...] = ()
  dilations: tuple[tuple[int, int], ...] = ()

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
    out = self.hdc * len(self.kernels)
    gate = jnp.mean(x, axis=(1, 2))
    gate = nn.relu(nn.Dense(self.se_bottleneck, kernel_init=KAIMING,
                            bias_init=nn.initializers.ones, dtype=self.dtype, name="se_0")(gate))
    gate = nn.Dense(out, kernel_init=KAIMING, bias_init=nn.initializers.ones, dtype=self.dtype,
                    name="se_1")(gate)
    gate = jax.nn.sigmoid(gate)[:, None, None, :]
    skip = nn.relu(self.bn(train, name="skip_bn")(self.conv(out, (1, 1), name="skip")(x)))
    hdcs = [nn.relu(self.bn(train, name=f"hdc{i}_bn")(self.conv(self.hdc, k, d, name=f"hdc{i}")(x)))
            for i, (k, d) in enumerate(zip(self.kernels, self.dilations))]
    return skip + jnp.concatenate(hdcs, axis=-1) * gate


class Stage(_Layers):
  """A CAM stage: (B, 88, T, C) → per-key logits (B, T, 88)."""
  num_cams: int = 3
  keys: int = 88
  hidden: int = 200
  dropout: float = 0.15

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
    cam = partial(CAM, dtype=self.dtype, bn_momentum=self.bn_momentum, **STAGE_CAM)
    chans = 4 * len(STAGE_CAM["kernels"])  # 12: 4 channels per dilated conv
    x = self.lrelu(self.bn(train)(self.conv(chans, (1, 1))(x)))
    for _ in range(self.num_cams):
      x = self.lrelu(self.bn(train)(cam()(x, train=train)))
    x = self.conv(self.hidden, (self.keys, 3), padding=((0, 0), (1, 1)))(x)  # (B, 1, T, 200)
    x = self.lrelu(self.bn(train)(x))
    x = self.lrelu(self.bn(train)(self.conv(self.hidden, (1, 1))(x)))
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    x = self.conv(self.keys, (1, 1), use_bias=True)(x)[:, 0]  # (B, T, 88)
    return self.bn(train, name="key_norm")(x)  # SubSpectralNorm(1, 88, 88): one BN per key


@MODELS.register("onsets_velocities")
class OnsetsVelocities(_Layers):
  """OnsetVelocityNet: features (B, 1, mel_bins, T) → {"onsets": (B, 3, T−1, 88), "velocity":
  (B, T−1, 88)} float32 logits. `num_classes` = keys (88 = MIDI 21..108)."""
  num_classes: int = 88
  dtype: Any = jnp.float32
  mel_bins: int = 229
  stem_channels: int = 16
  num_onset_stages: int = 3
  stage_cams: int = 3  # CAMs per onset stage
  stage_hidden: int = 200  # channels of the key-collapsing conv and the 1×1 after it
  velocity_cams: int = 1
  dropout: float = 0.15
  bn_momentum: float = 0.95  # PyTorch convention (Flax momentum = 1 − this)
  leaky_slope: float = 0.1
  train_onsets: bool = True  # False: no gradient reaches the stem and onset stages
  top_db: float = 80.0  # with a dict input: floor at ref_db − top_db

  @nn.compact
  def __call__(self, x: jax.Array | dict[str, jax.Array], *, train: bool
               ) -> dict[str, jax.Array]:
    ref_db = None
    if isinstance(x, dict):
      x, ref_db = x["audio"], x["ref_db"]
    if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != self.mel_bins or x.shape[3] < 2:
      raise ValueError(f"onsets_velocities expects (B, 1, {self.mel_bins}, T ≥ 2) log-mels, got "
                       f"{x.shape}; use the 'onsets_velocities' frontend on mono audio.")
    layers = dict(dtype=self.dtype, bn_momentum=self.bn_momentum, leaky_slope=self.leaky_slope)
    mel = x[:, 0].astype(jnp.float32)  # (B, F, T)
    if ref_db is not None:
      mel = jnp.maximum(mel, jnp.reshape(ref_db, (-1, 1, 1)).astype(jnp.float32) - self.top_db)
    x = jnp.stack([mel[..., 1:], jnp.diff(mel, axis=-1)], axis=-1)  # (B, F, T−1, 2)
    # SubSpectralNorm in float32: dB values (≈ −100..40) lose their detail in bf16
    specnorm = nn.BatchNorm(use_running_average=not train, axis=(1, 3),
                            momentum=1.0 - self.bn_momentum, epsilon=1e-5, name="specnorm")
    x = specnorm(x).astype(self.dtype)
    # stem
    c = self.stem_channels
    x = self.lrelu(self.bn(train, name="stem_bn")(self.conv(c, (3, 3), name="stem_conv")(x)))
    for i in range(3):
      cam = CAM(hdc=c // 4, se_bottleneck=8, dtype=self.dtype, bn_momentum=self.bn_momentum,
                name=f"stem_cam{i}", **STEM_CAM)
      x = self.lrelu(self.bn(train, name=f"stem_cam{i}_bn")(cam(x, train=train)))
    w = self.param("mel_to_key", nn.initializers.variance_scaling(2.0, "fan_in", "normal",
                                                                   in_axis=0, out_axis=(1, 2)),
                   (self.mel_bins, c, self.num_classes))
    x = jnp.einsum("bftc,fck->bktc", x, w.astype(self.dtype))  # (B, 88, T−1, C)
    stem = self.lrelu(self.bn(train, name="key_bn")(x))
    # onset stages, each residual on the previous one
    stages = []
    for k in range(self.num_onset_stages):
      out = Stage(num_cams=self.stage_cams, keys=self.num_classes, hidden=self.stage_hidden,
                  dropout=self.dropout, name=f"onsets_{k}", **layers)(stem, train=train)
      stages.append(out if k == 0 else out + stages[-1])
    onsets = jnp.stack(stages, axis=1)  # (B, S, T−1, 88)
    last = stages[-1]
    if not self.train_onsets:
      onsets, stem, last = map(jax.lax.stop_gradient, (onsets, stem, last))
    vel_in = jnp.concatenate([stem, jnp.swapaxes(last, 1, 2)[..., None].astype(stem.dtype)], -1)
    velocity = Stage(num_cams=self.velocity_cams, keys=self.num_classes,
                     hidden=self.stage_hidden, dropout=self.dropout, name="velocity",
                     **layers)(vel_in, train=train)
    return {"onsets": onsets.astype(jnp.float32), "velocity": velocity.astype(jnp.float32)}
