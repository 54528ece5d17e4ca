"""Training-time spectral tilt: a random brightness per source.

A sampled instrument bank records each note at one dynamic through one microphone position, so
every note a bank plays has its harmonics in about the same balance. A real player does not: the
same clarinet or violin played softly, or heard off-axis, is several dB per octave darker (the
upper partials of wind and bowed instruments grow faster than the fundamental with playing
level: J. Meyer, "Acoustics and the Performance of Music", 5th ed., Springer 2009, on the spectra
of each instrument at pp and ff), and a microphone's placement tilts it further.
Tilting each stem's spectrum by a random slope teaches a classifier that brightness is not what
names an instrument.

The filter is zero-phase (applied to the rFFT of the whole excerpt): gain
`slope · log2(f / pivot_hz)` dB, equal to 1 at `pivot_hz`, with the frequency clamped to at
least `floor_hz` and the gain to ±`max_db` so the lowest bins are not boosted without bound.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft

PIVOT_HZ = 1000.0  # the frequency whose gain is 0 dB
FLOOR_HZ = 50.0  # below this, the gain of FLOOR_HZ (no unbounded low-frequency boost/cut)
MAX_DB = 24.0  # the gain never leaves ±MAX_DB


def gains(num_samples: int, sample_rate: float, slopes_db_per_octave: np.ndarray,
          pivot_hz: float = PIVOT_HZ, floor_hz: float = FLOOR_HZ,
          max_db: float = MAX_DB) -> np.ndarray:
  """(K, num_samples // 2 + 1) float32 linear gains of the rFFT bins of a `num_samples`-long
  signal at `sample_rate` Hz, one row per slope in (K,) `slopes_db_per_octave` (dB/octave about
  `pivot_hz`). Raises ValueError for a non-positive length, rate or frequency, or non-finite
  slopes."""
  slopes = np.asarray(slopes_db_per_octave, np.float32).reshape(-1)
  if num_samples < 1 or sample_rate <= 0 or pivot_hz <= 0 or floor_hz <= 0 or max_db < 0:
    raise ValueError(f"spectral tilt needs num_samples >= 1, positive sample_rate, pivot_hz and "
                     f"floor_hz, max_db >= 0; got {num_samples}, {sample_rate}, {pivot_hz}, "
                     f"{floor_hz}, {max_db}")
  if not np.all(np.isfinite(slopes)):
    raise ValueError(f"spectral tilt slopes must be finite dB/octave, got {slopes}")
  db = np.clip(slopes[:, None] * _octaves(num_samples, float(sample_rate), float(pivot_hz),
                                          float(floor_hz))[None], -max_db, max_db)
  return np.exp(db * (np.log(10.0) / 20.0)).astype(np.float32)


@functools.lru_cache(maxsize=16)
def _octaves(num_samples: int, sample_rate: float, pivot_hz: float,
             floor_hz: float) -> np.ndarray:
  """(num_samples // 2 + 1,) log2(max(f, floor_hz) / pivot_hz) of the rFFT bins (read-only)."""
  freqs = np.maximum(np.fft.rfftfreq(num_samples, 1.0 / sample_rate), floor_hz)
  octaves = np.log2(freqs / pivot_hz).astype(np.float32)
  octaves.flags.writeable = False
  return octaves


def tilt(signals: np.ndarray, sample_rate: float,
         slopes_db_per_octave: np.ndarray) -> np.ndarray:
  """(K, T) float32: row k of (K, T) `signals` with its spectrum tilted by slope k of (K,)
  `slopes_db_per_octave` (module docstring; zero-phase, so nothing moves in time). Raises
  ValueError when `signals` is not 2-D or the slopes do not match its rows."""
  x = np.asarray(signals, np.float32)
  slopes = np.asarray(slopes_db_per_octave, np.float64).reshape(-1)
  if x.ndim != 2 or slopes.shape != (x.shape[0],):
    raise ValueError(f"spectral tilt takes (K, T) signals and K slopes, got signals {x.shape} "
                     f"and slopes {slopes.shape}")
  if x.shape[1] == 0:
    return x
  spectrum = scipy.fft.rfft(x, axis=1) * gains(x.shape[1], sample_rate, slopes)
  return scipy.fft.irfft(spectrum, n=x.shape[1], axis=1).astype(np.float32)


def random_tilt(signals: np.ndarray, sample_rate: float, rng: np.random.Generator,
                max_slope_db: float, shared: bool = False) -> np.ndarray:
  """(K, T) `signals`, each row tilted by its own slope drawn from U(−max_slope_db,
  +max_slope_db) dB/octave (`shared`: one slope for every row, e.g. the channels of one
  recording); returned unchanged, and no number drawn from `rng`, when `max_slope_db` is 0.
  Raises ValueError for a negative `max_slope_db`."""
  if max_slope_db < 0:
    raise ValueError(f"max_slope_db must be >= 0 dB/octave, got {max_slope_db}")
  if max_slope_db == 0:
    return signals
  x = np.asarray(signals)
  slopes = rng.uniform(-max_slope_db, max_slope_db, 1 if shared else x.shape[0])
  return tilt(x, sample_rate, np.broadcast_to(slopes, (x.shape[0],)))
