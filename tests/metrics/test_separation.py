"""SDR (BSSEval v4) and SI-SDR: hand-computed values and a cross-check against museval."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

from instrax.metrics import separation


def museval_metrics():
  """museval.metrics without the museval package __init__ (which imports musdb → stempeg →
  a system ffmpeg); skips when museval is not installed (requirements-dev.txt)."""
  spec = importlib.util.find_spec("museval")
  if spec is None:
    pytest.skip("museval not installed")
  path = pathlib.Path(spec.submodule_search_locations[0]) / "metrics.py"
  module_spec = importlib.util.spec_from_file_location("museval_metrics", path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module


def test_frame_sdr_by_hand():
  ref = np.array([[1.0, -1.0, 2.0, 0.0, 1.0, 1.0, 3.0]])
  est = np.array([[1.5, -1.0, 2.0, 0.0, 1.0, 1.0, 0.0]])
  frames = separation.sdr_frames(ref, est, window=3)  # two whole frames, sample 6 dropped
  np.testing.assert_allclose(frames, [[10 * np.log10(6 / 0.25), np.inf]])


def test_silent_frame_is_nan_for_every_source_and_skipped_by_the_median():
  rng = np.random.default_rng(0)
  ref = rng.normal(size=(2, 40))
  est = ref + 0.1 * rng.normal(size=ref.shape)
  ref[1, 10:20] = 0.0  # source 1 silent in frame 1
  frames = separation.sdr_frames(ref, est, window=10)
  assert np.isnan(frames[:, 1]).all() and np.isfinite(np.delete(frames, 1, axis=1)).all()
  np.testing.assert_allclose(separation.track_sdr(ref, est, 10),
                             np.median(frames[:, [0, 2, 3]], axis=1))


def test_short_track_is_one_frame():
  assert separation.frame_slices(5, 10) == [slice(0, 5)]
  assert separation.frame_slices(25, 10) == [slice(0, 10), slice(10, 20)]


@pytest.mark.parametrize("channels", [1, 2])
def test_matches_museval_bss_eval_v4(channels):
  metrics = museval_metrics()
  rng = np.random.default_rng(channels)
  window = 700
  ref = rng.normal(size=(3, 2 * window + 300, channels))
  # estimates: filtered reference + leakage of another source + noise (all error kinds)
  est = 0.8 * ref + 0.2 * np.roll(ref, 3, axis=1) + 0.3 * ref[[1, 2, 0]]
  est += 0.05 * rng.normal(size=ref.shape)
  ref[2, window:2 * window] = 0.0  # a silent frame
  expected = metrics.bss_eval(ref, est, window=window, hop=window, framewise_filters=False,
                              bsseval_sources_version=False, filters_len=64)[0]
  np.testing.assert_allclose(separation.sdr_frames(ref, est, window), expected, rtol=1e-9)


def test_si_sdr_by_hand():
  assert separation.si_sdr([1.0, 0.0], [2.0, 1.0]) == pytest.approx(10 * np.log10(4.0))
  assert separation.si_sdr([1.0, 2.0], [-3.0, -6.0]) == np.inf  # any scale, even negative
  assert np.isnan(separation.si_sdr([0.0, 0.0], [1.0, 2.0]))
  with pytest.raises(ValueError):
    separation.si_sdr([1.0], [1.0, 2.0])


def test_median_over_tracks_ignores_nan():
  assert separation.median_over_tracks([1.0, np.nan, 3.0, 10.0]) == 3.0
  assert np.isnan(separation.median_over_tracks([np.nan]))
