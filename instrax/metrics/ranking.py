"""Threshold-free metrics of (N, C) scores: per-class AP / ROC-AUC, their macro means, LRAP.

`mask` (N, C) bool marks the observed entries (OpenMIC's partial labels): unobserved entries are
left out, which equals scikit-learn with the mask as `sample_weight` (the PaSST OpenMIC recipe).
Tied scores form one threshold, as in scikit-learn. NaN or infinite scores raise
`NonFiniteError` (scikit-learn raises too), observed or not.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from instrax.metrics.classification import binary_labels
from instrax.metrics.finite import finite_scores


class ClassAverage(NamedTuple):
  """A per-class metric and its macro mean over the classes it is defined for."""

  mean: float  # nan when no class could be scored
  per_class: np.ndarray  # (C,) float64, nan for skipped classes
  skipped: int  # classes left out (no observed positive, or for ROC-AUC no observed negative)


def _check(y_true: np.ndarray, scores: np.ndarray, mask: np.ndarray | None):
  """(bool labels, float64 scores, bool observed mask), all (N, C); NonFiniteError on NaN/inf
  scores."""
  y = binary_labels(y_true)
  s = finite_scores(scores)
  if y.shape != s.shape:
    raise ValueError(f"y_true {y.shape} and scores {s.shape} must both be (N, C)")
  m = np.ones(y.shape, bool) if mask is None else np.asarray(mask, bool)
  if m.shape != y.shape:
    raise ValueError(f"mask shape {m.shape} != labels shape {y.shape}")
  return y, s, m


def _binary_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Cumulative (fps, tps, thresholds) at each distinct score, from the highest score down."""
  if s.size == 0:
    return np.zeros(0), np.zeros(0), np.zeros(0)
  order = np.argsort(s, kind="mergesort")[::-1]
  s, y = s[order], y[order]
  last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # last index of each run of equal scores
  tps = np.cumsum(y, dtype=np.float64)[last]
  fps = (last + 1) - tps
  return fps, tps, s[last]


def _class_curves(y_true, scores, mask):
  """Yields (fps, tps, thresholds) per class over its observed entries."""
  y, s, m = _check(y_true, scores, mask)
  for c in range(y.shape[1]):
    yield _binary_curve(y[m[:, c], c], s[m[:, c], c])


def _summarise(values: list[float]) -> ClassAverage:
  per_class = np.asarray(values, np.float64)
  ok = np.isfinite(per_class)
  mean = float(per_class[ok].mean()) if ok.any() else float("nan")
  return ClassAverage(mean, per_class, int((~ok).sum()))


def average_precision(
    y_true: np.ndarray, scores: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
  """(C,) AP per class, Σ_k (R_k − R_{k−1})·P_k over descending thresholds (sklearn's
  `average_precision_score`); nan for a class without an observed positive."""
  out = []
  for fps, tps, _ in _class_curves(y_true, scores, mask):
    if tps.size == 0 or tps[-1] == 0:
      out.append(np.nan)
      continue
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    out.append(float(np.sum(np.diff(recall, prepend=0.0) * precision)))
  return np.asarray(out, np.float64)


def mean_average_precision(
    y_true: np.ndarray, scores: np.ndarray, mask: np.ndarray | None = None
) -> ClassAverage:
  """Macro mAP over the classes with ≥ 1 observed positive; `.skipped` counts the others."""
  return _summarise(list(average_precision(y_true, scores, mask)))


def roc_auc(y_true: np.ndarray, scores: np.ndarray, mask: np.ndarray | None = None) -> ClassAverage:
  """Per-class ROC-AUC (trapezoid, ties count half, as sklearn's `roc_auc_score`) and its macro
  mean over the classes with observed positives and negatives."""
  out = []
  for fps, tps, _ in _class_curves(y_true, scores, mask):
    if tps.size == 0 or tps[-1] == 0 or fps[-1] == 0:
      out.append(np.nan)
      continue
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    out.append(float(np.trapezoid(tpr, fpr)))
  return _summarise(out)


def lrap(y_true: np.ndarray, scores: np.ndarray, mask: np.ndarray | None = None, *,
         only_with_positive: bool = False) -> float:
  """Label ranking average precision (sklearn's `label_ranking_average_precision_score`).

  Per example: mean over its true labels j of |{true k: s_k ≥ s_j}| / |{k: s_k ≥ s_j}|, averaged
  over examples. An example whose (observed) labels are all true scores 1 (every ranking is
  perfect). One with no (observed) true label has no ranking to score: scikit-learn counts it as 1,
  which inflates LRAP on partial labels where many clips have only negatives observed;
  `only_with_positive=True` leaves those examples out of the mean instead (nan when none is left).
  With `mask`, unobserved labels are dropped from both the ranking and the truth.
  """
  y, s, m = _check(y_true, scores, mask)
  rel = y & m
  if only_with_positive:
    keep = rel.any(1)
    y, s, m, rel = y[keep], s[keep], m[keep], rel[keep]
  if y.shape[0] == 0:
    return float("nan")
  ge = (s[:, None, :] >= s[:, :, None]) & m[:, None, :]  # [n, j, k]: k observed, s_k >= s_j
  rank = ge.sum(-1)
  hits = (ge & rel[:, None, :]).sum(-1)
  n_rel, n_obs = rel.sum(1), m.sum(1)
  per_label = np.divide(hits, rank, out=np.zeros(rank.shape), where=rel & (rank > 0))
  per_example = per_label.sum(1) / np.maximum(n_rel, 1)
  per_example[(n_rel == 0) | (n_rel == n_obs)] = 1.0
  return float(per_example.mean())


def precision_recall_curve(
    y_true: np.ndarray, scores: np.ndarray, mask: np.ndarray | None = None
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
  """Per class (precision, recall, thresholds) as sklearn's `precision_recall_curve`: thresholds
  ascending, precision/recall one longer and ending at (1, 0); recall is all 1 for a class with no
  observed positive (sklearn's convention, without its warning)."""
  curves = []
  for fps, tps, thr in _class_curves(y_true, scores, mask):
    precision = np.divide(tps, tps + fps, out=np.zeros_like(tps), where=(tps + fps) > 0)
    recall = tps / tps[-1] if tps.size and tps[-1] > 0 else np.ones_like(tps)
    curves.append((np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thr[::-1].copy()))
  return curves
