"""Lead detection (configs/lead.py:synth): one train step's time per encoder layout.

  python bench/bench_lead_step.py [--repeats=5] [--conv]

The jitted train step of `lead_ch_cls` on a batch of 8 synthmix-shaped segments (mix + 5 stems,
5 s at 24 kHz), random audio, after a compile step; min and median of `--repeats`, the variants
interleaved so that load on a shared machine hits them alike. Variants: the default mel encoder
with every track encoded at once (no scan), the same under `nn.scan` in 2 chunks (the layout
`track_chunk` gives a many-track song), the mel encoder with one transformer layer, and with
`--conv` the HuBERT-shaped raw-waveform encoder (tens of seconds per step on CPU).
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

from configs import lead
from instrax.experiment import DataFormat, Experiment

VARIANTS = {
    "mel, all tracks at once (default)": ("synth", {}),
    "mel, nn.scan over 2 chunks of 24 tracks": ("synth", {"track_chunk": 24}),
    "mel + 1 transformer layer, at once": ("synth", {"enc_layers": 1}),
}
CONV = {
    "conv (HuBERT-shaped), nn.scan chunks of 4": ("synth,encoder=conv", {}),
    "conv (HuBERT-shaped), at once": ("synth,encoder=conv", {"track_chunk": 0, "remat": False}),
}


def make_step(arg: str, overrides: dict) -> tuple:
  """(jitted step, state, batch) for configs/lead.py:`arg` with model `overrides`."""
  config = lead.get_config(arg)
  config.model.update(overrides)
  exp = Experiment(config, DataFormat(16000, 1))
  rng = np.random.default_rng(0)
  b = config.train.batch_size
  batch = {k: np.array(v) for k, v in exp.dummy_inputs(b).items()}
  batch["stems"] = (rng.normal(size=batch["stems"].shape) * 0.1).astype(np.float32)
  batch["mix"] = batch["stems"].sum(1, keepdims=True)
  batch["track_mask"][:] = True
  batch["inst_ids"][:] = rng.integers(1, 129, size=batch["inst_ids"].shape)
  batch["targets"] = rng.integers(0, 7, size=(b, exp.task.segment_frames)).astype(np.int32)
  state = exp.init_state()
  step = exp.train_step
  state, metrics = step(state, batch)  # compile
  jax.block_until_ready(metrics)
  return step, state, batch


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--conv", action="store_true", help="also time the raw-waveform encoder")
  args = parser.parse_args(argv)
  variants = {**VARIANTS, **(CONV if args.conv else {})}
  steps = {name: make_step(arg, kw) for name, (arg, kw) in variants.items()}
  times: dict[str, list[float]] = {name: [] for name in variants}
  for _ in range(args.repeats):
    for name, (step, state, batch) in steps.items():
      start = time.perf_counter()
      state, metrics = step(state, batch)
      jax.block_until_ready(metrics)
      times[name].append(time.perf_counter() - start)
      steps[name] = (step, state, batch)
  print(f"jax {jax.__version__}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
  print("| encoder layout | step min (s) | step median (s) |\n|---|---:|---:|")
  for name, ts in times.items():
    print(f"| {name} | {min(ts):.3f} | {float(np.median(ts)):.3f} |")


if __name__ == "__main__":
  main()
