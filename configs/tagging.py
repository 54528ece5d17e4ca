"""MSSPT's downstream tagging (seeds.md §3.4-3.6): TUne+ (a separator U-Net + tail with skips)
or the tail-only baseline, on MagnaTagATune (default), FMA genres or synthmix tags.

  python launch.py --config=configs/tagging.py --workdir=workdirs/mtat_tune           # MTAT
  python launch.py --config=configs/tagging.py:init=workdirs/sep_vocals --workdir=... # pretrained
  python launch.py --config=configs/tagging.py:init=RUN,freeze --workdir=...          # frozen U-Net
  python launch.py --config=configs/tagging.py:model=tune_tail --workdir=...          # baseline
  python launch.py --config=configs/tagging.py:fma --workdir=...                      # FMA genres
  python launch.py --config=configs/tagging.py:synth,tiny --workdir=/tmp/t            # seconds
  python launch.py --config=configs/tagging.py:synth,width_div=8,frames=192 ...       # CPU-sized

Arguments, mirroring the seed's flags: `model=tune_plus|tune_tail` (--unet: with or without the
U-Net), `init=RUN` (--pretrain: a separator run of configs/separation.py whose `unet/` weights
initialise TUne+'s U-Net, mapped by name), `skips=N` (0-5 decoder outputs fed to the tail),
`multisource` (4 masks; the separator run must be multisource too), `freeze` (the U-Net is not
trained: optimizer.param_groups [["unet/", 0.0]], and its BatchNorm runs on its running
statistics as Keras's trainable=False). CPU-sized variant (bench/tune_comparison.py):
`width_div=N` divides every filter count of the U-Net and the tail and the dense width by N (same
layers; a separator run to load must use the same N), `frames=F` crops and evaluation windows of
F frames (hop F/2; F a multiple of 64 and ≥ 192, the fewest the tail pools to 1 × 1). The
defaults (1, 384) are the seed's.

Build the data first: `python -m data_builders mtat --manual_dir=<MTAT folder>` or
`python -m data_builders fma/medium_minus_small --manual_dir=<FMA folder>` (docs/separation.md).
Input: 16 kHz mono, the separator's log-STFT (512/160, 256 bins), training crops of 384 frames
(61,792 samples); evaluation: 384-frame windows with a 192-frame hop over the whole clip, window
outputs averaged per clip (sigmoid probabilities for MTAT, softmax for FMA). MTAT: macro ROC-AUC
and PR-AUC (= `map`, scikit-learn's average precision) over the 50 tags. FMA: top-1 accuracy.
Upstream: Adam 1e-4, batch 16, BCE / categorical CE; plateau on validation loss (patience 10)
then SGD restarts; here: Adam 1e-4 throughout with early stopping on the validation metric.
"""

from __future__ import annotations

import ml_collections

from configs import default
from configs.common import apply_tiny, model_block, narrow
from configs.separation import segment_samples
from instrax.config_args import parse_arg
from instrax.errors import ConfigError
from instrax.models.tune import TAIL_FILTERS, TUNE_FILTERS
from instrax.models.unet import ENCODER_FILTERS, HEAD_FILTERS

MODELS = ("tune_plus", "tune_tail")
HOP_FRAMES, WINDOW_FRAMES, STFT_HOP = 192, 384, 160  # MSSPT evaluation: 384-frame windows, hop 192
TINY_SEGMENT = 512 + STFT_HOP * 191  # 192 frames: the fewest the 7-block tail pools to 1 × 1
TINY_UNET = dict(unet_filters=(2, 2, 2, 2, 2, 2), unet_head_filters=2)  # = separation.py:tiny
TINY_TAIL = dict(filters=(2, 2, 2, 2, 2, 2, 4), dense=8)


def _window(segment: int, frames: int) -> tuple[float, float]:
  """(window_s, eval_overlap) of `segment`-sample windows hopping half their `frames` frames."""
  hop = STFT_HOP * frames // 2
  return segment / 16000, 1.0 - hop / segment


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = parse_arg(arg, fma=False, synth=False, tiny=False, model="tune_plus", init="",
                   skips=5, multisource=False, freeze=False, width_div=1, frames=WINDOW_FRAMES)
  if args["fma"] and args["synth"]:
    raise ConfigError("configs/tagging.py: choose one of `fma` and `synth` (default: MTAT)")
  model = args["model"]
  if model == "tune_tail" and (args["init"] or args["freeze"] or args["multisource"]):
    raise ConfigError("configs/tagging.py: init/freeze/multisource need the U-Net "
                      "(model=tune_plus); tune_tail is the tail-only baseline")
  if args["freeze"] and not args["init"]:
    raise ConfigError("configs/tagging.py: `freeze` keeps the U-Net as initialised; give the "
                      "separator run to freeze with init=RUN")

  c = default.get_config()
  if args["frames"] < 192:
    raise ConfigError(f"configs/tagging.py: frames={args['frames']}; the tail needs ≥ 192 "
                      "(a multiple of 64; the seed's 384)")
  segment = TINY_SEGMENT if args["tiny"] else segment_samples(args["frames"])
  window_s, overlap = _window(segment, 192 if args["tiny"] else args["frames"])
  c.frontend = ml_collections.ConfigDict({"name": "msspt_stft"})
  if args["fma"]:
    c.dataset.name = "fma/medium_minus_small"
    c.task = ml_collections.ConfigDict(dict(
        name="clip_classification", vocabulary="fma", labels_key="labels", window_s=window_s,
        eval_overlap=overlap, loss_type="softmax_ce", aggregation="softmax",
        compare_aggregations=("majority",), peak_normalize=False))
    c.train.best_metric = "accuracy"  # no published reference: MSSPT reports no FMA number
  else:
    c.dataset.name = "synthmix/demo" if args["synth"] else "mtat"
    c.task = ml_collections.ConfigDict(dict(
        name="tagging", vocabulary="openmic" if args["synth"] else "mtat",
        relevance_key="openmic_labels" if args["synth"] else "tags", mask_key="",
        input="audio", window_s=window_s, eval_overlap=overlap, window_pooling="mean",
        peak_normalize=False, threshold_mode="tuned"))
    c.train.best_metric = "roc_auc"
    if not args["synth"]:
      c.reference_numbers = ml_collections.ConfigDict({
          "roc_auc": "MTAT ROC-AUC 0.913 (Won et al. 2020, short-chunk ResNet)",
          "map": "MTAT PR-AUC 0.461 (Won et al. 2020, short-chunk ResNet)"})
  c.train.best_mode = "max"

  fields = dict(num_sources=4 if args["multisource"] else 1, skips=args["skips"],
                freeze_unet=args["freeze"]) if model == "tune_plus" else {}
  if args["width_div"] != 1:
    div = args["width_div"]
    fields.update(filters=narrow(TUNE_FILTERS if model == "tune_plus" else TAIL_FILTERS, div),
                  dense=narrow(512, div))
    if model == "tune_plus":
      fields.update(unet_filters=narrow(ENCODER_FILTERS, div),
                    unet_head_filters=narrow(HEAD_FILTERS, div))
  c.model = model_block(model, list(MODELS), "configs/tagging.py", **fields)
  if args["init"]:
    c.init.workdir = args["init"]
    c.init.map = [["unet/", "unet/"]]  # only the separator's U-Net; by name (train/transfer.py)
  if args["freeze"]:
    c.optimizer.param_groups = [["unet/", 0.0]]

  c.optimizer = ml_collections.ConfigDict({"name": "adam",
                                           "param_groups": c.optimizer.param_groups})
  c.schedule = ml_collections.ConfigDict({"name": "constant", "learning_rate": 1e-4,
                                          "warmup_steps": 0})
  c.train.batch_size = 16
  c.train.num_steps = 200_000  # MSSPT: at most 200 epochs (≈ 950 steps each on MTAT)
  c.train.eval_every = 1000
  c.train.checkpoint_every = 1000
  c.train.early_stopping_patience = 10
  c.eval.batch_size = 32
  if args["synth"]:
    c.train.num_steps = 5000
    c.train.eval_every = 500
    c.train.checkpoint_every = 500
  if args["tiny"]:
    apply_tiny(c)
    c.schedule.warmup_steps = 0
    c.model.update({**(TINY_UNET if model == "tune_plus" else {}), **TINY_TAIL})
    c.eval.max_examples = 4
  return c
