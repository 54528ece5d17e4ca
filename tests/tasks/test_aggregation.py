"""Window counts at edge lengths, framing, and each aggregation strategy on hand-computed logits."""

from __future__ import annotations

import numpy as np
import pytest

from instrax.errors import ConfigError
from instrax.tasks import aggregation as A

LN3 = np.log(3.0)  # sigmoid(LN3) = 0.75, sigmoid(-LN3) = 0.25
IRMAS_W = 132_299  # seed 004: ~3 s at 44.1 kHz


@pytest.mark.parametrize("length, expected", [
    (0, [0]), (1, [0]), (4, [0]), (5, [0, 3]), (7, [0, 3]), (8, [0, 3, 6]),
    (40, list(range(0, 37, 3))),  # 10·W: 1 + ceil(36 / 3) = 13 windows, the last ends at 40
])
def test_window_starts_small(length, expected):
  np.testing.assert_array_equal(A.window_starts(length, 4, 0.25), expected)  # hop 3


def test_window_starts_other_overlaps():
  np.testing.assert_array_equal(A.window_starts(40, 4, 0.0), np.arange(0, 40, 4))
  np.testing.assert_array_equal(A.window_starts(10, 4, 0.5), [0, 2, 4, 6])
  np.testing.assert_array_equal(A.window_starts(10, 4, 0.9), np.arange(7))  # hop 0.4 -> 1


@pytest.mark.parametrize("length, n", [(1, 1), (IRMAS_W, 1), (IRMAS_W + 1, 2), (10 * IRMAS_W, 14)])
def test_window_starts_irmas(length, n):
  # hop = round(0.75 · 132299) = 99224; 10·W: 1 + ceil(9·132299 / 99224) = 1 + ceil(12.00003) = 14
  starts = A.window_starts(length, IRMAS_W, 0.25)
  assert starts.size == n
  np.testing.assert_array_equal(np.diff(starts), 99_224)
  assert starts[-1] + IRMAS_W >= length  # every sample covered
  if n > 1:
    assert starts[-2] + IRMAS_W < length  # and no window more than needed


def test_window_starts_rejects_bad_config():
  with pytest.raises(ConfigError):
    A.window_starts(10, 4, 1.0)
  with pytest.raises(ConfigError):
    A.window_starts(10, 0, 0.25)


def test_frame():
  audio = np.stack([np.arange(1, 12), -np.arange(1, 12)]).astype(np.float32)  # (2, 11)
  frames = A.frame(audio, 4, 0.25)  # starts 0, 3, 6, then 7 (= 11 − 4: ends at the end)
  assert frames.shape == (4, 2, 4) and frames.dtype == np.float32
  np.testing.assert_array_equal(frames[1, 0], [4, 5, 6, 7])
  np.testing.assert_array_equal(frames[1, 1], [-4, -5, -6, -7])
  np.testing.assert_array_equal(frames[3, 0], [8, 9, 10, 11])  # end-aligned, no padding
  short = A.frame(np.ones((1, 2)), 4, 0.25)
  np.testing.assert_array_equal(short, [[[1, 1, 0, 0]]])


def test_majority():
  logits = np.array([[5, 1, 0, 0], [4, 0, 1, 0], [0, 1, 3, 0]], float)  # votes 0, 0, 2
  pred, score = A.majority(logits)
  np.testing.assert_array_equal(pred, [True, False, True, False])  # ≥ 1/3 · 3 = 1 vote
  np.testing.assert_allclose(score, [2 / 3, 0, 1 / 3, 0])
  six = np.eye(3)[[0, 0, 0, 1, 1, 2]]  # votes 3, 2, 1 of 6: needs ≥ 2
  np.testing.assert_array_equal(A.majority(six)[0], [True, True, False])
  np.testing.assert_array_equal(A.majority(six, threshold=0.5)[0], [True, False, False])


def test_majority_few_windows_keeps_the_winner_only():
  one = np.array([[0.1, 2.0, -1.0]])
  np.testing.assert_array_equal(A.majority(one)[0], [False, True, False])  # seed: n//3 = 0 -> all
  two = np.array([[3.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
  np.testing.assert_array_equal(A.majority(two)[0], [True, False, True])
  # fraction 0.5 of 3 distinct votes: nobody reaches 1.5 -> the top class by mean logit
  spread = np.array([[1.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 1.0]])
  np.testing.assert_array_equal(A.majority(spread, 0.5)[0], [False, True, False])


def test_s1_mean_of_sigmoids():
  logits = np.array([[LN3, -LN3, 0.0], [-LN3, -LN3, 0.0]])
  score = A.s1(logits)[1]
  np.testing.assert_allclose(score, [0.5, 0.25, 0.5])
  # default threshold 0.25: sigmoid(-2) = 0.119 out, sigmoid(-1) = 0.269 in
  np.testing.assert_array_equal(A.s1(np.array([[-2.0, -1.0]]))[0], [False, True])
  np.testing.assert_array_equal(A.s1(logits, threshold=0.3)[0], [True, False, True])
  np.testing.assert_array_equal(A.s1(np.zeros((2, 1)), threshold=0.5)[0], [True])  # >= rule
  # independent of length: repeating the windows changes nothing (the seed's sum would double)
  np.testing.assert_allclose(A.s1(np.tile(logits, (5, 1)))[1], score)


def test_s2_normalised_sum():
  logits = np.array([[LN3, -LN3, 0.0], [-LN3, -LN3, 0.0]])  # sums 1.0, 0.5, 1.0
  pred, score = A.s2(logits)
  np.testing.assert_allclose(score, [1.0, 0.5, 1.0])
  np.testing.assert_array_equal(pred, [True, True, True])  # default 0.4
  np.testing.assert_array_equal(A.s2(logits, threshold=0.6)[0], [True, False, True])
  pred, score = A.s2(np.array([[LN3, -LN3]]))  # 0.75, 0.25 -> 1, 1/3
  np.testing.assert_allclose(score, [1.0, 1 / 3])
  np.testing.assert_array_equal(pred, [True, False])


def test_softmax_mean():
  pred, score = A.softmax_mean(np.array([[LN3, 0.0, -50.0], [0.0, LN3, -50.0]]))
  np.testing.assert_allclose(score, [0.5, 0.5, 0.0], atol=1e-12)  # rows 0.75/0.25, 0.25/0.75
  np.testing.assert_array_equal(pred, [True, True, False])
  np.testing.assert_allclose(A.softmax_mean(np.array([[1000.0, 0.0]]))[1], [1.0, 0.0])  # stable


def test_registry_and_aggregate():
  assert A.AGGREGATIONS.names() == ["majority", "majority_seed", "s1", "s2", "softmax"]
  with pytest.raises(ConfigError, match="s1"):
    A.AGGREGATIONS.get("mean")
  rng = np.random.default_rng(0)
  clips = [rng.normal(size=(n, 11)) for n in (1, 3, 7)]
  for name in A.AGGREGATIONS:
    preds, scores = A.aggregate(name, clips)
    assert preds.shape == scores.shape == (3, 11) and preds.dtype == bool
    pred, score = A.AGGREGATIONS.get(name)(clips[1], None)
    np.testing.assert_array_equal(preds[1], pred)
    np.testing.assert_allclose(scores[1], score)
  with pytest.raises(ValueError):
    A.s1(np.zeros((0, 11)))


# Logits whose sigmoid is exactly 1, 0.5 or 0 in float64, for scores exactly at a threshold.
BIG = 1e4


@pytest.mark.parametrize("name, expected", [
    ("s1", [0.5, 0.25, 0.5]),  # mean of sigmoids: (0.75 + 0.25)/2, (0.25 + 0.25)/2, 0.5
    ("s2", [1.0, 0.5, 1.0]),  # sums 1, 0.5, 1 over their max 1
    ("majority", [0.5, 0.0, 0.5]),  # window argmaxes: class 0, then class 2
    ("softmax", [(9 / 13 + 1 / 5) / 2, (1 / 13 + 1 / 5) / 2, (3 / 13 + 3 / 5) / 2]),
])
def test_each_registered_name_gives_its_own_strategy(name, expected):
  # softmax rows: (3, 1/3, 1)/(13/3) and (1/3, 1/3, 1)/(5/3)
  logits = np.array([[LN3, -LN3, 0.0], [-LN3, -LN3, 0.0]])
  _, scores = A.aggregate(name, [logits])
  np.testing.assert_allclose(scores[0], expected, rtol=1e-12)


def test_s1_default_threshold_is_inclusive():
  logits = np.array([[0.0, 0.0, BIG], [0.0, -BIG, -BIG], [-BIG, -BIG, -BIG], [-BIG, -BIG, -BIG]])
  pred, score = A.aggregate("s1", [logits])  # sigmoid sums 1, 0.5, 1 over 4 windows
  np.testing.assert_array_equal(score[0], [0.25, 0.125, 0.25])
  np.testing.assert_array_equal(pred[0], [True, False, True])  # 0.25 ≥ 0.25 kept


def test_s2_default_threshold_is_inclusive():
  logits = np.array([[BIG, BIG, 0.0, 0.0], [BIG, 0.0, 0.0, -BIG], [0.0, -BIG, -BIG, -BIG]])
  pred, score = A.aggregate("s2", [logits])  # sums 2.5, 1.5, 1.0, 0.5
  np.testing.assert_array_equal(score[0], [1.0, 0.6, 0.4, 0.2])
  np.testing.assert_array_equal(pred[0], [True, True, True, False])  # 0.4 ≥ 0.4 kept


def test_majority_needs_a_third_of_the_windows_rounded_up():
  # 4 windows: 1/3·4 = 1.33, so a class needs 2 votes (the seed's n // 3 = 1 would keep all).
  four = np.eye(3)[[0, 0, 1, 2]]
  pred, score = A.aggregate("majority", [four])
  np.testing.assert_array_equal(score[0], [0.5, 0.25, 0.25])
  np.testing.assert_array_equal(pred[0], [True, False, False])
  five = np.eye(3)[[0, 0, 1, 1, 2]]  # 5/3 = 1.67 → 2 votes: classes 0 and 1
  np.testing.assert_array_equal(A.aggregate("majority", [five])[0][0], [True, True, False])


def test_aggregate_passes_the_threshold_on():
  logits = [np.zeros((2, 1))]  # S1 score 0.5
  assert A.aggregate("s1", logits)[0][0, 0]  # default 0.25
  assert not A.aggregate("s1", logits, threshold=0.6)[0][0, 0]
  assert A.aggregate("majority", [np.eye(3)[[0, 0, 1]]], threshold=0.5)[0][0].tolist() == [
      True, False, False]


def test_softmax_is_stable_per_window():
  # Window 2 is far below window 1: a max over all windows would underflow it to 0/0.
  score = A.softmax_mean(np.array([[1000.0, 0.0], [-1000.0, -1001.0]]))[1]
  p = 1 / (1 + np.exp(-1.0))  # softmax of (0, −1): (p, 1 − p)
  np.testing.assert_allclose(score, [(1 + p) / 2, (1 - p) / 2], rtol=1e-12)


def test_one_sample_windows():
  np.testing.assert_array_equal(A.window_starts(3, 1, 0.0), [0, 1, 2])
  np.testing.assert_array_equal(A.frame(np.array([[1.0, 2.0]]), 1, 0.0), [[[1.0]], [[2.0]]])
