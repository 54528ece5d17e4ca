"""Piano transcription (configs/piano.py): predict's real-time factor and training throughput.

  python bench/bench_piano.py [--seconds=60] [--batch=8] [--steps=5] [--compute_dtype=float32]

A randomly initialised OnsetVelocityNet (3,127,168 parameters; the numbers do not depend on the
weights). Inference: a `--seconds` long synthetic piano-like signal (decaying partials at random
keys) through the whole predict path after a warm-up — whole-file dB reference, 60 s eval chunks
with 11 s overlap, model, stitching, peak decoding — timed end to end; real-time factor = audio
seconds / wall seconds. Training: the jitted train step on batches of 5 s chunks (208 frames),
chunks per second after a compile step.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from configs import piano
from instrax import evaluate
from instrax.experiment import DataFormat, Experiment
from instrax.train import sharding

SR = 16000


def piano_like(seconds: float, seed: int = 0) -> np.ndarray:
  """(T,) float32: notes every 0.25 s at random keys, 4 decaying partials each."""
  rng = np.random.default_rng(seed)
  n = round(seconds * SR)
  out = np.zeros(n, np.float32)
  t = np.arange(2 * SR) / SR
  for start in range(0, n, SR // 4):
    f0 = 440 * 2 ** ((rng.integers(21, 109) - 69) / 12)
    note = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5) if f0 * k < SR / 2)
    note = (0.1 * note * np.exp(-3 * t)).astype(np.float32)
    stop = min(n, start + len(note))
    out[start:stop] += note[:stop - start]
  return out


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--seconds", type=float, default=60.0)
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--steps", type=int, default=5)
  parser.add_argument("--compute_dtype", default="float32")
  args = parser.parse_args()
  config = piano.get_config("maps")
  config.train.compute_dtype = args.compute_dtype
  config.train.batch_size = args.batch
  exp = Experiment(config, DataFormat(SR, 1))
  state = exp.init_state()
  task = exp.task
  print(f"jax {jax.__version__}, {jax.devices()[0].platform}, {os.cpu_count()} cpus, "
        f"{platform.processor() or platform.machine()}, compute {args.compute_dtype}")

  example = {"audio": piano_like(args.seconds)[:, None], "id": b"bench"}

  def predict_once() -> int:
    ((_, combined),) = list(evaluate.example_results(exp, state, [example]))
    return len(task.predict(combined, {})["notes"])

  predict_once()  # compile
  start = time.perf_counter()
  notes = predict_once()
  wall = time.perf_counter() - start
  print(f"inference: {args.seconds:.0f} s of audio in {wall:.2f} s → real-time factor "
        f"{args.seconds / wall:.1f}× ({notes} notes decoded)")

  rng = np.random.default_rng(0)
  spec = exp.input_spec
  rows = [task.train_example({"audio": piano_like(20.0, seed=i)[:, None],
                              "notes": np.zeros((0, 4), np.float32)}, rng)
          for i in range(args.batch)]
  batch = jax.tree.map(lambda *xs: np.stack(xs), *rows)
  assert set(spec) <= set(batch)
  batch = sharding.to_global(batch, exp.mesh)
  state, m = exp.train_step(state, batch)  # compile
  jax.block_until_ready(m["loss"])
  start = time.perf_counter()
  for _ in range(args.steps):
    state, m = exp.train_step(state, batch)
  jax.block_until_ready(m["loss"])
  wall = time.perf_counter() - start
  print(f"training: batch {args.batch} × 5 s chunks, {args.steps} steps in {wall:.2f} s → "
        f"{args.batch * args.steps / wall:.2f} chunks/s ({wall / args.steps:.2f} s/step)")


if __name__ == "__main__":
  main()
