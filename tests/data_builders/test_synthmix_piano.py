"""synthmix/piano: a small build of the piano recipe, its notes lined up with its audio, and the
pedalling rules on hand-made notes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from data_builders.synthmix import Synthmix, piano

SR = 16000
HOP = 80  # 5 ms


def _config(**overrides):
  base = next(c for c in Synthmix.BUILDER_CONFIGS if c.name == "piano")
  small = dict(name="piano_small", num_train=6, num_validation=1, num_test=1, num_scores=6,
               soundfonts=("TimGM6mb",), workers=1, duration_s=(6.0, 8.0))
  return dataclasses.replace(base, **{**small, **overrides})


@pytest.fixture(scope="module")
def train(tmp_path_factory) -> list[dict]:
  builder = Synthmix(config=_config(), data_dir=str(tmp_path_factory.mktemp("piano")),
                     file_format="array_record")
  builder.download_and_prepare()
  source = builder.as_data_source("train")
  return [source[i] for i in range(len(source))]


def test_features(train):
  assert len(train) == 6
  for ex in train:
    assert set(ex) == {"id", "audio", "notes"} and b"piano:" in ex["id"]
    assert ex["audio"].dtype == np.int16 and ex["audio"].shape[1] == 1
    assert 6 * SR <= len(ex["audio"]) <= 8 * SR
    notes = ex["notes"]
    assert notes.dtype == np.float32 and notes.shape[1] == 5 and len(notes) >= 8
    onset, offset, pitch, velocity, track = notes.T
    assert np.all(offset > onset) and np.all(onset >= 0)
    assert np.all(offset <= len(ex["audio"]) / SR + 1e-4)
    assert np.all((pitch >= 21) & (pitch <= 108)) and np.all(track == 0)
    assert np.all((velocity >= 1) & (velocity <= 127))
    assert np.all(np.diff(onset) >= 0)
  # Varied: more than one pedalling style and several velocity levels across the examples.
  assert len({ex["id"].split(b"pedal:")[1].split()[0] for ex in train}) >= 2
  assert np.ptp(np.concatenate([ex["notes"][:, 3] for ex in train])) >= 30


def _flux(audio: np.ndarray) -> np.ndarray:
  """Spectral flux per 5 ms hop: Σ over bins of the rise in log magnitude (Bello et al. 2005)."""
  x = audio[:, 0].astype(np.float64) / 32768
  frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, (512, 512)), 1024)[::HOP]
  mag = np.log1p(100 * np.abs(np.fft.rfft(frames * np.hanning(1024), axis=1)))
  return np.concatenate([[0.0], np.maximum(np.diff(mag, axis=0), 0).sum(axis=1)])


def test_onsets_line_up_with_spectral_flux_peaks(train):
  """Each chord onset at least 150 ms from its neighbours: the flux peak within ±75 ms of it lies
  within 30 ms of it (frame times are frame centres)."""
  checked = hit = 0
  for ex in train:
    flux = _flux(ex["audio"])
    times = np.arange(len(flux)) * HOP / SR
    onsets = np.unique(ex["notes"][:, 0])
    for i, t in enumerate(onsets):
      before = t - onsets[i - 1] if i else np.inf
      after = onsets[i + 1] - t if i + 1 < len(onsets) else np.inf
      if min(before, after) < 0.15 or t < 0.08:
        continue
      window = np.flatnonzero(np.abs(times - t) <= 0.075)
      peak = times[window[np.argmax(flux[window])]]
      checked += 1
      hit += abs(peak - t) <= 0.03
  assert checked >= 40 and hit >= 0.95 * checked, (hit, checked)


def test_pedal_holds_released_keys_until_the_pedal_lifts():
  notes = np.array([[0.0, 0.3, 60, 80], [0.5, 0.6, 64, 80], [1.2, 1.4, 60, 80],
                    [0.2, 1.5, 67, 80]], np.float64)
  spans = np.array([[0.05, 1.0], [1.1, 2.0]])
  out = piano.sustain(notes, spans)
  # 60: key up 0.3 in span 1 → 1.0; 64: 0.6 → 1.0; second 60: 1.4 → 2.0; 67: 1.5 → 2.0.
  np.testing.assert_allclose(out, [[0.0, 1.0, 60, 80], [0.2, 2.0, 67, 80], [0.5, 1.0, 64, 80],
                                   [1.2, 2.0, 60, 80]])


def test_pedal_cut_by_the_same_key_struck_again():
  notes = np.array([[0.0, 0.2, 60, 80], [0.5, 0.7, 60, 80]], np.float64)
  out = piano.sustain(notes, np.array([[0.1, 2.0]]))
  np.testing.assert_allclose(out, [[0.0, 0.5, 60, 80], [0.5, 2.0, 60, 80]])


def test_pedal_spans_change_at_each_point():
  rng = np.random.default_rng(0)
  spans = piano.pedal_spans(rng, "bar", np.array([1.0, 2.0]), 3.0)
  assert spans.shape == (3, 2)
  assert np.all((spans[:, 0] - [0.0, 1.0, 2.0] >= piano.PEDAL_DOWN_S[0])
                & (spans[:, 0] - [0.0, 1.0, 2.0] <= piano.PEDAL_DOWN_S[1]))
  assert np.all([1.0, 2.0] - spans[:2, 1] <= piano.PEDAL_UP_S[1]) and spans[2, 1] == 3.0
  assert piano.pedal_spans(rng, "none", np.array([1.0]), 3.0).shape == (0, 2)


def test_every_piano_preset_is_used():
  assert piano.presets(3) == [(f, p) for f in range(3) for p in (0, 1, 2)]
