"""Piano transcription (configs/piano.py): predict's real-time factor and training throughput.

  python bench/bench_piano.py [--seconds=60] [--batch=8] [--steps=5] [--compute_dtype=float32]
                              [--config_arg=maps] [--workdir=shipped/piano] [--steps=0]

A randomly initialised OnsetVelocityNet (3,127,168 parameters; `--config_arg=maps,size=small` for
the small variant), or a trained one (`--workdir`: a run or a shipped folder; a random model
decodes far more peaks than a trained one, so decoding times need trained weights). Inference: a
`--seconds` long synthetic piano-like signal (decaying partials at random keys) through the whole
predict path after a warm-up — whole-file dB reference, 60 s eval chunks with 11 s overlap, model,
stitching, peak decoding, MIDI + CSV writing — timed per stage, in wall time AND in this process's
CPU time (on a machine shared with other jobs, wall time measures the load; CPU time what the
work costs: real-time factor per CPU = audio seconds / CPU seconds, what one idle core gives).
Also the model's FLOPs per audio second (XLA's cost analysis) against a 2048² float32 matmul's
FLOP rate per CPU second. Training: the jitted train step on batches of 5 s chunks (208 frames),
chunks per second after a compile step (`--steps=0` skips it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from configs import piano
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


@contextlib.contextmanager
def timed(times: dict[str, list[float]], name: str):
  """Adds (wall s, CPU s) of the block to times[name]."""
  wall, cpu = time.perf_counter(), time.process_time()
  yield
  w, c = times.setdefault(name, [0.0, 0.0])
  times[name] = [w + time.perf_counter() - wall, c + time.process_time() - cpu]


def matmul_gflops_per_cpu_s(n: int = 2048, reps: int = 5) -> float:
  """float32 (n, n) @ (n, n) GFLOP per CPU second (the machine's practical peak)."""
  import jax.numpy as jnp

  a = jnp.ones((n, n), jnp.float32)
  f = jax.jit(lambda a: a @ a)
  jax.block_until_ready(f(a))
  cpu = time.process_time()
  for _ in range(reps):
    jax.block_until_ready(f(a))
  return 2 * n ** 3 * reps / (time.process_time() - cpu) / 1e9


def predict_times(exp, state, task, audio: np.ndarray, calibration: dict) -> tuple[dict, int]:
  """{stage: [wall s, CPU s]} of one predict pass over (T,) audio, and the notes decoded."""
  times: dict[str, list[float]] = {}
  with timed(times, "file dB reference"):
    example = {"audio": audio[:, None], "id": b"bench", "ref_db": task.ref_db(audio)}
  with timed(times, "chunking"):
    inputs = task.eval_inputs(example)
  outputs = []
  with timed(times, "frontend + model (jit)"):
    for i in range(len(inputs["audio"])):
      chunk = sharding.to_global({k: v[i:i + 1] for k, v in inputs.items()}, exp.mesh)
      outputs.append(jax.tree.map(np.asarray, exp.predict_step(state, chunk)))
  outputs = jax.tree.map(lambda *xs: np.concatenate(xs), *outputs)
  with timed(times, "sigmoid + stitching"):
    combined = task.combine(outputs, example)
  with timed(times, "peak decoding"):
    prediction = task.predict(combined, calibration)
  with timed(times, "MIDI + CSV writing"), tempfile.TemporaryDirectory() as out:
    task.write_prediction(prediction, "bench", out)
  return times, len(prediction["notes"])


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--seconds", type=float, default=60.0)
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--steps", type=int, default=5)
  parser.add_argument("--compute_dtype", default="float32")
  parser.add_argument("--config_arg", default="maps")
  parser.add_argument("--workdir", default=None, help="a trained run or shipped folder")
  args = parser.parse_args()
  calibration = {}
  if args.workdir:
    from instrax.predict import Predictor

    predictor = Predictor(args.workdir)
    exp, state, calibration = predictor.exp, predictor.state, predictor.calibration
    config = exp.config
  else:
    config = piano.get_config(args.config_arg)
    config.train.compute_dtype = args.compute_dtype
    config.train.batch_size = args.batch
    exp = Experiment(config, DataFormat(SR, 1))
    state = exp.init_state()
  task = exp.task
  params = sum(np.size(x) for x in jax.tree.leaves(state.params))
  print(f"jax {jax.__version__}, {jax.devices()[0].platform}, {os.cpu_count()} cpus, "
        f"{platform.processor() or platform.machine()}, compute {config.train.compute_dtype}, "
        f"{params:,} parameters, load average {os.getloadavg()[0]:.1f}")

  audio = piano_like(args.seconds)
  predict_times(exp, state, task, audio, calibration)  # compile
  times, notes = predict_times(exp, state, task, audio, calibration)
  wall, cpu = (sum(t[i] for t in times.values()) for i in (0, 1))
  for name, (w, c) in times.items():
    print(f"  {name:<24} wall {w:7.3f} s  CPU {c:7.3f} s  ({100 * c / cpu:4.1f} % of CPU)")
  print(f"inference: {args.seconds:.0f} s of audio, {notes} notes: wall {wall:.2f} s → real-time "
        f"factor {args.seconds / wall:.1f}×; CPU {cpu:.2f} s → {args.seconds / cpu:.1f}× per CPU")
  inputs = task.eval_inputs({"audio": audio[:, None], "ref_db": np.float32(0.0)})
  chunk = {k: v[:1] for k, v in inputs.items()}
  cost = exp.predict_step.lower(state, sharding.to_global(chunk, exp.mesh)).compile()
  flops = (cost.cost_analysis() or {}).get("flops", 0.0)
  peak = matmul_gflops_per_cpu_s()
  per_s = flops / task.eval_chunk_s
  print(f"model: {flops / 1e9:.1f} GFLOP per {task.eval_chunk_s:.0f} s chunk = {per_s / 1e9:.2f} "
        f"GFLOP per audio second; 50× real time needs {50 * per_s / 1e9:.0f} GFLOP/s; float32 "
        f"matmul peak {peak:.0f} GFLOP per CPU second; the model achieved "
        f"{flops * len(inputs['audio']) / 1e9 / times['frontend + model (jit)'][1]:.1f} GFLOP "
        "per CPU second")
  if not args.steps or args.workdir:
    return

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
