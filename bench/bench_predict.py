"""Inference speed of `predict` (issue #13, benchmark 4): clips/s and real-time factor.

  python bench/bench_predict.py [--workdir=shipped/instruments] [--short=20] [--long=4]

Runs the whole predict path — decode (streaming), resample, features, model, window voting —
through `instrax.predict.Predictor` on generated 44.1 kHz stereo files: `--short` files of 3 s
and `--long` files of 30 s. Reports, per length, files/s and the real-time factor (seconds of
audio per second of wall time). The first file of each length is a warm-up (compilation) and is
not timed. Uses the shipped instrument model by default (no training needed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from instrax import predict


def _write(folder: str, name: str, seconds: float, rate: int = 44100, seed: int = 0) -> str:
  rng = np.random.default_rng(seed)
  t = np.arange(int(seconds * rate)) / rate
  tone = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((220.0, 440.0, 660.0), 1))
  audio = 0.2 * tone[:, None] * np.ones((1, 2)) + 0.01 * rng.standard_normal((t.size, 2))
  path = os.path.join(folder, name)
  sf.write(path, audio.astype(np.float32), rate, subtype="PCM_16")
  return path


def measure(predictor: Any, paths: list[str], seconds: float) -> dict[str, float]:
  predictor.predict_file(paths[0])  # warm-up: compilation
  start = time.perf_counter()
  for path in paths[1:]:
    predictor.predict_file(path)
  wall = time.perf_counter() - start
  n = len(paths) - 1
  return {"files": n, "files_per_s": n / wall, "realtime_factor": n * seconds / wall}


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--workdir", default=os.path.join(predict.SHIPPED_ROOT,
                                                        predict.DEFAULT_MODEL))
  parser.add_argument("--short", type=int, default=20, help="3-s files (+1 warm-up)")
  parser.add_argument("--long", type=int, default=4, help="30-s files (+1 warm-up)")
  args = parser.parse_args(argv)
  predictor = predict.make_predictor(args.workdir)
  with tempfile.TemporaryDirectory() as folder:
    for seconds, count in ((3.0, args.short), (30.0, args.long)):
      paths = [_write(folder, f"{seconds:g}s_{i}.wav", seconds, seed=i) for i in range(count + 1)]
      r = measure(predictor, paths, seconds)
      print(f"{seconds:>4g}-s files: {r['files']} files, {r['files_per_s']:.2f} files/s, "
            f"{r['realtime_factor']:.0f}x real time (44.1 kHz stereo in, "
            f"{predictor.data_format.sample_rate} Hz model)")
  print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
  return 0


if __name__ == "__main__":
  sys.exit(main())
