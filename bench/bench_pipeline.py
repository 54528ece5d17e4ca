"""Input-pipeline stall: train-step time fed by the grain loader vs by one fixed in-memory batch.

  python bench/bench_pipeline.py [--config=configs/demo.py] [--steps=40] [--data_dir=DIR]

Both loops run the same jitted step on the same state in one process, side by side; the ratio
(loader / fixed) is the stall factor (goal ≤ 1.1: the loader keeps up with the step).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

import jax

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from instrax.data import pipeline, sources
from instrax.experiment import DataFormat, Experiment
from instrax.train import sharding


def _time_steps(exp, state, batches, steps: int) -> tuple[float, object]:
  state, m = exp.train_step(state, next(batches))  # warm-up (compile) outside the timing
  jax.block_until_ready(m["loss"])
  start = time.perf_counter()
  for _ in range(steps):
    state, m = exp.train_step(state, next(batches))
  jax.block_until_ready(m["loss"])
  return (time.perf_counter() - start) / steps, state


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--config", default="configs/demo.py")
  parser.add_argument("--steps", type=int, default=40)
  parser.add_argument("--data_dir", default=None)
  parser.add_argument("--read_threads", type=int, default=2)
  parser.add_argument("--num_workers", type=int, default=0)
  args = parser.parse_args()
  module, _, arg = args.config.partition(":")
  config = importlib.import_module(module.replace("/", ".").removesuffix(".py")).get_config(
      arg or None)
  dataset = sources.load(config.dataset.name, args.data_dir)
  exp = Experiment(config, DataFormat.from_dataset(dataset))
  source = dataset.source(config.dataset.train_split, exp.task.train_features())
  ds = pipeline.train_dataset(source, exp.task.train_example,
                              global_batch_size=config.train.batch_size, seed=0)
  it = pipeline.train_iterator(ds, read_threads=args.read_threads, num_workers=args.num_workers)
  loader = (sharding.to_global(next(it), exp.mesh) for _ in iter(int, 1))
  fixed_batch = sharding.to_global(next(it), exp.mesh)
  fixed = (fixed_batch for _ in iter(int, 1))
  state = exp.init_state()
  t_fixed, state = _time_steps(exp, state, fixed, args.steps)
  t_loader, state = _time_steps(exp, state, loader, args.steps)
  t_fixed2, state = _time_steps(exp, state, fixed, args.steps)
  t_fixed = min(t_fixed, t_fixed2)
  print("| config | batch | device | fixed batch ms/step | grain loader ms/step | stall ratio |")
  print("|---|---|---|---|---|---|")
  print(f"| {args.config} | {config.train.batch_size} | {jax.devices()[0].platform} × "
        f"{jax.device_count()} | {1e3 * t_fixed:.1f} | {1e3 * t_loader:.1f} | "
        f"{t_loader / t_fixed:.3f} |")


if __name__ == "__main__":
  main()
