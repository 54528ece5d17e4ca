"""The musdb18 / musdb18-hq file layouts as pure functions, the stem order and the validation list.

musdb18: `<root>/{train,test}/<Artist - Title>.stem.mp4`, 5 AAC stereo streams in the order
`STEM_STREAMS` (sigsep `mus.yaml` stem_ids). musdb18-hq: `<root>/{train,test}/<Artist -
Title>/{mixture,drums,bass,other,vocals}.wav`. `<root>` may also be `<manual_dir>/musdb18` or
`<manual_dir>/musdb18hq`. The validation split is `musdb.DB(subsets="train", split="valid")`'s
14 training tracks (datasets.md §6); ids are the track names as spelled by the dataset.
"""

from __future__ import annotations

import dataclasses
import pathlib

from instrax.errors import DatasetError

SOURCES = ("drums", "bass", "other", "vocals")
STEM_STREAMS = ("mixture", "drums", "bass", "other", "vocals")  # stream index = position
STEM_SUFFIX = ".stem.mp4"
SOURCE = "https://zenodo.org/records/1117372 (musdb18), https://zenodo.org/records/3338373 (hq)"
VALIDATION = (
    "Actions - One Minute Smile", "Clara Berry And Wooldog - Waltz For My Victims",
    "Johnny Lokke - Promises & Lies", "Patrick Talbot - A Reason To Leave",
    "Triviul - Angelsaint", "Alexander Ross - Goodbye Bolero", "Fergessen - Nos Palpitants",
    "Leaf - Summerghost", "Skelpolu - Human Mistakes", "Young Griffo - Pennies",
    "ANiMAL - Rockshow", "James May - On The Line", "Meaxic - Take A Step",
    "Traffic Experiment - Sirens",
)


@dataclasses.dataclass(frozen=True)
class Track:
  """One track: its name, split, and where its audio lies (a .stem.mp4 or a folder of wavs)."""

  name: str
  split: str  # train, validation or test
  path: pathlib.Path
  hq: bool  # True: folder of wavs; False: .stem.mp4


def find_root(manual_dir: pathlib.Path) -> pathlib.Path:
  """The folder holding train/ and test/: manual_dir itself or its musdb18[hq] subfolder."""
  for root in (manual_dir, manual_dir / "musdb18", manual_dir / "musdb18hq"):
    if (root / "train").is_dir() or (root / "test").is_dir():
      return root
  raise DatasetError(f"no musdb18 train/ or test/ folder under manual_dir {manual_dir}. "
                     f"Download musdb18 or musdb18-hq from {SOURCE} and extract it there.")


def tracks(root: pathlib.Path) -> list[Track]:
  """Every track under root/{train,test}, train split into train/validation by `VALIDATION`."""
  out = []
  for subset in ("train", "test"):
    folder = root / subset
    if not folder.is_dir():
      continue
    for p in sorted(folder.iterdir()):
      if p.name.startswith((".", "_")):
        continue
      if p.is_file() and p.name.endswith(STEM_SUFFIX):
        name, hq = p.name[:-len(STEM_SUFFIX)], False
      elif p.is_dir() and (p / "mixture.wav").is_file():
        name, hq = p.name, True
      else:
        continue
      split = "test" if subset == "test" else ("validation" if name in VALIDATION else "train")
      out.append(Track(name, split, p, hq))
  if not out:
    raise DatasetError(f"{root}: no <name>.stem.mp4 files or <name>/mixture.wav folders in "
                       "train/ or test/")
  return out
