"""Dataset build throughput on generated fixtures: examples/s and audio-minutes/s per builder.

  .venv/bin/python bench/bench_builds.py [--builders=irmas,mtat,...] [--scale=1]

Each builder's tree comes from its own test fixture generator (data_builders/<name>/fixtures.py;
MAESTRO has none: the real fixture folder, one 2-s file, is used when present; synthmix needs no
tree: `synthmix/tiny` renders its own) at the real file formats and, where the generator takes a
length, the real clip length (IRMAS 3 s, OpenMIC 10 s, MTAT 29.5 s, FMA 30 s; MUSDB18 tracks 30 s).
`--scale` multiplies the number of MTAT training clips (its generator takes a count). The build
is `data_builders.prepare` into a fresh directory, timed alone (tree writing excluded). Audio
minutes: the built examples' `audio` lengths over all splits at the dataset's sample rate (what
was decoded, resampled and written; MUSDB18's four stems and MedleyDB's stems are decoded too but
not counted). The trees are small, so fixed costs (split shuffling, writing each split's
array_record file, opening the first file) weigh on every figure: these are lower bounds of the
steady rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REAL = Path(os.environ.get("INSTRAX_REAL_FIXTURES", "/work/shared/fixtures/real"))


def _irmas(root: Path, scale: int) -> Path:
  from data_builders.irmas import fixtures
  return fixtures.make_fake_irmas(root, seconds=3.0).root


def _openmic(root: Path, scale: int) -> Path:
  from data_builders.openmic2018 import fixtures
  return fixtures.make_tree(root, audio_seconds=10.0)


def _maps(root: Path, scale: int) -> Path:
  from data_builders.maps import fixtures
  fixtures.make_fake_maps(root)
  return root


def _maestro(root: Path, scale: int) -> Path | None:
  return REAL / "maestro" if (REAL / "maestro").is_dir() else None


def _musdb(root: Path, scale: int) -> Path:
  from data_builders.musdb18 import fixtures
  return fixtures.make_fake_musdb(root, seconds=30.0).root


def _mtat(root: Path, scale: int) -> Path:
  from data_builders.mtat import fixtures
  return fixtures.make_tree(root, n_train=3 * scale, seconds=29.5).root


def _fma(root: Path, scale: int) -> Path:
  from data_builders.fma import fixtures
  return fixtures.make_tree(root, seconds=30.0).root


def _medleydb(root: Path, scale: int) -> Path:
  from data_builders.medleydb_lead import fixtures
  return fixtures.make_fake_medleydb(root).root


# name → (dataset spec, tree maker(root, scale) → manual_dir, or None: no tree needed / none)
BUILDERS: dict[str, tuple[str, Callable[[Path, int], Path | None] | None]] = {
    "irmas": ("irmas", _irmas),
    "openmic2018": ("openmic2018/audio44k", _openmic),
    "maps": ("maps/standard", _maps),
    "maestro": ("maestro/v2", _maestro),
    "musdb18": ("musdb18", _musdb),
    "mtat": ("mtat", _mtat),
    "fma": ("fma/medium_minus_small", _fma),
    "medleydb_lead": ("medleydb_lead", _medleydb),
    "synthmix": ("synthmix/tiny", None),
}


def audio_minutes(builder) -> float:
  """Minutes of the `audio` feature over every split of a built dataset."""
  from instrax.data import sources
  ds = sources.Dataset(builder, builder.name)
  total = 0
  for split in builder.info.splits:
    src = ds.source(split, ("audio",))
    total += sum(src[i]["audio"].shape[0] for i in range(len(src)))
  return total / ds.sample_rate / 60


def bench(name: str, scale: int) -> str:
  """One table row: build `name` on its generated tree."""
  import data_builders
  spec, make = BUILDERS[name]
  with tempfile.TemporaryDirectory() as tmp:
    manual = make(Path(tmp) / "manual", scale) if make else None
    if make and manual is None:
      return f"| {name} | (skipped: no fixture; real fixtures not at {REAL}) | | | | | |"
    t0 = time.perf_counter()
    builder = data_builders.prepare(spec, os.path.join(tmp, "data"), manual)
    wall = time.perf_counter() - t0
    n = sum(info.num_examples for info in builder.info.splits.values())
    minutes = audio_minutes(builder)
  load = " ".join(f"{v:.1f}" for v in os.getloadavg())
  return (f"| {spec} | {n} | {minutes:.2f} | {wall:.1f} | {n / wall:.1f} | {minutes / wall:.2f} | "
          f"{load} |")


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--builders", default=",".join(BUILDERS))
  ap.add_argument("--scale", type=int, default=1, help="MTAT training clips × 3")
  args = ap.parse_args()
  names = args.builders.split(",")
  unknown = [n for n in names if n not in BUILDERS]
  if unknown:
    raise SystemExit(f"unknown builder(s) {unknown}; choose from {', '.join(BUILDERS)}")
  print(f"# {time.strftime('%Y-%m-%d %H:%M')}  {os.cpu_count()} cores")
  print("| builder | examples | audio min | wall s | examples/s | audio min/s | load |")
  print("|---|---:|---:|---:|---:|---:|---|")
  for name in names:
    print(bench(name, args.scale), flush=True)


if __name__ == "__main__":
  main()
