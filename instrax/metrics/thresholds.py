"""Decision thresholds chosen on validation scores: per class (max F1) or one global sweep.

Convention throughout instrax: a class is predicted when `score >= threshold`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from instrax.errors import ConfigError
from instrax.metrics.classification import binary_labels, multilabel_prf
from instrax.metrics.finite import finite_scores

DEFAULT_THRESHOLD = 0.5
SWEEP_METRICS = ("micro_f1", "macro_f1", "micro_precision", "micro_recall", "macro_precision",
                 "macro_recall")


def apply_thresholds(scores: np.ndarray, thresholds: np.ndarray | float) -> np.ndarray:
  """Bool predictions `scores >= thresholds` ((C,) thresholds broadcast over rows);
  NonFiniteError on NaN/infinite scores (NaN would silently predict nothing)."""
  return finite_scores(scores) >= np.asarray(thresholds)


def f1_at_thresholds(y: np.ndarray, s: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
  """F1 of one class (labels `y`, scores `s`, both (N,)) when predicting `s >= t`, for each t."""
  order = np.argsort(s, kind="mergesort")
  pos_below = np.r_[0, np.cumsum(np.asarray(y, bool)[order])]  # positives among the i lowest
  below = np.searchsorted(s[order], thresholds, side="left")  # scores < t
  tp = pos_below[-1] - pos_below[below]
  fp = (s.size - below) - tp
  fn = pos_below[-1] - tp
  den = (2 * tp + fp + fn).astype(np.float64)
  return np.divide(2.0 * tp, den, out=np.zeros_like(den), where=den > 0)


def _candidates(s: np.ndarray) -> np.ndarray:
  """The lowest distinct score (predict all) and the midpoints between distinct scores: one
  threshold per distinct way of splitting the sorted scores (except predicting none)."""
  u = np.unique(s)
  return np.r_[u[:1], (u[:-1] + u[1:]) / 2]


def tune_thresholds(
    y_true: np.ndarray,
    scores: np.ndarray,
    mask: np.ndarray | None = None,
    grid: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
  """(C,) per-class thresholds maximising each class's F1 over its observed entries.

  Candidates are `grid` if given, else the score midpoints of `_candidates` (exact optimum on the
  tuning data). Ties between candidates go to the lowest threshold. Classes without an observed
  positive keep `DEFAULT_THRESHOLD` (0.5). NaN/infinite scores raise `NonFiniteError`.
  """
  y = binary_labels(y_true)
  s = finite_scores(scores)
  if y.shape != s.shape:
    raise ValueError(f"y_true {y.shape} and scores {s.shape} must both be (N, C)")
  m = np.ones(y.shape, bool) if mask is None else np.asarray(mask, bool)
  out = np.full(y.shape[1], DEFAULT_THRESHOLD)
  for c in range(y.shape[1]):
    yc, sc = y[m[:, c], c], s[m[:, c], c]
    if not yc.any():
      continue
    cand = np.sort(np.asarray(grid, np.float64)) if grid is not None else _candidates(sc)
    f1 = f1_at_thresholds(yc, sc, cand)
    out[c] = cand[int(np.argmax(f1))]  # argmax: first (lowest) of the tied maxima
  return out


def sweep_global_threshold(
    y_true: np.ndarray,
    scores: np.ndarray,
    grid: Sequence[float] | np.ndarray,
    metric: str = "micro_f1",
    mask: np.ndarray | None = None,
) -> tuple[float, list[dict[str, float]]]:
  """One threshold for all classes: the grid value maximising `metric` (lowest on ties), and a
  table with one row per grid value: threshold plus the micro/macro P, R, F1. NaN/infinite
  scores raise `NonFiniteError`."""
  scores = finite_scores(scores)
  if metric not in SWEEP_METRICS:
    raise ConfigError(f"Unknown sweep metric {metric!r}. Valid: {', '.join(SWEEP_METRICS)}.")
  grid = np.sort(np.asarray(grid, np.float64).ravel())
  if grid.size == 0:
    raise ConfigError("threshold grid is empty")
  table = []
  for t in grid:
    prf = multilabel_prf(y_true, apply_thresholds(scores, t), mask)
    table.append({"threshold": float(t), **{k: float(prf[k]) for k in SWEEP_METRICS}})
  best = int(np.argmax([row[metric] for row in table]))
  return float(grid[best]), table
