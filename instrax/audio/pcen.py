"""Per-channel energy normalisation (PCEN), a jit-able alternative to log compression.

PCEN (Wang et al., "Trainable frontend for robust and far-field keyword spotting", ICASSP 2017)
divides each band's energy by a smoothed copy of itself before root compression:

  M[t] = (1 − s)·M[t−1] + s·E[t]                     (first-order IIR smoother, per band)
  PCEN[t] = (E[t] / (ε + M[t])^α + δ)^r − δ^r

so a band's static gain (a microphone's or a room's colouring, a recording's level) is divided
out over ~`time_constant` seconds, while onsets stand out. It is the front end of many robust
audio classifiers (Lostanlen et al., "Per-channel energy normalization: why and how", IEEE SPL
2019; perch's bird-song models). Conventions follow `librosa.pcen` 0.10, against which the tests
check it: s from the time constant as librosa computes it, defaults gain α = 0.98, bias δ = 2,
power r = 0.5, T = 0.4 s, ε = 1e-6. One difference: the smoother starts in its steady state for
the first frame (M[−1] = E[0]; librosa's `zi=lfilter_zi(...) · E[0]`), where librosa's default
starts it at M = 1, a transient of ~T seconds at the start of every clip. As librosa advises
for float audio, the energies are first scaled by 2^31 (the integer-PCM range the defaults were
tuned on).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

INPUT_SCALE = 2.0 ** 31


def smoothing_coefficient(frame_rate: float, time_constant: float) -> float:
  """The smoother's s for a time constant in seconds at `frame_rate` frames per second (librosa's
  formula: s = (√(1 + 4·N²) − 1) / (2·N²), N = time_constant · frame_rate frames)."""
  if frame_rate <= 0 or time_constant <= 0:
    raise ValueError(f"PCEN needs a positive frame rate and time constant, got {frame_rate} and "
                     f"{time_constant}")
  n = time_constant * frame_rate
  return (math.sqrt(1 + 4 * n ** 2) - 1) / (2 * n ** 2)


def smooth(energy: jax.Array, s: float) -> jax.Array:
  """M of (..., frames, bands) `energy`: M[t] = (1 − s)·M[t−1] + s·E[t], with M[−1] = E[0]
  (librosa's steady-state start). An associative scan: O(log frames) depth."""
  a = jnp.full_like(energy, 1.0 - s)
  b = s * energy
  b = b.at[..., 0, :].add((1.0 - s) * energy[..., 0, :])  # the term (1 − s)·M[−1], M[−1] = E[0]

  def combine(left, right):
    a_l, b_l = left
    a_r, b_r = right
    return a_l * a_r, a_r * b_l + b_r

  return jax.lax.associative_scan(combine, (a, b), axis=energy.ndim - 2)[1]


def pcen(energy: jax.Array, frame_rate: float, time_constant: float = 0.4, gain: float = 0.98,
         bias: float = 2.0, power: float = 0.5, eps: float = 1e-6) -> jax.Array:
  """PCEN of non-negative (..., frames, bands) `energy` (a mel magnitude or power spectrogram of
  float audio in [−1, 1]), same shape, float32. See the module docstring for the formula."""
  x = energy.astype(jnp.float32) * INPUT_SCALE
  m = smooth(x, smoothing_coefficient(frame_rate, time_constant))
  agc = jnp.exp(-gain * jnp.log(eps + m))  # (ε + M)^−α in log space, as librosa (float range)
  # (δ + x·agc)^r − δ^r, written as δ^r·expm1(r·log1p(x·agc / δ)) for precision near 0
  return bias ** power * jnp.expm1(power * jnp.log1p(jnp.maximum(x, 0.0) * agc / bias))
