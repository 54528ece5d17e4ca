"""Random spectral tilt (instrax.data.spectral_tilt) and the clip-classification task's
`tilt_db` training augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from instrax.data import spectral_tilt, vocabularies
from instrax.errors import ConfigError
from instrax.tasks.clip_classification import ClipClassification

SR = 16000
T = 16000  # 1 s: every integer frequency is an exact rFFT bin


def _sines(*freqs: float) -> np.ndarray:
  t = np.arange(T) / SR
  return sum(np.sin(2 * np.pi * f * t) for f in freqs).astype(np.float32)


def _amplitude_db(x: np.ndarray, freq: float) -> float:
  spectrum = np.abs(np.fft.rfft(x)) / (T / 2)
  return float(20 * np.log10(spectrum[int(freq)]))


@pytest.mark.parametrize("slope", [6.0, -6.0, 3.5])
def test_each_partial_moves_by_slope_times_octaves_from_the_pivot(slope):
  freqs = (250.0, 1000.0, 2000.0, 4000.0)
  y = spectral_tilt.tilt(_sines(*freqs)[None], SR, np.array([slope]))[0]
  for f in freqs:
    assert _amplitude_db(y, f) == pytest.approx(slope * np.log2(f / 1000.0), abs=0.01)


def test_the_gain_is_clamped_and_floored():
  g = 20 * np.log10(spectral_tilt.gains(T, SR, np.array([24.0, -24.0])))
  freqs = np.fft.rfftfreq(T, 1 / SR)
  assert g.max() == pytest.approx(spectral_tilt.MAX_DB, abs=1e-4)  # 24 dB/oct reaches it
  assert g.min() == pytest.approx(-spectral_tilt.MAX_DB, abs=1e-4)
  low = freqs <= spectral_tilt.FLOOR_HZ
  np.testing.assert_allclose(g[1, low], g[1, low][-1])  # DC..50 Hz: the 50 Hz gain
  # 4 dB/oct: DC has the gain of 50 Hz, log2(50/1000) = -4.32 octaves below the pivot
  g4 = 20 * np.log10(spectral_tilt.gains(T, SR, np.array([4.0])))[0]
  assert g4[0] == pytest.approx(4.0 * np.log2(50 / 1000), abs=1e-3)


def test_zero_slope_is_the_identity_and_nothing_moves_in_time():
  x = np.zeros((2, T), np.float32)
  x[:, 8000] = 1.0  # an impulse: a zero-phase filter keeps its peak where it was
  np.testing.assert_allclose(spectral_tilt.tilt(x, SR, np.zeros(2)), x, atol=1e-6)
  y = spectral_tilt.tilt(x, SR, np.array([6.0, -6.0]))
  assert np.argmax(np.abs(y[0])) == 8000 and np.argmax(np.abs(y[1])) == 8000
  assert not np.allclose(y[0], y[1])


def test_random_tilt_draws_one_slope_per_row_or_one_shared():
  x = np.stack([_sines(440.0, 3520.0)] * 3)
  rng = np.random.default_rng(0)
  own = spectral_tilt.random_tilt(x, SR, rng, 6.0)
  assert not np.allclose(own[0], own[1])
  shared = spectral_tilt.random_tilt(x, SR, rng, 6.0, shared=True)
  np.testing.assert_allclose(shared[0], shared[1])
  np.testing.assert_allclose(shared[0], shared[2])
  # three octaves between the partials: their level difference is 3 × a slope within ±6
  diffs = [_amplitude_db(r, 3520.0) - _amplitude_db(r, 440.0) for r in own]
  assert all(abs(d) <= 18.01 for d in diffs) and len({round(d, 3) for d in diffs}) == 3


def test_random_tilt_off_returns_the_input_and_draws_nothing():
  x = _sines(440.0)[None]
  rng = np.random.default_rng(0)
  assert spectral_tilt.random_tilt(x, SR, rng, 0.0) is x
  assert rng.random() == np.random.default_rng(0).random()


def test_bad_input_says_what_is_wrong():
  with pytest.raises(ValueError, match="max_slope_db"):
    spectral_tilt.random_tilt(np.zeros((1, 10)), SR, np.random.default_rng(0), -1.0)
  with pytest.raises(ValueError, match=r"\(K, T\) signals and K slopes"):
    spectral_tilt.tilt(np.zeros(10), SR, np.array([1.0]))
  with pytest.raises(ValueError, match=r"\(K, T\) signals and K slopes"):
    spectral_tilt.tilt(np.zeros((2, 10)), SR, np.array([1.0]))
  with pytest.raises(ValueError, match="finite"):
    spectral_tilt.gains(10, SR, np.array([np.nan]))
  with pytest.raises(ValueError, match="positive sample_rate"):
    spectral_tilt.gains(10, 0.0, np.array([1.0]))


PROGRAMS = np.array([40, 73])  # violin, flute


def _task(**kw) -> ClipClassification:
  return ClipClassification(sample_rate=SR, channels=1, labels_key="irmas_labels", window_s=1.0,
                            **kw)


def _example() -> dict:
  stems = np.stack([_sines(440.0, 1760.0), _sines(880.0, 3520.0)]) * 8000
  stems = stems.astype(np.int16)
  return {"audio": stems.sum(0, dtype=np.int16)[:, None], "stems": stems, "programs": PROGRAMS,
          "irmas_labels": vocabularies.multi_hot(PROGRAMS, "irmas")}


@pytest.mark.parametrize("remix", [0.0, 1.0])
def test_the_task_tilts_training_crops_and_keeps_their_labels(remix):
  ex = _example()
  plain = _task(remix_prob=remix, solo_prob=1.0)
  tilted = _task(remix_prob=remix, solo_prob=1.0, tilt_db=6.0)
  balances, plain_balances = set(), set()
  for seed in range(6):
    a = plain.train_example(ex, np.random.default_rng(seed))
    b = tilted.train_example(ex, np.random.default_rng(seed))
    assert b["audio"].shape == a["audio"].shape and np.all(np.isfinite(b["audio"]))
    if remix == 0.0:  # the stored mix, both partials of both stems: the labels never change
      np.testing.assert_array_equal(b["targets"], ex["irmas_labels"])
    else:  # a solo: one stem's label
      assert b["targets"].sum() == 1
    vio = vocabularies.IRMAS.index("vio")
    for out, bucket in ((a, plain_balances), (b, balances)):
      low, high = (440.0, 1760.0) if out["targets"][vio] else (880.0, 3520.0)
      bucket.add(round(_amplitude_db(out["audio"][0], high) - _amplitude_db(out["audio"][0], low),
                       1))
  assert plain_balances == {0.0}  # untilted: the two partials of a stem are equal
  assert len(balances) >= 5 and max(abs(b) for b in balances) <= 12.01  # two octaves × ≤ 6


def test_tilt_db_is_validated_and_set_by_the_instruments_config():
  with pytest.raises(ConfigError, match="tilt_db"):
    _task(tilt_db=-1.0)
  with pytest.raises(ConfigError, match="tilt_db"):
    _task(tilt_db=100.0)
  from configs import instruments

  assert instruments.get_config().task.tilt_db == 0.0
  assert instruments.get_config("tilt=6").task.tilt_db == 6.0
