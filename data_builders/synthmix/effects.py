"""Recording-chain effects for rendered audio: synthesised room reverb, microphone/EQ colouring,
dynamic range compression, codec-like band-limiting and background noise.

Pure functions of their inputs and a numpy Generator (seeded per example by the caller), on float32
mono signals (T,) at `sr` Hz. Reverb, EQ, the compressor's gain curve and the band limit are
linear in the signal given their parameters, so applying them to every stem keeps Σ stems = mix;
noise is added to the mix alone.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

# Parameter ranges (documented in docs/synthmix.md).
RT60_S = (0.15, 1.6)  # room reverberation time
WET = (0.05, 0.6)  # reverberant share of a stem (source distance)
HIGHPASS_HZ = (30.0, 160.0)  # microphone / desk low cut
PEAK_HZ = (150.0, 6000.0)  # colouring peaks and dips
PEAK_DB = 7.0  # ± gain of each peak
SHELF_DB = 5.0  # ± tilt of the high shelf
THRESHOLD_DB = (-30.0, -8.0)  # compressor threshold, relative to the mix's peak
RATIO = (2.0, 10.0)
COMPRESSOR_TIME_S = (0.005, 0.08)  # RMS detector time constant
CUTOFF_HZ = (2800.0, 7500.0)  # codec-like low-pass corner
SNR_DB = (6.0, 40.0)  # background noise level under the mix's active RMS


def room_impulse(rng: np.random.Generator, sr: int, rt60: float) -> np.ndarray:
  """(L,) float32 synthetic room impulse response, unit direct path at t = 0.

  Polack's statistical model (Polack 1993; Välimäki et al., "Fifty years of artificial
  reverberation", 2012): sparse early reflections over 5-60 ms, then Gaussian noise decaying by
  60 dB in `rt60` seconds, with highs decaying faster (a 1-pole low-pass whose corner falls over
  the tail), length 1.2 × rt60.
  """
  n = max(2, int(1.2 * rt60 * sr))
  t = np.arange(n) / sr
  envelope = np.exp(-6.9078 * t / rt60)  # ln(1000): −60 dB at rt60
  tail = rng.standard_normal(n) * envelope
  # Frequency-dependent decay: blend the tail with a low-passed copy, more so later on.
  b, a = signal.butter(1, min(0.45, 2500.0 / sr * 2))
  dark = signal.lfilter(b, a, tail)
  blend = np.minimum(1.0, t / rt60)
  tail = (1 - blend) * tail + blend * dark
  onset = int(0.005 * sr)
  tail[:onset] = 0.0
  for _ in range(int(rng.integers(4, 10))):
    k = int(rng.uniform(0.005, 0.06) * sr)
    if k < n:
      tail[k] += rng.uniform(-0.7, 0.7) * envelope[k]
  tail /= np.sqrt(np.sum(tail ** 2)) + 1e-12  # unit energy, so `wet` sets the reverberant share
  ir = tail
  ir[0] = 1.0
  return ir.astype(np.float32)


def reverb(x: np.ndarray, ir: np.ndarray, wet: float) -> np.ndarray:
  """`x` through room `ir` (from room_impulse), the reverberant part weighted by `wet` in [0, 1]
  and the direct path by 1 − wet; same length as `x` (the tail past the end is cut)."""
  tail = ir.copy()
  tail[0] = 0.0
  wet_part = signal.fftconvolve(x, tail)[:len(x)]
  return ((1.0 - wet) * x + wet * wet_part).astype(np.float32)


def _peaking(f0: float, gain_db: float, q: float, sr: int) -> np.ndarray:
  """One peaking-EQ biquad as an (1, 6) sos (R. Bristow-Johnson, "Audio EQ Cookbook")."""
  amp = 10 ** (gain_db / 40)
  w0 = 2 * np.pi * f0 / sr
  alpha = np.sin(w0) / (2 * q)
  b = [1 + alpha * amp, -2 * np.cos(w0), 1 - alpha * amp]
  a = [1 + alpha / amp, -2 * np.cos(w0), 1 - alpha / amp]
  return np.concatenate([np.array(b) / a[0], np.array(a) / a[0]])[None]


def _high_shelf(f0: float, gain_db: float, sr: int) -> np.ndarray:
  """One high-shelf biquad (shelf slope 1) as an (1, 6) sos (Audio EQ Cookbook)."""
  amp = 10 ** (gain_db / 40)
  w0 = 2 * np.pi * f0 / sr
  alpha = np.sin(w0) / 2 * np.sqrt(2)
  c, s = np.cos(w0), 2 * np.sqrt(amp) * alpha
  b = [amp * ((amp + 1) + (amp - 1) * c + s), -2 * amp * ((amp - 1) + (amp + 1) * c),
       amp * ((amp + 1) + (amp - 1) * c - s)]
  a = [(amp + 1) - (amp - 1) * c + s, 2 * ((amp - 1) - (amp + 1) * c),
       (amp + 1) - (amp - 1) * c - s]
  return np.concatenate([np.array(b) / a[0], np.array(a) / a[0]])[None]


def microphone_eq(rng: np.random.Generator, sr: int) -> np.ndarray:
  """(S, 6) sos filter of a random microphone/desk colouring: a 2nd-order high-pass, 1-2 peaking
  bands (±PEAK_DB) and a high-shelf tilt (±SHELF_DB) at 2-6 kHz."""
  sections = [signal.butter(2, rng.uniform(*HIGHPASS_HZ), "highpass", fs=sr, output="sos")]
  nyquist_safe = 0.45 * sr
  for _ in range(int(rng.integers(1, 3))):
    f0 = min(np.exp(rng.uniform(*np.log(PEAK_HZ))), nyquist_safe)
    sections.append(_peaking(f0, rng.uniform(-PEAK_DB, PEAK_DB), rng.uniform(0.7, 2.5), sr))
  sections.append(_high_shelf(min(rng.uniform(2000.0, 6000.0), nyquist_safe),
                              rng.uniform(-SHELF_DB, SHELF_DB), sr))
  return np.concatenate(sections)


def equalize(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
  """`x` filtered by `sos` (causal, zero initial state)."""
  return signal.sosfilt(sos, x).astype(np.float32)


def compressor_gain(rng: np.random.Generator, x: np.ndarray, sr: int) -> np.ndarray:
  """(T,) float32 gain curve of a feed-forward RMS compressor driven by `x` (the mix).

  Level = one-pole-smoothed power (time constant drawn from COMPRESSOR_TIME_S) in dB; above the
  threshold (THRESHOLD_DB below the peak level) the output rises 1/ratio dB per dB (hard knee;
  Giannoulis, Massberg & Reiss, "Digital dynamic range compressor design", JAES 2012). No makeup
  gain (the mix is normalised afterwards).
  """
  tau = rng.uniform(*COMPRESSOR_TIME_S)
  coef = np.exp(-1.0 / (tau * sr))
  power = signal.lfilter([1 - coef], [1, -coef], x.astype(np.float64) ** 2)
  level_db = 10 * np.log10(np.maximum(power, 1e-12))
  threshold = level_db.max() + rng.uniform(*THRESHOLD_DB)
  ratio = rng.uniform(*RATIO)
  over = np.maximum(level_db - threshold, 0.0)
  return (10 ** (-over * (1 - 1 / ratio) / 20)).astype(np.float32)


def band_limit_sos(rng: np.random.Generator, sr: int) -> np.ndarray:
  """(S, 6) sos of a codec-like band limit: an 8th-order Butterworth low-pass at a corner drawn
  from CUTOFF_HZ (kept below 0.45 sr), like a low-bitrate MP3/AAC/telephone chain."""
  cutoff = min(rng.uniform(*CUTOFF_HZ), 0.45 * sr)
  return signal.butter(8, cutoff, "lowpass", fs=sr, output="sos")


def noise(rng: np.random.Generator, num_samples: int, sr: int, rms: float) -> np.ndarray:
  """(T,) float32 background noise of RMS `rms`: Gaussian noise with a 1/f^β power spectrum
  (β ∈ {0 white, 1 pink, 2 brown}) and, half the time, mains hum (50 or 60 Hz + 3 harmonics)."""
  beta = float(rng.choice([0.0, 1.0, 2.0]))
  spectrum = np.fft.rfft(rng.standard_normal(num_samples))
  freqs = np.fft.rfftfreq(num_samples, 1 / sr)
  spectrum *= np.maximum(freqs, 20.0) ** (-beta / 2)
  out = np.fft.irfft(spectrum, num_samples)
  if rng.random() < 0.5:
    t = np.arange(num_samples) / sr
    mains = 50.0 if rng.random() < 0.5 else 60.0
    hum = sum(np.sin(2 * np.pi * mains * h * t + rng.uniform(0, 2 * np.pi)) / h
              for h in range(1, 5))
    out = out / (np.sqrt(np.mean(out ** 2)) + 1e-12) + rng.uniform(0.3, 2.0) * hum
  return (out * rms / (np.sqrt(np.mean(out ** 2)) + 1e-12)).astype(np.float32)
