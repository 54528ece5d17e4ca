"""Where MedleyDB and the seed's lead annotations lie on disk (datasets.md §3), as pure lookups.

    <manual_dir>/Audio/<track>/<track>_METADATA.yaml          (also MedleyDB_V1/V1/<track>/,
    <manual_dir>/Audio/<track>/<track>_MIX.wav                  MedleyDB_V2/V2/<track>/, V1/, V2/)
    <manual_dir>/Audio/<track>/<track>_STEMS/<track>_STEM_<SS>.wav
    <manual_dir>/metadata_song.json                 the seed's song-level lead annotations, and/or
    <manual_dir>/Markers/<track>/Markers.csv        per-song Audition marker exports (or
                                                    <track>_Markers.csv there, or Markers.csv in
                                                    the track's own folder); these win over the JSON
    <manual_dir>/split.json                         optional {track: train|validation|test}, or
                                                    the seed's v1_segmented/metadata.json
                                                    ("<track>-<i>": {..., split: train|valid|test})
OS metadata files (`._*`, `.DS_Store`, ...) are ignored.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re

import soundfile as sf
import yaml

from data_builders.common import is_os_metadata
from data_builders.medleydb_lead import annotations
from instrax.errors import DatasetError

SOURCE = "https://medleydb.weebly.com/ (v1: Zenodo 1649325; v2: Zenodo 1715175)"
AUDIO_ROOTS = ("Audio", "MedleyDB_V1/V1", "MedleyDB_V2/V2", "V1", "V2")
SPLIT_NAMES = {"train": "train", "valid": "validation", "validation": "validation",
               "test": "test"}


@dataclasses.dataclass(frozen=True)
class Stem:
  number: int  # MedleyDB stem number (S08 → 8)
  path: pathlib.Path
  instrument: str  # MedleyDB label, e.g. "male singer"


@dataclasses.dataclass(frozen=True)
class Track:
  name: str
  folder: pathlib.Path
  mix: pathlib.Path
  stems: tuple[Stem, ...]  # in stem-number order


def read_metadata(path: pathlib.Path) -> Track:
  """A track from its `<track>_METADATA.yaml` (mix_filename, stem_dir, stems.Sxx.{filename,
  instrument}). Raises DatasetError naming the file when a field is missing."""
  try:
    meta = yaml.safe_load(path.read_text())
    folder = path.parent
    stems = []
    for key, entry in sorted((meta.get("stems") or {}).items()):
      number = int(re.fullmatch(r"S(\d+)", key)[1])
      stems.append(Stem(number, folder / meta["stem_dir"] / entry["filename"],
                        str(entry["instrument"])))
    name = path.name[:-len("_METADATA.yaml")]
    return Track(name, folder, folder / meta["mix_filename"], tuple(stems))
  except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as e:
    raise DatasetError(f"{path}: not a MedleyDB METADATA.yaml (need mix_filename, stem_dir and "
                       f"stems.Sxx.{{filename, instrument}}): {e!r}") from e


def find_tracks(manual_dir: pathlib.Path) -> list[Track]:
  """Every track folder holding a METADATA.yaml under the known audio roots (v1 and v2 alike);
  a track found twice is kept once (the first root wins). DatasetError when there is none."""
  tracks: dict[str, Track] = {}
  for root in AUDIO_ROOTS:
    base = manual_dir / root
    if not base.is_dir():
      continue
    for meta in sorted(base.glob("*/*_METADATA.yaml")):
      if not is_os_metadata(meta) and meta.parent.name not in tracks:
        tracks[meta.parent.name] = read_metadata(meta)
  if not tracks:
    raise DatasetError(f"no MedleyDB track folders (<track>/<track>_METADATA.yaml) under "
                       f"{manual_dir}/{{{','.join(AUDIO_ROOTS)}}}")
  return list(tracks.values())


def _markers_file(manual_dir: pathlib.Path, track: Track) -> pathlib.Path | None:
  for path in (manual_dir / "Markers" / track.name / "Markers.csv",
               manual_dir / "Markers" / f"{track.name}_Markers.csv",
               track.folder / "Markers.csv"):
    if path.is_file():
      return path
  return None


def lead_spans(manual_dir: pathlib.Path, tracks: list[Track]
               ) -> dict[str, list[annotations.Span]]:
  """{track: spans} of every annotated track (Markers.csv over metadata_song.json). DatasetError
  when no track has annotations."""
  song_json = manual_dir / "metadata_song.json"
  from_json = (annotations.parse_song_json(song_json.read_text(encoding="utf-8-sig"))
               if song_json.is_file() else {})
  spans = {}
  for track in tracks:
    markers = _markers_file(manual_dir, track)
    if markers is not None:
      spans[track.name] = annotations.parse_markers(markers.read_text(encoding="utf-8-sig"),
                                                    str(markers))
    elif track.name in from_json:
      spans[track.name] = from_json[track.name]
  if not spans:
    raise DatasetError(f"no lead annotations for any track under {manual_dir}: put the seed's "
                       "metadata_song.json there, or Markers/<track>/Markers.csv files")
  return spans


def problem(track: Track, spans: list[annotations.Span]) -> str:
  """Why `track` cannot be built with `spans` ("" when it can): an annotation naming a stem the
  METADATA.yaml lacks, or a mix/stem file that is missing or whose header does not read."""
  numbers = [s.number for s in track.stems]
  for _, _, stem in spans:
    if stem not in numbers:
      return f"annotation names stem S{stem:02d}, which METADATA.yaml lacks"
  lead_stems = {stem for _, _, stem in spans}
  files = [("mix", track.mix)] + [("lead stem" if s.number in lead_stems else "stem", s.path)
                                  for s in track.stems]
  for what, path in files:
    if not path.is_file():
      return f"missing {what}: {path.name}"
    try:
      sf.info(path)
    except (sf.LibsndfileError, RuntimeError) as e:
      return f"unreadable {what}: {path.name} ({e})"
  return ""


def read_split_file(path: pathlib.Path) -> dict[str, str]:
  """{track: train|validation|test} from a split.json ({track: split}) or the seed's segment
  metadata.json ({"<track>-<i>": {"split": ...}}). DatasetError for unknown split names or a
  track in two splits."""
  try:
    raw = json.loads(path.read_text())
    pairs = [(k, v["split"] if isinstance(v, dict) else v) for k, v in raw.items()]
  except (ValueError, KeyError, TypeError, AttributeError) as e:
    raise DatasetError(f"{path}: need {{track: split}} or the seed's metadata.json ({e!r})") from e
  out: dict[str, str] = {}
  for key, split in pairs:
    track = re.sub(r"-\d+$", "", key) if isinstance(raw[key], dict) else key
    if split not in SPLIT_NAMES:
      raise DatasetError(f"{path}: {key!r} has split {split!r}; use one of "
                         f"{', '.join(SPLIT_NAMES)}")
    if out.setdefault(track, SPLIT_NAMES[split]) != SPLIT_NAMES[split]:
      raise DatasetError(f"{path}: track {track!r} is in two splits")
  return out


def find_split_file(manual_dir: pathlib.Path, given: str) -> pathlib.Path | None:
  """The split file: `given` (must exist), else split.json or v1_segmented/metadata.json in
  `manual_dir`, else None (a seeded split is made)."""
  if given:
    if not pathlib.Path(given).is_file():
      raise DatasetError(f"split_file {given} not found")
    return pathlib.Path(given)
  for path in (manual_dir / "split.json", manual_dir / "v1_segmented" / "metadata.json"):
    if path.is_file():
      return path
  return None
