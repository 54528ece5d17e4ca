"""Room augmentation for transcription training (instrax/data/room_augment.py)."""

from __future__ import annotations

import numpy as np
import pytest

from instrax.data import room_augment

SR = 16000


def _tone() -> np.ndarray:
  t = np.arange(SR) / SR
  return (0.5 * np.sin(2 * np.pi * 440 * t) * (t > 0.5)).astype(np.float32)


def test_probability_zero_is_the_input_itself():
  x = _tone()
  assert room_augment.room_augment(x, SR, np.random.default_rng(0), 0.0) is x


def test_probability_one_changes_the_audio_keeps_length_and_stays_finite():
  x = _tone()
  y = room_augment.room_augment(x, SR, np.random.default_rng(0), 1.0)
  assert y.shape == x.shape and y.dtype == np.float32 and np.all(np.isfinite(y))
  assert np.max(np.abs(y - x)) > 1e-3
  # noise is added, so the silent first half is no longer silent
  assert np.max(np.abs(y[:SR // 4])) > 0.0


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_outside_unit_interval_raises(p):
  with pytest.raises(ValueError, match="probability"):
    room_augment.room_augment(_tone(), SR, np.random.default_rng(0), p)


def test_active_rms_by_hand():
  # samples 3, −4 are within 50 dB of the peak; 1e-4 is 92 dB below it and ignored
  x = np.array([3.0, -4.0, 1e-4, 0.0], np.float32)
  assert room_augment.active_rms(x) == pytest.approx(np.sqrt((9 + 16) / 2))
  assert room_augment.active_rms(np.zeros(4, np.float32)) == 0.0
