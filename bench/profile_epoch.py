"""Where an IRMAS-style epoch's time goes (bench/bench_epoch.py's two pipelines, taken apart).

  .venv/bin/python bench/profile_epoch.py [--clips=120] [--batch=32] [--threads=0]

instrax, per example or per batch of the train split, each stage timed alone (min of 3 passes):
reading + parsing a record (`source[i]`), the host transform (`task.train_example`: int16 →
float, downmix, random crop, peak normalisation), the grain loader alone (`train_iterator`,
batches/s with no step), host → device (`sharding.to_global`), the log-mel frontend alone (jitted,
on device), and the train step on a fixed batch (frontend + model + Adam). PyTorch: the seed's
`__getitem__` (librosa load + mel) per clip in this process, and its train step on a fixed batch.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_epoch
from bench_train_step import _maybe_reexec, loadavg


def best(fn, passes: int = 3) -> float:
  """Min wall seconds of `fn()` over `passes` calls."""
  times = []
  for _ in range(passes):
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
  return min(times)


def profile(inst: bench_epoch.InstraxEpoch, twin, batch: int) -> list[tuple[str, float, str]]:
  """(stage, ms, per what) rows."""
  import jax

  from instrax.data import pipeline
  from instrax.train import sharding
  exp, src, k = inst.exp, inst.source, min(batch, len(inst.source))
  rng = np.random.default_rng(0)
  records = [src[i] for i in range(k)]
  rows = [("read + parse record", 1e3 * best(lambda: [src[i] for i in range(k)]) / k, "example")]
  rows.append(("host transform (train_example)", 1e3 * best(
      lambda: [exp.task.train_example(r, rng) for r in records]) / k, "example"))
  ds = pipeline.train_dataset(src, exp.task.train_example, global_batch_size=batch, seed=0)
  cfg = inst.config.dataset

  def loader():
    it = pipeline.train_iterator(ds, read_threads=cfg.read_threads, num_workers=cfg.num_workers)
    for _ in range(inst.steps):
      next(it)
    it.close()
  rows.append(("grain loader alone (fresh iterator)", 1e3 * best(loader, 1) / inst.steps,
               "batch"))
  it = pipeline.train_iterator(ds, read_threads=cfg.read_threads)
  host = next(it)
  it.close()
  rows.append(("host → device (to_global)", 1e3 * best(
      lambda: jax.block_until_ready(sharding.to_global(host, exp.mesh))), "batch"))
  dev = sharding.to_global(host, exp.mesh)
  mel = jax.jit(exp.frontend)
  jax.block_until_ready(mel(dev["audio"]))
  rows.append(("log-mel frontend alone (jit)", 1e3 * best(
      lambda: jax.block_until_ready(mel(dev["audio"]))), "batch"))

  def step():
    inst.state, m = exp.train_step(inst.state, dev)
    jax.block_until_ready(m["loss"])
  step()
  rows.append(("train step, fixed batch (mel + model + Adam)", 1e3 * best(step), "batch"))
  if twin is not None:
    rows.append(("PyTorch: seed __getitem__ (librosa load + mel)", 1e3 * best(
        lambda: [twin.dataset[i] for i in range(min(8, len(twin.dataset)))]) / min(
            8, len(twin.dataset)), "example"))
    x, y = twin.dataset[0]
    xb, yb = x[None].expand(batch, *x.shape).contiguous(), y[None].expand(batch, *y.shape)
    rows.append(("PyTorch: train step, fixed batch", 1e3 * best(lambda: twin.step(xb, yb)),
                 "batch"))
  return rows


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--clips", type=int, default=120)
  ap.add_argument("--batch", type=int, default=32)
  ap.add_argument("--n", type=int, default=32)
  ap.add_argument("--threads", type=int, default=0)
  ap.add_argument("--heap", action="store_true")
  args = ap.parse_args()
  _maybe_reexec(args.heap, args.threads)
  warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
  threads = args.threads or os.cpu_count() or 1
  print(f"# {time.strftime('%Y-%m-%d %H:%M')}  threads {threads}  load {loadavg()}")
  with tempfile.TemporaryDirectory() as tmp:
    inst, twin = bench_epoch.setup(Path(tmp), args.clips, 3.0, args.batch, args.n, 2, threads)
    rows = profile(inst, twin, args.batch)
  print(f"| stage (batch {args.batch}) | ms | per |")
  print("|---|---:|---|")
  for stage, ms, per in rows:
    print(f"| {stage} | {ms:.1f} | {per} |")
  print(f"# load {loadavg()}")


if __name__ == "__main__":
  main()
