"""The modelled DI electric guitar bank (di_guitar.py): strings in tune that decay as designed,
pickup combs and resonance where the physics puts them, a bank synthmix plays."""

import dataclasses

import librosa
import numpy as np
import pytest
from scipy import signal

from data_builders.synthmix import built_bank, di_guitar, render

RATE = di_guitar.RATE


def _harmonic_db(x: np.ndarray, f: float, start_s: float, rate: int = RATE) -> float:
  """Level (dB) of the component at f Hz in a 0.1-s Hann window from start_s."""
  n = int(0.1 * rate)
  seg = x[int(start_s * rate):int(start_s * rate) + n] * np.hanning(n)
  return float(20 * np.log10(abs(np.sum(seg * np.exp(-2j * np.pi * f * np.arange(n) / rate)))))


def test_loss_filter_gives_the_decay_times_asked_for():
  f0, t60, hf_t60 = 110.0, 6.0, 0.8
  g, a = di_guitar.loss_filter(f0, t60, hf_t60)
  assert -1 < a < 0  # a low-pass: high partials die sooner
  periods_per_s = f0
  for hz, want in [(f0, t60), (di_guitar.HF_HZ, hf_t60)]:
    w = 2 * np.pi * hz / RATE
    gain = abs(g * (1 + a) / (1 + a * np.exp(-1j * w)))
    db_per_s = 20 * np.log10(gain) * periods_per_s
    assert -60.0 / db_per_s == pytest.approx(want, rel=1e-6)
  for key in range(40, 89):  # every note of the bank: a stable loop, gain below 1 at DC
    f = 440.0 * 2 ** ((key - 69) / 12)
    assert di_guitar.loss_filter(f, 10.0 * (f / 82.4) ** -0.45, 0.5)[0] < 1.0
  with pytest.raises(ValueError, match="hf_t60_s"):
    di_guitar.loss_filter(f0, 1.0, 2.0)


@pytest.mark.parametrize("f0", [82.41, 329.63, 1046.5])
def test_string_is_in_tune_and_its_fundamental_decays_at_t60(f0):
  period, t60 = RATE / f0, 3.0
  g, a = di_guitar.loss_filter(f0, t60, 0.5)
  rng = np.random.default_rng(0)
  y = di_guitar.string(di_guitar.pluck_shape(period, 0.2, rng), period, g, a, 3 * RATE)
  n = 2 * RATE
  spectrum = np.abs(np.fft.rfft(y[:n] * np.hanning(n), 8 * n))
  lo = int(0.8 * f0 * 8 * n / RATE)  # the fundamental's neighbourhood
  peak = (lo + np.argmax(spectrum[lo:int(1.2 * f0 * 8 * n / RATE)])) * RATE / (8 * n)
  assert 1200 * np.log2(peak / f0) == pytest.approx(0.0, abs=3.0)  # cents
  drop = _harmonic_db(y, f0, 0.5) - _harmonic_db(y, f0, 2.5)
  assert drop == pytest.approx(60.0 * 2.0 / t60, abs=3.0)


def test_pluck_and_pickup_combs_cancel_their_harmonics():
  """Plucked at 1/5 of the length, the 5th harmonic is missing; heard at 1/4, the 4th is."""
  period = 80.0
  shape = di_guitar.pluck_shape(period, 0.2, np.random.default_rng(0), noise=0.0)
  spectrum = np.abs(np.fft.rfft(shape))
  assert spectrum[5] < 1e-9 * spectrum[1] and spectrum[4] > 0.01 * spectrum[1]
  t = np.arange(RATE) / RATE
  f0 = RATE / period
  y = sum(np.sin(2 * np.pi * k * f0 * t) for k in range(1, 7))
  guitar = dataclasses.replace(di_guitar.GUITARS[1], pickup=0.25, humbucker=False)
  out = di_guitar.pickup_response(y, period, guitar)
  levels = {k: _harmonic_db(out, k * f0, 0.5) for k in range(1, 7)}
  assert levels[4] < min(levels[k] for k in (1, 2, 3, 5, 6)) - 40.0


def test_pickup_resonance_peaks_near_its_frequency():
  for guitar in di_guitar.GUITARS:
    b, a = di_guitar._resonant_lowpass(guitar.resonance_hz, guitar.q, RATE)
    w, h = signal.freqz(b, a, worN=8192, fs=RATE)
    assert abs(h[0]) == pytest.approx(1.0)
    assert w[np.argmax(abs(h))] == pytest.approx(guitar.resonance_hz, rel=0.1)
    assert 20 * np.log10(abs(h).max()) > 3.0  # a resonance, not a plain roll-off


def test_notes_are_in_tune_deterministic_and_fade_out():
  for guitar in di_guitar.GUITARS:
    for key in (40, 64, 88):
      x = di_guitar.note(guitar, key)
      assert x.dtype == np.float32 and x.size == int(di_guitar.NOTE_S * RATE)
      assert np.abs(x).max() == pytest.approx(0.9, rel=1e-4) and x[-1] == 0.0
      f0, _, _ = librosa.pyin(x[:RATE], fmin=60.0, fmax=1500.0, sr=RATE)
      assert librosa.hz_to_midi(np.nanmedian(f0)) == pytest.approx(key, abs=0.15)
      np.testing.assert_array_equal(x, di_guitar.note(guitar, key))
  assert not np.array_equal(di_guitar.note(di_guitar.GUITARS[0], 52),
                            di_guitar.note(di_guitar.GUITARS[1], 52))


def test_the_bank_plays_both_programs_in_tune_and_is_kept_unless_forced(tmp_path, capsys):
  out = tmp_path / "sf2" / "DIGuitar.sf2"
  assert di_guitar.main([f"--output={out}"]) == 0
  assert "DIGuitar: wrote" in capsys.readouterr().out
  renderer = render.Renderer(str(out), 16000)
  assert renderer.fonts_with(26) == renderer.fonts_with(27) == (0,)
  assert renderer.fonts_with(40) == ()
  for program, key in [(26, 45), (27, 57), (27, 71)]:  # keys between sampled roots
    x = renderer.render(program, np.array([[0.0, 1.0, key, 100]]), 16000 + 8000)
    f0, _, _ = librosa.pyin(x[:16000], fmin=60.0, fmax=1500.0, sr=16000)
    assert librosa.hz_to_midi(np.nanmedian(f0)) == pytest.approx(key, abs=0.2), program
    assert np.abs(x[int(1.3 * 16000):]).max() < 1e-3 * np.abs(x).max()  # released
  before = out.read_bytes()
  assert di_guitar.main([f"--output={out}"]) == 0
  assert "exists (--force rebuilds it)" in capsys.readouterr().out
  assert di_guitar.main([f"--output={out}", "--force"]) == 0
  assert out.read_bytes() == before  # deterministic


def test_di_guitar_is_a_known_bank_name():
  assert "DIGuitar" in render.STANDARD_PATHS
  assert str(built_bank.default_output("DIGuitar")).endswith("DIGuitar.sf2")
