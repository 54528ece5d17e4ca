"""Per-class threshold tuning (checked by brute force) and the global threshold sweep."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from instrax.errors import ConfigError
from instrax.metrics import classification as C
from instrax.metrics import thresholds as T


def _data(seed: int, n: int, offsets=(0.0, 0.25, -0.25, 0.1)):
  """Positives score around 0.6 + offset, negatives around 0.3 + offset: the best threshold
  differs per class, and 0.5 is poor for the shifted classes."""
  rng = np.random.default_rng(seed)
  c = len(offsets)
  y = rng.random((n, c)) < 0.35
  s = np.where(y, 0.6, 0.3) + np.asarray(offsets) + rng.normal(0, 0.1, (n, c))
  return y, np.round(s, 3), rng.random((n, c)) < 0.8


def _best_f1(y: np.ndarray, s: np.ndarray, thresholds=None) -> float:
  """Brute force: best F1 of `s >= t` over `thresholds` (default: every distinct prediction set,
  t = each score and +inf); y has at least one positive."""
  cands = np.r_[np.unique(s), np.inf] if thresholds is None else np.asarray(thresholds)
  pred = s[None, :] >= cands[:, None]  # one row per candidate
  tp = (pred & y).sum(1)
  return float(np.max(2 * tp / (pred.sum(1) + y.sum())))


def test_tuned_thresholds_maximise_f1():
  y, s, mask = _data(0, 200)
  for m in (None, mask):
    th = T.tune_thresholds(y, s, m)
    for c in range(y.shape[1]):
      rows = slice(None) if m is None else m[:, c]
      yc, sc = y[rows, c], s[rows, c]
      achieved = f1_score(yc, sc >= th[c], zero_division=0)
      assert achieved == pytest.approx(_best_f1(yc, sc), abs=1e-12)


def test_tuned_thresholds_on_a_grid():
  y, s, _ = _data(1, 150)
  grid = np.linspace(0.01, 0.99, 99)
  th = T.tune_thresholds(y, s, grid=grid)
  for c in range(y.shape[1]):
    assert np.isclose(grid, th[c]).any()
    best = _best_f1(y[:, c], s[:, c], grid)
    assert f1_score(y[:, c], s[:, c] >= th[c], zero_division=0) == pytest.approx(best)


def test_ties_go_to_the_lowest_threshold_and_empty_classes_keep_default():
  y = np.array([[1, 0], [0, 0], [1, 0]])
  s = np.array([[0.9, 0.2], [0.1, 0.7], [0.8, 0.4]])
  # class 0: every grid value in (0.1, 0.8] separates perfectly (F1 = 1) -> lowest is 0.2
  th = T.tune_thresholds(y, s, grid=[0.6, 0.2, 0.4, 0.05])
  assert th[0] == pytest.approx(0.2)
  assert th[1] == T.DEFAULT_THRESHOLD  # no positive
  # default candidates: lowest score (predict all) and midpoints 0.45, 0.85 -> 0.45 is the first
  assert T.tune_thresholds(y, s)[0] == pytest.approx(0.45)
  assert T.tune_thresholds(np.ones((3, 1)), s[:, :1])[0] == pytest.approx(0.1)  # predict all


def test_tuned_thresholds_generalise_to_held_out_data():
  y_val, s_val, _ = _data(2, 400)
  y_test, s_test, _ = _data(3, 400)
  th = T.tune_thresholds(y_val, s_val)
  assert th[1] > 0.55 and th[2] < 0.45  # followed the per-class shifts
  tuned = C.multilabel_prf(y_test, T.apply_thresholds(s_test, th))
  fixed = C.multilabel_prf(y_test, T.apply_thresholds(s_test, 0.5))
  assert tuned["macro_f1"] > fixed["macro_f1"] + 0.1
  assert tuned["macro_f1"] > 0.85


def test_sweep_global_threshold():
  y, s, mask = _data(4, 120)
  grid = [0.7, 0.3, 0.5, 0.4]
  best, table = T.sweep_global_threshold(y, s, grid, metric="macro_f1", mask=mask)
  assert [row["threshold"] for row in table] == [0.3, 0.4, 0.5, 0.7]
  for row in table:
    ref = C.multilabel_prf(y, s >= row["threshold"], mask)
    assert row["macro_f1"] == pytest.approx(ref["macro_f1"])
    assert row["micro_precision"] == pytest.approx(ref["micro_precision"])
  assert best == max(table, key=lambda r: r["macro_f1"])["threshold"]
  with pytest.raises(ConfigError, match="micro_f1"):
    T.sweep_global_threshold(y, s, grid, metric="f2")


def test_sweep_hand_computed():
  y = np.array([[1, 0], [0, 1]])
  s = np.array([[0.6, 0.2], [0.4, 0.8]])
  best, table = T.sweep_global_threshold(y, s, [0.1, 0.5, 0.9])
  # 0.1: all predicted, tp 2 fp 2 -> F1 2/3; 0.5: perfect; 0.9: nothing -> 0
  assert [r["micro_f1"] for r in table] == pytest.approx([2 / 3, 1.0, 0.0])
  assert best == 0.5


def test_f1_at_thresholds_hand_computed():
  # Scores 0.9 0.8 0.7 0.3 0.1 with labels 1 0 1 1 0, predicting s ≥ t:
  # t=0: tp 3 fp 2 fn 0 → 6/8; t=0.3 (inclusive): 3 1 0 → 6/7; t=0.5: 2 1 1 → 4/6;
  # t=0.8: 1 1 2 → 2/5; t=0.95: 0 0 3 → 0.
  y = np.array([1, 0, 1, 1, 0])
  s = np.array([0.9, 0.8, 0.7, 0.3, 0.1])
  f1 = T.f1_at_thresholds(y, s, np.array([0.0, 0.3, 0.5, 0.8, 0.95]))
  np.testing.assert_allclose(f1, [6 / 8, 6 / 7, 4 / 6, 2 / 5, 0.0], rtol=1e-12)
  # Order of the examples does not matter; no positives and no predictions → 0 (not NaN).
  perm = np.array([3, 0, 4, 2, 1])
  np.testing.assert_allclose(T.f1_at_thresholds(y[perm], s[perm], np.array([0.5])), [4 / 6])
  np.testing.assert_array_equal(T.f1_at_thresholds(np.zeros(3), np.ones(3), np.array([2.0])),
                                [0.0])


def test_tune_skips_only_the_classes_without_positives():
  # class 0: no positive → 0.5; class 1: scores 0.9 (pos), 0.3 (neg) → midpoint 0.6 (F1 1).
  y = np.array([[0, 1], [0, 0]])
  s = np.array([[0.2, 0.9], [0.3, 0.3]])
  np.testing.assert_allclose(T.tune_thresholds(y, s), [0.5, 0.6])


def test_sweep_over_a_one_value_grid():
  best, table = T.sweep_global_threshold(np.array([[1, 0]]), np.array([[0.7, 0.2]]), [0.5])
  assert best == 0.5 and len(table) == 1 and table[0]["micro_f1"] == 1.0
