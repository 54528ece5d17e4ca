"""The seed's multichannel CRNN lead baseline (seed 000 §1.4 `MultiChannelCRNN`, after Adavanne
et al. 2018): tracks as the channels of one spectrogram CNN.

Inputs as `lead_ch_cls` (mix (B, 1, T), stems (B, N, T) zero-padded, track_mask, inst_ids; raw
audio at 24 kHz); output float32 logits (B, T // 320 − 1, num_classes): 375 frames for the
task's 120,320 samples, as the seed (which cuts its input to 119,999 samples for that). Per
track a mel power spectrogram (n_fft 2048, hop 320, 128 HTK mels, power 2, no log: frontend
preset "lead_crnn"); the mix and the N stems are the
1 + N input channels (the seed: 10). 3 × [Conv 3×3 → `channels` → BatchNorm → ReLU → max-pool
over mel bands by `pools`] (128 / 5 / 2 / 2 → 6 bands × 128 = 768 features per frame) →
`rnn_layers` bidirectional GRUs of `rnn_features` → Dense(`hidden`) → Dense(num_classes). The
seed puts a sigmoid before its cross-entropy; here the logits go to the softmax cross-entropy.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from instrax.audio.frontend import PRESETS, Frontend
from instrax.models.crnn import GRU, max_pool
from instrax.models.lead import check_inputs
from instrax.models.registry import MODELS


@MODELS.register("lead_crnn")
class MultiChannelCRNN(nn.Module):
  """Mel spectrograms of all tracks as CNN channels → BiGRU → per-frame logits."""

  num_classes: int
  num_instruments: int = 0  # unused (the tracks' instruments are not inputs of this baseline)
  channels: int = 128
  pools: tuple[int, ...] = (5, 2, 2)
  rnn_features: int = 32
  rnn_layers: int = 2
  hidden: int = 32
  n_mels: int = 128
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: dict[str, jax.Array], train: bool = False) -> jax.Array:
    mix, stems = check_inputs(x, "lead_crnn")
    frontend = Frontend(**{**PRESETS["lead_crnn"], "n_mels": self.n_mels})
    audio = jnp.concatenate([mix, stems], axis=1).astype(jnp.float32)  # (B, C, T)
    # The task's segments hold frames · hop + hop samples (the seed's 120,320 → 375 frames).
    frames = audio.shape[-1] // frontend.hop_length - 1
    spec = frontend(audio)[:, :, :frames]  # (B, C, F, mels)
    h = jnp.transpose(spec, (0, 2, 3, 1)).astype(self.dtype)  # (B, F, mels, C)
    for i, pool in enumerate(self.pools):
      h = nn.Conv(self.channels, (3, 3), padding="SAME", dtype=self.dtype, name=f"conv_{i}")(h)
      h = nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype,
                       name=f"bn_{i}")(h)
      h = max_pool(nn.relu(h), (1, pool))
    h = h.reshape(*h.shape[:2], -1)  # (B, F, bands · channels)
    for i in range(self.rnn_layers):
      fwd = GRU(self.rnn_features, dtype=self.dtype, name=f"gru_{i}")(h)
      bwd = GRU(self.rnn_features, reverse=True, dtype=self.dtype, name=f"gru_{i}_reverse")(h)
      h = jnp.concatenate([fwd, bwd], axis=-1)
    h = nn.Dense(self.hidden, dtype=self.dtype, name="fc")(h)
    return nn.Dense(self.num_classes, dtype=self.dtype, name="head")(h).astype(jnp.float32)
