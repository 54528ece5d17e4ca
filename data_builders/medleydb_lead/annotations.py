"""The seed's MedleyDB lead annotations (datasets.md §3, seeds.md §1.7), as pure functions.

Formats: per-song Adobe Audition `Markers.csv` (tab-separated; Start and Duration as M:SS.mmm;
Description = the MedleyDB stem index of the lead, e.g. 8 → S08) and the seed's
`metadata_song.json` ({song: [{lead_start, lead_end, lead_inst}]}, lead_inst = "8#male_singer").
Frame labels: label[int(start·rate):int(end·rate)] = the lead's stem, later spans overwriting
earlier ones, −1 elsewhere (the seed's rule).
"""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np

from instrax.errors import DatasetError

Span = tuple[float, float, int]  # (start_s, end_s, MedleyDB stem number, 1-based)


def timecode(text: str) -> float:
  """'M:SS.mmm' (or 'H:MM:SS.mmm', or plain seconds) → seconds; ValueError otherwise."""
  parts = text.strip().split(":")
  if not parts[-1] or len(parts) > 3:
    raise ValueError(f"bad timecode {text!r}")
  seconds = 0.0
  for p in parts:
    seconds = seconds * 60 + float(p)
  return seconds


def parse_markers(text: str, source: str = "Markers.csv") -> list[Span]:
  """Spans of an Audition marker export; rows with an empty Description (no lead) are dropped.
  Raises DatasetError naming `source` and the row for a bad Start/Duration/Description."""
  rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter="\t")
  spans = []
  for i, row in enumerate(rows, start=2):
    desc = (row.get("Description") or "").strip()
    if not desc:
      continue
    try:
      start, duration = timecode(row["Start"]), timecode(row["Duration"])
      stem = int(desc)
    except (KeyError, TypeError, ValueError) as e:
      raise DatasetError(f"{source} line {i}: need Start/Duration as M:SS.mmm and an integer "
                         f"stem Description ({e})") from e
    if duration < 0:
      raise DatasetError(f"{source} line {i}: negative Duration {row['Duration']!r}")
    spans.append((start, start + duration, stem))
  return spans


def parse_song_json(text: str) -> dict[str, list[Span]]:
  """{song: spans} from the seed's metadata_song.json ("8#male_singer" → stem 8)."""
  out: dict[str, list[Span]] = {}
  for song, entries in json.loads(text).items():
    spans = []
    for e in entries:
      m = re.match(r"\s*(\d+)#", str(e["lead_inst"]))
      if not m:
        raise DatasetError(f"metadata_song.json {song}: lead_inst {e['lead_inst']!r} is not "
                           "'<stem>#<instrument>'")
      spans.append((timecode(str(e["lead_start"])), timecode(str(e["lead_end"])), int(m[1])))
    out[song] = spans
  return out


def frame_labels(spans: list[Span], stem_numbers: list[int], num_frames: int,
                 frame_rate: float) -> np.ndarray:
  """(num_frames,) int32: index into `stem_numbers` of the lead stem per frame, −1 = none; later
  spans overwrite earlier ones. A span naming a stem not in `stem_numbers` is a DatasetError."""
  labels = np.full(num_frames, -1, np.int32)
  for start, end, stem in spans:
    if stem not in stem_numbers:
      raise DatasetError(f"lead annotation names stem S{stem:02d}, which the song lacks "
                         f"(stems: {', '.join(f'S{s:02d}' for s in stem_numbers)})")
    labels[int(start * frame_rate):int(end * frame_rate)] = stem_numbers.index(stem)
  return labels


def split_songs(songs: list[str], seed: int = 0,
                sizes: tuple[int, int, int] = (77, 16, 16)) -> dict[str, str]:
  """Song → "train"/"validation"/"test": a seeded shuffle cut in the seed's 77/16/16 proportions
  (scaled to len(songs); validation and test get at least one song each when ≥ 3 songs)."""
  order = sorted(songs)
  np.random.default_rng(seed).shuffle(order)
  n = len(order)
  n_val = max(round(n * sizes[1] / sum(sizes)), 1 if n >= 3 else 0)
  n_test = max(round(n * sizes[2] / sum(sizes)), 1 if n >= 3 else 0)
  split = {}
  for i, song in enumerate(order):
    split[song] = "validation" if i < n_val else "test" if i < n_val + n_test else "train"
  return split
