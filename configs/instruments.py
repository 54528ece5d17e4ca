"""The shipped instrument model: IRMAS's 11 classes, trained on the richest synthmix (`rich`:
three sampled GM banks and real recorded notes (TonejsInstruments), held notes, vibrato,
sections, rooms, microphones, noise, compression, codecs; docs/synthmix.md) with crops remixed
from its stems (solos, short excerpts), for real recordings. `python -m instrax.predict song.wav`
uses its export in `shipped/instruments/` (trained at commit 6d5ecf3, on rich 1.1.0: its README).

  make soundfonts
  python -m data_builders synthmix/rich --data_dir=$INSTRAX_DATA_DIR
  python launch.py --config=configs/instruments.py --workdir=runs/instruments
  python -m instrax.export --workdir=runs/instruments --output=shipped/instruments
  python bench/eval_transfer.py --workdir=shipped/instruments     # real recordings

Arguments (`configs/instruments.py:steps=4000,remix=0`): `steps` (16000), `remix`/`solo`/`short`
(0.7/0.5/0.3: the task's remix_prob/solo_prob/short_prob), `width` (1.0: scales the CRNN's
channels and GRU size), `model` (another registered model with its defaults). `tiny` runs in
seconds on the embedded synthmix/tiny (tests).
"""

from __future__ import annotations

import ml_collections

from configs import default
from configs.common import apply_tiny, model_block
from instrax.config_args import parse_arg

MODEL = dict(name="crnn", channels=(32, 64, 128), pools=((2, 2), (2, 2), (2, 2)),
             rnn_features=96, dropout=0.3)


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = parse_arg(arg, tiny=False, model="crnn", steps=16000, remix=0.7, solo=0.5, short=0.3,
                    width=1.0)
  c = default.get_config()
  c.dataset.name = "synthmix/rich"
  c.task = ml_collections.ConfigDict(dict(
      name="clip_classification", vocabulary="irmas", labels_key="irmas_labels", window_s=3.0,
      eval_overlap=0.5, loss_type="bce", aggregation="s1", threshold=-1.0, peak_normalize=True,
      remix_prob=args["remix"], solo_prob=args["solo"], short_prob=args["short"]))
  c.frontend.n_mels = 96
  if args["model"] == "crnn":
    c.model = ml_collections.ConfigDict(MODEL)
    c.model.channels = tuple(round(ch * args["width"]) for ch in MODEL["channels"])
    c.model.rnn_features = round(MODEL["rnn_features"] * args["width"])
  else:
    c.model = model_block(args["model"], source="configs/instruments.py")
  c.augment.specaugment = True
  c.augment.mixup_alpha = 0.2
  c.schedule.learning_rate = 2e-3
  c.schedule.warmup_steps = 200
  c.train.num_steps = args["steps"]
  c.train.batch_size = 32
  c.train.eval_every = 1000
  c.train.checkpoint_every = 500
  c.train.ema_decay = 0.998
  c.eval.max_examples = 300
  c.dataset.read_threads = 2
  if args["tiny"]:
    apply_tiny(c)
  return c
