"""MIDI → piano notes through a keyboard state machine with the sustain pedal (seeds.md §2.1).

A key sounds from its press until its release, or — while the sustain pedal (CC 64) is above
`sustain_threshold` (the seed: > 7) — until the pedal goes up; pressing a key held only by the
pedal ends its note and starts a new one. A press of a key that is already DOWN (a "redundant
press": a note-on without a note-off between) is counted; `repress="split"` ends the
sounding note there and starts a new one (every onset kept), `repress="ignore"` keeps the old
note and drops the new onset (the seed's KeyboardStateMachine). Releases of keys not down are
counted too. Notes still sounding at the end of the file end at its last event.
"""

from __future__ import annotations

import collections
import os

import numpy as np

from instrax.errors import DatasetError

REPRESS = ("split", "ignore")


def midi_notes(path: str | os.PathLike, sustain_threshold: int = 7, extend_sustain: bool = True,
               repress: str = "split") -> tuple[np.ndarray, collections.Counter]:
  """float32 (N, 4) [onset_s, offset_s, midi_pitch, velocity] sorted by onset, pitch, and counts
  of "redundant_presses", "unmatched_releases" and "open_at_end"."""
  import mido

  if repress not in REPRESS:
    raise DatasetError(f"repress must be one of {REPRESS}, got {repress!r}")
  try:
    events = list(mido.MidiFile(os.fspath(path)))
  except (OSError, ValueError, EOFError) as e:
    raise DatasetError(f"{path}: not a readable MIDI file ({e})") from e
  counts: collections.Counter = collections.Counter()
  down: set[int] = set()
  sounding: dict[int, tuple[float, int]] = {}
  notes: list[tuple[float, float, int, int]] = []
  sustain, t = False, 0.0

  def close(key: int, when: float) -> None:
    onset, velocity = sounding.pop(key)
    notes.append((onset, when, key, velocity))

  for msg in events:
    t += msg.time
    if msg.type == "note_on" and msg.velocity > 0:
      if msg.note in down:  # pressed again without a release
        counts["redundant_presses"] += 1
        if repress == "split":
          close(msg.note, t)
      elif msg.note in sounding:  # held by the pedal: the new press starts a new note
        close(msg.note, t)
      sounding.setdefault(msg.note, (t, msg.velocity))
      down.add(msg.note)
    elif msg.type in ("note_off", "note_on"):
      if msg.note not in down:
        counts["unmatched_releases"] += 1
        continue
      down.discard(msg.note)
      if not (sustain and extend_sustain) and msg.note in sounding:
        close(msg.note, t)
    elif msg.type == "control_change" and msg.control == 64:
      now_on = msg.value > sustain_threshold
      if sustain and not now_on:
        for key in [k for k in sounding if k not in down]:
          close(key, t)
      sustain = now_on
  counts["open_at_end"] += len(sounding)
  for key in list(sounding):
    close(key, t)
  out = np.array(notes, np.float64).reshape(-1, 4)
  return out[np.lexsort((out[:, 2], out[:, 0]))].astype(np.float32), counts
