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


def _t60(g: float, a: float, f0: float, hz: float) -> float:
  """Decay time (s) at hz of a loop of period 1/f0 s with the loss filter (g, a)."""
  gain = abs(g * (1 + a) / (1 + a * np.exp(-2j * np.pi * hz / RATE)))
  return -60.0 / (20 * np.log10(gain) * f0)


def test_loss_filter_gives_the_decay_times_asked_for():
  g, a = di_guitar.loss_filter(110.0, 6.0, 0.8)
  assert -1 < a < 0  # a low-pass: high partials die sooner
  assert _t60(g, a, 110.0, 110.0) == pytest.approx(6.0, rel=1e-9)
  assert _t60(g, a, 110.0, di_guitar.HF_HZ) == pytest.approx(0.8, rel=1e-9)
  with pytest.raises(ValueError, match="hf_t60_s"):
    di_guitar.loss_filter(110.0, 1.0, 2.0)


def test_every_loop_of_the_bank_is_stable_and_decays_as_asked_or_slower_at_hf():
  """Exact at f0; at HF as asked unless the DC cap binds (then slower, never faster); DC decay
  at most MAX_DC_T60_RATIO × the fundamental's; the loop gain below 1 (|allpass| = 1)."""
  capped = 0
  for guitar in di_guitar.GUITARS:
    for key in range(40, 89):
      f0 = 440.0 * 2 ** ((key - 69) / 12)
      for ratio, t60_ratio, _ in di_guitar.POLARISATIONS:
        f, t60 = f0 * ratio, guitar.t60_s * (f0 / 82.4) ** -0.45 * t60_ratio
        hf = min(guitar.hf_t60_s, t60)
        g, a = di_guitar.loss_filter(f, t60, hf)
        assert g < 1.0 and -1 < a <= 0
        assert _t60(g, a, f, f) == pytest.approx(t60, rel=1e-9)
        assert _t60(g, a, f, 0.0) <= di_guitar.MAX_DC_T60_RATIO * t60 * (1 + 1e-9)
        achieved = _t60(g, a, f, di_guitar.HF_HZ)
        assert achieved >= hf * (1 - 1e-9)
        capped += achieved > hf * (1 + 1e-6)
  assert 0 < capped < 30  # the cap binds on a few high notes only


def test_out_of_reach_hf_decays_get_the_limit_and_stay_monotone():
  slow = [_t60(*di_guitar.loss_filter(2000.0, 1.0, hf), 2000.0, di_guitar.HF_HZ)
          for hf in (0.001, 0.1, 0.3, 0.6)]
  assert slow == sorted(slow) and slow[0] > 0.001


@pytest.mark.parametrize("f0", [82.41, 329.63, 1046.5])
def test_string_is_in_tune_and_its_fundamental_decays_at_t60(f0):
  period, t60 = RATE / f0, 3.0
  g, a = di_guitar.loss_filter(f0, t60, 0.5)
  rng = np.random.default_rng(0)
  y = di_guitar.string(di_guitar.pluck_shape(period, 0.2, rng), period, g, a, 3 * RATE)
  poles = np.roots(di_guitar.loop_filter(period, g, a)[1])  # the pole of the fundamental:
  w = 2 * np.pi * f0 / RATE
  nearest = poles[np.argmin(abs(np.angle(poles) - w))]
  assert 1200 * np.log2(np.angle(nearest) / w) == pytest.approx(0.0, abs=0.2)  # cents
  assert -60.0 / (20 * np.log10(abs(nearest)) * RATE) == pytest.approx(t60, rel=0.01)
  drop = _harmonic_db(y, f0, 0.5) - _harmonic_db(y, f0, 2.5)
  assert drop == pytest.approx(60.0 * 2.0 / t60, abs=3.0)


def test_string_refuses_a_period_too_short():
  with pytest.raises(ValueError, match="too short"):
    di_guitar.string(np.ones(2), 3.0, 0.99, 0.0, 100)
  with pytest.raises(ValueError, match="pluck and pickup"):
    dataclasses.replace(di_guitar.GUITARS[0], pickup=0.99)


def test_pluck_comb_cancels_its_harmonic():
  """Plucked at 1/5 of the length, the 5th harmonic is missing."""
  shape = di_guitar.pluck_shape(80.0, 0.2, np.random.default_rng(0), noise=0.0)
  spectrum = np.abs(np.fft.rfft(shape))
  assert spectrum[5] < 1e-9 * spectrum[1] and spectrum[4] > 0.01 * spectrum[1]


@pytest.mark.parametrize("humbucker", [False, True])
def test_pickup_response_is_comb_times_velocity_times_resonance(humbucker):
  """The gain at each frequency is |mean over coils of (1 − e^(−jωL))| · |1 − e^(−jω)| ·
  |resonance| · |30-Hz high-pass|, with fractional lags L = place · period."""
  period = 77.3
  guitar = dataclasses.replace(di_guitar.GUITARS[1], pickup=0.21, humbucker=humbucker)
  places = (0.21, 0.21 + di_guitar._COIL_GAP) if humbucker else (0.21,)
  b, a = di_guitar._resonant_lowpass(guitar.resonance_hz, guitar.q, RATE)
  hp = signal.butter(2, 30.0, "highpass", fs=RATE, output="sos")
  t = np.arange(2 * RATE) / RATE
  for hz in (150.0, 700.0, 1300.0, 2600.0, 5000.0):
    w = 2 * np.pi * hz / RATE
    comb = abs(np.mean([1 - np.exp(-1j * w * p * period) for p in places]))
    want = (comb * abs(1 - np.exp(-1j * w)) * abs(signal.freqz(b, a, [hz], fs=RATE)[1][0])
            * abs(signal.sosfreqz(hp, [hz], fs=RATE)[1][0]))
    out = di_guitar.pickup_response(np.sin(2 * np.pi * hz * t), period, guitar)
    got = np.sqrt(2 * np.mean(out[RATE:] ** 2))
    # within 0.5 dB: linear interpolation of the fractional lag dulls the top a little
    assert 20 * np.log10(got / want) == pytest.approx(0.0, abs=0.5), hz


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
