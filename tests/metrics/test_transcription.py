"""Onset decoding and mir_eval scoring of piano transcription (seeds.md §2.4–2.5)."""

from __future__ import annotations

import numpy as np
import pytest

from instrax.metrics import transcription as tr

# [onset_s, offset_s, midi_pitch, velocity]
REF = np.array([[0.50, 0.90, 60, 80], [1.00, 1.50, 64, 40], [1.00, 1.20, 67, 100],
                [2.00, 2.40, 60, 60]], np.float64)


def _as_predicted(ref: np.ndarray, shift: float = 0.0) -> np.ndarray:
  return np.column_stack([ref[:, 0] + shift, ref[:, 2], ref[:, 3] / 127])


def test_perfect_prediction_scores_one():
  np.testing.assert_allclose(tr.score(REF, _as_predicted(REF)), np.ones(6))


def test_shift_within_and_beyond_the_50ms_tolerance():
  np.testing.assert_allclose(tr.score(REF, _as_predicted(REF, 0.04)), np.ones(6))
  np.testing.assert_allclose(tr.score(REF, _as_predicted(REF, 0.06)), np.zeros(6))


def test_partial_prediction_hand_computed():
  # 2 of 4 notes right, one wrong key, one 0.2 s late: P = 2/4, R = 2/4
  pred = _as_predicted(REF)
  pred[1, 1] = 65
  pred[3, 0] += 0.2
  got = tr.score(REF, pred)
  np.testing.assert_allclose(got[:3], [0.5, 0.5, 0.5])
  # an extra note: P = 2/5, R = 2/4, F1 = 2·0.4·0.5/0.9
  got = tr.score(REF, np.vstack([pred, [[3.0, 70, 0.5]]]))
  np.testing.assert_allclose(got[:3], [0.4, 0.5, 0.4 / 0.9])


def test_velocity_mistakes_only_hurt_the_velocity_scores():
  pred = _as_predicted(REF)
  pred[0, 2] = 1.0  # the loudest, but the reference note is medium: off after rescaling
  got = tr.score(REF, pred)
  assert got[2] == 1.0 and got[5] < 1.0


def test_empty_predictions_or_reference_give_zero_not_nan():
  np.testing.assert_array_equal(tr.score(REF, np.zeros((0, 3))), np.zeros(6))
  np.testing.assert_array_equal(tr.score(np.zeros((0, 5)), _as_predicted(REF)), np.zeros(6))


def test_gaussian_kernel_hand_computed():
  k = tr.gaussian_kernel(11, 1.0)
  centre = 1 / (1 + 2 * sum(np.exp(-0.5 * d * d) for d in range(1, 6)))
  assert k.shape == (11,) and k[5] == pytest.approx(centre) and k.sum() == pytest.approx(1.0)
  assert k[4] == pytest.approx(centre * np.exp(-0.5))


def test_detect_finds_the_blurred_peak_with_its_mean_velocity():
  probs = np.zeros((30, 88))
  probs[10, 39] = 1.0  # MIDI 60
  probs[20, 0] = probs[21, 0] = 0.9  # two equal frames: their blurred values tie
  vel = np.zeros((30, 88))
  vel[9:12, 39] = [0.2, 0.5, 0.8]
  found = tr.detect(probs, vel, min_threshold=0.3)
  centre = tr.gaussian_kernel()[5]
  i = np.flatnonzero(found.key == 39)
  assert found.frame[i].tolist() == [10] and found.prob[i][0] == pytest.approx(centre)
  assert found.velocity[i][0] == pytest.approx(0.5)
  notes = tr.notes_at(found, 0.3, frame_s=0.024, shift_s=-0.01)
  row = notes[notes[:, 1] == 60][0]
  np.testing.assert_allclose(row, [10 * 0.024 - 0.01, 60, 0.5])
  # the two equal frames blur into an equal pair: both kept (ties), as the seed's NMS
  assert sorted(found.frame[found.key == 0].tolist()) == [20, 21]
  assert len(tr.notes_at(found, 0.99, 0.024)) == 0  # every blurred value is below 0.99


def test_velocity_reflect_pads_at_the_edges():
  probs = np.zeros((5, 88))
  probs[0, 3] = 1.0
  vel = np.zeros((5, 88))
  vel[:2, 3] = [0.3, 0.6]
  found = tr.detect(probs, vel, 0.1)
  assert found.velocity[0] == pytest.approx((0.6 + 0.3 + 0.6) / 3)  # reflect: [v1, v0, v1]


def test_grid_and_best_point_by_mean_per_piece_f1():
  probs = np.zeros((120, 88))
  vel = np.full((120, 88), 0.5)
  for onset, _, pitch, _ in REF:
    probs[round(onset / 0.024), int(pitch) - 21] = 1.0
  probs[60, 10] = 0.5  # a weak false positive (blurred ≈ 0.2)
  found = tr.detect(probs, vel, 0.1)
  grid = tr.grid_scores(REF, found, np.array([0.1, 0.3]), np.array([0.0, -0.2]), 0.024)
  assert grid.shape == (2, 2, 6)
  np.testing.assert_allclose(grid[:, 0, 0], [4 / 5, 1.0])  # precision without / with the FP
  np.testing.assert_allclose(grid[:, 1, 2], [0.0, 0.0])  # 200 ms early: nothing matches
  assert tr.best_grid_point([grid, grid]) == (1, 0)
