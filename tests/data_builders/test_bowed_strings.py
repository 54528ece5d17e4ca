"""The modelled bowed-string bank (bowed_strings.py): a sawtooth source in tune with its harmonics
at 1/k**s, body modes where the model puts them, notes that are deterministic, in tune, and a bank
synthmix plays."""

import librosa
import numpy as np
import pytest
from scipy import signal

from data_builders.synthmix import bowed_strings as bs
from data_builders.synthmix import built_bank, render

RATE = bs.RATE


def _partials_db(x: np.ndarray, f0: float, count: int, rate: int = RATE) -> np.ndarray:
  """Energies (dB) of harmonics 1..count of f0 in x (Hann-windowed power within ±3 % of k·f0,
  so a partial smeared by a pitch drift keeps its level)."""
  power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
  freqs = np.fft.rfftfreq(x.size, 1 / rate)
  return np.array([10 * np.log10(power[(freqs > 0.97 * k * f0) & (freqs < 1.03 * k * f0)].sum())
                   for k in range(1, count + 1)])


def test_bridge_force_is_a_sawtooth_of_the_drawn_slope_in_tune(monkeypatch):
  """Without vibrato, harmonic k sits at −20·s·log10(k) dB from the fundamental, s in SLOPE."""
  monkeypatch.setattr(bs, "VIBRATO_CENTS", (0.0, 0.0))  # vibrato smears the upper partials
  rng = np.random.default_rng(3)
  f0 = 220.0
  x = bs.bridge_force(f0, 2 * RATE, rng)
  level = _partials_db(x[RATE // 2:RATE // 2 + RATE], f0, 8)
  rel = level - level[0]
  slopes = -rel[1:] / (20 * np.log10(np.arange(2, 9)))
  assert bs.SLOPE[0] - 0.05 < np.median(slopes) < bs.SLOPE[1] + 0.05
  assert np.ptp(slopes) < 0.15  # one slope for every harmonic: a 1/k**s sawtooth
  f, _, _ = librosa.pyin(x[RATE // 2:RATE // 2 + RATE], fmin=100.0, fmax=600.0, sr=RATE)
  assert librosa.hz_to_midi(np.nanmedian(f)) == pytest.approx(librosa.hz_to_midi(f0), abs=0.3)


def test_bridge_force_stays_below_max_harmonic_hz():
  x = bs.bridge_force(1000.0, RATE, np.random.default_rng(0))
  spectrum = np.abs(np.fft.rfft(x))
  freqs = np.fft.rfftfreq(x.size, 1 / RATE)
  above = spectrum[freqs > bs.MAX_HARMONIC_HZ * 1.05].max()
  assert above < 1e-3 * spectrum.max()


def test_attack_envelope_rises_then_holds():
  env = bs.attack_envelope(1000, 0.01, rate=10000)
  assert env[0] == 0.0 and np.all(np.diff(env[:100]) > 0) and np.all(env[100:] == 1.0)


def test_body_modes_scale_with_the_instrument():
  violin = bs.body_modes(1.0, np.random.default_rng(0))
  cello = bs.body_modes(0.42, np.random.default_rng(0))
  assert violin.shape == (4 + 1 + bs.HIGH_MODES, 3)
  np.testing.assert_allclose(cello[:, 0], 0.42 * violin[:, 0])
  np.testing.assert_array_equal(cello[:, 1:], violin[:, 1:])
  for f, want in zip(violin[:4, 0], bs.SIGNATURE_HZ, strict=True):
    assert f == pytest.approx(want, rel=0.08)
  assert bs.BRIDGE_HILL_HZ[0] <= violin[4, 0] <= bs.BRIDGE_HILL_HZ[1]


def test_body_filter_peaks_at_a_mode():
  modes = np.array([[1000.0, 20.0, 1.0]])
  impulse = np.zeros(RATE)
  impulse[0] = 1.0
  h = np.abs(np.fft.rfft(bs.body_filter(impulse, modes)))
  freqs = np.fft.rfftfreq(RATE, 1 / RATE)
  assert freqs[np.argmax(h)] == pytest.approx(1000.0, abs=2.0)
  assert h.max() == pytest.approx(1.1, rel=0.02)  # resonator peak 1 + the 0.1 direct path
  b, a = signal.iirpeak(0.46 * RATE, 20.0, fs=RATE)  # a mode past 0.45 rate is left out
  high = np.array([[0.46 * RATE, 20.0, 1.0]])
  np.testing.assert_allclose(bs.body_filter(impulse, high), 0.1 * impulse)
  assert np.abs(signal.lfilter(b, a, impulse)).max() > 0


@pytest.mark.parametrize("inst", bs.FAMILY, ids=lambda i: i.name)
def test_notes_are_in_tune_deterministic_and_fade_out(inst):
  modes = bs.body_modes(inst.body_scale, np.random.default_rng([0, inst.program]))
  for key in (inst.low, (inst.low + inst.high) // 2):
    x = bs.note(inst, key, modes)
    assert x.dtype == np.float32 and x.size == int(bs.NOTE_S * RATE)
    assert np.abs(x).max() == pytest.approx(0.9, rel=1e-4) and x[-1] == 0.0
    f0, _, _ = librosa.pyin(x[RATE // 2:RATE // 2 + RATE], fmin=30.0, fmax=2000.0, sr=RATE,
                            frame_length=4096)
    assert librosa.hz_to_midi(np.nanmedian(f0)) == pytest.approx(key, abs=0.3)
    np.testing.assert_array_equal(x, bs.note(inst, key, modes))
  assert not np.array_equal(bs.note(inst, inst.low, modes, seed=0),
                            bs.note(inst, inst.low, modes, seed=1))


def test_root_keys_cover_each_range():
  for inst in bs.FAMILY:
    keys = bs.root_keys(inst)
    assert keys[0] == inst.low and keys[-1] == inst.high
    assert max(np.diff(keys)) <= 3


def test_the_bank_plays_the_family_in_tune_and_is_kept_unless_forced(tmp_path, capsys,
                                                                       monkeypatch):
  monkeypatch.setattr(bs, "NOTE_S", 1.5)  # a short bank: the same code, quicker
  monkeypatch.setattr(bs, "FADE_S", 0.2)
  out = tmp_path / "sf2" / "BowedStrings.sf2"
  assert bs.main([f"--output={out}"]) == 0
  assert "BowedStrings: wrote" in capsys.readouterr().out
  renderer = render.Renderer(str(out), 16000)
  assert all(renderer.fonts_with(i.program) == (0,) for i in bs.FAMILY)
  assert renderer.fonts_with(24) == ()
  for program, key in [(40, 70), (42, 50), (43, 40)]:  # keys between sampled roots
    x = renderer.render(program, np.array([[0.0, 1.0, key, 100]]), 16000 + 8000)
    f0, _, _ = librosa.pyin(x[4000:16000], fmin=30.0, fmax=1500.0, sr=16000, frame_length=4096)
    assert librosa.hz_to_midi(np.nanmedian(f0)) == pytest.approx(key, abs=0.3), program
    assert np.abs(x[int(1.35 * 16000):]).max() < 1e-2 * np.abs(x).max()  # released
  before = out.read_bytes()
  assert bs.main([f"--output={out}"]) == 0
  assert "exists (--force rebuilds it)" in capsys.readouterr().out
  assert bs.main([f"--output={out}", "--force"]) == 0
  assert out.read_bytes() == before  # deterministic


def test_bowed_strings_is_a_known_bank_name():
  assert "BowedStrings" in render.STANDARD_PATHS
  assert str(built_bank.default_output("BowedStrings")).endswith("BowedStrings.sf2")
