"""Lead-instrument classification, `inst_cls` (seed 000 §1.3 "inst_cls variants"): per 75 Hz
frame, the instrument type of the lead — classes = the task's instrument ids (0 = unknown, then
the vocabulary, then mix and "none"), not track indices.

Inputs as `lead_ch_cls` (mix (B, 1, T), stems (B, N, T), track_mask (B, N), inst_ids (B, N));
output float32 logits (B, F, num_classes). The same per-track encoder (`tracks/encoder`), then by
`variant`:
  from_mix    the mix's features only (the seed's FromMix)
  by_inst     the mean over the real stems' features (ByInst)
  inst_emb    + the instrument-type embedding per stem, then that mean (InstEmb)
  by_channel  the mix attending over all tracks, padded ones masked (ByChannel)
→ Dropout → Dense(num_classes), as the seed's head Linear(768, num_inst_type + 1). FromMix
encodes only the mix.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from instrax.errors import ConfigError
from instrax.models.lead import LeadTrackClassifier, check_inputs
from instrax.models.registry import MODELS

VARIANTS = ("from_mix", "by_inst", "inst_emb", "by_channel")


@MODELS.register("lead_inst_cls")
class LeadInstrumentClassifier(LeadTrackClassifier):
  """Per-frame lead-instrument logits from the mix, the stem mean or mix-query attention."""

  variant: str = "by_channel"

  @nn.compact
  def __call__(self, x: dict[str, jax.Array], train: bool = False) -> jax.Array:
    if self.variant not in VARIANTS:
      raise ConfigError(f"model lead_inst_cls: variant {self.variant!r} unknown; choose from "
                        f"{', '.join(VARIANTS)}")
    if self.variant == "from_mix":
      mix, _ = check_inputs(x, "lead_inst_cls")
      h = self.encode(mix[:, 0].astype(self.dtype), train)  # (B, F, D)
    else:
      feats, valid, inst_ids = self.encode_tracks(x, train)
      if self.variant == "by_channel":
        h = self.attend(feats, valid)
      else:
        if self.variant == "inst_emb":
          feats = self.add_inst_emb(feats, valid, inst_ids)
        weight = valid[:, 1:, None, None].astype(feats.dtype)  # the stems, padding excluded
        h = (feats[:, 1:] * weight).sum(1) / jnp.maximum(weight.sum(1), 1.0)
    h = nn.Dropout(self.dropout, deterministic=not train)(h)
    return nn.Dense(self.num_classes, dtype=self.dtype, name="head")(h).astype(jnp.float32)
