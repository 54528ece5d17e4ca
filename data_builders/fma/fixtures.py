"""A tiny fake FMA tree in the release layout, for tests.

`fma_metadata/tracks.csv` has FMA's 3 header lines and a sorted subset of its real columns, one
field with quoted commas and a newline (as artist bios have); audio sits in `fma_<size>/<tid[:3]>/
<tid>.mp3` (44.1 kHz stereo MP3, as FMA). Tracks cover each subset and split, one has no single
top-level genre, one mp3 is corrupt and one is missing.
"""

from __future__ import annotations

import csv
import dataclasses
import pathlib

import numpy as np
import soundfile as sf

from data_builders.fma import layout

RATE = 44100
COLUMNS = (("album", "title"), ("artist", "bio"), ("set", "split"), ("set", "subset"),
           ("track", "genre_top"), ("track", "title"))
#: (track_id, split, subset, genre_top); ids chosen to span several <tid[:3]> folders.
TRACKS = ((2, "training", "small", "Hip-Hop"), (5, "test", "small", "Hip-Hop"),
          (140, "validation", "small", "Folk"), (1039, "training", "medium", "Rock"),
          (1040, "training", "medium", "Old-Time / Historic"), (1082, "test", "medium", "Jazz"),
          (2011, "validation", "medium", "Soul-RnB"), (3001, "training", "medium", ""),
          (3002, "training", "medium", "Pop"), (3003, "test", "medium", "Blues"),
          (5000, "training", "large", "Rock"))
CORRUPT, MISSING = 3002, 3003


@dataclasses.dataclass
class FakeFma:
  root: pathlib.Path
  tracks: dict[int, tuple[str, str, str]]  # id -> (split, subset, genre_top) as in tracks.csv


def write_mp3(path: pathlib.Path, seconds: float, seed: int) -> None:
  """A 44.1 kHz stereo MP3 of two tones."""
  rng = np.random.default_rng(seed)
  t = np.arange(round(seconds * RATE)) / RATE
  audio = 0.2 * np.sin(2 * np.pi * rng.uniform(100, 2000, 2)[None] * t[:, None])
  path.parent.mkdir(parents=True, exist_ok=True)
  sf.write(path, audio.astype(np.float32), RATE, format="MP3")


def make_tree(dest: pathlib.Path, seconds: float = 1.0) -> FakeFma:
  """Writes the tree under `dest` (fma_metadata/ and fma_{small,medium,large}/)."""
  (dest / "fma_metadata").mkdir(parents=True, exist_ok=True)
  with (dest / layout.TRACKS).open("w", newline="") as f:
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(["", *(c[0] for c in COLUMNS)])
    writer.writerow(["", *(c[1] for c in COLUMNS)])
    writer.writerow(["track_id", *("" for _ in COLUMNS)])
    for tid, split, subset, genre in TRACKS:
      writer.writerow([tid, f"Album {tid}", "A bio, with commas,\nand a newline", split, subset,
                       genre, f"Song {tid}"])
  for size in layout.SIZES:
    for tid, _, subset, _ in TRACKS:
      if layout.SIZES.index(subset) > layout.SIZES.index(size) or tid == MISSING:
        continue
      path = dest / f"fma_{size}" / f"{tid:06d}"[:3] / f"{tid:06d}.mp3"
      if tid == CORRUPT:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8)
      else:
        write_mp3(path, seconds, tid)
  return FakeFma(dest, {t[0]: t[1:] for t in TRACKS})
