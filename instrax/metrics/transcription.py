"""Piano onset decoding and note-level scoring as Onsets and Velocities does it (seeds.md §2.4–5).

Decoding (`detect`, `notes_at`): onset probabilities (frames, keys) → Gaussian blur over time (11
taps, σ 1, sum 1, zero-padded, as the seed's `GaussianBlur1d`) → NMS (a peak equals the max of its
3-frame neighbourhood; ties are kept, as `Nms1d`) → keep peaks whose BLURRED value ≥ threshold.
A note's velocity is the mean of the velocity probabilities at frames t−1..t+1 (reflect-padded);
its onset is t·frame_s + shift, its key index + `lowest_key` (MIDI 21 = A0).

Scoring (`score`): mir_eval on [onset, onset + 1 s] intervals with offsets ignored
(`offset_ratio=None`), onset tolerance 50 ms, pitches as MIDI numbers with pitch_tolerance 0.1
(so the key must match exactly), and mir_eval.transcription_velocity with velocity_tolerance 0.1
(predicted velocities are linearly rescaled onto the matched reference ones). No predictions →
P = R = F1 = 0 (the seed's `eval_note_events`), never NaN.

Note arrays: reference (N, ≥4) float rows [onset_s, offset_s, midi_pitch, velocity(1..127), ...]
(the datasets' `notes` feature); predictions (N, 3) rows [onset_s, midi_pitch, velocity (0..1)].
"""

from __future__ import annotations

import dataclasses
import warnings

import mir_eval
import numpy as np
from scipy import ndimage

SCORE_NAMES = ("precision", "recall", "f1", "velocity_precision", "velocity_recall",
               "velocity_f1")
LOWEST_KEY = 21  # MIDI number of key index 0 (A0)


def gaussian_kernel(taps: int = 11, sigma: float = 1.0) -> np.ndarray:
  """(taps,) Gaussian with its mean at the centre, normalised to sum 1 (seed `GaussianBlur1d`)."""
  if taps < 1 or taps % 2 == 0 or sigma <= 0:
    raise ValueError(f"need an odd number of taps ≥ 1 and sigma > 0, got {taps}, {sigma}")
  x = np.linspace(-(taps - 1) / 2, (taps - 1) / 2, taps)
  kernel = np.exp(-0.5 * (x / sigma) ** 2)
  return kernel / kernel.sum()


def blur(probs: np.ndarray, taps: int = 11, sigma: float = 1.0) -> np.ndarray:
  """(frames, keys) → the same, convolved over frames with `gaussian_kernel`, zero beyond ends."""
  return ndimage.correlate1d(np.asarray(probs, np.float64), gaussian_kernel(taps, sigma), axis=0,
                             mode="constant", cval=0.0)


def peaks(x: np.ndarray) -> np.ndarray:
  """(frames, keys) bool: x[t] equals the max of x[t−1..t+1] (MaxPool1d(3, 1, pad 1)) and is
  nonzero; plateaus keep every frame, as the seed's NMS."""
  pooled = ndimage.maximum_filter1d(x, 3, axis=0, mode="constant", cval=-np.inf)
  return (x == pooled) & (x != 0)


@dataclasses.dataclass(frozen=True)
class Peaks:
  """Candidate onsets of one piece: frame and key indices, blurred probability, velocity (0..1).
  All (N,) arrays, sorted by frame then key."""
  frame: np.ndarray
  key: np.ndarray
  prob: np.ndarray
  velocity: np.ndarray

  def __len__(self) -> int:
    return len(self.frame)


def detect(onset_probs: np.ndarray, velocity_probs: np.ndarray, min_threshold: float,
           taps: int = 11, sigma: float = 1.0) -> Peaks:
  """Every NMS peak of the blurred onset probabilities (frames, keys) with value ≥ min_threshold,
  with its velocity (mean of `velocity_probs` at t−1..t+1, reflect-padded as the seed)."""
  onset_probs = np.asarray(onset_probs, np.float64)
  if onset_probs.shape != np.shape(velocity_probs) or onset_probs.ndim != 2:
    raise ValueError(f"onset and velocity probabilities must both be (frames, keys), got "
                     f"{onset_probs.shape} and {np.shape(velocity_probs)}")
  smooth = blur(onset_probs, taps, sigma)
  frame, key = np.nonzero(peaks(smooth) & (smooth >= min_threshold))
  vel = np.asarray(velocity_probs, np.float64)
  if len(vel) > 1:
    vel = np.pad(vel, ((1, 1), (0, 0)), mode="reflect")
    vel = (vel[frame, key] + vel[frame + 1, key] + vel[frame + 2, key]) / 3
  else:
    vel = vel[frame, key]
  return Peaks(frame, key, smooth[frame, key], vel)


def notes_at(found: Peaks, threshold: float, frame_s: float, shift_s: float = 0.0,
             lowest_key: int = LOWEST_KEY) -> np.ndarray:
  """(N, 3) float64 predicted notes [onset_s, midi_pitch, velocity 0..1] of the peaks ≥ threshold,
  onset = frame·frame_s + shift_s."""
  keep = found.prob >= threshold
  return np.column_stack([found.frame[keep] * frame_s + shift_s,
                          found.key[keep] + lowest_key, found.velocity[keep]]).astype(np.float64)


def score(reference: np.ndarray, predicted: np.ndarray, onset_tolerance: float = 0.05,
          velocity_tolerance: float = 0.1) -> np.ndarray:
  """(6,) float64 [P, R, F1, P_vel, R_vel, F1_vel] of one piece (`SCORE_NAMES`), by mir_eval.

  reference: (M, ≥4) [onset_s, offset_s, midi_pitch, velocity, ...]; predicted: (N, 3)
  [onset_s, midi_pitch, velocity]. Empty predictions or an empty reference give zeros.
  """
  reference, predicted = np.asarray(reference, np.float64), np.asarray(predicted, np.float64)
  if not predicted.size or not reference.size:
    return np.zeros(len(SCORE_NAMES))
  if (reference.ndim, predicted.ndim) != (2, 2) or reference.shape[1] < 4 or \
      predicted.shape[1] != 3:
    raise ValueError(f"reference notes must be (M, ≥4) and predictions (N, 3), got "
                     f"{reference.shape} and {predicted.shape}")
  ref_iv = np.column_stack([reference[:, 0], reference[:, 0] + 1.0])
  est_iv = np.column_stack([predicted[:, 0], predicted[:, 0] + 1.0])
  common = dict(onset_tolerance=onset_tolerance, pitch_tolerance=0.1, offset_ratio=None)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # mir_eval warns that MIDI numbers look like low Hz values
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_iv, reference[:, 2], est_iv, predicted[:, 1], **common)
    pv, rv, fv, _ = mir_eval.transcription_velocity.precision_recall_f1_overlap(
        ref_iv, reference[:, 2], reference[:, 3], est_iv, predicted[:, 1], predicted[:, 2],
        velocity_tolerance=velocity_tolerance, **common)
  return np.array([p, r, f, pv, rv, fv], np.float64)


def grid_scores(reference: np.ndarray, found: Peaks, thresholds: np.ndarray, shifts: np.ndarray,
                frame_s: float, lowest_key: int = LOWEST_KEY, onset_tolerance: float = 0.05,
                velocity_tolerance: float = 0.1) -> np.ndarray:
  """(len(thresholds), len(shifts), 6) `score` of one piece at every (threshold, shift): the
  compact per-piece statistics calibration and metrics need."""
  out = np.zeros((len(thresholds), len(shifts), len(SCORE_NAMES)))
  for i, threshold in enumerate(thresholds):
    for j, shift in enumerate(shifts):
      out[i, j] = score(reference, notes_at(found, threshold, frame_s, shift, lowest_key),
                        onset_tolerance, velocity_tolerance)
  return out


def best_grid_point(grids: list[np.ndarray]) -> tuple[int, int]:
  """(threshold index, shift index) maximising the MEAN per-piece onset F1 (seeds.md §2.5);
  the first (lowest threshold, first shift) among ties."""
  if not grids:
    raise ValueError("no pieces to calibrate on")
  mean_f1 = np.mean([g[..., 2] for g in grids], axis=0)
  i, j = np.unravel_index(np.argmax(mean_f1), mean_f1.shape)
  return int(i), int(j)
