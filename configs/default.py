"""What every run shares. Task configs start from `get_config()` and override.

Every `name` field picks an entry of a registry (frontend, model, task, optimizer, schedule); the
other fields of that block are passed to it as keyword arguments.
"""

from __future__ import annotations

import ml_collections

from configs.common import apply_tiny, model_block
from instrax.config_args import parse_arg


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """The shared defaults (a CRNN on synthmix/demo); `:tiny` shrinks them for tests, `:model=NAME`
  swaps in another registered model with its own default fields."""
  args = parse_arg(arg, tiny=False, model="crnn")
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.data_dir = ""  # "" → $INSTRAX_DATA_DIR, else ~/tensorflow_datasets

  c.dataset = ml_collections.ConfigDict()
  c.dataset.name = "synthmix/demo"  # a data_builders folder name [/builder config]
  c.dataset.train_split = "train"
  c.dataset.eval_split = "validation"  # periodic evaluation, threshold calibration, best checkpoint
  c.dataset.test_split = "test"  # final evaluation
  c.dataset.num_workers = 0  # grain worker processes (0 = threads in the main process)
  c.dataset.read_threads = 2

  c.frontend = ml_collections.ConfigDict()
  c.frontend.name = "logmel"
  c.frontend.n_fft = 1024
  c.frontend.hop_length = 320
  c.frontend.n_mels = 64
  c.frontend.f_min = 0.0
  c.frontend.f_max = 8000.0
  c.frontend.top_db = 80.0

  c.model = model_block(args["model"], source="configs/default.py")

  c.task = ml_collections.ConfigDict()
  c.task.name = "clip_classification"
  c.task.vocabulary = "irmas"
  c.task.labels_key = "irmas_labels"  # synthmix's IRMAS-vocabulary labels

  c.augment = ml_collections.ConfigDict()
  c.augment.specaugment = False
  c.augment.freq_masks = 2
  c.augment.freq_mask_width = 8
  c.augment.time_masks = 2
  c.augment.time_mask_width = 20
  c.augment.mixup_alpha = 0.0  # 0 disables mixup

  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.name = "adamw"
  c.optimizer.weight_decay = 1e-4
  c.optimizer.grad_clip_norm = 1.0  # 0 disables clipping
  # [[path regex, lr multiplier], ...]: e.g. [["unet/", 0.0]] freezes the U-Net (see optim.make)
  c.optimizer.param_groups = []

  c.schedule = ml_collections.ConfigDict()
  c.schedule.name = "warmup_cosine"
  c.schedule.learning_rate = 1e-3
  c.schedule.warmup_steps = 100

  c.train = ml_collections.ConfigDict()
  c.train.num_steps = 2000
  c.train.batch_size = 32  # global, over all devices and processes
  c.train.log_every = 50
  c.train.eval_every = 500  # 0: only at the end
  c.train.checkpoint_every = 500
  c.train.keep_last = 2
  c.train.keep_best = 1
  c.train.best_metric = "micro_f1"  # an eval metric; "" keeps no best checkpoints
  c.train.best_mode = "max"
  c.train.early_stopping_patience = 0  # evaluations without improvement; 0 disables
  c.train.compute_dtype = "float32"  # or "bfloat16"
  c.train.ema_decay = 0.0  # 0 disables the EMA of parameters
  c.train.on_nonfinite = "stop"  # or "skip": drop the update of a batch with NaN/Inf loss/grads
  c.train.async_checkpoints = True

  c.init = ml_collections.ConfigDict()  # start from another run's weights (train/transfer.py)
  c.init.workdir = ""  # "" = from scratch
  c.init.checkpoint = "latest"
  c.init.map = []  # [[source path regex, target prefix], ...]
  c.init.exclude = []  # [target path regex, ...]
  c.predict = ml_collections.ConfigDict()
  c.predict.segment_s = 600.0  # long inputs are read and predicted in segments of this length
  c.eval = ml_collections.ConfigDict()
  c.eval.batch_size = 64  # windows per predict call
  c.eval.max_examples = 0  # 0 = the whole split
  if args["tiny"]:
    apply_tiny(c)
  return c
