"""IRMAS predominant-instrument recognition (Han et al. 2016; seed 004), done right.

  python launch.py --config=configs/irmas.py --workdir=runs/irmas_cnn        # SimpleCNN n=32
  python launch.py --config=configs/irmas.py:model=cnn_rnn,stereo --workdir=...
  python launch.py --config=configs/irmas.py:model=coatnet0 --workdir=...
  python launch.py --config=configs/irmas.py:model=han2016 --workdir=...    # 22.05 kHz, 1 s windows
  python launch.py --config=configs/irmas.py:synth --workdir=...            # same task on synthmix

Train on 3 s single-label clips (BCE on one-hot targets, or softmax CE with loss=softmax_ce),
validate on recordings held out by song, test on the variable-length multi-label excerpts by
sliding 3 s windows (25 % overlap, the last one ending at the excerpt's end) aggregated by S1 (mean
sigmoid, threshold tuned on validation); majority vote and S2 are reported beside it. A softmax_ce
model is decoded by `softmax` (mean softmax, tuned threshold) with majority beside it: S1/S2 read
sigmoids of logits that softmax CE defines only up to a shift (docs/irmas.md). Features as the
seed: 44.1 kHz, n_fft 4096, hop 512, 224 Slaney mels, dB with ref=max over the clip (shared by
both channels), frames [1:257] → 224×256.
"""

from __future__ import annotations

import ml_collections

from configs import default
from configs.common import apply_tiny, model_block
from instrax.config_args import parse_arg
from instrax.errors import ConfigError

MODELS = {
    "simple_cnn": dict(n=32),
    "cnn_rnn": dict(n=32),
    "coatnet0": dict(),
    "han2016": dict(),
}

# Per loss: the headline aggregation and those reported beside it. S1/S2 need sigmoid logits.
DECODING = {
    "bce": ("s1", ("majority", "s1", "s2")),
    "softmax_ce": ("softmax", ("majority", "softmax")),
}


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = parse_arg(arg, synth=False, tiny=False, model="simple_cnn", stereo=False, loss="bce",
                aggregation="", n=32)
  if a["loss"] not in DECODING:
    raise ConfigError(f"configs/irmas.py: loss={a['loss']!r}; choose from {', '.join(DECODING)}")
  if a["stereo"] and a["model"] == "han2016":
    raise ConfigError("configs/irmas.py: han2016 is mono (Han et al. 2016: 22.05 kHz mono); drop "
                      "`stereo` or choose another model")
  if a["stereo"] and a["synth"] and a["tiny"]:
    raise ConfigError("configs/irmas.py: `stereo` needs stereo audio, and synth,tiny reads the "
                      "mono synthmix/tiny; drop `tiny` (synthmix/irmas44k is stereo) or `stereo`")
  c = default.get_config()
  c.dataset.name = "synthmix/irmas44k" if a["synth"] else "irmas"
  c.dataset.eval_split = "validation"
  c.frontend = ml_collections.ConfigDict(dict(name="irmas_cnn", db_axes=3, frame_slice=(1, 257)))
  c.task = ml_collections.ConfigDict(dict(
      name="clip_classification", vocabulary="irmas",
      labels_key="irmas_labels" if a["synth"] else "labels", channels=2 if a["stereo"] else 1,
      window_s=3.0, eval_overlap=0.25, loss_type=a["loss"],
      aggregation=a["aggregation"] or DECODING[a["loss"]][0],
      compare_aggregations=DECODING[a["loss"]][1], threshold=-1.0, peak_normalize=True))
  model = dict(MODELS.get(a["model"], {}))
  if "n" in model:
    model["n"] = a["n"]
  c.model = model_block(a["model"], list(MODELS), "configs/irmas.py", **model)

  # The seed's optimisation: Adam 1e-3, batch 256 (CoAtNet 32), early stopping on validation.
  c.optimizer = ml_collections.ConfigDict(dict(name="adam", grad_clip_norm=0.0))
  c.schedule = ml_collections.ConfigDict(dict(name="constant", learning_rate=1e-3))
  c.train.batch_size = 256
  c.train.num_steps = 4400  # ≈ 200 epochs of the ≈ 5,700 training clips
  c.train.eval_every = 110  # ≈ 5 epochs
  c.train.checkpoint_every = 110
  c.train.keep_best = 2
  c.train.early_stopping_patience = 6  # ≈ 30 epochs (seed: 15 epochs on val loss)
  c.eval.batch_size = 64
  if a["model"] == "coatnet0":
    c.frontend.frame_slice = (17, 241)  # centre 224 of the 259 frames → 224×224 as the seed
    c.train.batch_size = 32
    c.train.num_steps = 20000
    c.train.eval_every = c.train.checkpoint_every = 800
  if a["model"] == "han2016":  # Han et al.: 22.05 kHz mono, 128 mels, 1 s windows, 50 % overlap
    c.dataset.name = "synthmix/irmas44k" if a["synth"] else "irmas/mono22k"
    c.frontend = ml_collections.ConfigDict(dict(name="logmel", n_fft=1024, hop_length=512,
                                                n_mels=128, pad_mode="constant"))
    c.task.window_s, c.task.eval_overlap, c.task.channels = 1.0, 0.5, 1
    c.train.batch_size = 128
  c.reference_numbers = ml_collections.ConfigDict({
      "han2016_micro_f1": 0.602, "han2016_macro_f1": 0.503,
      "best_micro_f1_zhong2023": 0.674, "best_macro_f1_lekshmi_rajan2022": 0.62})
  if a["tiny"]:
    apply_tiny(c)
    if c.dataset.name.startswith("synthmix"):  # 16 kHz mono: generic small log-mel
      c.frontend = ml_collections.ConfigDict(dict(name="logmel", n_fft=512, hop_length=256,
                                                  n_mels=32))
      c.task.channels = 1
    if "n" in c.model:
      c.model.n = 4
    if a["model"] == "coatnet0":
      c.model.channels, c.model.num_blocks = (8, 8, 16, 16, 32), (1, 1, 1, 1, 1)
      c.model.heads, c.model.dim_head = 2, 8
    if a["model"] == "han2016":
      c.model.channels, c.model.hidden = (4, 8, 8, 16), 16
  return c


def get_hyper(h):
  """Model × loss × seed. Each loss is decoded by its own tuned rule (bce: S1, softmax_ce: the
  mean softmax) and both report `majority/*`, the same shift-invariant vote for the two losses:
  compare losses on `majority/micro_f1`, or on the headline knowing it includes the decoder."""
  losses = list(DECODING)
  return h.product([
      h.sweep("config.model.name", ["simple_cnn", "cnn_rnn"]),
      h.zipit([h.sweep("config.task.loss_type", losses),
               h.sweep("config.task.aggregation", [DECODING[k][0] for k in losses]),
               h.sweep("config.task.compare_aggregations", [DECODING[k][1] for k in losses])]),
      h.sweep("config.seed", [0, 1, 2]),
  ])
