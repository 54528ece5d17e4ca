"""Training-time remixing of a multitrack example from its stems, and short-excerpt cropping.

Real recordings a user asks about are often one instrument alone, or short: a single note, a
1-s phrase. A corpus of full mixes (synthmix) shows neither. Two augmentations close that gap
without a new render:

* `remix`: a new mix of the example's own stems (synthmix stores them, with their mix gains, so
  Σ stems = mix). With probability `solo_prob` it is ONE labelled stem alone; otherwise a random
  subset of the stems with at least one labelled stem, each at a random gain. The labels are the
  multi-hot of the kept stems' GM programs, and only stems that sound in the crop count: a stem
  quieter than `active_db` below the crop's loudest stem is never kept, so no label names a
  silent part. On-the-fly remixing of stems is standard in source separation (Uhlich et al.
  2017) and in instrument recognition from multitracks (Slakh, Manilow et al. 2019).
* `shorten`: the crop is cut to a random length and zero-padded at its end: exactly what
  `instrax.tasks.aggregation.frame` does to a file shorter than one window at evaluation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from instrax.data import vocabularies

ACTIVE_DB = -40.0  # a stem counts as sounding when its RMS is within this of the loudest stem's
GAIN_DB = (-6.0, 6.0)  # per-stem gain of a remix (not a solo: peak normalisation undoes it)


def stem_rms(stems: np.ndarray) -> np.ndarray:
  """(K,) RMS of each row of (K, T) `stems` (float64; 0 for an empty crop)."""
  x = np.asarray(stems, np.float64)
  if x.shape[1] == 0:
    return np.zeros(x.shape[0])
  return np.sqrt(np.mean(np.square(x), axis=1))


def remix(stems: np.ndarray, programs: np.ndarray, rng: np.random.Generator, vocabulary: str,
          solo_prob: float, active_db: float = ACTIVE_DB,
          gain_db: tuple[float, float] = GAIN_DB,
          shape: Callable[[np.ndarray], np.ndarray] | None = None,
          ) -> tuple[np.ndarray, np.ndarray] | None:
  """A remix of (K, T) float `stems` (one GM program per row in (K,) `programs`, 128 = drums).

  `shape`, when given, maps the (K', T) kept stems to (K', T) before they are summed (e.g. a
  random spectral tilt per stem, instrax.data.spectral_tilt); stems left out cost nothing.
  Returns ((T,) float32 audio, (C,) float32 multi-hot over `vocabulary`), or None when no stem
  of a `vocabulary` class sounds (the caller keeps the stored mix). Raises ValueError for shapes
  that do not match or `solo_prob` outside [0, 1].
  """
  stems = np.asarray(stems, np.float32)
  programs = np.asarray(programs)
  if stems.ndim != 2 or programs.shape != (stems.shape[0],):
    raise ValueError(f"stems must be (K, T) with one program per row, got stems {stems.shape} "
                     f"and programs {programs.shape}")
  if not 0.0 <= solo_prob <= 1.0:
    raise ValueError(f"solo_prob must be a probability in [0, 1], got {solo_prob}")
  mapping = vocabularies.GM_MAPS[vocabulary]
  rms = stem_rms(stems)
  if not rms.size or rms.max() <= 0.0:
    return None
  sounding = rms > rms.max() * 10 ** (active_db / 20)
  labelled = np.array([int(p) in mapping for p in programs]) & sounding
  if not labelled.any():
    return None
  if rng.random() < solo_prob:
    keep = np.zeros(len(stems), bool)
    keep[rng.choice(np.flatnonzero(labelled))] = True
  else:
    keep = sounding & (rng.random(len(stems)) < 0.5)
    keep[rng.choice(np.flatnonzero(labelled))] = True
  gains = np.where(keep, 10 ** (rng.uniform(*gain_db, len(stems)) / 20), 0.0).astype(np.float32)
  if shape is None:
    audio = gains @ stems
  else:
    audio = gains[keep] @ np.asarray(shape(stems[keep]), np.float32)
  return audio.astype(np.float32), vocabularies.multi_hot(programs[keep], vocabulary)


def shorten(audio: np.ndarray, rng: np.random.Generator, min_length: int) -> np.ndarray:
  """(C, T) → (C, T): the first L samples of a random-start excerpt of length L drawn uniformly
  in [min_length, T], followed by zeros (T − L of them). Raises ValueError if min_length < 1."""
  if min_length < 1:
    raise ValueError(f"min_length must be >= 1 sample, got {min_length}")
  total = audio.shape[1]
  if total <= min_length:
    return audio
  length = int(rng.integers(min_length, total + 1))
  start = int(rng.integers(0, total - length + 1))
  out = np.zeros_like(audio)
  out[:, :length] = audio[:, start:start + length]
  return out
