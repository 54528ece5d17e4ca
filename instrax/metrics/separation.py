"""Source-separation quality: SDR as BSSEval v4 (museval) reports it, and SI-SDR.

BSSEval v4 (Liutkus, Stöter, Ito, "The 2018 Signal Separation Evaluation Campaign", LVA/ICA 2018;
`museval.metrics.bss_eval` with `framewise_filters=False, bsseval_sources_version=False`, as
`museval.eval_mus_track` calls it) decomposes each estimate into s_true + e_spat + e_interf +
e_artif; its SDR is energy(s_true) / energy(e_spat + e_interf + e_artif) per frame, and since the
three error terms sum to (estimate − reference), the frame SDR is exactly

    SDR = 10·log10(Σ s² / Σ (s − ŝ)²)   over the frame's samples and channels,

whatever the distortion filters. Frames are museval's: window = hop = 1 s, ⌊T / window⌋ whole
frames (the trailing partial frame is dropped; a track shorter than one window is one frame); a
frame in which ANY reference or ANY estimate is all zero is NaN for every source (museval's
`_any_source_silent`), a perfect frame is +inf. A track's SDR is the median over its non-NaN
frames, a dataset's the median over tracks (SiSEC 2018 / musdb18 convention).

SI-SDR (Le Roux et al., "SDR – half-baked or well done?", ICASSP 2019) over a whole signal:
α = ⟨ŝ, s⟩ / ‖s‖², SI-SDR = 10·log10(‖α s‖² / ‖α s − ŝ‖²), without mean removal.
"""

from __future__ import annotations

import numpy as np


def _as_sources(x: np.ndarray, name: str) -> np.ndarray:
  """(S, T) or (S, T, C) → float64 (S, T, C)."""
  x = np.asarray(x, np.float64)
  if x.ndim == 2:
    x = x[..., None]
  if x.ndim != 3:
    raise ValueError(f"{name} must be (sources, samples[, channels]), got shape {x.shape}")
  return x


def frame_slices(num_samples: int, window: int) -> list[slice]:
  """museval's frames for window = hop: ⌊T / window⌋ whole windows, or [0, T) if T ≤ window."""
  if window <= 0:
    raise ValueError(f"window must be positive, got {window}")
  if num_samples <= window:
    return [slice(0, num_samples)]
  return [slice(k * window, (k + 1) * window) for k in range(num_samples // window)]


def sdr_frames(references: np.ndarray, estimates: np.ndarray, window: int) -> np.ndarray:
  """(S, n_frames) BSSEval v4 SDR in dB per source and frame (NaN: silent frame, see module).

  Args:
    references, estimates: (S, T) or (S, T, C), same shape; S sources, T samples.
    window: frame length and hop in samples (museval: 1 s·sample rate).
  Raises:
    ValueError: shapes differ or are not 2-D/3-D.
  """
  ref, est = _as_sources(references, "references"), _as_sources(estimates, "estimates")
  if ref.shape != est.shape:
    raise ValueError(f"references {ref.shape} and estimates {est.shape} differ in shape")
  slices = frame_slices(ref.shape[1], window)
  out = np.full((ref.shape[0], len(slices)), np.nan)
  for t, win in enumerate(slices):
    r, e = ref[:, win], est[:, win]
    if _any_silent(r) or _any_silent(e):
      continue
    signal = np.sum(r ** 2, axis=(1, 2))
    error = np.sum((r - e) ** 2, axis=(1, 2))
    with np.errstate(divide="ignore"):
      out[:, t] = np.where(error > 0, 10 * np.log10(signal / np.where(error > 0, error, 1.0)),
                           np.inf)
  return out


def _any_silent(x: np.ndarray) -> bool:
  """museval's test: a source whose channel-sum is 0 at every sample of the frame."""
  return bool(np.any(np.all(np.sum(x, axis=2) == 0, axis=1)))


def track_sdr(references: np.ndarray, estimates: np.ndarray, window: int) -> np.ndarray:
  """(S,) median over frames of `sdr_frames` (NaN frames ignored; NaN if every frame is)."""
  frames = sdr_frames(references, estimates, window)
  out = np.full(frames.shape[0], np.nan)
  for j, row in enumerate(frames):
    ok = row[~np.isnan(row)]
    if ok.size:
      out[j] = np.median(ok)
  return out


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
  """SI-SDR in dB of one estimate over all its samples (any shape, flattened).

  +inf for a perfect (scaled) estimate, NaN when the reference is all zero.
  """
  s = np.asarray(reference, np.float64).ravel()
  e = np.asarray(estimate, np.float64).ravel()
  if s.shape != e.shape:
    raise ValueError(f"reference {np.shape(reference)} and estimate {np.shape(estimate)} differ")
  energy = s @ s
  if energy == 0:
    return float("nan")
  target = (e @ s / energy) * s
  noise = target - e
  noise_energy = noise @ noise
  if noise_energy == 0:
    return float("inf")
  with np.errstate(divide="ignore"):
    return float(10 * np.log10((target @ target) / noise_energy))


def median_over_tracks(values: list[float] | np.ndarray) -> float:
  """Median of per-track values, ignoring NaN tracks (NaN if none is defined)."""
  v = np.asarray(values, np.float64)
  v = v[~np.isnan(v)]
  return float(np.median(v)) if v.size else float("nan")
