"""bench/harmonic_profile.py: harmonic levels of known signals, the refusals, the table, and the
command on a written note against TimGM6mb (which pretty_midi ships)."""

import numpy as np
import pytest
import soundfile as sf

from bench import harmonic_profile as hp

RATE = 16000


def _sawtooth(f0: float, seconds: float, slope: float = 1.0, rate: int = RATE) -> np.ndarray:
  t = np.arange(round(seconds * rate)) / rate
  return sum(np.sin(2 * np.pi * k * f0 * t) / k ** slope for k in range(1, int(rate / 2 / f0)))


def test_levels_of_a_sawtooth_fall_as_its_slope_says():
  for slope in (1.0, 2.0):
    levels = hp.harmonic_levels(_sawtooth(220.0, 1.0, slope), 220.0, RATE, 6)
    np.testing.assert_allclose(levels, -20 * slope * np.log10(np.arange(1, 7)), atol=0.2)


def test_levels_above_nyquist_are_nan_and_bad_input_is_refused():
  levels = hp.harmonic_levels(_sawtooth(3000.0, 0.5), 3000.0, RATE, 4)
  assert levels[0] == 0.0 and levels[1] < 0 and np.isnan(levels[2:]).all()  # 9 kHz > 8 kHz
  with pytest.raises(ValueError, match="two periods"):
    hp.harmonic_levels(np.zeros(10), 100.0, RATE, 4)
  with pytest.raises(ValueError, match="f0"):
    hp.harmonic_levels(np.zeros(RATE), 9000.0, RATE, 4)
  with pytest.raises(ValueError, match="no pitched frame"):
    hp.median_f0(np.zeros(RATE), RATE)


def test_table_marks_missing_harmonics():
  text = hp.table(71, [("file", np.array([0.0, -6.4, np.nan])), ("bank", np.zeros(3))])
  assert text.splitlines() == ["| MIDI 71 | h1 | h2 | h3 |", "|---|---:|---:|---:|",
                               "| file | 0 | -6 | — |", "| bank | 0 | 0 | 0 |"]


def test_command_profiles_a_note_against_a_bank(tmp_path, capsys):
  path = tmp_path / "note.wav"
  sf.write(path, 0.3 * _sawtooth(440.0, 1.5) / 2, RATE)  # A4: MIDI 69
  assert hp.main([str(path), "--program=40", "--banks=TimGM6mb", "--harmonics=4"]) == 0
  lines = capsys.readouterr().out.splitlines()
  assert lines[0] == "| MIDI 69 | h1 | h2 | h3 | h4 |"
  assert lines[2].startswith("| file | 0 | -6 | -10 | -12 |")
  assert lines[3].startswith("| TimGM6mb | 0 |") and len(lines) == 4
  assert hp.main([str(tmp_path / "missing.wav"), "--program=40"]) == 1
  assert "cannot read" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    hp.main([str(path), "--program=128"])
  assert "GM program 0-127" in capsys.readouterr().err


def test_a_program_no_bank_has_is_refused(tmp_path, capsys, monkeypatch):
  from data_builders.synthmix import render

  path = tmp_path / "note.wav"
  sf.write(path, 0.3 * _sawtooth(440.0, 1.5) / 2, RATE)
  monkeypatch.setattr(render.Renderer, "fonts_with", lambda self, program: ())
  assert hp.main([str(path), "--program=40", "--banks=TimGM6mb"]) == 1
  assert "none of the banks TimGM6mb has GM program 40" in capsys.readouterr().err
