"""The demo: predominant-instrument recognition (IRMAS's 11 classes) on the embedded synthmix.

  python launch.py --config=configs/demo.py --workdir=workdirs/demo
  python launch.py --config=configs/demo.py:tiny --workdir=/tmp/t   # seconds, for tests
  python launch.py --config=configs/demo.py:model=simple_cnn --workdir=...   # another model

A small CRNN on 16 kHz log-mels, 3 s windows; evaluation by window voting (S1, threshold tuned on
the validation split).
"""

from __future__ import annotations

import ml_collections

from configs import default
from configs.common import apply_tiny, model_block
from instrax.config_args import parse_arg


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = parse_arg(arg, tiny=False, synth=True, model="crnn")
  c = default.get_config()
  c.dataset.name = "synthmix/demo"
  c.task = ml_collections.ConfigDict(dict(
      name="clip_classification", vocabulary="irmas", labels_key="irmas_labels", window_s=3.0,
      eval_overlap=0.25, loss_type="bce", aggregation="s1", threshold=-1.0, peak_normalize=True))
  if args["model"] == "crnn":
    c.model = ml_collections.ConfigDict(dict(
        name="crnn", channels=(16, 32, 64), pools=((2, 2), (2, 2), (2, 2)), rnn_features=64,
        dropout=0.2))
  else:  # another registered model with its own default fields
    c.model = model_block(args["model"], source="configs/demo.py")
  c.schedule.learning_rate = 2e-3
  c.schedule.warmup_steps = 50
  c.train.num_steps = 1200
  c.train.batch_size = 32
  c.train.eval_every = 400
  c.train.checkpoint_every = 400
  c.augment.specaugment = True
  if args["tiny"]:
    apply_tiny(c)
  return c


def get_hyper(h):
  """A sweep over learning rate and model width (big_vision/disentanglement_lib style)."""
  return h.product([
      h.sweep("config.schedule.learning_rate", [1e-3, 2e-3, 4e-3]),
      h.sweep("config.model.rnn_features", [32, 64]),
  ])
