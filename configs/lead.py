"""Lead-track detection from multitracks, ch_cls (seed 000: Ou, Takahashi, Wang, ICASSP 2025).

  python launch.py --config=configs/lead.py:synth --workdir=runs/lead_synth   # synthmix, CPU
  python launch.py --config=configs/lead.py --workdir=runs/lead_medleydb      # MedleyDB segments
  python launch.py --config=configs/lead.py:encoder=hubert,checkpoint=/path/MERT-v1-95M ...
  ... :encoder=hubert,checkpoint=...,freeze=encoder       # the seed's freeze_mert ablation
  ... :encoder=hubert,checkpoint=...,freeze=all_but_last  # train_last_layer: only the last layer
  ... :model=lead_inst_cls,variant=from_mix|by_inst|inst_emb|by_channel   # the seed's inst_cls
  ... :model=lead_crnn                                    # the multichannel CRNN baseline

Per 75 Hz frame the model names the leading track (0 = none, 1 = mix, 1 + k = stem k): a shared
per-track encoder (default `encoder=mel`: log-mel frames → convs, trained from scratch,
CPU-sized; `encoder=conv`: a small HuBERT-shaped raw-waveform encoder from scratch;
`encoder=hubert`: a HuBERT/MERT checkpoint directory), instrument and track-position
embeddings, the mix attending over all tracks (padded tracks masked), LayerNorm → dropout →
linear. 5-s segments (+ one hop of padding), ch_permute augmentation; evaluation on 5-s windows
every 2.5 s, per segment (the seed's macro-F1 over present classes) and on stitched whole songs.

Learning rates (`lrs=`, as optimizer.param_groups multipliers of the schedule's rate on the
model's parameter paths `tracks/encoder/...` (encoder), `attention/...` (track attention), the
rest = embeddings, LayerNorm and head): `seed` = the seed's MedleyDB AdamW groups (lr 1e-4,
attn_lr = mert_lr = 1e-5 → ×0.1), `mjn` = its MJN groups (1e-3, 1e-5, 1e-5 → ×0.01), `same` = one
rate; default `seed` with the pretrained encoder, `same` from scratch. `freeze=encoder` /
`all_but_last` are the seed's freeze_mert / train_last_layer ablations.
"""

from __future__ import annotations

import ml_collections

from configs import default
from configs.common import apply_tiny, model_block
from instrax.config_args import parse_arg
from instrax.errors import ConfigError

#: lrs= → (attention, encoder) learning-rate multipliers of the head's rate (seeds.md §1.5)
LR_MULTIPLIERS = {"same": (1.0, 1.0), "seed": (0.1, 0.1), "mjn": (0.01, 0.01)}
FREEZE = ("none", "encoder", "all_but_last")
#: model= choices: the final ch_cls model, the inst_cls variants, the multichannel CRNN baseline
MODELS = ("lead_ch_cls", "lead_inst_cls", "lead_crnn")
ENCODERS = ("mel", "conv", "hubert")
VARIANTS = ("from_mix", "by_inst", "inst_emb", "by_channel")


def param_groups(lrs: str, freeze: str, num_layers: int) -> list[list]:
  """optimizer.param_groups ([[path regex, multiplier], ...], first match wins) for the lead
  model: `lrs` from LR_MULTIPLIERS, `freeze` from FREEZE; `num_layers` = the encoder's transformer
  layers (for all_but_last). Raises ConfigError for unknown names."""
  if lrs not in LR_MULTIPLIERS:
    raise ConfigError(f"configs/lead.py: lrs={lrs!r}; choose from {', '.join(LR_MULTIPLIERS)}")
  if freeze not in FREEZE:
    raise ConfigError(f"configs/lead.py: freeze={freeze!r}; choose from {', '.join(FREEZE)}")
  if freeze == "all_but_last" and num_layers < 1:
    raise ConfigError("configs/lead.py: freeze=all_but_last trains the encoder's last transformer "
                      "layer; this encoder has none (use encoder=conv or encoder=hubert)")
  attn, enc = LR_MULTIPLIERS[lrs]
  groups: list[list] = []
  if freeze == "all_but_last":
    groups.append([f"tracks/encoder/layer_{num_layers - 1}/", enc])
  groups.append(["tracks/encoder/", 0.0 if freeze != "none" else enc])
  groups.append(["attention/", attn])
  return [g for g in groups if g[1] != 1.0]


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = parse_arg(arg, synth=False, tiny=False, encoder="mel", checkpoint="", lrs="auto",
                freeze="none", model="lead_ch_cls", variant="by_channel", formulation="auto")
  if a["encoder"] not in ENCODERS:
    raise ConfigError(f"configs/lead.py: encoder={a['encoder']!r}; choose from "
                      f"{', '.join(ENCODERS)}")
  c = default.get_config()
  c.dataset.name = "synthmix/demo" if a["synth"] else "medleydb_lead"
  # The model encodes raw audio itself (the task resamples to 24 kHz): no frontend.
  c.frontend = ml_collections.ConfigDict(dict(name="identity"))
  c.task = ml_collections.ConfigDict(dict(
      name="lead_detection", model_sample_rate=24000, hop_length=320, segment_s=5.0,
      eval_hop_s=2.5, ch_permute=True,
      # synthmix: up to 5 GM-program stems; MedleyDB: up to 26 stems, the seed's 34 types
      max_tracks=5 if a["synth"] else 26,
      instruments_key="programs" if a["synth"] else "instruments",
      instrument_offset=1 if a["synth"] else 0,
      instrument_vocabulary="gm" if a["synth"] else "lead_cross",
      formulation=_formulation(a)))
  c.model = _model(a)
  if a["encoder"] == "mel" and a["model"] != "lead_crnn":  # its STFT: the task's rate and hop
    c.model.sample_rate, c.model.hop_length = c.task.model_sample_rate, c.task.hop_length
  c.optimizer = ml_collections.ConfigDict(dict(name="adamw", weight_decay=0.01,
                                               grad_clip_norm=1.0))
  c.schedule = ml_collections.ConfigDict(dict(name="warmup_cosine", learning_rate=1e-3,
                                              warmup_steps=100))
  if a["encoder"] == "hubert":
    c.schedule.learning_rate = 1e-4  # the seed's MedleyDB head rate
  lrs = a["lrs"] if a["lrs"] != "auto" else "seed" if a["encoder"] == "hubert" else "same"
  c.optimizer.param_groups = param_groups(lrs, a["freeze"], _encoder_layers(a, c))
  c.train.batch_size = 8
  # synthmix: 1000 steps reach frame accuracy ≥ 0.90 on held-out songs in < 15 CPU minutes
  # (docs/lead.md, BENCHMARKS.md)
  c.train.num_steps = 1000 if a["synth"] else 3000
  c.train.eval_every = 500
  c.train.checkpoint_every = 500
  c.train.best_metric = "segment_f1"
  c.eval.batch_size = 8  # windows per predict call
  c.augment.specaugment = False
  c.augment.mixup_alpha = 0.0
  # The seed's own SVM baseline numbers (svm_baseline/example_metrics.json, MedleyDB); the paper's
  # numbers for the final model are unverified (peers.md).
  c.reference_numbers = ml_collections.ConfigDict({
      "seed_svm_accuracy": 0.755, "seed_svm_f1": 0.260, "seed_svm_macro_f1": 0.557})
  if a["tiny"]:
    apply_tiny(c)
    c.train.batch_size = 2
    c.eval.batch_size = 2
    c.task.segment_s, c.task.eval_hop_s = 1.0, 0.5
    c.task.max_tracks = max(c.task.max_tracks, 4) if a["synth"] else 13
    if a["model"] == "lead_crnn":
      c.model.update(dict(channels=4, rnn_features=4, hidden=4, n_mels=20))
    else:
      c.model.update(dict(enc_conv_dim=4, enc_hidden=8, enc_layers=1, enc_heads=2, enc_ffn=8,
                          enc_pos_kernel=4, enc_pos_groups=2, attn_heads=2))
    c.optimizer.param_groups = param_groups(lrs, a["freeze"], _encoder_layers(a, c))
  return c


def _formulation(a: dict) -> str:
  """ch_cls for the final model, inst_cls (the seed's) for the others, unless given."""
  if a["formulation"] == "auto":
    return "ch_cls" if a["model"] == "lead_ch_cls" else "inst_cls"
  return a["formulation"]


def _model(a: dict) -> ml_collections.ConfigDict:
  """config.model for model=, encoder= and variant= (the seed's head sizes with encoder=hubert:
  d 768, 12 heads, dropout 0.8)."""
  if a["model"] == "lead_crnn":
    return model_block("lead_crnn", list(MODELS), "configs/lead.py")
  block = model_block(a["model"], list(MODELS), "configs/lead.py", encoder=a["encoder"],
                      encoder_checkpoint=a["checkpoint"], track_chunk=4, remat=True)
  if a["model"] == "lead_inst_cls":
    if a["variant"] not in VARIANTS:
      raise ConfigError(f"configs/lead.py: variant={a['variant']!r}; choose from "
                        f"{', '.join(VARIANTS)}")
    block.variant = a["variant"]
  if a["encoder"] == "hubert":
    block.update(dict(attn_heads=12, dropout=0.8))
  elif a["encoder"] == "mel":  # tiny activations: every track at once, no rematerialisation
    block.update(dict(enc_n_mels=64, enc_hidden=64, enc_conv_layers=3, enc_layers=0, enc_heads=4,
                      enc_ffn=128, attn_heads=4, dropout=0.1, track_chunk=0, remat=False))
  else:
    block.update(dict(enc_conv_dim=32, enc_hidden=64, enc_layers=2, enc_heads=4, enc_ffn=128,
                      attn_heads=4, dropout=0.1))
  return block


def _encoder_layers(a: dict, c: ml_collections.ConfigDict) -> int:
  """Transformer layers of the encoder: the checkpoint's (hubert; only read for all_but_last),
  else model.enc_layers."""
  if a["encoder"] != "hubert":
    return c.model.get("enc_layers", 0)
  if a["freeze"] != "all_but_last":
    return 0
  if not a["checkpoint"]:
    raise ConfigError("configs/lead.py: encoder=hubert needs checkpoint=<Hugging Face directory>")
  from instrax.models import hubert_convert

  return hubert_convert.config_from_dir(a["checkpoint"]).num_hidden_layers
