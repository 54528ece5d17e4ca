"""Dataset build throughput on generated fixtures: examples/s and audio-minutes/s.

  .venv/bin/python bench/bench_builds.py --seconds=3.0

IRMAS: the fixture generator's tree (data_builders/irmas/fixtures.py: 61 training excerpts, 5
readable test files, one corrupt), every file `--seconds` long at the real format (44.1 kHz
stereo PCM16; test files are 1.5–2.5× longer, as the generator makes them), built with
`data_builders.prepare` into a fresh directory. Audio minutes count the readable files' length.
The other builders (MAESTRO, MAPS, MUSDB18, OpenMIC, MedleyDB lead, synthmix) are not measured
here yet (synthmix: bench_synthmix.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def bench_irmas(seconds: float) -> str:
  import data_builders
  from data_builders.irmas import fixtures
  with tempfile.TemporaryDirectory() as tmp:
    fake = fixtures.make_fake_irmas(Path(tmp) / "manual", seconds=seconds)
    ids = [*fake.training, *fake.test]
    minutes = sum(sf.info(fake.root / i).duration for i in ids) / 60
    t0 = time.perf_counter()
    builder = data_builders.prepare("irmas", os.path.join(tmp, "data"), fake.root)
    wall = time.perf_counter() - t0
    n = sum(info.num_examples for info in builder.info.splits.values())
  return (f"| irmas | {n} | {minutes:.2f} | {wall:.1f} | {n / wall:.1f} | {minutes / wall:.2f} | "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} |")


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--seconds", type=float, default=3.0, help="length of each training excerpt")
  args = ap.parse_args()
  print(f"# {time.strftime('%Y-%m-%d %H:%M')}  {os.cpu_count()} cores")
  print("| builder | examples | audio min | wall s | examples/s | audio min/s | load |")
  print("|---|---:|---:|---:|---:|---:|---|")
  print(bench_irmas(args.seconds), flush=True)


if __name__ == "__main__":
  main()
