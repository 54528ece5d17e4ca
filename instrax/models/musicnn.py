"""musicnn (Pons & Serra 2019, "musicnn: pre-trained convolutional neural networks for music audio
tagging", ISMIR LBD; github.com/jordipons/musicnn), with its MagnaTagATune-trained weights.

Input: the `musicnn` frontend's log-mel (16 kHz, n_fft 512, hop 256, 96 Slaney mels, log10(x +
1e-4)), (B, 1, 96, T). Architecture, as `musicnn.models.build_musicnn` (num_filt 1.6, midend 64,
backend 200):
- front end: input BatchNorm; timbral blocks: Conv (7 frames × 38 or 67 mel bands, 204 filters,
  valid, time zero-padded by 3) → ReLU → BN → max over frequency; temporal blocks: Conv (128, 64,
  32 frames × 1 band, 51 filters, 'same') → ReLU → BN → max over frequency; concatenated:
  (B, T, 561);
- mid end: three Conv1D (7 frames, 64 filters) → ReLU → BN, the 2nd and 3rd residual; the front
  end and the three outputs concatenated: (B, T, 753);
- back end: max and mean over time, interleaved per feature (B, 1506) → BN → Dropout 0.5 →
  Dense 200 → ReLU → BN (the "penultimate" features) → Dropout 0.5 → Dense `num_classes`.
BatchNorm: ε = 1e-3, momentum 0.99 (TensorFlow's defaults).

`pretrained` names the file written by `instrax.models.musicnn_convert` (the MTT_musicnn
weights of the musicnn PyPI package, ISC licence); `load_pretrained` puts every pretrained layer
into a fresh model, and the 50-tag output layer too when `num_classes` is 50 (the MTT tagger
itself). `freeze_bn` keeps the pretrained batch statistics fixed while training (the statistics
of real music, not of the training data).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from instrax.errors import ConfigError
from instrax.models.registry import MODELS

TIMBRAL = ((7, 38), (7, 67))  # (frames, mel bands): int(0.4·96), int(0.7·96)
TEMPORAL = (128, 64, 32)  # frames
TIMBRAL_FILTERS, TEMPORAL_FILTERS = 204, 51  # int(1.6·128), int(1.6·32)
N_MELS = 96
FREEZE = ("none", "frontend", "midend")  # stage 1 = front end, 2 = mid end, 3 = back end
STAGE_MODULES = (("input_norm", "timbral_", "temporal_"), ("midend_",))  # of stages 1, 2


def frozen_modules(freeze: str) -> tuple[str, ...]:
  """The parameter-path prefixes `freeze` keeps fixed (for the optimizer's param_groups).
  ConfigError for an unknown value."""
  if freeze not in FREEZE:
    raise ConfigError(f"musicnn: freeze={freeze!r}; valid: {', '.join(FREEZE)}")
  return tuple(m for stage in STAGE_MODULES[:FREEZE.index(freeze)] for m in stage)


@MODELS.register("musicnn")
class Musicnn(nn.Module):
  """musicnn on (B, 1, 96, T) log-mel → (B, num_classes) logits (779 k params with 11 classes)."""
  num_classes: int
  dtype: Any = jnp.float32
  midend_filters: int = 64
  backend_units: int = 200
  dropout: float = 0.5
  pretrained: str = ""  # file made by instrax.models.musicnn_convert
  freeze: str = "none"  # or "frontend" | "midend": the blocks up to it get no gradient
  freeze_bn: bool = False

  def _features(self, x: jax.Array, train: bool) -> jax.Array:
    """(B, 1, 96, T) → (B, backend_units) penultimate features (called from `__call__`)."""
    frozen_modules(self.freeze)  # checks the value
    frozen = FREEZE.index(self.freeze)
    def norm(stage: int, name: str) -> nn.BatchNorm:
      fixed = not train or self.freeze_bn or stage <= frozen
      return nn.BatchNorm(use_running_average=fixed, momentum=0.99, epsilon=1e-3,
                          dtype=self.dtype, name=name)

    if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != N_MELS:
      raise ConfigError(f"musicnn takes mono {N_MELS}-band log-mel (B, 1, {N_MELS}, T) (frontend "
                        f"'musicnn', mono data), got {x.shape}")
    x = jnp.transpose(x, (0, 3, 2, 1)).astype(self.dtype)  # (B, T, F, 1)
    x = norm(1, "input_norm")(x)
    padded = jnp.pad(x, ((0, 0), (3, 3), (0, 0), (0, 0)))
    front = []
    for kernel in TIMBRAL:
      name = f"timbral_{kernel[1]}"
      y = nn.relu(nn.Conv(TIMBRAL_FILTERS, kernel, padding="VALID", dtype=self.dtype,
                          name=f"{name}_conv")(padded))
      front.append(norm(1, f"{name}_norm")(y).max(axis=2))
    for frames in TEMPORAL:
      name = f"temporal_{frames}"
      y = nn.relu(nn.Conv(TEMPORAL_FILTERS, (frames, 1), padding="SAME", dtype=self.dtype,
                          name=f"{name}_conv")(x))
      front.append(norm(1, f"{name}_norm")(y).max(axis=2))
    h = jnp.concatenate(front, axis=-1)  # (B, T, 561)
    if frozen >= 1:
      h = jax.lax.stop_gradient(h)
    layers, y = [h], h
    for i in range(3):
      z = nn.Conv(self.midend_filters, (7,), padding=((3, 3),), dtype=self.dtype,
                  name=f"midend_{i + 1}_conv")(y)
      z = norm(2, f"midend_{i + 1}_norm")(nn.relu(z))
      y = z if i == 0 else z + y
      layers.append(y)
    h = jnp.concatenate(layers, axis=-1)  # (B, T, 753)
    if frozen >= 2:
      h = jax.lax.stop_gradient(h)
    pooled = jnp.stack([h.max(axis=1), h.mean(axis=1)], axis=-1).reshape(h.shape[0], -1)
    pooled = nn.Dropout(self.dropout, deterministic=not train)(norm(3, "pool_norm")(pooled))
    dense = nn.relu(nn.Dense(self.backend_units, dtype=self.dtype, name="penultimate")(pooled))
    return norm(3, "penultimate_norm")(dense)

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
    h = self._features(x, train)
    self.sow("intermediates", "features", h)  # apply(..., mutable="intermediates") reads it
    h = nn.Dropout(self.dropout, deterministic=not train)(h)
    return nn.Dense(self.num_classes, dtype=self.dtype, name="head")(h).astype(jnp.float32)

  def load_pretrained(self, variables: dict[str, Any]) -> dict[str, Any]:
    """`variables` ({"params", "batch_stats"}) with the `pretrained` weights put in (unchanged
    when `pretrained` is empty). Raises DatasetError when the file is missing or does not fit."""
    if not self.pretrained:
      return variables
    from instrax.models import musicnn_convert
    return musicnn_convert.load_into(self.pretrained, variables)
