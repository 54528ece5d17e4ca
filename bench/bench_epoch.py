"""End-to-end IRMAS-style training epoch: instrax vs seed 004's PyTorch pipeline, interleaved.

  .venv/bin/python bench/bench_epoch.py [--clips=400] [--batch=32] [--repeats=3] [--threads=0]

Clips: the IRMAS fixture generator's tree (data_builders/irmas/fixtures.py) at the real format
(44.1 kHz stereo PCM16, `--seconds` 3), topped up to `--clips` training excerpts named as IRMAS
names them, built once with the `irmas` builder into array_record. Both sides train seed 004's
CNN_RNN (n=32, mono 224×256 log-mels, Adam 1e-3, BCE) on the clips of the built train split:

* instrax, configs/irmas.py:model=cnn_rnn, through the training loop's own pieces:
  `pipeline.train_dataset` (decode the int16 record, downmix, random 3-s crop, peak
  normalisation) → `pipeline.train_iterator` (grain, `dataset.read_threads` threads) →
  `sharding.to_global` → `Experiment.train_step` (log-mel on device, model, Adam), each update's
  finiteness read one step late as `instrax/train/loop.py` does;
* PyTorch, `torch_seed_pipeline.SeedEpoch`: librosa load + mel in `Dataset.__getitem__`, a
  DataLoader with `--workers` worker processes (the seed: 2, prefetch_factor 6), the same model
  (`torch_twins.SeedCNNRNN`, parameter count checked equal).

An epoch is ⌊train clips / batch⌋ steps on both sides, each from a freshly started loader (the
seed's DataLoader restarts its workers every epoch; instrax opens a new grain iterator).
Compilation, librosa's first call (numba) and a first PyTorch step happen before the timing.
Epochs alternate instrax, PyTorch, instrax, …, so machine load hits both alike; examples/s best
and median, and the ratio instrax / PyTorch (> 1: instrax faster). Without torch
(bench/requirements.txt) the PyTorch row is skipped with a message.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_train_step import _maybe_reexec, loadavg


def make_clips(root: Path, clips: int, seconds: float = 3.0) -> Path:
  """Writes the fixture generator's IRMAS tree under `root`, plus training excerpts up to `clips`
  (pattern-1 names `[inst][genre]NNNN__k.wav`, three excerpts per recording); returns it."""
  from data_builders.irmas import fixtures, layout
  from instrax.data.vocabularies import IRMAS
  fake = fixtures.make_fake_irmas(root, seconds=seconds)
  index = len(fake.training) + len(fake.test) + len(fake.bad)
  for j in range(max(0, clips - len(fake.training))):
    rec, k = 1000 + j // 3, j % 3 + 1
    inst, genre = IRMAS[rec % len(IRMAS)], layout.GENRES[rec % len(layout.GENRES)]
    path = root / layout.TRAIN_DIR / inst / f"[{inst}][{genre}]{rec:04d}__{k}.wav"
    sf.write(path, fixtures.tone(index + j, seconds), fixtures.RATE, subtype="PCM_16")
  return root


class InstraxEpoch:
  """The training loop's input pipeline and step over the built dataset's train split."""

  def __init__(self, data_dir: str, config_arg: str, batch: int, **dataset: int):
    from configs import irmas
    from instrax.data import sources
    from instrax.experiment import DataFormat, Experiment
    self.data_dir, self.config_arg = data_dir, config_arg
    self.config = irmas.get_config(config_arg)
    self.config.train.batch_size = batch
    self.config.dataset.update(dataset)  # e.g. read_threads, num_workers (attempts)
    self.dataset = sources.load("irmas", data_dir)
    self.exp = Experiment(self.config, DataFormat.from_dataset(self.dataset))
    self.source = self.dataset.source(self.config.dataset.train_split,
                                      self.exp.task.train_features())
    self.steps = len(self.source) // batch
    self.state = self.exp.init_state()
    self.epoch = 0

  def n_params(self) -> int:
    import jax
    return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(self.state.params))

  def run(self, max_steps: int = 0) -> tuple[int, float]:
    """(examples trained on, wall seconds) of one epoch (or its first `max_steps` steps)."""
    import jax

    from instrax.data import pipeline
    from instrax.train import sharding
    cfg, exp = self.config, self.exp
    self.epoch += 1
    t0 = time.perf_counter()
    ds = pipeline.train_dataset(self.source, exp.task.train_example,
                                global_batch_size=cfg.train.batch_size, seed=self.epoch)
    it = pipeline.train_iterator(ds, read_threads=cfg.dataset.read_threads,
                                 num_workers=cfg.dataset.num_workers)
    steps, pending = max_steps or self.steps, None
    for _ in range(steps):
      batch = sharding.to_global(next(it), exp.mesh)
      self.state, m = exp.train_step(self.state, batch)
      if pending is not None and not bool(pending["finite"]):  # the loop's check_pending
        raise RuntimeError("non-finite update in the benchmark")
      pending = m
    jax.block_until_ready(pending["loss"])
    wall = time.perf_counter() - t0
    it.close()
    return steps * cfg.train.batch_size, wall


def train_files(inst: InstraxEpoch, manual: Path) -> tuple[list[Path], np.ndarray]:
  """Paths and (N, 11) targets of the files in the built train split (the clips instrax reads)."""
  src = inst.dataset.source(inst.config.dataset.train_split, ("id", "labels"))
  rows = [src[i] for i in range(len(src))]
  ids = [r["id"].decode() if isinstance(r["id"], bytes) else str(r["id"]) for r in rows]
  return [manual / i for i in ids], np.stack([r["labels"] for r in rows]).astype(np.float32)


def torch_epoch(paths, targets, batch: int, n: int, workers: int, threads: int):
  """A `SeedEpoch` (None when torch is not installed)."""
  try:
    import torch
    import torch_seed_pipeline
    import torch_twins
  except ImportError:
    return None
  torch.set_num_threads(threads)
  model = torch_twins.SeedCNNRNN(num_classes=targets.shape[1], n=n)
  return torch_seed_pipeline.SeedEpoch(model, paths, targets, batch, workers)


def setup(root: Path, clips: int, seconds: float, batch: int, n: int, workers: int,
          threads: int, **dataset: int):
  """(instrax epoch, PyTorch epoch or None) over clips built under `root`, both warmed up;
  `dataset` overrides instrax's config.dataset fields (read_threads, num_workers)."""
  import data_builders
  manual = make_clips(root / "manual", clips, seconds)
  data_dir = str(root / "data")
  data_builders.prepare("irmas", data_dir, manual)
  inst = InstraxEpoch(data_dir, f"model=cnn_rnn,n={n}", batch, **dataset)
  twin = torch_epoch(*train_files(inst, manual), batch, n, workers, threads)
  if twin is not None:
    n_torch = sum(p.numel() for p in twin.model.parameters())
    if n_torch != inst.n_params():
      raise SystemExit(f"PyTorch twin has {n_torch} params, instrax {inst.n_params()}")
    twin.warm_up()
  inst.run(max_steps=1)  # compiles the step
  return inst, twin


TORCH_MISSING = "# torch is not installed (bench/requirements.txt): PyTorch row skipped"


def report(rates: dict[str, list[float]], batch: int) -> str:
  """The markdown table of examples/s per epoch, {"instrax"[, variant]: [...], "pytorch": [...]}
  (the PyTorch row only when it was measured; each instrax row's ratio to it)."""
  lines = ["| pipeline | batch | epochs | examples/s best | median | instrax / PyTorch (best, "
           "median) | load |", "|---|---:|---:|---:|---:|---:|---|"]
  torch = rates.get("pytorch")
  for name, r in rates.items():
    if not r:
      continue
    ratio = "–"
    if name.startswith("instrax") and torch:
      ratio = f"**{max(r) / max(torch):.2f}×**, {np.median(r) / np.median(torch):.2f}×"
    lines.append(f"| {name} | {batch} | {len(r)} | {max(r):.1f} | {np.median(r):.1f} | {ratio} | "
                 f"{loadavg()} |")
  return "\n".join(lines)


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--clips", type=int, default=400, help="training excerpts (train+validation)")
  ap.add_argument("--seconds", type=float, default=3.0)
  ap.add_argument("--batch", type=int, default=32)
  ap.add_argument("--n", type=int, default=32, help="CNN_RNN width (seed: 32)")
  ap.add_argument("--repeats", type=int, default=3)
  ap.add_argument("--workers", type=int, default=2, help="PyTorch DataLoader workers (seed: 2)")
  ap.add_argument("--threads", type=int, default=0,
                  help="compute threads of each framework (0: all cores)")
  ap.add_argument("--heap", action="store_true", help="keep freed heap memory (bench_train_step)")
  ap.add_argument("--read_threads", type=int, default=None,
                  help="instrax grain read threads (default: the config's)")
  ap.add_argument("--num_workers", type=int, default=None,
                  help="instrax grain worker processes (default: the config's)")
  ap.add_argument("--no_torch", action="store_true", help="time instrax alone")
  ap.add_argument("--variants", default="",
                  help="extra instrax rows, interleaved: ';'-separated config.dataset overrides, "
                       "e.g. 'read_threads=1;num_workers=1'")
  args = ap.parse_args()
  _maybe_reexec(args.heap, args.threads)
  warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)  # DataLoader workers use no JAX
  threads = args.threads or os.cpu_count() or 1
  import jax
  heap = "kept" if os.environ.get("MALLOC_MMAP_MAX_") == "0" else "default"
  print(f"# {time.strftime('%Y-%m-%d %H:%M')}  jax {jax.__version__}  threads {threads}/"
        f"{os.cpu_count()}  heap={heap}  load {loadavg()}", flush=True)
  with tempfile.TemporaryDirectory() as tmp:
    dataset = {k: v for k in ("read_threads", "num_workers")
               if (v := getattr(args, k)) is not None}
    inst, twin = setup(Path(tmp), args.clips, args.seconds, args.batch, args.n, args.workers,
                       threads, **dataset)
    twin = None if args.no_torch else twin
    sides = {"instrax": inst, "pytorch": twin}
    for variant in filter(None, args.variants.split(";")):
      fields = {k: int(v) for k, v in (kv.split("=") for kv in variant.split(","))}
      sides[f"instrax, {variant}"] = InstraxEpoch(inst.data_dir, inst.config_arg, args.batch,
                                                  **fields)
      sides[f"instrax, {variant}"].run(max_steps=1)
    if twin is None:
      print(TORCH_MISSING)
    print(f"# {len(inst.source)} train clips, {inst.steps} steps of {args.batch} per epoch; "
          f"instrax read_threads {inst.config.dataset.read_threads}, num_workers "
          f"{inst.config.dataset.num_workers}",
          flush=True)
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.repeats):
      for name, side in sides.items():
        if side is not None:
          examples, wall = side.run()
          rates[name].append(examples / wall)
          print(f"#   {name}: {examples} examples in {wall:.1f} s  (load {loadavg()})",
                flush=True)
  print(report(rates, args.batch))


if __name__ == "__main__":
  main()
