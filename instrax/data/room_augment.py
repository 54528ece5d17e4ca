"""Training-time "real room" augmentation of a mono recording: microphone EQ, room reverb,
background noise and gain, each applied with probability `p` (drawn independently).

The effects are synthmix's recording-chain effects (`data_builders/synthmix/effects.py`: Polack
room impulses with RT60 0.15–1.6 s and a 5–60 % reverberant share, a high-pass + peaking bands +
high-shelf microphone colouring, 1/f^β noise with optional mains hum); the noise level is drawn
as an SNR in `snr_db` under the signal's RMS over its active (non-silent) samples, and the gain
in `gain_db`. All are linear-time-invariant or additive, so note onsets stay where they were
(the reverb's direct path is at t = 0; the EQ's group delay is under a millisecond above 100 Hz).
"""

from __future__ import annotations

import numpy as np

from data_builders.synthmix import effects

SNR_DB = (15.0, 45.0)
GAIN_DB = (-20.0, 6.0)


def active_rms(audio: np.ndarray, floor_db: float = -50.0) -> float:
  """RMS of the samples of (T,) `audio` louder than `floor_db` below its peak (0.0 if silent)."""
  peak = float(np.max(np.abs(audio))) if audio.size else 0.0
  if peak == 0.0:
    return 0.0
  loud = audio[np.abs(audio) > peak * 10 ** (floor_db / 20)]
  return float(np.sqrt(np.mean(np.square(loud, dtype=np.float64))))


def room_augment(audio: np.ndarray, sr: int, rng: np.random.Generator, p: float,
                 snr_db: tuple[float, float] = SNR_DB,
                 gain_db: tuple[float, float] = GAIN_DB) -> np.ndarray:
  """(T,) float32 mono `audio` through EQ → reverb → + noise → gain, each with probability `p`
  (p = 0 returns `audio` itself, unchanged). Raises ValueError for p outside [0, 1]."""
  if not 0.0 <= p <= 1.0:
    raise ValueError(f"room augmentation probability must be in [0, 1], got {p}")
  if p == 0.0 or audio.size == 0:
    return audio
  x = np.asarray(audio, np.float32)
  if rng.random() < p:
    x = effects.equalize(x, effects.microphone_eq(rng, sr))
  if rng.random() < p:
    ir = effects.room_impulse(rng, sr, rng.uniform(*effects.RT60_S))
    x = effects.reverb(x, ir, rng.uniform(*effects.WET))
  if rng.random() < p:
    rms = active_rms(x)
    if rms > 0.0:
      x = x + effects.noise(rng, len(x), sr, rms * 10 ** (-rng.uniform(*snr_db) / 20))
  if rng.random() < p:
    x = x * np.float32(10 ** (rng.uniform(*gain_db) / 20))
  return x.astype(np.float32)
