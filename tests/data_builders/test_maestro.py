"""MAESTRO builder: the keyboard state machine, metadata formats, and a build of the real files."""

from __future__ import annotations

import json

import mido
import numpy as np
import pretty_midi
import pytest

import data_builders
from data_builders.maestro import keyboard, metadata
from instrax.errors import DatasetError
from tests.conftest import split_examples

TICKS_PER_S = 960  # 480 ticks per beat at the default 120 bpm


def _midi(path, events):
  """events: (time_s, mido message) in time order → a type-0 MIDI file."""
  mid = mido.MidiFile(ticks_per_beat=480)
  track = mido.MidiTrack()
  last = 0
  for t, msg in events:
    ticks = round(t * TICKS_PER_S)
    track.append(msg.copy(time=ticks - last))
    last = ticks
  mid.tracks.append(track)
  mid.save(path)
  return path


def _on(note, vel=80):
  return mido.Message("note_on", note=note, velocity=vel)


def _off(note):
  return mido.Message("note_off", note=note)


def _pedal(value):
  return mido.Message("control_change", control=64, value=value)


EVENTS = [(0.0, _on(60)), (0.5, _off(60)),                       # plain note
          (1.0, _pedal(100)), (1.1, _on(62, 50)), (1.2, _off(62)),  # held by the pedal …
          (1.3, _on(62, 70)), (1.4, _off(62)),                   # … re-pressed: a new note
          (1.5, _pedal(7)), (1.6, _pedal(8)), (2.0, _pedal(0)),  # 7 is up; 8 is down
          (3.0, _on(64)), (3.2, _on(64, 90)), (3.5, _off(64)),   # redundant press
          (4.0, _off(65)),                                       # release without a press
          (4.5, _on(67)), (5.0, _off(60))]                       # 67 open at the end; 60 stray


def test_keyboard_state_machine_hand_computed(tmp_path):
  path = _midi(tmp_path / "a.mid", EVENTS)
  notes, counts = keyboard.midi_notes(path)
  expected = [[0.0, 0.5, 60, 80], [1.1, 1.3, 62, 50], [1.3, 1.5, 62, 70],
              [3.0, 3.2, 64, 80], [3.2, 3.5, 64, 90], [4.5, 5.0, 67, 80]]
  np.testing.assert_allclose(notes, expected, atol=2e-3)
  assert counts == {"redundant_presses": 1, "unmatched_releases": 2, "open_at_end": 1}
  seed, _ = keyboard.midi_notes(path, repress="ignore")
  np.testing.assert_allclose(seed[3], [3.0, 3.5, 64, 80], atol=2e-3)  # the re-press is dropped
  assert len(seed) == 5
  plain, _ = keyboard.midi_notes(path, extend_sustain=False)
  np.testing.assert_allclose(plain[1:3, :2], [[1.1, 1.2], [1.3, 1.4]], atol=2e-3)


def test_metadata_formats(tmp_path):
  rec = {"canonical_composer": "A", "canonical_title": '"Voiles", Book I', "split": "test",
         "year": 2018, "midi_filename": "2018/x.midi", "audio_filename": "2018/x.wav",
         "duration": 1.5}
  (tmp_path / "maestro-v2.0.0.json").write_text(json.dumps([rec]))
  (tmp_path / "maestro-v3.0.0.json").write_text(json.dumps({k: {"0": v} for k, v in rec.items()}))
  csv_dir = tmp_path / "maestro-v1.0.0"
  csv_dir.mkdir()
  header = ",".join(metadata.FIELDS)
  (csv_dir / "maestro-v1.0.0.csv").write_text(
      f'{header}\nA,"""Voiles"", Book I",test,2018,2018/x.midi,2018/x.wav,1.5\n', "utf-8")
  for version in ("1.0.0", "2.0.0", "3.0.0"):
    (got,) = metadata.read(metadata.find(tmp_path, version))
    assert got["canonical_title"] == '"Voiles", Book I' and got["split"] == "test"
    assert int(got["year"]) == 2018
  with pytest.raises(DatasetError, match=r"no maestro-v9\.0\.0"):
    metadata.find(tmp_path, "9.0.0")


def test_build_real_v2(tmp_path, real_fixtures):
  real = real_fixtures / "maestro"
  builder = data_builders.prepare("maestro/v2", str(tmp_path / "data"), real)
  (ex,) = split_examples(builder, "train").values()
  assert ex["audio"].shape == (32000, 1)  # the fixture's 2 s of 48 kHz stereo → 16 kHz mono
  assert ex["title"].decode() == "Sonata Op. 1" and ex["year"] == 2018
  notes = ex["notes"]
  assert len(notes) and notes[:, 0].max() < 2.0
  midi = pretty_midi.PrettyMIDI(str(real / "2018/MIDI-Unprocessed_Chamber3_MID--AUDIO_10_R3_2018_"
                                           "wav--1.midi"))
  ref = sorted((round(n.start, 4), n.pitch) for n in midi.instruments[0].notes if n.start < 2.0)
  assert sorted((round(float(o), 4), int(p)) for o, p in notes[:, [0, 2]]) == ref
  assert (notes[:, 1] >= notes[:, 0]).all()
