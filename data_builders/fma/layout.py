"""FMA on disk (mdeff/fma; datasets.md §8) as pure functions: tracks.csv and the audio paths.

`fma_metadata/tracks.csv`: comma-separated with 3 header lines (top level album/artist/set/track;
second level, e.g. split, subset, genre_top; then `track_id`); fields may hold quoted commas and
newlines. `(set, subset)` is nested (small ⊂ medium ⊂ large), `(set, split)` is training /
validation / test, `(track, genre_top)` one of 16 top-level genres or empty when a track has
several. Audio: `fma_<size>/<tid[:3]>/<tid>.mp3` with tid the 6-digit zero-padded id (MSSPT kept
the files flat, `fma_<size>/<tid>.mp3`; both are found).
"""

from __future__ import annotations

import csv
import dataclasses
import pathlib

from instrax.data.vocabularies import FMA
from instrax.errors import DatasetError

TRACKS = pathlib.PurePath("fma_metadata", "tracks.csv")
SIZES = ("small", "medium", "large")
SPLITS = {"training": "train", "validation": "validation", "test": "test"}
COLUMNS = {"split": ("set", "split"), "subset": ("set", "subset"),
           "genre_top": ("track", "genre_top")}
SOURCE = "https://github.com/mdeff/fma (fma_metadata.zip, fma_<size>.zip)"


@dataclasses.dataclass(frozen=True)
class Track:
  """One row of tracks.csv: id, split (train/validation/test), subset and top-level genre."""

  track_id: int
  split: str
  subset: str
  genre_top: str  # "" when the track has no single top-level genre

  @property
  def tid(self) -> str:
    return f"{self.track_id:06d}"


def find_root(manual_dir: pathlib.Path) -> pathlib.Path:
  """The folder holding fma_metadata/tracks.csv (manual_dir or its `fma` child)."""
  for root in (manual_dir, manual_dir / "fma"):
    if (root / TRACKS).is_file():
      return root
  raise DatasetError(f"no {TRACKS} under manual_dir {manual_dir}: download fma_metadata.zip and "
                     f"fma_<size>.zip from {SOURCE} and unzip them there")


def read_tracks(path: pathlib.Path) -> list[Track]:
  """Every track of tracks.csv (its 3-line header read by column name, not position).

  Raises:
    DatasetError: a missing column or an unknown split/subset value.
  """
  with path.open(newline="", encoding="utf-8") as f:
    reader = csv.reader(f)
    top, second, third = (next(reader, []) for _ in range(3))
    if not third or third[0] != "track_id":
      raise DatasetError(f"{path}: expected FMA's 3 header lines ending in 'track_id'")
    names = list(zip(top, second))
    cols = {}
    for key, name in COLUMNS.items():
      if name not in names:
        raise DatasetError(f"{path}: no column {name}; is it fma_metadata/tracks.csv?")
      cols[key] = names.index(name)
    tracks = []
    for fields in reader:
      if not fields:
        continue
      split, subset = fields[cols["split"]], fields[cols["subset"]]
      if split not in SPLITS or subset not in SIZES:
        raise DatasetError(f"{path}: track {fields[0]} has split {split!r} / subset {subset!r}")
      genre = fields[cols["genre_top"]]
      if genre and genre not in FMA:
        raise DatasetError(f"{path}: track {fields[0]} has unknown genre_top {genre!r}")
      tracks.append(Track(int(fields[0]), SPLITS[split], subset, genre))
  return tracks


def select(tracks: list[Track], subset: str) -> list[Track]:
  """The tracks of `subset`: small/medium/large (nested, as FMA defines them) or
  "medium_minus_small" (MSSPT's evaluation set: medium's tracks that are not in small)."""
  if subset == "medium_minus_small":
    return [t for t in tracks if t.subset == "medium"]
  if subset not in SIZES:
    raise DatasetError(f"FMA subset {subset!r}; valid: {', '.join(SIZES)}, medium_minus_small")
  return [t for t in tracks if SIZES.index(t.subset) <= SIZES.index(subset)]


def audio_folder(subset: str) -> str:
  """The archive folder a subset's audio is in: fma_small, fma_medium or fma_large."""
  return "fma_medium" if subset == "medium_minus_small" else f"fma_{subset}"


def audio_path(root: pathlib.Path, folder: str, track: Track) -> pathlib.Path:
  """`<root>/<folder>/<tid[:3]>/<tid>.mp3`, or the flat `<root>/<folder>/<tid>.mp3` (MSSPT)."""
  nested = root / folder / track.tid[:3] / f"{track.tid}.mp3"
  flat = root / folder / f"{track.tid}.mp3"
  return flat if not nested.exists() and flat.exists() else nested
