"""AP, mAP, ROC-AUC, LRAP and PR curves against scikit-learn, with tied scores and label masks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from instrax.metrics import ranking as R


def _random(seed: int, n: int = 150, c: int = 5, decimals: int = 1):
  """Labels, scores rounded to `decimals` (many ties) that correlate with the labels, and a mask."""
  rng = np.random.default_rng(seed)
  y = rng.random((n, c)) < 0.3
  y[0] = True  # every class has a positive
  scores = np.round(np.clip(0.3 * y + rng.random((n, c)) * 0.7, 0, 1), decimals)
  mask = rng.random((n, c)) < 0.75
  mask[0] = True
  return y, scores, mask


def test_average_precision_hand_computed():
  y = np.array([[1], [0], [1]])
  s = np.array([[0.9], [0.8], [0.1]])
  # thresholds 0.9, 0.8, 0.1: (P, R) = (1, 1/2), (1/2, 1/2), (2/3, 1) -> 1/2·1 + 0 + 1/2·2/3
  np.testing.assert_allclose(R.average_precision(y, s), [0.5 + 1 / 3])
  tied = np.array([[0.5], [0.5], [0.1]])  # the tie is one threshold: (1/2, 1/2) then (2/3, 1)
  np.testing.assert_allclose(R.average_precision(y, tied), [0.25 + 1 / 3])


@pytest.mark.parametrize("decimals", [1, 3])
def test_average_precision_matches_sklearn(decimals):
  y, s, mask = _random(0, decimals=decimals)
  np.testing.assert_allclose(R.average_precision(y, s),
                             skm.average_precision_score(y, s, average=None), atol=1e-12)
  mine = R.average_precision(y, s, mask)
  for c in range(y.shape[1]):
    ref = skm.average_precision_score(y[:, c], s[:, c], sample_weight=mask[:, c])
    rows = mask[:, c]
    assert mine[c] == pytest.approx(ref, abs=1e-12)
    assert mine[c] == pytest.approx(skm.average_precision_score(y[rows, c], s[rows, c]), abs=1e-12)
  assert not np.allclose(mine, R.average_precision(y, s))  # the mask matters here


def test_mean_average_precision_skips_classes_without_positives():
  y, s, mask = _random(1)
  full = R.mean_average_precision(y, s)
  assert full.skipped == 0
  assert full.mean == pytest.approx(skm.average_precision_score(y, s, average="macro"), abs=1e-12)
  mask[:, 2] &= ~y[:, 2]  # class 2: no observed positive
  y[:, 4] = False  # class 4: no positive at all
  out = R.mean_average_precision(y, s, mask)
  assert out.skipped == 2
  assert np.isnan(out.per_class[[2, 4]]).all()
  assert out.mean == pytest.approx(np.mean(out.per_class[[0, 1, 3]]))


def test_roc_auc_matches_sklearn():
  y, s, mask = _random(2)
  out = R.roc_auc(y, s)
  np.testing.assert_allclose(out.per_class, skm.roc_auc_score(y, s, average=None), atol=1e-12)
  assert out.mean == pytest.approx(skm.roc_auc_score(y, s, average="macro"), abs=1e-12)
  masked = R.roc_auc(y, s, mask)
  for c in range(y.shape[1]):
    ref = skm.roc_auc_score(y[:, c], s[:, c], sample_weight=mask[:, c])
    assert masked.per_class[c] == pytest.approx(ref, abs=1e-12)
  assert R.roc_auc(np.array([[1], [0]]), np.array([[0.5], [0.5]])).mean == 0.5  # ties: half
  one_sided = R.roc_auc(np.ones((4, 2)), np.random.default_rng(0).random((4, 2)))
  assert one_sided.skipped == 2 and np.isnan(one_sided.mean)


@pytest.mark.parametrize("decimals", [1, 4])
def test_lrap_matches_sklearn(decimals):
  y, s, mask = _random(3, decimals=decimals)
  y[5] = False  # an example with no true label scores 1, as in sklearn
  y[6] = True  # all true: 1
  assert R.lrap(y, s) == pytest.approx(skm.label_ranking_average_precision_score(y, s), abs=1e-12)
  # masked: each example ranked among its observed labels only
  ref = []
  for n in range(y.shape[0]):
    obs = mask[n]
    ref.append(skm.label_ranking_average_precision_score(y[n:n + 1, obs], s[n:n + 1, obs])
               if obs.any() else 1.0)
  assert R.lrap(y, s, mask) == pytest.approx(np.mean(ref), abs=1e-12)


def test_lrap_hand_computed():
  y = np.array([[1, 0, 1]])
  s = np.array([[0.9, 0.8, 0.1]])
  # label 0: rank 1, 1 true above -> 1; label 2: rank 3, 2 true above -> 2/3
  assert R.lrap(y, s) == pytest.approx((1 + 2 / 3) / 2)


def test_precision_recall_curve_matches_sklearn():
  y, s, mask = _random(4)
  for c, (p, r, t) in enumerate(R.precision_recall_curve(y, s, mask)):
    rp, rr, rt = skm.precision_recall_curve(y[:, c], s[:, c], sample_weight=mask[:, c])
    np.testing.assert_allclose(p, rp, atol=1e-12)
    np.testing.assert_allclose(r, rr, atol=1e-12)
    np.testing.assert_allclose(t, rt)
    assert p[-1] == 1.0 and r[-1] == 0.0 and len(p) == len(t) + 1


def test_shape_errors():
  with pytest.raises(ValueError):
    R.average_precision(np.zeros((3, 2)), np.zeros((3,)))
  with pytest.raises(ValueError):
    R.lrap(np.zeros((3, 2)), np.zeros((3, 2)), mask=np.ones((3, 3)))


# Class 0: one positive ranked second; class 1: positives ranked 1st and 3rd; class 2: none.
HAND_Y = np.array([[0, 1, 0], [1, 1, 0], [0, 0, 0]])
HAND_S = np.array([[0.9, 0.9, 0.2], [0.8, 0.5, 0.4], [0.1, 0.7, 0.3]])


def test_average_precision_one_positive_and_none():
  # class 0: P = 1/2 at its one positive; class 1: (1/2)·1 + (1/2)·(2/3) = 5/6; class 2: nan.
  ap = R.average_precision(HAND_Y, HAND_S)
  np.testing.assert_allclose(ap[:2], [0.5, 5 / 6], rtol=1e-12)
  assert np.isnan(ap[2])


def test_precision_recall_curve_hand_computed():
  (p0, r0, t0), _, (p2, r2, _) = R.precision_recall_curve(HAND_Y, HAND_S)
  # class 0 at s ≥ 0.1, 0.8, 0.9: (tp, fp) = (1, 2), (1, 1), (0, 1); then the (1, 0) end.
  np.testing.assert_allclose(t0, [0.1, 0.8, 0.9])
  np.testing.assert_allclose(p0, [1 / 3, 1 / 2, 0.0, 1.0])
  np.testing.assert_allclose(r0, [1.0, 1.0, 0.0, 0.0])
  np.testing.assert_allclose(r2, [1.0, 1.0, 1.0, 0.0])  # no positive: recall 1 (sklearn)
  np.testing.assert_allclose(p2, [0.0, 0.0, 0.0, 1.0])


def test_edge_classes():
  # positive only at the lowest score (AP 1/3); one distinct score (AP 1/2); only positives.
  y = np.array([[0, 1, 1], [0, 0, 1], [1, 0, 1]])
  s = np.array([[0.9, 0.5, 0.3], [0.8, 0.5, 0.2], [0.1, 0.5, 0.1]])
  ap = R.average_precision(y, s)
  np.testing.assert_allclose(ap, [1 / 3, 1 / 3, 1.0])
  np.testing.assert_allclose(R.average_precision(y[:2, 1:2], s[:2, 1:2]), [0.5])
  p, r, _ = R.precision_recall_curve(y, s)[0]
  np.testing.assert_allclose(r, [1.0, 0.0, 0.0, 0.0])  # recall by the final tp count
  np.testing.assert_allclose(p, [1 / 3, 0.0, 0.0, 1.0])
  auc = R.roc_auc(y, s)
  assert np.isnan(auc.per_class[2])  # no negatives: undefined
  np.testing.assert_allclose(auc.per_class[:2], [0.0, 0.5])


def test_a_class_with_a_single_observed_entry_has_its_curve():
  """One observed (positive) entry: AP 1, as scikit-learn (kills the `s.size == 1` mutant)."""
  y = np.array([[1, 0], [0, 1], [1, 1]], bool)
  s = np.array([[0.9, 0.2], [0.4, 0.8], [0.3, 0.6]])
  mask = np.array([[True, True], [False, True], [False, True]])
  ap = R.average_precision(y, s, mask)
  assert ap[0] == 1.0 == skm.average_precision_score([1], [0.9])
  assert ap[1] == pytest.approx(skm.average_precision_score(y[:, 1], s[:, 1]))
