"""The shipped instrument model's recipe: IRMAS's 11 classes, trained on the richest synthmix
(`rich`: five sampled GM banks (FreePats among them) and real recorded notes (TonejsInstruments),
held notes, vibrato, sections, rooms, microphones, noise, compression, codecs — the recording
chain on half the mixes; docs/synthmix.md) with crops remixed from its stems (solos, short
excerpts), for real recordings.
`python -m instrax.predict song.wav` uses `shipped/instruments/`: an ensemble of this config's
CRNN (three seeds) and its `model=musicnn` (MagnaTagATune and Million Song Dataset weights),
trained on rich 1.4.0 and 1.3.0 (its README has the exact commands).

  make soundfonts pretrained
  python -m data_builders synthmix/rich --data_dir=$INSTRAX_DATA_DIR
  python launch.py --config=configs/instruments.py --workdir=runs/instruments
  python launch.py --config=configs/instruments.py:model=musicnn,steps=4000 --workdir=runs/musicnn
  python -m instrax.ensemble --member=runs/instruments@best --member=runs/musicnn@best \
      --data_dir=$INSTRAX_DATA_DIR --max_examples=300 --output=ens   # any runs of one task
  python bench/eval_transfer.py --workdir=ens     # real recordings

Arguments (`configs/instruments.py:steps=4000,remix=0`): `steps` (16000), `remix`/`solo`/`short`
(0.7/0.5/0.3: the task's remix_prob/solo_prob/short_prob), `width` (1.0: scales the CRNN's
channels and GRU size), `compression` (db: log-mel in dB; pcen: per-channel energy
normalisation of the mel magnitude, instrax.audio.pcen), `tilt` (0: the largest random
spectral slope, dB/octave, given to each remixed stem or stored crop in training,
instrax.data.spectral_tilt; BENCHMARKS.md measures tilt=6), `model` (another registered model
with its defaults). `model=musicnn`: musicnn on its own log-mel frontend, started from
pretrained weights: `pretrained` = MTT_musicnn (MagnaTagATune, the default) or MSD_musicnn
(Million Song Dataset) — the files `make pretrained` writes — or a path (empty = random init),
with `freeze` (frontend; or midend, none) the blocks that keep those weights and batch
statistics, at learning rate 1e-3. `tiny` runs in seconds on the embedded synthmix/tiny (tests).
"""

from __future__ import annotations

import ml_collections

from configs import default
from configs.common import apply_tiny, model_block
from instrax.config_args import parse_arg
from instrax.errors import ConfigError
from instrax.models import musicnn, musicnn_convert

MODEL = dict(name="crnn", channels=(32, 64, 128), pools=((2, 2), (2, 2), (2, 2)),
             rnn_features=96, dropout=0.3)


def _musicnn(c: ml_collections.ConfigDict, args: dict) -> None:
  """musicnn (models/musicnn.py) on its own log-mel, from the `pretrained` weights (a checkpoint
  name of musicnn_convert.CHECKPOINTS or a file); the blocks up to `freeze` keep those weights
  and batch statistics (no gradient, no weight decay)."""
  c.frontend = ml_collections.ConfigDict(dict(name="musicnn"))
  pretrained = args["pretrained"]
  if pretrained in musicnn_convert.CHECKPOINTS:  # a name: the file `make pretrained` writes
    pretrained = str(musicnn_convert.output_path(pretrained))
  elif pretrained and "/" not in pretrained and not pretrained.endswith(".msgpack"):
    raise ConfigError(f"configs/instruments.py: pretrained={pretrained!r}; give "
                      f"{' or '.join(musicnn_convert.CHECKPOINTS)} (`make pretrained` converts "
                      "both), the path of a converted .msgpack file, or nothing (random init)")
  c.model = ml_collections.ConfigDict(dict(name="musicnn", pretrained=pretrained,
                                           freeze=args["freeze"]))
  frozen = musicnn.frozen_modules(args["freeze"])
  c.optimizer.param_groups = [["|".join(frozen), 0.0]] if frozen else []


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = parse_arg(arg, tiny=False, model="crnn", steps=16000, remix=0.7, solo=0.5, short=0.3,
                    width=1.0, freeze="frontend", pretrained="MTT_musicnn",
                    compression="db", tilt=0.0)
  c = default.get_config()
  c.dataset.name = "synthmix/rich"
  c.task = ml_collections.ConfigDict(dict(
      name="clip_classification", vocabulary="irmas", labels_key="irmas_labels", window_s=3.0,
      eval_overlap=0.5, loss_type="bce", aggregation="s1", threshold=-1.0, peak_normalize=True,
      remix_prob=args["remix"], solo_prob=args["solo"], short_prob=args["short"],
      tilt_db=float(args["tilt"])))
  c.frontend.n_mels = 96
  if args["compression"] == "pcen":  # PCEN on the mel magnitude (instrax.audio.pcen)
    c.frontend.scale = "pcen"
    c.frontend.power = 1.0
  elif args["compression"] != "db":
    raise ConfigError(f"configs/instruments.py: compression={args['compression']!r}; choose db "
                      "or pcen")
  if args["model"] == "crnn":
    c.model = ml_collections.ConfigDict(MODEL)
    c.model.channels = tuple(round(ch * args["width"]) for ch in MODEL["channels"])
    c.model.rnn_features = round(MODEL["rnn_features"] * args["width"])
  elif args["model"] == "musicnn":
    _musicnn(c, args)
  else:
    c.model = model_block(args["model"], source="configs/instruments.py")
  c.augment.specaugment = True
  c.augment.mixup_alpha = 0.2
  c.schedule.learning_rate = 1e-3 if args["model"] == "musicnn" else 2e-3
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
