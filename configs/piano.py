"""Piano onset + velocity transcription (Onsets and Velocities; seed 002, seeds.md §2).

  python launch.py --config=configs/piano.py:maestro --workdir=runs/piano   # MAESTRO v3, as seed
  python launch.py --config=configs/piano.py:maps --workdir=...             # MAPS synth → ENSTDk
  python launch.py --config=configs/piano.py:maps,maps_config=pieces --workdir=...  # by piece
  python launch.py --config=configs/piano.py:synth --workdir=...            # synthmix piano renders
  ... :maps,maps_config=pieces,size=small,augment=0.5,grid=wide   # shipped/piano's recipe

Features: 16 kHz mono, log-mel 229 bins 50–8000 Hz (HTK), n_fft 2048, hop 384 (24 ms), dB with an
80 dB floor. Model: OnsetVelocityNet (3,127,168 params; `size=small`: SMALL, 815,388).
Training: 5 s chunks (208 frames), batch 40, AdamW (wd 3e-4) with AdamWR: 500 warmup steps,
cosine cycles of 1000 steps from lr 0.008, × 0.975 per cycle. Evaluation: whole pieces,
threshold × shift chosen on validation by mean per-piece onset F1, means of per-piece P/R/F1
(mir_eval, 50 ms; velocity tolerance 0.1). `augment=P`: room augmentation (task.room_augment);
`grid=wide`: thresholds 0.30…0.80 × shifts −20…0 ms.
"""

from __future__ import annotations

import ml_collections

from configs import default
from configs.common import apply_tiny, model_block
from instrax.config_args import parse_arg
from instrax.errors import ConfigError

DATASETS = {"maestro": "maestro/v3", "synth": "synthmix/piano"}
MODELS = ["onsets_velocities"]  # the models this config offers (`model=<name>`)
# `size=small`: 8 stem channels, 2 onset stages of 2 CAMs, 64 hidden channels (docs/piano.md)
SMALL = dict(stem_channels=8, num_onset_stages=2, stage_cams=2, stage_hidden=64)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = parse_arg(arg, synth=False, maps=False, maps_config="standard", maestro=False, tiny=False,
                model="onsets_velocities", size="seed", augment=0.0, grid="seed")
  chosen = [k for k in ("synth", "maps", "maestro") if a[k]]
  if len(chosen) > 1:
    raise ConfigError(f"configs/piano.py: choose one dataset of synth, maps, maestro; got {chosen}")
  c = default.get_config()
  if a["maps"]:
    c.dataset.name = f"maps/{a['maps_config']}"
  else:
    c.dataset.name = DATASETS["synth" if a["synth"] else "maestro"]
  c.dataset.eval_split = "validation"
  # unfloored dB: the model floors at the whole file's max − 80 dB (task.file_db_reference)
  c.frontend = ml_collections.ConfigDict(dict(name="onsets_velocities", top_db=None))
  c.model = model_block(a["model"], MODELS, "configs/piano.py", dropout=0.15, bn_momentum=0.95)
  if a["size"] not in ("seed", "small"):
    raise ConfigError(f"configs/piano.py: size={a['size']!r} unknown; valid: seed, small")
  c.task = ml_collections.ConfigDict(dict(
      name="transcription", notes_key="notes", chunk_frames=208, pos_weight=8.0,
      velocity_weight=10.0, eval_chunk_s=60.0, eval_overlap_s=11.0,
      thresholds=tuple(round(0.70 + 0.01 * i, 2) for i in range(11)), shifts_s=(-0.01,),
      room_augment=float(a["augment"])))
  if a["grid"] not in ("seed", "wide"):
    raise ConfigError(f"configs/piano.py: grid={a['grid']!r} unknown; valid: seed, wide")
  if a["grid"] == "wide":  # a model less sure than the seed's peaks lower: search wider
    c.task.thresholds = tuple(round(0.30 + 0.02 * i, 2) for i in range(26))  # 0.30 … 0.80
    c.task.shifts_s = (-0.02, -0.01, 0.0)
  if a["size"] == "small":
    c.model.update(SMALL)
    c.task.onset_stages = SMALL["num_onset_stages"]
  c.augment.specaugment = False
  c.augment.mixup_alpha = 0.0
  c.optimizer = ml_collections.ConfigDict(dict(name="adamw", weight_decay=3e-4, b1=0.9, b2=0.999,
                                               eps=1e-8, grad_clip_norm=0.0))
  c.schedule = ml_collections.ConfigDict(dict(name="cyclic_cosine", learning_rate=0.008,
                                              warmup_steps=500, period=1000, decay=0.975))
  c.train.batch_size = 40
  c.train.num_steps = 43500  # the released seed checkpoint's step
  c.train.eval_every = 1000
  c.train.checkpoint_every = 1000
  c.train.best_metric = "onset_f1"
  c.eval.batch_size = 1  # eval chunks are eval_chunk_s long
  c.reference_numbers = ml_collections.ConfigDict({
      "seed_maestro_v3_onset_f1": 0.9678, "seed_maestro_v3_onset_velocity_f1": 0.9450,
      "kong2021_maestro_onset_f1": 0.967, "transkun_v2_maestro_onset_f1": 0.983,
      "onsets_frames_maps_enstdk_note_f1": 0.823})
  if a["tiny"]:
    apply_tiny(c)
    c.train.batch_size = 2
    c.task.chunk_frames = 32
    c.task.eval_chunk_s, c.task.eval_overlap_s = 2.0, 0.48
    c.eval.max_examples = 2
  return c
