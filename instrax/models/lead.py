"""Lead-track detection over multitracks, `ch_cls` (seed 000 §1.3 `MertSoloDetectorChattnChcls`).

Inputs (a dict, raw audio at the encoder's rate, 24 kHz for hop 320 → 75 frames/s):
  mix        (B, 1, T) float   the mixture
  stems      (B, N, T) float   the stems, zero-padded to N tracks
  track_mask (B, N) bool       which stems are real
  inst_ids   (B, N) int32      instrument type per stem, 1..num_instruments (0 = unknown/padding)
Output: float32 logits (B, F, num_classes) over track indices: 0 = no lead, 1 = the mix, 1 + k =
stem k (k = 1..N), F = encoder frames of T samples.

1. Every track (the mix first) goes through one shared audio encoder → (B, 1+N, F, D), in chunks
   of `track_chunk` tracks under `lax.scan` (with rematerialisation when `remat`), so activation
   memory is bounded by one chunk rather than by the track count (the seed ran batch 1 for this).
2. Instrument-type embedding (the mix has its own id) and track-position embedding are added.
3. Per frame, the mix attends over all tracks, the mix included (multi-head, biased projections);
   unlike the seed, padded tracks are masked out of the keys.
4. LayerNorm → Dropout → Dense(num_classes); classes of padded or absent tracks get −1e9 (the seed
   masked only classes beyond the track count).

Encoders: "mel" (default) — log-mel frames → convs (→ transformer layers if `enc_layers`)
(`instrax.models.mel_encoder`, `enc_*` fields), small and CPU-trainable; "conv" — a small
HuBERT-shaped raw-waveform conv + transformer encoder trained from scratch (`enc_*` fields);
"hubert" — the architecture of the Hugging Face checkpoint in `encoder_checkpoint`
(config.json + weights, e.g. MERT-v1-95M), whose weights `load_pretrained` puts into the
parameters. Parameter groups: `tracks/encoder` (encoder), `attention`, the rest
(embeddings and head) — the seed's mert_lr / attn_lr / lr.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from instrax.errors import ConfigError
from instrax.models import hubert, hubert_convert, mel_encoder
from instrax.models.registry import MODELS

ENCODERS = ("mel", "conv", "hubert")
NEG = -1e9  # logit of a class that cannot be predicted (finite, so that CE stays finite)


class _EncodeChunk(nn.Module):
  """Scan body: encodes one chunk of tracks (chunk, T) → (chunk, F, D)."""

  config: hubert.HubertConfig | mel_encoder.MelEncoderConfig
  train: bool
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, carry: None, chunk: jax.Array) -> tuple[None, jax.Array]:
    module = (mel_encoder.MelEncoder if isinstance(self.config, mel_encoder.MelEncoderConfig)
              else hubert.Hubert)
    return carry, module(self.config, self.dtype, name="encoder")(chunk, self.train)


def check_inputs(x: dict[str, jax.Array], model: str) -> tuple[jax.Array, jax.Array]:
  """(mix (B, 1, T), stems (B, N, T)) of a lead model's input dict; ConfigError naming `model`
  when mix, stems, track_mask (B, N) and inst_ids (B, N) do not agree."""
  mix, stems = x["mix"], x["stems"]
  b, n, t = stems.shape
  if mix.shape != (b, 1, t) or x["track_mask"].shape != (b, n) or x["inst_ids"].shape != (b, n):
    raise ConfigError(f"{model}: inputs mix {mix.shape}, stems {stems.shape}, track_mask "
                      f"{x['track_mask'].shape}, inst_ids {x['inst_ids'].shape} do not agree "
                      "(want (B, 1, T), (B, N, T), (B, N), (B, N))")
  return mix, stems


@MODELS.register("lead_ch_cls")
class LeadTrackClassifier(nn.Module):
  """Mix-query attention over per-track encodings → per-frame logits over track indices."""

  num_classes: int  # 2 + the most stems a segment may hold (seed: 28)
  num_instruments: int = 130  # instrument ids 1..num_instruments; 0 = unknown/padding
  encoder: str = "mel"
  encoder_checkpoint: str = ""  # Hugging Face directory, for encoder "hubert"
  enc_conv_dim: int = 32
  enc_hidden: int = 64
  enc_layers: int = 2
  enc_heads: int = 4
  enc_ffn: int = 128
  enc_pos_kernel: int = 16
  enc_pos_groups: int = 4
  enc_dropout: float = 0.1
  enc_n_mels: int = 64  # mel encoder only
  enc_conv_layers: int = 2  # mel encoder only
  sample_rate: int = 24000  # of the input audio (the task's model_sample_rate); mel encoder only
  hop_length: int = 320  # samples per output frame; mel encoder only (n_fft = 2 · hop)
  attn_heads: int = 4  # seed: 12 (with d 768)
  dropout: float = 0.1  # on the attended vector; seed: 0.8
  inst_emb: bool = True
  ch_emb: bool = True
  track_chunk: int = 4  # tracks encoded at once; 0 = all at once
  remat: bool = True
  dtype: Any = jnp.float32

  def encoder_config(self) -> hubert.HubertConfig | mel_encoder.MelEncoderConfig:
    if self.encoder == "mel":
      return mel_encoder.MelEncoderConfig(
          sample_rate=self.sample_rate, hop_length=self.hop_length, n_fft=2 * self.hop_length,
          n_mels=self.enc_n_mels, hidden=self.enc_hidden, conv_layers=self.enc_conv_layers,
          layers=self.enc_layers, heads=self.enc_heads, ffn=self.enc_ffn,
          dropout=self.enc_dropout)
    if self.encoder == "conv":
      return hubert.HubertConfig(
          hidden_size=self.enc_hidden, num_hidden_layers=self.enc_layers,
          num_attention_heads=self.enc_heads, intermediate_size=self.enc_ffn,
          conv_dim=(self.enc_conv_dim,) * 7, num_conv_pos_embeddings=self.enc_pos_kernel,
          num_conv_pos_embedding_groups=self.enc_pos_groups, dropout=self.enc_dropout)
    if self.encoder == "hubert":
      if not self.encoder_checkpoint:
        raise ConfigError("model lead_ch_cls: encoder 'hubert' needs model.encoder_checkpoint "
                          "(a Hugging Face directory with config.json and weights)")
      return hubert_convert.config_from_dir(self.encoder_checkpoint)
    raise ConfigError(f"model lead_ch_cls: encoder {self.encoder!r} unknown; choose from "
                      f"{', '.join(ENCODERS)}")

  def load_pretrained(self, variables: dict[str, Any]) -> dict[str, Any]:
    """`variables` ({"params", ...}) with the encoder's params replaced by the checkpoint's
    weights (encoder "hubert"), else unchanged. Raises DatasetError when the checkpoint does not
    fit the model."""
    if self.encoder != "hubert":
      return variables
    _, weights = hubert_convert.load(self.encoder_checkpoint)
    params = variables["params"]
    current = params["tracks"]["encoder"]
    hubert_convert.check_shapes(weights, current)
    weights = jax.tree.map(lambda w, c: jnp.asarray(w, c.dtype), weights, current)
    return {**variables, "params": {**params, "tracks": {**params["tracks"], "encoder": weights}}}

  def encode(self, audio: jax.Array, train: bool) -> jax.Array:
    """(M, T) tracks → (M, F, D), `track_chunk` tracks at a time under scan."""
    m = audio.shape[0]
    chunk = m if self.track_chunk <= 0 else min(self.track_chunk, m)
    n_chunks = -(-m // chunk)
    audio = jnp.pad(audio, ((0, n_chunks * chunk - m), (0, 0)))
    body = nn.remat(_EncodeChunk, prevent_cse=False) if self.remat else _EncodeChunk
    if n_chunks == 1:  # same parameters; XLA CPU runs a scan's backward ~15× slower than this
      return body(self.encoder_config(), train, self.dtype, name="tracks")(None, audio)[1][:m]
    scan = nn.scan(body, variable_broadcast="params", split_rngs={"params": False, "dropout": True},
                   in_axes=0, out_axes=0, length=n_chunks)
    _, feats = scan(self.encoder_config(), train, self.dtype, name="tracks")(
        None, audio.reshape(n_chunks, chunk, -1))
    return feats.reshape(n_chunks * chunk, *feats.shape[2:])[:m]

  def encode_tracks(self, x: dict[str, jax.Array], train: bool
                    ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Checked inputs → (features (B, 1 + N, F, D) of the mix and stems, valid (B, 1 + N) bool,
    inst_ids (B, N) int32). Raises ConfigError when the input shapes disagree."""
    mix, stems = check_inputs(x, type(self).__name__)
    b, n, t = stems.shape
    audio = jnp.concatenate([mix, stems], axis=1).astype(self.dtype)
    feats = self.encode(audio.reshape(b * (n + 1), t), train)
    valid = jnp.concatenate([jnp.ones((b, 1), bool), x["track_mask"].astype(bool)], axis=1)
    return feats.reshape(b, n + 1, *feats.shape[1:]), valid, x["inst_ids"].astype(jnp.int32)

  def attend(self, feats: jax.Array, valid: jax.Array) -> jax.Array:
    """Per frame, the mix (track 0) attends over the valid tracks: (B, C, F, D) → (B, F, D)."""
    query = jnp.swapaxes(feats[:, :1], 1, 2)  # (B, F, 1, D)
    keys = jnp.swapaxes(feats, 1, 2)  # (B, F, C, D)
    return nn.MultiHeadDotProductAttention(
        num_heads=self.attn_heads, dtype=self.dtype, name="attention")(
            query, keys, mask=valid[:, None, None, None, :])[:, :, 0]

  def add_inst_emb(self, feats: jax.Array, valid: jax.Array, inst_ids: jax.Array) -> jax.Array:
    """(B, C, F, D) + the instrument-type embedding of each track (the mix has its own id,
    num_instruments + 1; padded tracks and out-of-range ids get 0), broadcast over frames."""
    b = feats.shape[0]
    mix_id = jnp.full((b, 1), self.num_instruments + 1, jnp.int32)
    ids = jnp.concatenate([mix_id, jnp.where(valid[:, 1:], inst_ids, 0)], axis=1)
    ids = jnp.clip(ids, 0, self.num_instruments + 1)
    return feats + nn.Embed(self.num_instruments + 2, feats.shape[-1], dtype=self.dtype,
                            name="inst_emb")(ids)[:, :, None]

  @nn.compact
  def __call__(self, x: dict[str, jax.Array], train: bool = False) -> jax.Array:
    feats, valid, inst_ids = self.encode_tracks(x, train)
    track_mask = valid[:, 1:]
    b, c = feats.shape[:2]
    n = c - 1
    if n + 2 > self.num_classes:
      raise ConfigError(f"lead_ch_cls: {n} stems need num_classes ≥ {n + 2}, got "
                        f"{self.num_classes}")
    if self.inst_emb:
      feats = self.add_inst_emb(feats, valid, inst_ids)
    if self.ch_emb:
      feats = feats + nn.Embed(self.num_classes, feats.shape[-1], dtype=self.dtype,
                               name="ch_emb")(jnp.arange(c))[None, :, None]
    attended = self.attend(feats, valid)  # (B, F, D)
    h = nn.LayerNorm(dtype=self.dtype, name="norm")(attended)
    h = nn.Dropout(self.dropout, deterministic=not train)(h)
    logits = nn.Dense(self.num_classes, dtype=self.dtype, name="head")(h).astype(jnp.float32)
    allowed = jnp.concatenate([jnp.ones((b, 2), bool), track_mask,
                               jnp.zeros((b, self.num_classes - n - 2), bool)], axis=1)
    return jnp.where(allowed[:, None, :], logits, NEG)
