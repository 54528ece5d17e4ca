"""Decoding fixes of issue #9: softmax-CE vs sigmoid strategies (4), end-aligned windows (5),
stable sigmoids (6), the seed's majority rule (7), LRAP over clips with a positive (9).

Every expectation is computed by hand in the comments; each test failed before its fix.
"""

from __future__ import annotations

import math

import ml_collections
import numpy as np
import pytest
from sklearn import metrics as skm

from configs import irmas as irmas_config
from instrax import hyper
from instrax.data.vocabularies import OPENMIC
from instrax.errors import ConfigError
from instrax.metrics import ranking
from instrax.tasks import TASKS
from instrax.tasks import aggregation as A


def clip_task(**kwargs):
  return TASKS.get("clip_classification")(sample_rate=100, channels=1, **kwargs)


# --- 4: sigmoid strategies need sigmoid logits ------------------------------------------------

def test_s1_is_not_shift_invariant_but_softmax_and_majority_are():
  z = np.array([[1.0, 0.0, -0.5] + [-2.0] * 8])  # σ ≥ 0.25 ⇔ logit ≥ −ln 3 ≈ −1.10
  assert np.flatnonzero(A.s1(z)[0]).tolist() == [0, 1, 2]
  assert A.s1(z + 6)[0].all()  # every logit ≥ 4
  assert not A.s1(z - 4)[0].any()  # every logit ≤ −3
  for name in ("softmax", "majority"):
    fn = A.AGGREGATIONS.get(name)
    for shifted in (z + 6, z - 4):
      np.testing.assert_array_equal(fn(shifted)[0], fn(z)[0])
      np.testing.assert_allclose(fn(shifted)[1], fn(z)[1], atol=1e-12)


@pytest.mark.parametrize("fields", [dict(aggregation="s1"), dict(aggregation="s2"),
                                    dict(aggregation="softmax", compare_aggregations=("s1",))])
def test_softmax_ce_refuses_sigmoid_strategies(fields):
  with pytest.raises(ConfigError, match="softmax_ce"):
    clip_task(loss_type="softmax_ce", **fields)


def test_softmax_ce_accepts_shift_invariant_strategies():
  task = clip_task(loss_type="softmax_ce", aggregation="softmax",
                   compare_aggregations=("majority", "majority_seed", "softmax"))
  assert task.aggregation == "softmax"
  clip_task(loss_type="bce", aggregation="s1")  # sigmoid logits: fine


def _task_fields(config: ml_collections.ConfigDict) -> dict:
  return {k: v for k, v in config.task.items() if k not in ("name", "channels")}


def test_irmas_config_and_every_sweep_point_build_a_valid_task():
  softmax = irmas_config.get_config("loss=softmax_ce").task
  assert (softmax.aggregation, tuple(softmax.compare_aggregations)) == ("softmax",
                                                                        ("majority", "softmax"))
  assert irmas_config.get_config("").task.aggregation == "s1"
  seen = set()
  for setting in irmas_config.get_hyper(hyper):
    c = irmas_config.get_config("")
    for key, value in setting.items():
      *path, field = key.split(".")[1:]
      node = c
      for name in path:
        node = node[name]
      node[field] = value
    task = clip_task(**_task_fields(c))
    seen.add((task.loss_type, task.aggregation))
    assert "majority" in task.compare_aggregations  # the like-for-like comparison of the losses
  assert seen == {("bce", "s1"), ("softmax_ce", "softmax")}


def test_sweep_flags_parse_back_into_string_tuples():
  flag = hyper.to_flags({"config.task.compare_aggregations": ("majority", "softmax")})
  assert flag == ["--config.task.compare_aggregations=('majority','softmax')"]


# --- 5: one windowing convention, end-aligned --------------------------------------------------

def test_windows_are_end_aligned_without_padding():
  audio = np.arange(1000, dtype=np.float32)[None]  # a 10-s excerpt at 100 Hz, windows of 3 s
  w = A.frame(audio, 300, 0.25)  # hop 225: 1 + ceil(700 / 225) = 5 windows
  assert w.shape == (5, 1, 300)
  np.testing.assert_array_equal(w[:, 0, 0], [0, 225, 450, 675, 700])  # last: 1000 − 300
  assert w[-1, 0, -1] == 999  # ends at the end; before: a window 900–1200, 2 s of zeros
  assert (A.frame(np.ones((2, 1000)), 300, 0.25) == 1).all()
  np.testing.assert_array_equal(A.frame(audio, 1000, 0.5)[:, 0, 0], [0])  # exactly one window
  short = A.frame(audio[:, :120], 300, 0.25)  # shorter than a window: one, zero-padded
  assert short.shape == (1, 1, 300) and (short[0, 0, 120:] == 0).all()
  np.testing.assert_array_equal(A.frame(audio[:, :2500 // 5], 100, 0.0)[:, 0, 0],
                                [0, 100, 200, 300, 400])


def test_clip_and_tagging_tasks_window_alike():
  audio = (np.sin(np.arange(1000) / 7.0) * 10000).astype(np.int16)[:, None]  # (T, 1)
  clip = clip_task(peak_normalize=False, window_s=3.0, eval_overlap=0.25)
  tag = TASKS.get("tagging")(sample_rate=100, channels=1, window_s=3.0, eval_overlap=0.25)
  a, b = clip.eval_inputs({"audio": audio}), tag.eval_inputs({"audio": audio})
  np.testing.assert_array_equal(a, b)
  assert a.shape == (5, 1, 300) and (a[-1] != 0).any(axis=-1).all()
  np.testing.assert_array_equal(a[-1, 0, -10:], b[-1, 0, -10:])


# --- 6: stable sigmoid; S2 keeps the top class ------------------------------------------------

def test_sigmoid_does_not_underflow():
  x = np.array([-40.0, -100.0, -700.0, 0.0, 40.0])
  got = A.sigmoid(x)
  np.testing.assert_allclose(got[:3], np.exp(x[:3]), rtol=1e-12)  # σ(x) = e^x (1 − e^x + …)
  assert got[3] == 0.5 and got[4] == 1.0
  np.testing.assert_allclose(A.sigmoid(np.array([math.log(3.0)])), [0.75], rtol=1e-15)


def test_s2_keeps_the_top_class_when_every_sigmoid_is_tiny():
  pred, score = A.s2(np.array([[-50.0, -60.0, -70.0], [-52.0, -60.0, -70.0]]))
  # sums e^-50 + e^-52, 2 e^-60, 2 e^-70; divided by the first
  top = math.exp(-50) + math.exp(-52)
  np.testing.assert_allclose(score, [1.0, 2 * math.exp(-60) / top, 2 * math.exp(-70) / top],
                             rtol=1e-9)
  np.testing.assert_array_equal(pred, [True, False, False])  # before: 0/0 → nothing


def test_s1_ranks_very_negative_logits():
  _, score = A.s1(np.array([[-50.0, -60.0], [-50.0, -62.0]]))
  np.testing.assert_allclose(score, [math.exp(-50), (math.exp(-60) + math.exp(-62)) / 2],
                             rtol=1e-9)


# --- 7: the seed's majority rule by name ---------------------------------------------------------

def test_majority_seed_rounds_the_bar_down():
  votes_0001 = np.eye(2)[[0, 0, 0, 1]]  # 4 windows: bar 4 // 3 = 1 (seed), 4/3 (majority)
  np.testing.assert_array_equal(A.majority_seed(votes_0001)[0], [True, True])
  np.testing.assert_array_equal(A.majority(votes_0001)[0], [True, False])
  np.testing.assert_allclose(A.majority_seed(votes_0001)[1], [0.75, 0.25])
  two = np.eye(3)[[0, 1]]  # 2 windows: 2 // 3 = 0, every class passes (the seed's behaviour)
  np.testing.assert_array_equal(A.majority_seed(two)[0], [True, True, True])
  six = np.eye(3)[[0, 0, 0, 1, 1, 2]]  # 6 // 3 = 2: votes 3, 2, 1
  np.testing.assert_array_equal(A.majority_seed(six)[0], [True, True, False])


def test_majority_seed_is_a_vote_and_not_tuned():
  rng = np.random.default_rng(0)
  outputs = [rng.normal(size=(int(rng.integers(1, 5)), 11)) for _ in range(6)]
  refs = [np.eye(11, dtype=bool)[i % 11] for i in range(6)]
  task = clip_task(aggregation="s1", compare_aggregations=("majority_seed", "majority"))
  calibration = task.calibrate(list(zip(outputs, refs)))
  assert "threshold/majority_seed" not in calibration and "threshold/s1" in calibration


# --- 9: LRAP over clips with an observed positive ---------------------------------------------

def test_lrap_leaves_out_clips_without_a_positive():
  y = np.array([[1, 0, 0], [0, 0, 0]], bool)
  s = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
  # clip 0: its true label has rank 3 (every score ≥ 0.1) and 1 hit → 1/3; clip 1 has none
  assert ranking.lrap(y, s) == pytest.approx((1 / 3 + 1) / 2)  # scikit-learn's convention
  assert skm.label_ranking_average_precision_score(y, s) == pytest.approx(2 / 3)
  assert ranking.lrap(y, s, only_with_positive=True) == pytest.approx(1 / 3)
  # with a mask: clip 0's positive is unobserved → no observed positive → left out too
  mask = np.array([[False, True, True], [True, True, True]])
  assert math.isnan(ranking.lrap(y, s, mask, only_with_positive=True))
  assert ranking.lrap(y, s, mask) == 1.0


def test_tagging_reports_lrap_over_clips_with_an_observed_positive():
  task = TASKS.get("tagging")(sample_rate=100, channels=1, threshold_mode="fixed")
  relevance = np.full((2, len(OPENMIC)), 0.5, np.float32)
  mask = np.zeros((2, len(OPENMIC)), bool)
  relevance[0, :3], mask[0, :3] = (1.0, 0.0, 0.0), True  # clip 0: class 0 positive
  relevance[1, :2], mask[1, :2] = (0.0, 0.0), True  # clip 1: negatives only
  logits = np.zeros((2, 1, len(OPENMIC)))
  logits[0, 0, :3] = (0.0, 1.0, -1.0)  # class 0 ranks 2nd of the 3 observed → 1/2
  refs = [task.reference({"relevance": r, "mask": m}) for r, m in zip(relevance, mask)]
  got = task.metrics(list(zip(list(logits), refs)), {})
  assert got["lrap"] == pytest.approx(0.5)  # before: (1/2 + 1) / 2 = 0.75
