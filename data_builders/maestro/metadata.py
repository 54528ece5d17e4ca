"""MAESTRO metadata: the CSV, or the JSON (v1/v2: a list of records; v3: column-oriented
{column: {row: value}}), as records with the 7 fields of datasets.md §4."""

from __future__ import annotations

import csv
import json
import pathlib

from instrax.errors import DatasetError

FIELDS = ("canonical_composer", "canonical_title", "split", "year", "midi_filename",
          "audio_filename", "duration")


def find(root: pathlib.Path, version: str) -> pathlib.Path:
  """maestro-v<version>.{json,csv} in root or root/maestro-v<version>/ (JSON preferred)."""
  for folder in (root, root / f"maestro-v{version}"):
    for ext in ("json", "csv"):
      path = folder / f"maestro-v{version}.{ext}"
      if path.exists():
        return path
  raise DatasetError(f"no maestro-v{version}.json or .csv in {root} or {root}/maestro-v{version}/")


def read(path: pathlib.Path) -> list[dict]:
  """Records (dicts of FIELDS) of a metadata file; a missing field is a DatasetError."""
  if path.suffix == ".csv":
    with open(path, encoding="utf-8", newline="") as f:
      records = list(csv.DictReader(f))
  else:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):  # v3: column-oriented
      rows = sorted(next(iter(data.values())), key=int)
      records = [{k: data[k][r] for k in data} for r in rows]
    else:
      records = data
  for i, rec in enumerate(records):
    missing = [k for k in FIELDS if k not in rec]
    if missing:
      raise DatasetError(f"{path}: record {i} lacks {', '.join(missing)}")
  return records
