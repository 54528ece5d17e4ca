"""Top-1 genre accuracy (FMA, seed 003) of the clip classification task, against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from instrax.data.vocabularies import FMA
from instrax.tasks.clip_classification import ClipClassification, top1_accuracy


def test_top1_accuracy_by_hand_and_multilabel():
  labels = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1]], bool)
  scores = np.array([[0.5, 0.3, 0.2], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])
  assert top1_accuracy(labels, scores) == pytest.approx(2 / 3)  # clip 3: class 2 is a label
  with pytest.raises(ValueError):
    top1_accuracy(labels, scores[:, :2])


@pytest.mark.parametrize("seed", [0, 1])
def test_fma_task_accuracy_matches_sklearn(seed):
  rng = np.random.default_rng(seed)
  task = ClipClassification(sample_rate=16000, channels=1, vocabulary="fma", labels_key="labels",
                            loss_type="softmax_ce", aggregation="softmax",
                            compare_aggregations=("majority",))
  n = 40
  genres = rng.integers(0, len(FMA), n)
  windows = [rng.normal(size=(int(rng.integers(1, 5)), len(FMA))) for _ in range(n)]
  stats = [(w, np.eye(len(FMA))[g] > 0.5) for w, g in zip(windows, genres)]
  got = task.metrics(stats, task.calibrate(stats))["accuracy"]
  # by hand: mean over windows of the softmax probabilities, argmax
  probs = [np.exp(w - w.max(1, keepdims=True)) for w in windows]
  predicted = [int(np.argmax((p / p.sum(1, keepdims=True)).mean(0))) for p in probs]
  assert got == pytest.approx(skm.accuracy_score(genres, predicted))
  assert "accuracy" in task.metric_names()
