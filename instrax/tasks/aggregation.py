"""Window slicing of an excerpt and window → clip aggregation (IRMAS protocol, seed 004 fixed).

Every strategy in `AGGREGATIONS` maps the (n_windows, C) logits of ONE excerpt to a bool (C,)
prediction and a float (C,) score: `fn(logits, threshold=None) -> (pred, score)`; `threshold=None`
takes the strategy's default. A class is predicted when `score >= threshold`. `VOTES` are the
strategies whose threshold is a vote fraction (not tuned on validation).

Differences from the seed notebook: `majority` keeps classes voted by ≥ fraction·n windows (the
seed's `n // 3` floor is 0 below 3 windows and then keeps every class; `majority_seed` is the
seed's rule, for comparison); S1 averages instead of summing (independent of excerpt length, so
its threshold means the same for 5-s and 20-s files); S1/S2 work in log space, so very negative
logits neither underflow to 0 nor make S2 divide 0 by 0; the windows cover the whole file and
the last one ends at the file's end (the seed's count floor((T + 0.25·W)/W) with hop 0.75·W
drops up to a quarter of a long file's tail; a zero-padded tail window would vote on silence).

S1, S2 read the logits through a sigmoid: only meaningful for models trained with a sigmoid
(BCE) loss. A softmax-CE model's logits are defined only up to a per-window shift (z and z + 6
have the same loss), so its clips are decoded with the shift-invariant `softmax` or `majority`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from instrax.errors import ConfigError
from instrax.registry import Registry

Aggregation = Callable[..., tuple[np.ndarray, np.ndarray]]
AGGREGATIONS: Registry[Aggregation] = Registry("aggregation")
#: strategies thresholded on sigmoids of the logits (need a sigmoid-trained model).
SIGMOID_BASED = ("s1", "s2")
#: strategies whose threshold is a fraction of window votes (fixed, not tuned on validation).
VOTES = ("majority", "majority_seed")


def window_starts(num_samples: int, window: int, overlap: float) -> np.ndarray:
  """Start samples of windows of `window` samples with hop round((1 − overlap)·window) (≥ 1).

  n = 1 + ceil(max(0, num_samples − window) / hop): at least one window (a file shorter than a
  window, even empty, gets one), and every sample is covered; the last start may run past the
  end (`frame` moves it back to end at the file's end).
  """
  if window < 1:
    raise ConfigError(f"window must be >= 1 sample, got {window}")
  if not 0.0 <= overlap < 1.0:
    raise ConfigError(f"overlap must be in [0, 1), got {overlap}")
  hop = max(1, round((1.0 - overlap) * window))
  n = 1 + -(-max(0, num_samples - window) // hop)
  return np.arange(n, dtype=np.int64) * hop


def frame(audio: np.ndarray, window: int, overlap: float) -> np.ndarray:
  """(C, T) audio → (n_windows, C, window) float32 windows covering the whole file, end-aligned.

  Starts as `window_starts`, except that the last window ends at the file's end (start T − W), so
  no window holds padding that would vote on silence; it then overlaps its neighbour by more than
  `overlap`. A file shorter than one window gives one window, zero-padded at the end. The one
  windowing convention of every clip task (clip classification and tagging).
  """
  audio = np.asarray(audio)
  if audio.ndim != 2:
    raise ValueError(f"audio must be (channels, samples), got shape {audio.shape}")
  length = audio.shape[1]
  if length <= window:
    return np.pad(audio, ((0, 0), (0, window - length)))[None].astype(np.float32)
  starts = np.minimum(window_starts(length, window, overlap), length - window)
  idx = starts[:, None] + np.arange(window)[None, :]  # (n, W)
  return np.ascontiguousarray(audio[:, idx].transpose(1, 0, 2), np.float32)


def _logits(logits: np.ndarray) -> np.ndarray:
  x = np.asarray(logits, np.float64)
  if x.ndim != 2 or x.shape[0] == 0:
    raise ValueError(f"logits must be (n_windows >= 1, C), got shape {x.shape}")
  return x


def log_sigmoid(x: np.ndarray) -> np.ndarray:
  """log σ(x) = −log(1 + e^(−x)) in float64, exact for any finite x (no underflow to −inf)."""
  return -np.logaddexp(0.0, -np.asarray(x, np.float64))


def sigmoid(x: np.ndarray) -> np.ndarray:
  """Logistic function in float64, > 0 down to x ≈ −745 (0.5·(1 + tanh(x/2)) is 0 below −38):
  1/(1 + e^(−x)) for x ≥ 0, e^x/(1 + e^x) below, so σ(0) = 0.5 and σ(large) = 1 exactly."""
  x = np.asarray(x, np.float64)
  e = np.exp(-np.abs(x))
  return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
  """Numerically stable softmax along `axis`."""
  z = np.asarray(x, np.float64)
  z = np.exp(z - z.max(axis=axis, keepdims=True))
  return z / z.sum(axis=axis, keepdims=True)


def _log_sum_sigmoid(x: np.ndarray) -> np.ndarray:
  """(n, C) logits → (C,) log Σ_windows σ(x), by log-sum-exp of log σ (no underflow)."""
  ls = log_sigmoid(x)
  top = ls.max(axis=0)
  return top + np.log(np.exp(ls - top).sum(axis=0))


@AGGREGATIONS.register("majority")
def majority(logits: np.ndarray, threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
  """Window votes: each window votes for its argmax class (first on ties); score = vote fraction.

  A class is kept when its votes ≥ threshold·n_windows (threshold = fraction, default 1/3, compared
  exactly, i.e. votes ≥ ceil(fraction·n)). The most voted class (ties: highest mean logit) is
  always kept, so 1 window → its argmax, 2 windows → both winners.
  """
  x = _logits(logits)
  fraction = 1.0 / 3.0 if threshold is None else float(threshold)
  n, c = x.shape
  votes = np.bincount(np.argmax(x, axis=1), minlength=c)
  pred = votes >= fraction * n - 1e-9 * n  # tolerance: 1/3 · 3 must count as 1
  top = np.lexsort((-x.mean(0), -votes))[0]
  pred[top] = True
  return pred, votes / n


@AGGREGATIONS.register("majority_seed")
def majority_seed(logits: np.ndarray,
                  threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
  """The seed notebook's vote (seed 004): keep classes with votes ≥ floor(fraction·n) (default
  fraction 1/3, i.e. `n // 3`); score = vote fraction. Unlike `majority` the bar is rounded down,
  so 4 windows voting 0, 0, 0, 1 keep {0, 1} (majority: {0}), and below 3 windows the bar is 0
  and every class is kept."""
  x = _logits(logits)
  fraction = 1.0 / 3.0 if threshold is None else float(threshold)
  n, c = x.shape
  votes = np.bincount(np.argmax(x, axis=1), minlength=c)
  return votes >= np.floor(fraction * n + 1e-9), votes / n


@AGGREGATIONS.register("s1")
def s1(logits: np.ndarray, threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
  """S1: mean of per-window sigmoids, kept ≥ threshold (default 0.25). The seed summed and used
  0.1, which on a sum of ≥ 1 window is a much lower, length-dependent bar. The stable sigmoid is
  > 0 down to logits ≈ −745, and exact at the values a threshold is compared with."""
  x = _logits(logits)
  score = sigmoid(x).mean(axis=0)
  return score >= (0.25 if threshold is None else threshold), score


@AGGREGATIONS.register("s2")
def s2(logits: np.ndarray, threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
  """S2: sum of per-window sigmoids divided by its maximum over classes (top class = 1), kept ≥
  threshold (default 0.4, as the seed). Direct division (exact at thresholds) while the sums are
  representable; when every sigmoid underflows (logits below ≈ −745) the ratio is taken in log
  space, exp(L_c − max L) with L the log of the sum, so the top class still scores 1."""
  x = _logits(logits)
  total = sigmoid(x).sum(axis=0)
  if total.max() > np.finfo(np.float64).tiny:
    score = total / total.max()
  else:
    log_total = _log_sum_sigmoid(x)
    score = np.exp(log_total - log_total.max())
  return score >= (0.4 if threshold is None else threshold), score


@AGGREGATIONS.register("softmax")
def softmax_mean(logits: np.ndarray, threshold: float | None = None) -> tuple[np.ndarray,
                                                                               np.ndarray]:
  """For softmax-CE models: mean over windows of the softmax probabilities, kept ≥ threshold
  (default 0.2; the scores sum to 1, so at most 5 classes pass)."""
  score = softmax(_logits(logits), axis=1).mean(axis=0)
  return score >= (0.2 if threshold is None else threshold), score


def aggregate(name: str, logits_per_clip: list[np.ndarray],
              threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
  """Applies strategy `name` to each clip's (n_i, C) logits: bool (N, C) preds, (N, C) scores."""
  fn = AGGREGATIONS.get(name)
  if not logits_per_clip:
    raise ValueError("no clips to aggregate")
  preds, scores = zip(*(fn(x, threshold) for x in logits_per_clip))
  return np.stack(preds), np.stack(scores)
