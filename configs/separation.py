"""MSSPT's separator (seeds.md §3.2-3.3): a U-Net mask on the 512/160 log-STFT, waveform L1.

  python launch.py --config=configs/separation.py --workdir=workdirs/sep_vocals      # musdb18
  python launch.py --config=configs/separation.py:source=multisource --workdir=...   # 4 masks
  python launch.py --config=configs/separation.py:synth --workdir=...                # no download
  python launch.py --config=configs/separation.py:synth,tiny --workdir=/tmp/t        # seconds
  python launch.py --config=configs/separation.py:synth,width_div=8,frames=192 ...   # CPU-sized

Build the data first: `python -m data_builders musdb18 --manual_dir=<musdb18/>` (16 kHz mono).
Upstream: Adam (vocals 1e-3, bass 1e-4, drums 2e-4, other/multisource 3e-4), LR × 0.9 every
15k steps, 300k steps, batch 8, remixing of different songs; multisource uses AveragePool.
Evaluation here: whole tracks, SDR (BSSEval v4 median of 1-s frames, median over tracks) and
SI-SDR per source (upstream computes no SDR).

CPU-sized variant (bench/tune_comparison.py): `width_div=N` divides every U-Net filter count by N
(same layers, pools, masks and loss), `frames=F` trains on and evaluates in F-frame chunks
(512 + 160·(F − 1) samples; F a multiple of 64, the U-Net's 6 pools). The defaults (1, 384) are
the seed's.
"""

from __future__ import annotations

import ml_collections

from configs import default
from configs.common import apply_tiny, model_block, narrow
from instrax.config_args import parse_arg
from instrax.errors import ConfigError
from instrax.models.unet import ENCODER_FILTERS, HEAD_FILTERS
from instrax.tasks.separation import MUSDB_SOURCES

MODELS = ("unet_separator",)
LEARNING_RATES = {"vocals": 1e-3, "bass": 1e-4, "drums": 2e-4, "other": 3e-4, "multisource": 3e-4}
TINY_SEGMENT = 512 + 160 * 63  # 64 frames
SEED_FRAMES = 384  # SEGMENT = 512 + 160 · 383


def segment_samples(frames: int) -> int:
  """Samples of an uncentred 512/160 STFT with `frames` frames (ConfigError unless a multiple of
  64, which the U-Net's six 2 × 2 pools need)."""
  if frames < 64 or frames % 64:
    raise ConfigError(f"frames={frames}: the U-Net needs a positive multiple of 64 frames "
                      "(the seed's 384)")
  return 512 + 160 * (frames - 1)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = parse_arg(arg, synth=False, tiny=False, source="", model=MODELS[0], width_div=1,
                   frames=SEED_FRAMES)
  source = args["source"] or ("drums" if args["synth"] else "vocals")
  if source not in LEARNING_RATES:
    raise ConfigError(f"configs/separation.py: source={source!r}; valid: "
                      f"{', '.join(LEARNING_RATES)}")
  multi = source == "multisource"
  c = default.get_config()
  c.dataset.name = "synthmix/demo" if args["synth"] else "musdb18"
  c.frontend = ml_collections.ConfigDict({"name": "msspt_stft"})
  c.model = model_block(args["model"], list(MODELS), "configs/separation.py",
                        pool="avg" if multi else "max")
  if args["width_div"] != 1:
    c.model.filters = narrow(ENCODER_FILTERS, args["width_div"])
    c.model.head_filters = narrow(HEAD_FILTERS, args["width_div"])
  c.task = ml_collections.ConfigDict({
      "name": "separation", "sources": MUSDB_SOURCES if multi else (source,),
      "stems_format": "gm" if args["synth"] else "named",
      "segment_samples": segment_samples(args["frames"]),
      "remix": True, "eval_overlap": 0.5, "sdr_window_s": 1.0, "audio_summary_s": 5.0})
  c.optimizer = ml_collections.ConfigDict({"name": "adam"})
  c.schedule = ml_collections.ConfigDict({
      "name": "step_decay", "learning_rate": LEARNING_RATES[source], "every": 15_000,
      "factor": 0.9})
  c.train.num_steps = 300_000
  c.train.batch_size = 8
  c.train.eval_every = 15_000
  c.train.checkpoint_every = 15_000
  c.train.best_metric = "sdr"
  c.train.best_mode = "max"
  c.eval.batch_size = 16
  c.reference_numbers = {"sdr": "musdb18 SDR: Open-Unmix 5.3, HT-Demucs 9.0, "
                                       "BS-RoFormer 9.8 dB (mean over sources)"}
  if args["tiny"]:
    apply_tiny(c)
    c.task.segment_samples = TINY_SEGMENT
    c.model.filters = (2, 2, 2, 2, 2, 2)
    c.model.head_filters = 2
    c.schedule.every = 3
    c.eval.max_examples = 2
  return c
