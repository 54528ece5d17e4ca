"""Issue #15.6: NaN/inf scores are refused (scikit-learn raises too) instead of giving believable
AP, ROC-AUC, LRAP and thresholds; `check_finite` names the example and entry."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from instrax.errors import NonFiniteError, UserError
from instrax.metrics import finite, ranking, thresholds

Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
S = np.array([[0.9, 0.2], [0.3, 0.8], [0.6, 0.7], [0.1, 0.4]])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fn", [
    ranking.mean_average_precision, ranking.roc_auc, ranking.lrap, ranking.average_precision,
    ranking.precision_recall_curve, thresholds.tune_thresholds,
    lambda y, s: thresholds.sweep_global_threshold(y, s, [0.5]),
    lambda y, s: thresholds.apply_thresholds(s, 0.5),
])
def test_metrics_refuse_non_finite_scores(fn, bad):
  scores = S.copy()
  scores[2, 1] = bad
  with pytest.raises(NonFiniteError, match=r"scores: 1 of 8 value\(s\) are NaN or infinite "
                                           r"\(first at \[2, 1\]"):
    fn(Y, scores)
  fn(Y, S)  # finite scores still work


def test_scikit_learn_raises_on_nan_too():
  scores = S.copy()
  scores[0, 0] = np.nan
  with pytest.raises(ValueError):
    skm.average_precision_score(Y, scores)
  with pytest.raises(ValueError):
    skm.label_ranking_average_precision_score(Y, scores)


def test_check_finite_names_the_head_and_index():
  outputs = {"clip": np.zeros((3, 4), np.float32), "frames": [np.ones(2), np.array([0.0, np.inf])]}
  with pytest.raises(NonFiniteError) as e:
    finite.check_finite(outputs, "model output for example 'a.wav'")
  message = str(e.value)
  assert message.startswith("model output for example 'a.wav': 1 of 2 value(s)")
  assert "['frames'][1][1]: inf" in message and "\n" not in message
  assert isinstance(e.value, UserError) and isinstance(e.value, ValueError)
  finite.check_finite({"clip": np.zeros(3), "name": "x", "ids": np.arange(3)}, "ok")
  with pytest.raises(NonFiniteError, match=r"at the value: nan"):
    finite.check_finite(float("nan"), "loss")
