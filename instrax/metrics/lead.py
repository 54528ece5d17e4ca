"""Lead-track detection metrics (seed 000 §1.6): frame accuracy and macro-F1 over present classes.

Labels are per-frame class indices: 0 = no lead, 1 = the mix, 1 + k = stem k. The seed's main
metric (`1_test_f1`) is, per 5-s segment, `sklearn.metrics.f1_score(target, pred,
average="macro")`, whose classes are those present in the target or the prediction, averaged over
segments; `2_test_inst_f1` is the same after mapping each track to its instrument type, so either
of two same-instrument tracks counts as right; `3_test_acc` is frame accuracy.
"""

from __future__ import annotations

import numpy as np

from instrax.metrics.classification import accuracy, confusion_matrix

__all__ = ["accuracy", "confusion_matrix", "macro_f1_present", "segment_f1s", "to_instruments",
           "windows"]


def macro_f1_present(y_true: np.ndarray, y_pred: np.ndarray) -> float:
  """Mean F1 over the classes present in `y_true` or `y_pred` (1-d int arrays of equal length),
  as `f1_score(y_true, y_pred, average="macro")`; 0 for empty input. F1 = 2tp / (2tp + fp + fn).
  """
  t, p = np.asarray(y_true, np.int64).ravel(), np.asarray(y_pred, np.int64).ravel()
  if t.shape != p.shape:
    raise ValueError(f"{t.size} true labels but {p.size} predictions")
  if not t.size:
    return 0.0
  classes, inverse = np.unique(np.concatenate([t, p]), return_inverse=True)
  ti, pi = inverse[:t.size], inverse[t.size:]
  k = len(classes)
  tp = np.bincount(ti[ti == pi], minlength=k)
  true_count, pred_count = np.bincount(ti, minlength=k), np.bincount(pi, minlength=k)
  return float(np.mean(2 * tp / (true_count + pred_count)))


def windows(num_frames: int, size: int, hop: int) -> list[tuple[int, int]]:
  """[start, end) frame ranges of `size`-frame segments every `hop` frames covering
  `num_frames` (the last one may be shorter; at least one segment for num_frames > 0)."""
  if size <= 0 or hop <= 0:
    raise ValueError(f"segment size and hop must be positive, got {size}, {hop}")
  n = 1 if num_frames <= size else -(-(num_frames - size) // hop) + 1
  return [(i * hop, min(i * hop + size, num_frames)) for i in range(n)]


def segment_f1s(y_true: np.ndarray, y_pred: np.ndarray,
                segments: list[tuple[int, int]]) -> np.ndarray:
  """(S,) `macro_f1_present` of each [start, end) frame segment."""
  return np.array([macro_f1_present(y_true[a:b], y_pred[a:b]) for a, b in segments], np.float64)


def to_instruments(labels: np.ndarray, inst_ids: np.ndarray, na_id: int, mix_id: int) -> np.ndarray:
  """Track-class labels → instrument ids: 0 → `na_id`, 1 → `mix_id`, 1 + k → `inst_ids[k - 1]`.

  Raises ValueError for a label naming a stem beyond `inst_ids`.
  """
  table = np.concatenate([[na_id, mix_id], np.asarray(inst_ids, np.int64)])
  labels = np.asarray(labels, np.int64)
  if labels.size and (labels.min() < 0 or labels.max() >= len(table)):
    raise ValueError(f"labels must lie in [0, {len(table)}), got {labels.min()}..{labels.max()}")
  return table[labels]
