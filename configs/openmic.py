"""OpenMIC-2018: 20-instrument tagging with partial labels (PaSST/EfficientAT protocol, mAP).

  python launch.py --config=configs/openmic.py --workdir=workdirs/openmic            # audio CNN
  python launch.py --config=configs/openmic.py:model=patchout --workdir=...          # other model
  python launch.py --config=configs/openmic.py:features --workdir=...                # VGGish MLP
  python launch.py --config=configs/openmic.py:synth --workdir=...                   # no download
  python launch.py --config=configs/openmic.py:synth,tiny --workdir=/tmp/t           # seconds

Build the data first: `python -m data_builders openmic2018 --manual_dir=<openmic-2018/>` (the
`features` arg needs only `openmic2018/features`). Audio models: 32 kHz mono, PaSST/EfficientAT
log-mels (128 mels, n_fft 1024, 25 ms window, 10 ms hop), whole 10-s clips, SpecAugment and
mixup. Training minimises the masked BCE over observed labels; the headline is test/map; the
per-class decision thresholds are tuned on the validation split (artist-disjoint, carved from
split01_train). See docs/openmic.md.
"""

from __future__ import annotations

import ml_collections

from configs import default
from configs.common import apply_tiny, model_block
from instrax.config_args import parse_arg
from instrax.errors import ConfigError

# Per model: its full-size fields on OpenMIC (128 × 1001 log-mels); `tiny` shrinks it further
# (configs/common.py TINY_MODELS).
MODELS = {
    "short_chunk_res": dict(dropout=0.5),
    "short_chunk": dict(dropout=0.5),
    "crnn": dict(channels=(32, 64, 128, 128), pools=((2, 2), (2, 2), (2, 2), (2, 2)),
                 rnn_features=128, dropout=0.3),
    # PaSST's OpenMIC setting drops 4 frequency rows and 40 time columns of patches.
    "patchout": dict(embed_dim=192, depth=6, heads=3, max_time_patches=100, patchout_freq=4,
                     patchout_time=40, dropout=0.1),
    "han2016": dict(),
    "coatnet0": dict(dropout=0.1),
    "simple_cnn": dict(),
    "cnn_rnn": dict(),
    "vggish_mlp": dict(hidden=1024, dropout=0.5),
}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = parse_arg(arg, synth=False, tiny=False, features=False, model="")
  model = args["model"] or ("vggish_mlp" if args["features"] else "short_chunk_res")
  features = args["features"] or model == "vggish_mlp"
  if features and model != "vggish_mlp":
    raise ConfigError(f"configs/openmic.py: `features` (VGGish frames) needs model=vggish_mlp, "
                      f"not {model!r}")
  if features and args["synth"]:
    raise ConfigError("configs/openmic.py: synthmix has no VGGish features; drop `features` "
                      "or `synth`")

  c = default.get_config()
  c.dataset.name = "openmic2018/features" if features else "openmic2018/audio32k"
  c.task = ml_collections.ConfigDict(dict(
      name="tagging", vocabulary="openmic", relevance_key="relevance", mask_key="mask",
      input="vggish" if features else "audio", vggish_scale="dequantize", window_s=10.0,
      eval_overlap=0.0, window_pooling="mean", peak_normalize=False, positive_threshold=0.5,
      soft_targets=False, threshold_mode="tuned", fixed_threshold=0.5))
  c.model = model_block(model, list(MODELS), "configs/openmic.py", **MODELS.get(model, {}))
  c.train.best_metric = "map"
  c.train.best_mode = "max"
  c.reference_numbers = ml_collections.ConfigDict({
      "seed001_F1(=top1 acc)": 0.60, "PaSST_mAP": 0.843, "DyMN-L_mAP": 0.855})

  if features:  # disco's DenseClassifier on the release's VGGish frames (seeds.md §4)
    c.frontend = ml_collections.ConfigDict(dict(name="identity"))
    c.optimizer.weight_decay = 1e-2
    c.schedule.learning_rate = 3e-4
    c.schedule.warmup_steps = 200
    c.train.num_steps = 12000  # ~57 epochs of ~13.4k clips at batch 64
    c.train.batch_size = 64
    c.train.eval_every = 500
    c.train.checkpoint_every = 500
    c.train.early_stopping_patience = 8
    c.eval.batch_size = 256
  else:  # PaSST/EfficientAT log-mels at 32 kHz; SpecAugment + mixup (EfficientAT: α = 0.3)
    c.frontend = ml_collections.ConfigDict(dict(
        name="logmel", n_fft=1024, win_length=800, hop_length=320, n_mels=128, f_min=0.0,
        scale="db", top_db=80.0))
    c.augment.specaugment = True
    c.augment.freq_masks = 2
    c.augment.freq_mask_width = 24  # 2 × 24 of 128 mels (EfficientAT: 1 × 48)
    c.augment.time_masks = 2
    c.augment.time_mask_width = 96  # 2 × 96 of 1001 frames (EfficientAT: 1 × 192)
    c.augment.mixup_alpha = 0.3
    c.optimizer.weight_decay = 1e-4
    c.schedule.learning_rate = 1e-3
    c.schedule.warmup_steps = 1000
    c.train.num_steps = 25000  # ~60 epochs of ~13.4k clips at batch 32
    c.train.batch_size = 32
    c.train.eval_every = 1000
    c.train.checkpoint_every = 1000
    c.eval.batch_size = 64

  if args["synth"]:  # the embedded synthmix with simulated OpenMIC partial labels, 16 kHz
    c.dataset.name = "synthmix/demo"
    c.task.relevance_key = "openmic_relevance"
    c.task.mask_key = "openmic_mask"
    c.task.window_s = 4.0
    c.task.eval_overlap = 0.5
    c.train.num_steps = 3000
    c.train.eval_every = 500
    c.train.checkpoint_every = 500
    c.schedule.warmup_steps = 200
  if args["tiny"]:
    apply_tiny(c)
    c.task.window_s = 1.0
    c.augment.time_mask_width = 10
  return c


def get_hyper(h):
  """A sweep over learning rate and mixup strength."""
  return h.product([
      h.sweep("config.schedule.learning_rate", [3e-4, 1e-3, 2e-3]),
      h.sweep("config.augment.mixup_alpha", [0.0, 0.3]),
  ])
