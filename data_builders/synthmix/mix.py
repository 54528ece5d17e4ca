"""Mixing rendered stems: loudness levelling, gains, panning and peak normalisation to int16."""

from __future__ import annotations

import numpy as np

from instrax.audio import io

PEAK_DBFS = -1.0
STEM_PEAK_DBFS = -0.1
_FRAME = 512


def db(x: float) -> float:
  """dB → linear amplitude."""
  return float(10.0 ** (x / 20.0))


def active_rms(stem: np.ndarray, floor_db: float = -30.0) -> float:
  """RMS over the frames within `floor_db` of the loudest frame (so rests do not count)."""
  n = len(stem) // _FRAME * _FRAME
  if n == 0:
    return float(np.sqrt(np.mean(stem ** 2))) if len(stem) else 0.0
  energy = np.mean(stem[:n].reshape(-1, _FRAME).astype(np.float64) ** 2, axis=1)
  loud = energy[energy >= energy.max() * db(floor_db) ** 2]
  return float(np.sqrt(loud.mean())) if energy.max() > 0 else 0.0


def level(stem: np.ndarray, target_rms: float = 0.1) -> np.ndarray:
  """`stem` scaled so its active RMS is `target_rms` (silent stems stay silent)."""
  rms = active_rms(stem)
  return stem * np.float32(target_rms / rms) if rms > 0 else stem


def pan_gains(pan: float) -> tuple[float, float]:
  """Constant-power (left, right) gains for `pan` in [−1 (left), 1 (right)]."""
  angle = (pan + 1.0) * np.pi / 4.0
  return float(np.cos(angle)), float(np.sin(angle))


def mixdown(stems: np.ndarray, pans: np.ndarray, channels: int, noise: np.ndarray | None = None,
            peak_dbfs: float = PEAK_DBFS) -> tuple[np.ndarray, np.ndarray]:
  """int16 (K, T) stems and int16 (T, channels) mix, peak-normalised to `peak_dbfs` (−1 dBFS).

  `stems` (K, T) float32 already carry their gains. Mono: mix = Σ stems. Stereo: each stem is panned
  (constant power) by `pans`. The same factor scales stems and mix, so the int16 stems sum to the
  mono mix up to rounding; it is lowered where a stem alone would peak above −0.1 dBFS (e.g. a lone
  centre-panned stem in stereo). `noise` (T,), if given, is added to the mix alone (every channel).
  """
  if channels == 1:
    mix = stems.sum(axis=0, keepdims=True)
  elif channels == 2:
    lr = np.array([pan_gains(p) for p in pans], np.float32)  # (K, 2)
    mix = lr.T @ stems
  else:
    raise ValueError(f"channels must be 1 or 2, got {channels}")
  if noise is not None:
    mix = mix + noise[None, :]
  mix_peak, stem_peak = float(np.abs(mix).max(initial=0.0)), float(np.abs(stems).max(initial=0.0))
  scale = min(db(peak_dbfs) / mix_peak if mix_peak > 0 else 1.0,
              db(STEM_PEAK_DBFS) / stem_peak if stem_peak > 0 else 1.0)
  return io.to_pcm16(stems * scale), io.to_pcm16(mix * scale).T.copy()
