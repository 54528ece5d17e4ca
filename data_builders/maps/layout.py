"""Finding MAPS MUS pieces on disk and reading their notes, in two layouts (datasets.md §5).

Original (the MAPS zips): `<piano>/MUS/MAPS_MUS-<piece>_<piano>.{wav,mid,txt}`, the `.txt` a
tab-separated `OnsetTime OffsetTime MidiPitch` table; velocities come from the `.mid` (same notes).
Re-encoded (jongwook/onsets-and-frames `data/MAPS`): `flac/MAPS_MUS-<piece>_<piano>.flac` (16 kHz
mono) and `tsv/[matched/]<same>.tsv` (`# onset,offset,note,velocity`, tab-separated).
Notes are float32 (N, 4) rows [onset_s, offset_s, midi_pitch, velocity], sorted by onset, pitch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pathlib
import re

import numpy as np

from instrax.errors import DatasetError

PIANOS = ("AkPnBcht", "AkPnBsdf", "AkPnCGdD", "AkPnStgb", "ENSTDkAm", "ENSTDkCl", "SptkBGAm",
          "SptkBGCl", "StbgTGd2")
REAL_PIANOS = ("ENSTDkAm", "ENSTDkCl")  # Disklavier recordings; the other 7 are synthesised
SYNTH_PIANOS = tuple(p for p in PIANOS if p not in REAL_PIANOS)
_NAME = re.compile(r"^MAPS_MUS-(?P<piece>.+)_(?P<piano>[A-Za-z0-9]+)$")


@dataclasses.dataclass(frozen=True)
class Item:
  """One MUS recording: its name (file stem), piece, piano, audio and note files."""
  name: str
  piece: str
  piano: str
  audio: pathlib.Path
  notes: pathlib.Path  # .txt (original) or .tsv (re-encoded)
  midi: pathlib.Path | None = None  # original layout: velocities


def parse_name(stem: str) -> tuple[str, str]:
  """'MAPS_MUS-chpn_op25_e3_ENSTDkAm' → ('chpn_op25_e3', 'ENSTDkAm')."""
  match = _NAME.match(stem)
  if not match or match["piano"] not in PIANOS:
    raise DatasetError(f"{stem!r} is not a MAPS MUS name (MAPS_MUS-<piece>_<piano>, piano one of "
                       f"{', '.join(PIANOS)})")
  return match["piece"], match["piano"]


def find_items(root: pathlib.Path) -> list[Item]:
  """Every MUS piece under `root`, in either layout, sorted by name; none → DatasetError."""
  items: dict[str, Item] = {}
  for wav in sorted(root.rglob("MAPS_MUS-*.wav")):
    if wav.parent.name == "MUS":
      piece, piano = parse_name(wav.stem)
      txt, mid = wav.with_suffix(".txt"), wav.with_suffix(".mid")
      for needed in (txt, mid):
        if not needed.exists():
          raise DatasetError(f"{wav} has no {needed.name} beside it; re-extract that MAPS zip")
      items[wav.stem] = Item(wav.stem, piece, piano, wav, txt, mid)
  for flac in sorted(root.rglob("MAPS_MUS-*.flac")):
    piece, piano = parse_name(flac.stem)
    tsvs = sorted(flac.parent.parent.glob(f"tsv/**/{flac.stem}.tsv"))
    if not tsvs:
      raise DatasetError(f"{flac} has no tsv/[matched/]{flac.stem}.tsv")
    items.setdefault(flac.stem, Item(flac.stem, piece, piano, flac, tsvs[0]))
  if not items:
    raise DatasetError(f"no MAPS MUS pieces under {root}: expected <piano>/MUS/MAPS_MUS-*.wav "
                       f"(+ .txt, .mid) or flac/MAPS_MUS-*.flac + tsv/MAPS_MUS-*.tsv")
  return sorted(items.values(), key=lambda it: it.name)


def _table(path: pathlib.Path, columns: int) -> np.ndarray:
  try:
    rows = np.loadtxt(path, delimiter="\t", skiprows=1, ndmin=2, dtype=np.float64)
  except ValueError as e:
    raise DatasetError(f"{path}: not a tab-separated table of numbers ({e})") from e
  if not rows.size:
    return np.zeros((0, columns))
  if rows.shape[1] < columns:
    raise DatasetError(f"{path}: {rows.shape[1]} columns, expected {columns}")
  return rows[:, :columns]


def midi_velocities(txt_notes: np.ndarray, midi_path: pathlib.Path,
                    tolerance_s: float = 0.01) -> np.ndarray:
  """(N,) velocity of each .txt note: the .mid note of the same pitch with the nearest onset
  (within `tolerance_s`); a .txt note without one is a DatasetError (files do not match)."""
  import pretty_midi

  midi = pretty_midi.PrettyMIDI(str(midi_path))
  ref = np.array([(n.start, n.pitch, n.velocity) for inst in midi.instruments for n in inst.notes],
                 np.float64).reshape(-1, 3)
  out = np.zeros(len(txt_notes))
  for i, (onset, _, pitch) in enumerate(txt_notes[:, :3]):
    same = ref[ref[:, 1] == pitch]
    j = np.argmin(np.abs(same[:, 0] - onset)) if len(same) else None
    if j is None or abs(same[j, 0] - onset) > tolerance_s:
      raise DatasetError(f"{midi_path}: no note {int(pitch)} near {onset:.3f} s, which the .txt "
                         f"has; the .mid and .txt do not match")
    out[i] = same[j, 2]
  return out


def read_notes(item: Item) -> np.ndarray:
  """float32 (N, 4) [onset_s, offset_s, midi_pitch, velocity] of an item, sorted."""
  if item.midi is not None:
    notes = _table(item.notes, 3)
    notes = np.column_stack([notes, midi_velocities(notes, item.midi)])
  else:
    notes = _table(item.notes, 4)
  bad = (notes[:, 1] < notes[:, 0]) | (notes[:, 2] < 21) | (notes[:, 2] > 108) | (notes[:, 3] < 0)
  if bad.any():
    raise DatasetError(f"{item.notes}: {int(bad.sum())} notes with offset < onset, a pitch off the "
                       f"88 keys or a negative velocity (first: {notes[bad][0].tolist()})")
  return notes[np.lexsort((notes[:, 2], notes[:, 0]))].astype(np.float32)


def _order(piece: str) -> str:
  return hashlib.sha1(piece.encode()).hexdigest()


def split_pieces(items: list[Item], train_pianos: tuple[str, ...], test_pianos: tuple[str, ...],
                 test_fraction: float, validation_fraction: float) -> dict[str, list[Item]]:
  """train / validation / test with every PIECE on one side only, whatever the piano.

  With `test_pianos`: test = their recordings; train and validation = recordings on
  `train_pianos` (every other piano when empty) of pieces not in test (the standard protocol).
  Without: a `test_fraction` of the pieces (by a fixed hash order) is held out for test.
  Validation: a `validation_fraction` of the remaining pieces, same order. Counts are rounded,
  at least one piece when the fraction is positive and two or more pieces remain.
  """
  def take(pieces: list[str], fraction: float) -> set[str]:
    if fraction <= 0 or len(pieces) < 2:
      return set()
    ordered = sorted(pieces, key=_order)
    return set(ordered[:min(len(pieces) - 1, max(1, round(fraction * len(pieces))))])

  if test_pianos:
    test = [it for it in items if it.piano in test_pianos]
    rest = [it for it in items if it.piano not in test_pianos
            and (not train_pianos or it.piano in train_pianos)]
    test_pieces = {it.piece for it in test}
  else:
    rest = [it for it in items if not train_pianos or it.piano in train_pianos]
    test_pieces = take(sorted({it.piece for it in rest}), test_fraction)
    test = [it for it in rest if it.piece in test_pieces]
  rest = [it for it in rest if it.piece not in test_pieces]
  val_pieces = take(sorted({it.piece for it in rest}), validation_fraction)
  return {"train": [it for it in rest if it.piece not in val_pieces],
          "validation": [it for it in rest if it.piece in val_pieces], "test": test}
