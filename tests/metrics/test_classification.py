"""multilabel_prf, confusion counts, accuracy and the text table vs scikit-learn and hand sums."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from instrax.metrics import classification as C


def _random(seed: int, n: int = 120, c: int = 6):
  rng = np.random.default_rng(seed)
  y_true = rng.random((n, c)) < 0.3
  y_pred = rng.random((n, c)) < 0.35
  y_true[:, 0] = False  # never true: recall 0/0
  y_pred[:, 1] = False  # never predicted: precision 0/0
  y_true[:, 2] = y_pred[:, 2] = False  # neither: F1 0/0
  mask = rng.random((n, c)) < 0.7
  return y_true, y_pred, mask


def test_hand_computed():
  y_true = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
  y_pred = np.array([[1, 1], [0, 1], [0, 0], [1, 0]])
  out = C.multilabel_prf(y_true, y_pred)
  # class 0: tp 1, fp 1, fn 1; class 1: tp 1, fp 1, fn 1 -> P = R = F1 = 0.5 everywhere
  np.testing.assert_allclose(out["precision"], [0.5, 0.5])
  np.testing.assert_array_equal(out["support"], [2, 2])
  assert out["micro_f1"] == pytest.approx(0.5) and out["macro_recall"] == pytest.approx(0.5)
  masked = C.multilabel_prf(y_true, y_pred, mask=np.array([[1, 1], [0, 1], [1, 1], [0, 1]]))
  # class 0 observed rows 0, 2: tp 1 -> P = R = 1; class 1 unchanged; micro tp 2 fp 1 fn 1
  np.testing.assert_allclose(masked["f1"], [1.0, 0.5])
  assert masked["micro_precision"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn_unmasked(seed):
  y_true, y_pred, _ = _random(seed)
  out = C.multilabel_prf(y_true, y_pred)
  for avg in ("micro", "macro"):
    p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=0)
    np.testing.assert_allclose([out[f"{avg}_precision"], out[f"{avg}_recall"], out[f"{avg}_f1"]],
                               [p, r, f], atol=1e-12)
  p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
  for mine, ref in ((out["precision"], p), (out["recall"], r), (out["f1"], f)):
    np.testing.assert_allclose(mine, ref, atol=1e-12)
  np.testing.assert_array_equal(out["support"], s)
  assert out["f1"][2] == 0.0 and out["precision"][1] == 0.0 and out["recall"][0] == 0.0


@pytest.mark.parametrize("seed", [3, 4])
def test_matches_sklearn_masked(seed):
  y_true, y_pred, mask = _random(seed)
  out = C.multilabel_prf(y_true, y_pred, mask)
  for c in range(y_true.shape[1]):
    by_weight = skm.precision_recall_fscore_support(
        y_true[:, c], y_pred[:, c], sample_weight=mask[:, c], average="binary", zero_division=0)
    rows = mask[:, c]
    by_rows = skm.precision_recall_fscore_support(
        y_true[rows, c], y_pred[rows, c], average="binary", zero_division=0)
    for ref in (by_weight, by_rows):
      np.testing.assert_allclose([out["precision"][c], out["recall"][c], out["f1"][c]], ref[:3],
                                 atol=1e-12)
  p, r, f, _ = skm.precision_recall_fscore_support(y_true[mask], y_pred[mask], average="binary",
                                                   zero_division=0)
  np.testing.assert_allclose([out["micro_precision"], out["micro_recall"], out["micro_f1"]],
                             [p, r, f], atol=1e-12)
  assert out["macro_f1"] == pytest.approx(np.mean(out["f1"]))
  # the mask must matter on this data
  assert out["micro_f1"] != pytest.approx(C.multilabel_prf(y_true, y_pred)["micro_f1"])


def test_shape_errors():
  with pytest.raises(ValueError):
    C.multilabel_prf(np.zeros((3, 2)), np.zeros((3, 3)))
  with pytest.raises(ValueError):
    C.multilabel_prf(np.zeros((3, 2)), np.zeros((3, 2)), mask=np.ones((2, 2)))
  with pytest.raises(ValueError, match="0/1"):
    C.multilabel_prf(np.full((3, 2), 0.3), np.zeros((3, 2)))  # soft labels must be binarised


def test_confusion_matrix_matches_sklearn():
  rng = np.random.default_rng(5)
  t, p = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
  np.testing.assert_array_equal(C.confusion_matrix(t, p, 6),
                                skm.confusion_matrix(t, p, labels=range(6)))
  with pytest.raises(ValueError):
    C.confusion_matrix([0, 6], [0, 1], 6)


def test_multilabel_confusion_hand_computed():
  y_true = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0]])
  y_pred = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 1]])
  m = C.multilabel_confusion(y_true, y_pred)
  expected = np.array([
      [2, 2, 1, 1],  # class 0 true in rows 0, 1, 3: 0 predicted in 0, 3; 1 in 0, 1; 2 in 3; 1 miss
      [0, 1, 0, 0],  # class 1 true in row 1: predicted 1; nothing missed
      [0, 0, 0, 1],  # class 2 true in row 2: nothing predicted, missed
  ])
  np.testing.assert_array_equal(m, expected)
  prf = C.multilabel_prf(y_true, y_pred)
  np.testing.assert_array_equal(np.diag(m[:, :3]), prf["tp"])
  np.testing.assert_array_equal(m[:, 3], prf["fn"])
  masked = C.multilabel_confusion(y_true, y_pred, mask=np.array([[1, 1, 1], [0, 1, 1]] * 2))
  np.testing.assert_array_equal(masked[0], [1, 1, 0, 0])  # class 0 counted in rows 0, 2 only


def test_accuracy_matches_sklearn():
  rng = np.random.default_rng(6)
  t, p = rng.integers(0, 4, 50), rng.integers(0, 4, 50)
  assert C.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
  y_true, y_pred, _ = _random(7, n=40, c=4)
  y_pred[:10] = y_true[:10]
  assert C.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
  assert C.accuracy(np.array([0, 1, 2]), np.array([0, 1, 1])) == pytest.approx(2 / 3)


def test_per_class_table():
  y_true, y_pred, _ = _random(8, c=3)
  out = C.multilabel_prf(y_true, y_pred)
  names = ["cello", "clarinet", "acoustic guitar"]
  table = C.per_class_table(names, out)
  lines = table.splitlines()
  assert lines[0].split() == ["class", "support", "P", "R", "F1"]
  assert len({len(line) for line in lines}) == 1  # fixed width
  assert len(lines) == 2 + 3 + 1 + 2
  assert lines[-1].startswith("micro") and f"{out['micro_f1']:.4f}" in lines[-1]
  assert lines[2].startswith("cello") and f"{out['f1'][0]:.4f}" in lines[2]
  with_ap = C.per_class_table(names, {**out, "ap": np.array([0.5, np.nan, 0.7])})
  assert with_ap.splitlines()[0].split()[-1] == "AP"
  assert "0.6000" in with_ap.splitlines()[-2]  # macro AP over the classes with an AP


def test_per_class_table_hand_computed():
  # cello: 2 true, both found, 1 false alarm → P 2/3, R 1, F1 0.8; flute: 1 true, missed → 0 0 0.
  y_true = np.array([[1, 0], [1, 1], [0, 0]])
  y_pred = np.array([[1, 0], [1, 0], [1, 0]])
  out = C.multilabel_prf(y_true, y_pred)
  assert (int(out["fp"][0]), int(out["fn"][1])) == (1, 1)
  lines = C.per_class_table(["cello", "flute"], {**out, "ap": np.array([0.25, 0.75])}).splitlines()
  assert lines[2].split() == ["cello", "2", "0.6667", "1.0000", "0.8000", "0.2500"]
  assert lines[3].split() == ["flute", "1", "0.0000", "0.0000", "0.0000", "0.7500"]
  # macro: means of the rows (AP 0.5); micro: tp 2, fp 1, fn 1 → P = R = F1 = 2/3; support 3
  assert lines[5].split() == ["macro", "3", "0.3333", "0.5000", "0.4000", "0.5000"]
  assert lines[6].split() == ["micro", "3", "0.6667", "0.6667", "0.6667"]
  nan_ap = C.per_class_table(["cello", "flute"], {**out, "ap": np.array([np.nan, np.nan])})
  assert nan_ap.splitlines()[5].split()[-1] == "nan"


def test_accuracy_of_nothing_and_confusion_bounds():
  assert C.accuracy(np.zeros(0, int), np.zeros(0, int)) == 0.0
  with pytest.raises(ValueError, match=r"y_pred_idx has values outside \[0, 3\)"):
    C.confusion_matrix([0, 1], [0, 3], 3)  # 3 is one past the last class
  with pytest.raises(ValueError, match="y_true_idx"):
    C.confusion_matrix([-1, 1], [0, 1], 3)
