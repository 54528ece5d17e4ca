"""A tiny fake musdb18 tree in the real layouts (for tests): musdb18-hq wav folders (one of them a
validation track), a corrupt `.stem.mp4`, and the real 6-s `.stem.mp4` when available."""

from __future__ import annotations

import dataclasses
import pathlib
import shutil

import numpy as np
import soundfile as sf

from data_builders.musdb18 import layout

RATE = 44100
REAL_TRACK = "The Easton Ellises - Falcon 69"


@dataclasses.dataclass
class FakeMusdb:
  """The generated tree: root (the manual_dir), expected split per readable track, bad names."""

  root: pathlib.Path
  splits: dict[str, str]  # track name -> split
  sources: dict[str, dict[str, np.ndarray]]  # hq track -> stem name -> float (T, 2)
  bad: list[str]


def make_fake_musdb(root: pathlib.Path, real_dir: pathlib.Path | None = None,
                    seconds: float = 0.5) -> FakeMusdb:
  """Writes the fake tree under `root`; copies the real stem file in from `real_dir`."""
  fake = FakeMusdb(root, {}, {}, [])
  t = np.arange(round(seconds * RATE)) / RATE
  for k, (subset, name, split) in enumerate((
      ("train", "Some Artist - Some Song", "train"),
      ("train", layout.VALIDATION[2], "validation"))):
    folder = root / subset / name
    folder.mkdir(parents=True)
    stems = {s: np.stack([0.1 * np.sin(2 * np.pi * (200 + 100 * i + 7 * k) * t),
                          0.05 * np.sin(2 * np.pi * (300 + 50 * i) * t)], axis=1)
             for i, s in enumerate(layout.SOURCES)}
    stems["mixture"] = sum(stems[s] for s in layout.SOURCES)
    for s, x in stems.items():
      sf.write(folder / f"{s}.wav", x, RATE, subtype="PCM_16")
    fake.splits[name], fake.sources[name] = split, stems
  bad = root / "train" / f"Broken - Track{layout.STEM_SUFFIX}"
  bad.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 4)
  fake.bad.append("Broken - Track")
  if real_dir is not None:
    (root / "test").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(real_dir / "test" / f"{REAL_TRACK}{layout.STEM_SUFFIX}",
                    root / "test" / f"{REAL_TRACK}{layout.STEM_SUFFIX}")
    fake.splits[REAL_TRACK] = "test"
  return fake
