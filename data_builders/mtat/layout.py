"""MagnaTagATune on disk (datasets.md §7) and Won et al.'s split, as pure functions.

Layout: `<root>/annotations_final.csv` (tab-separated, optionally double-quoted: `clip_id`, 188
binary tag columns, `mp3_path`) and `<root>/<shard>/<clip>.mp3`, shards `0`–`9`, `a`–`f`
(`<root>` may also hold the mp3 folders under `mp3/`). Won et al.'s split
(minzwon/sota-music-tagging-models `split/mtat/{valid,test}.npy`): 1-D string arrays of
`"<ix>\\t<mp3_path>"`, ix = the 0-based row of annotations_final.csv. Their train split is the
other clips of shards 0–b that carry at least one top-50 tag (test 4,332 from d–f, valid 1,529
from c; train ≈ 15,247).
"""

from __future__ import annotations

import csv
import dataclasses
import pathlib

import numpy as np

from instrax.data.vocabularies import MTAT
from instrax.errors import DatasetError

ANNOTATIONS = "annotations_final.csv"
SPLIT_FILES = {"validation": "valid.npy", "test": "test.npy"}
TRAIN_SHARDS = tuple("0123456789ab")
SHARDS = (*TRAIN_SHARDS, "c", "d", "e", "f")
SOURCE = ("https://mirg.city.ac.uk/codeapps/the-magnatagatune-dataset (audio, annotations); "
          "https://github.com/minzwon/sota-music-tagging-models split/mtat/ (split)")
# Won et al.'s split sizes (datasets.md §7); train is "the rest" and only approximately known.
OFFICIAL_COUNTS = {"validation": 1529, "test": 4332}


@dataclasses.dataclass(frozen=True)
class Clip:
  """One annotated clip: its annotations row, id, mp3 path (relative) and top-50 tags (50,)."""

  row: int
  clip_id: int
  mp3_path: str
  tags: np.ndarray  # float32 (50,) multi-hot in MTAT (tags.npy) order


def find_root(manual_dir: pathlib.Path) -> pathlib.Path:
  """The folder holding annotations_final.csv: manual_dir or its `mtat`/`magnatagatune` child."""
  for root in (manual_dir, manual_dir / "mtat", manual_dir / "magnatagatune"):
    if (root / ANNOTATIONS).is_file():
      return root
  raise DatasetError(f"no {ANNOTATIONS} in manual_dir {manual_dir}: download it and the mp3 "
                     f"archives from {SOURCE} and extract them there")


def audio_path(root: pathlib.Path, mp3_path: str) -> pathlib.Path:
  """`<root>/<shard>/<clip>.mp3`, or `<root>/mp3/<shard>/<clip>.mp3` when that one exists."""
  direct = root / mp3_path
  nested = root / "mp3" / mp3_path
  return nested if not direct.exists() and nested.exists() else direct


def read_annotations(path: pathlib.Path) -> list[Clip]:
  """Every row of annotations_final.csv with its top-50 tags (columns picked by name).

  Raises:
    DatasetError: a missing column (a top-50 tag, clip_id or mp3_path) or a non-0/1 tag value.
  """
  with path.open(newline="", encoding="utf-8") as f:
    reader = csv.reader(f, delimiter="\t")
    header = next(reader, None) or []
    missing = [c for c in ("clip_id", "mp3_path", *MTAT) if c not in header]
    if missing:
      raise DatasetError(f"{path}: columns {missing[:5]} missing; is it MTAT's tab-separated "
                         f"{ANNOTATIONS}?")
    cols = [header.index(t) for t in MTAT]
    id_col, path_col = header.index("clip_id"), header.index("mp3_path")
    clips = []
    for row, fields in enumerate(reader):
      if len(fields) != len(header):
        raise DatasetError(f"{path}: data row {row} has {len(fields)} fields, the header "
                           f"{len(header)}")
      values = [fields[c] for c in cols]
      if any(v not in ("0", "1") for v in values):
        raise DatasetError(f"{path}: data row {row} has a tag value other than 0/1")
      clips.append(Clip(row, int(fields[id_col]), fields[path_col],
                        np.asarray(values, np.float32)))
  return clips


def read_split(path: pathlib.Path) -> list[tuple[int, str]]:
  """Won et al.'s split file → [(annotations row, mp3_path), ...]."""
  entries = np.load(path, allow_pickle=False)
  out = []
  for entry in entries.tolist():
    ix, sep, mp3 = str(entry).partition("\t")
    if not sep or not ix.isdigit():
      raise DatasetError(f"{path}: entry {entry!r} is not '<row>\\t<mp3_path>'")
    out.append((int(ix), mp3))
  return out


def assign_splits(clips: list[Clip], split_files: dict[str, list[tuple[int, str]]]
                  ) -> dict[str, list[Clip]]:
  """Won et al.'s validation/test by annotations row; train = the other clips of shards 0–b
  with at least one top-50 tag.

  Raises:
    DatasetError: a split row past the annotations or whose mp3_path disagrees with it.
  """
  out: dict[str, list[Clip]] = {"train": []}
  taken: set[int] = set()
  for split, entries in split_files.items():
    out[split] = []
    for ix, mp3 in entries:
      if ix >= len(clips) or clips[ix].mp3_path != mp3:
        have = clips[ix].mp3_path if ix < len(clips) else "no such row"
        raise DatasetError(f"{split} split row {ix} is {mp3!r} but {ANNOTATIONS} has {have!r}; "
                           "the split files and annotations come from different releases")
      out[split].append(clips[ix])
      taken.add(ix)
  out["train"] = [c for c in clips if c.row not in taken and c.mp3_path[:1] in TRAIN_SHARDS
                  and c.tags.any()]
  return out
