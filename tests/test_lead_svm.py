"""The seed's SVM lead baseline: 17 features per frame, and an easy case it must get right."""

from __future__ import annotations

import numpy as np

from instrax.baselines import lead_svm
from instrax.tasks import TASKS

SR = 16000


def _example(rng, lead_stem: int, seconds=2.0):
  """3 stems of quiet noise; `lead_stem` is loud broadband noise in the first half only."""
  t = int(seconds * SR)
  stems = rng.normal(size=(3, t)).astype(np.float32) * 0.01
  stems[lead_stem, :t // 2] = rng.normal(size=t // 2) * 0.3
  labels = np.full(int(seconds * 75), -1, np.int32)
  labels[:len(labels) // 2] = lead_stem
  return {"id": "x", "audio": stems.sum(0)[:, None], "stems": stems,
          "programs": np.zeros(3, np.int32), "lead": labels}


def test_features_are_the_seeds_17_per_frame():
  y = np.random.default_rng(0).normal(size=24000).astype(np.float32)
  feats = lead_svm.frame_features(y, 24000)
  assert feats.shape == (1 + 24000 // 1024, lead_svm.NUM_FEATURES)
  assert np.isfinite(feats).all()
  silent = lead_svm.frame_features(np.zeros(4096, np.float32), 24000)
  assert np.all(silent[:, 1] == 0)  # max amplitude


def test_svm_learns_an_easy_lead_and_is_scored_by_the_task():
  rng = np.random.default_rng(0)
  task = TASKS.get("lead_detection")(sample_rate=SR, max_tracks=3, segment_s=1.0, eval_hop_s=0.5)
  svm = lead_svm.LeadSVM(task).fit(_example(rng, k % 3) for k in range(6))
  test = _example(rng, 1)
  stats = task.example_stats(svm.combined(test), test)
  metrics = task.metrics([stats], {})
  assert metrics["frame_accuracy"] > 0.85, metrics
  assert 0 <= metrics["segment_f1"] <= 1
