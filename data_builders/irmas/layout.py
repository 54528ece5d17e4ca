"""The IRMAS file layout as pure functions: name parsing, label files, finding parts, song split.

Ids are the official relative paths (`IRMAS-TrainingData/cla/[cla][cla]0189__2.wav`), since the
`NNNN__k` ids of the training files are not unique.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pathlib
import re

from data_builders.common import is_os_metadata
from instrax.data.vocabularies import IRMAS
from instrax.errors import DatasetError

TRAIN_DIR = "IRMAS-TrainingData"
MERGED_TEST_DIR = "IRMAS-TestingData"
# part -> (folder of the zip, folder inside it); Part2's inner name differs from the others.
TEST_PARTS = {
    1: ("IRMAS-TestingData-Part1", "Part1"),
    2: ("IRMAS-TestingData-Part2", "IRTestingData-Part2"),
    3: ("IRMAS-TestingData-Part3", "Part3"),
}
GENRES = ("cou_fol", "cla", "pop_roc", "lat_sou", "jaz_blu")
DRUMS = ("dru", "nod")
UNKNOWN = "unknown"
SOURCE = "https://zenodo.org/records/1290750"
# Items of the official release (datasets.md): 6,705 training wavs; test 807 + 1,301 + 766.
OFFICIAL_COUNTS = {"train+validation": 6705, "test": 2874,
                   "test Part1": 807, "test Part2": 1301, "test Part3": 766}

# Pattern 1 `[inst][genre]NNNN__k.wav`; pattern 2 `PPP__[inst][dru|nod][genre]NNNN__k.wav`.
_TRAIN_NAME = re.compile(
    r"^(?:(?P<prefix>\d+)__)?\[(?P<instrument>[a-z]{3})\](?:\[(?P<drums>dru|nod)\])?"
    r"\[(?P<genre>[a-z_]+)\](?P<recording>\d+)__(?P<excerpt>\d+)\.(?i:wav)$")


@dataclasses.dataclass(frozen=True)
class TrainName:
  """The fields of a training file name."""

  instrument: str
  genre: str
  drums: str  # "dru", "nod" or UNKNOWN (pattern 1 names carry no drum tag)
  recording: int  # NNNN: the source recording, numbered across the whole dataset
  excerpt: int  # k: the excerpt of that recording
  prefix: int | None  # PPP of pattern 2


@dataclasses.dataclass(frozen=True)
class Item:
  """One audio file of the dataset and its annotations."""

  id: str  # official relative path, "/"-separated
  path: pathlib.Path  # where it lies on disk
  labels: tuple[str, ...]  # IRMAS codes
  genre: str = UNKNOWN
  drums: str = UNKNOWN
  part: int = 0  # 0 training data, 1-3 test part
  recording: int | None = None  # NNNN (training files only)


def parse_train_name(name: str) -> TrainName:
  """Fields of a training file name (either pattern); DatasetError if it fits neither."""
  m = _TRAIN_NAME.match(name)
  if not m:
    raise DatasetError(f"{name!r} is not an IRMAS training file name "
                       "('[inst][genre]NNNN__k.wav' or 'PPP__[inst][dru|nod][genre]NNNN__k.wav')")
  if m["instrument"] not in IRMAS:
    raise DatasetError(f"{name!r}: unknown instrument {m['instrument']!r}; known: {IRMAS}")
  if m["genre"] not in GENRES:
    raise DatasetError(f"{name!r}: unknown genre {m['genre']!r}; known: {GENRES}")
  prefix = m["prefix"]
  return TrainName(m["instrument"], m["genre"], m["drums"] or UNKNOWN, int(m["recording"]),
                   int(m["excerpt"]), int(prefix) if prefix is not None else None)


def parse_labels(text: str, source: str) -> tuple[str, ...]:
  """Codes of a test label file (one per line, trailing TAB/CR ignored), in file order, unique."""
  codes = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
  codes = [c for c in codes if c]
  if not codes:
    raise DatasetError(f"{source}: label file is empty")
  unknown = [c for c in codes if c not in IRMAS]
  if unknown:
    raise DatasetError(f"{source}: unknown instrument code(s) {unknown}; known: {IRMAS}")
  return tuple(dict.fromkeys(codes))


def read_labels(path: pathlib.Path) -> tuple[str, ...]:
  """`parse_labels` of the file at `path`; DatasetError naming it if it is missing."""
  if not path.is_file():
    raise DatasetError(f"{path}: label file missing (every test .wav needs a sibling .txt)")
  return parse_labels(path.read_bytes().decode("utf-8", errors="replace"), str(path))


def find_train_dir(manual_dir: pathlib.Path) -> pathlib.Path:
  """`<manual_dir>/IRMAS-TrainingData`; DatasetError saying what was expected where."""
  path = manual_dir / TRAIN_DIR
  if not path.is_dir():
    raise DatasetError(f"IRMAS training folder {TRAIN_DIR!r} not found under manual_dir "
                       f"{manual_dir}. Download and extract IRMAS-TrainingData.zip from {SOURCE}.")
  return path


def find_test_parts(manual_dir: pathlib.Path) -> dict[int, pathlib.Path]:
  """Part number -> folder of its wavs, for the parts present.

  Each inner folder (`Part1`, `IRTestingData-Part2`, `Part3`) may lie in its zip's folder (as
  extracted), directly in manual_dir, or in one merged `IRMAS-TestingData/` folder.
  """
  parts = {}
  for part, (outer, inner) in TEST_PARTS.items():
    for folder in (manual_dir / outer / inner, manual_dir / inner,
                   manual_dir / MERGED_TEST_DIR / inner):
      if folder.is_dir():
        parts[part] = folder
        break
  if not parts:
    expected = ", ".join(f"{outer}/{inner}" for outer, inner in TEST_PARTS.values())
    raise DatasetError(f"no IRMAS test part found under manual_dir {manual_dir} (expected "
                       f"{expected}). Download and extract IRMAS-TestingData-Part1.zip, "
                       f"-Part2.zip and -Part3.zip from {SOURCE}.")
  return parts


def _wavs(folder: pathlib.Path) -> list[pathlib.Path]:
  """The .wav files of `folder`, sorted, without OS metadata files (`._x.wav` AppleDouble)."""
  return sorted(p for p in folder.iterdir()
                if p.suffix.lower() == ".wav" and p.is_file() and not is_os_metadata(p))


def training_items(train_dir: pathlib.Path) -> list[Item]:
  """One Item per training wav; the name's instrument must equal its folder."""
  items = []
  for folder in sorted(p for p in train_dir.iterdir() if p.is_dir()):
    if folder.name.startswith((".", "_")):  # e.g. __MACOSX
      continue
    if folder.name not in IRMAS:
      raise DatasetError(f"{folder}: not an IRMAS instrument folder; expected one of {IRMAS}")
    for path in _wavs(folder):
      fields = parse_train_name(path.name)
      if fields.instrument != folder.name:
        raise DatasetError(f"{path}: instrument [{fields.instrument}] in the name differs from "
                           f"its folder {folder.name!r}")
      items.append(Item(f"{TRAIN_DIR}/{folder.name}/{path.name}", path, (fields.instrument,),
                        fields.genre, fields.drums, 0, fields.recording))
  if not items:
    raise DatasetError(f"{train_dir}: no training .wav files in its instrument folders")
  return items


def part_items(part: int, folder: pathlib.Path) -> list[Item]:
  """One Item per test wav of `part`, labelled from its sibling .txt."""
  outer, inner = TEST_PARTS[part]
  return [Item(f"{outer}/{inner}/{path.name}", path, read_labels(path.with_suffix(".txt")),
               part=part) for path in _wavs(folder)]


def is_validation(recording: int, validation_fraction: float) -> bool:
  """Whether recording NNNN is held out: a fixed hash of NNNN mapped to [0, 1) < fraction."""
  digest = hashlib.sha256(f"irmas/recording/{recording}".encode()).digest()
  return int.from_bytes(digest[:8], "big") / 2.0**64 < validation_fraction


def split_train(items: list[Item], validation_fraction: float) -> tuple[list[Item], list[Item]]:
  """(train, validation): every excerpt of a recording, in any folder, goes to the same side."""
  val = [it for it in items if is_validation(it.recording, validation_fraction)]
  held = {it.id for it in val}
  return [it for it in items if it.id not in held], val
