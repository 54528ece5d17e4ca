"""A tiny fake MagnaTagATune tree in the release layout, for tests.

`annotations_final.csv` is tab-separated and double-quoted as released, holding `clip_id`, the 50
top-50 tag columns among a few others, and `mp3_path`. With `split_dir` (the real Won et al.
split folder) the `n_valid`/`n_test` entries of the real valid.npy/test.npy with the lowest rows
are kept with their real rows and paths; the other annotation rows are filler clips outside the
train shards. Train clips follow: tagged ones, one without a top-50 tag (not in train), one empty
mp3 (MTAT's known empty files), one too short, one listed without a file.
"""

from __future__ import annotations

import csv
import dataclasses
import pathlib

import numpy as np
import soundfile as sf

from data_builders.mtat import layout
from instrax.data.vocabularies import MTAT

RATE = 16000
OTHER_TAGS = ("hard rock", "chant")  # annotations_final.csv has 188 tags; a few non-top-50 ones


@dataclasses.dataclass
class FakeMtat:
  """The generated tree: root, the expected split of each built clip, its tags, the bad ones."""

  root: pathlib.Path
  splits: dict[str, str]  # mp3_path -> split, for every clip that must be built
  tags: dict[str, np.ndarray]  # mp3_path -> (50,) float32
  empty: list[str]
  short: list[str]
  untagged: list[str]
  missing: list[str]


def _entries(split_dir: pathlib.Path | None, name: str, n: int, base: int
             ) -> list[tuple[int, str]]:
  if split_dir is None:
    shard = "c" if name == "validation" else "d"
    return [(base + 2 * i, f"{shard}/fake_artist-album-0{i}-{name}_song-30-59.mp3")
            for i in range(n)]
  return sorted(layout.read_split(split_dir / layout.SPLIT_FILES[name]))[:n]


def write_mp3(path: pathlib.Path, seconds: float, seed: int) -> None:
  """A mono 16 kHz MP3 (MTAT's format) of a few tones."""
  rng = np.random.default_rng(seed)
  t = np.arange(round(seconds * RATE)) / RATE
  audio = sum(0.1 * np.sin(2 * np.pi * f * t) for f in rng.uniform(100, 3000, 3))
  path.parent.mkdir(parents=True, exist_ok=True)
  sf.write(path, audio.astype(np.float32), RATE, format="MP3")


def make_tree(dest: pathlib.Path, split_dir: pathlib.Path | None = None, *, n_valid: int = 2,
              n_test: int = 2, n_train: int = 3, seconds: float = 29.5, seed: int = 0
              ) -> FakeMtat:
  """Writes `dest/annotations_final.csv`, the mp3 shards and `dest/split/{valid,test}.npy`."""
  rng = np.random.default_rng(seed)
  fake = FakeMtat(dest, {}, {}, [], [], [], [])
  picks = {s: _entries(split_dir, s, n, base) for s, n, base in (("validation", n_valid, 1),
                                                                  ("test", n_test, 2))}
  by_row = {ix: (split, mp3) for split, entries in picks.items() for ix, mp3 in entries}
  rows = max(by_row) + 1
  paths = [by_row[r][1] if r in by_row else f"f/filler-{r:05d}-0-29.mp3" for r in range(rows)]
  train = [f"{'0123456789ab'[k % 12]}/fake_band-train_album-{k:02d}-song-0-29.mp3"
           for k in range(n_train)]
  bad = {"empty": "6/fake_band-empty-08-gently-117-146.mp3",
         "short": "7/fake_band-short-01-brief-0-29.mp3",
         "untagged": "8/fake_band-untagged-01-x-0-29.mp3",
         "missing": "9/fake_band-missing-01-x-0-29.mp3"}
  paths += train + list(bad.values())
  header = ["clip_id", *MTAT[:25], *OTHER_TAGS, *MTAT[25:], "mp3_path"]
  dest.mkdir(parents=True, exist_ok=True)
  with (dest / layout.ANNOTATIONS).open("w", newline="") as f:
    writer = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    for r, mp3 in enumerate(paths):
      tags = np.zeros(len(MTAT), np.float32)
      if mp3 != bad["untagged"]:
        tags[rng.choice(len(MTAT), int(rng.integers(1, 4)), replace=False)] = 1.0
      other = rng.integers(0, 2, len(OTHER_TAGS))
      values = [str(int(v)) for v in (*tags[:25], *other, *tags[25:])]
      writer.writerow([str(2 + 4 * r), *values, mp3])
      split = by_row[r][0] if r in by_row else ("train" if mp3 in train else None)
      if split:
        fake.splits[mp3], fake.tags[mp3] = split, tags
        write_mp3(dest / mp3, seconds, seed * 1000 + r)
  (dest / bad["empty"]).parent.mkdir(parents=True, exist_ok=True)
  (dest / bad["empty"]).write_bytes(b"")
  write_mp3(dest / bad["short"], 3.0, seed)
  write_mp3(dest / bad["untagged"], seconds, seed + 1)
  fake.empty, fake.short = [bad["empty"]], [bad["short"]]
  fake.untagged, fake.missing = [bad["untagged"]], [bad["missing"]]
  (dest / "split").mkdir(exist_ok=True)
  for split, entries in picks.items():
    np.save(dest / "split" / layout.SPLIT_FILES[split],
            np.array([f"{ix}\t{mp3}" for ix, mp3 in entries]))
  return fake
