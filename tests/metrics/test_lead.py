"""Lead metrics: hand-computed values and sklearn's f1_score/accuracy_score as references."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from instrax.metrics import lead


def test_macro_f1_over_present_classes_by_hand():
  # present: 0, 2, 3. class 0: tp 1, fn 1 → 2/3; class 2: tp 2 (frames 2, 3), fp 1 (frame 1),
  # fn 1 (frame 4) → 4/6; class 3: only a false positive → 0.
  t = np.array([0, 0, 2, 2, 2])
  p = np.array([0, 2, 2, 2, 3])
  assert lead.macro_f1_present(t, p) == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)


def test_macro_f1_matches_sklearn_on_random_segments():
  rng = np.random.default_rng(0)
  for _ in range(50):
    n = int(rng.integers(1, 40))
    t, p = rng.integers(0, 6, n), rng.integers(0, 6, n)
    assert lead.macro_f1_present(t, p) == pytest.approx(
        f1_score(t, p, average="macro", zero_division=0))
    assert lead.accuracy(t, p) == pytest.approx(accuracy_score(t, p))


def test_windows_cover_every_frame_with_the_seed_hop():
  assert lead.windows(375, 375, 187) == [(0, 375)]
  assert lead.windows(10, 4, 2) == [(0, 4), (2, 6), (4, 8), (6, 10)]
  assert lead.windows(11, 4, 2) == [(0, 4), (2, 6), (4, 8), (6, 10), (8, 11)]
  assert lead.windows(3, 4, 2) == [(0, 3)]


def test_segment_f1s_and_instrument_mapping():
  t = np.array([0, 0, 2, 2, 3, 3])
  p = np.array([0, 0, 3, 3, 3, 3])
  f1s = lead.segment_f1s(t, p, [(0, 2), (2, 6)])
  np.testing.assert_allclose(f1s, [1.0, (0 + 2 * 2 / (2 + 4)) / 2])
  # stems 1 and 2 (classes 2 and 3) are both instrument 7: after mapping all is right
  inst = lead.to_instruments(t, [7, 7], na_id=24, mix_id=23)
  np.testing.assert_array_equal(inst, [24, 24, 7, 7, 7, 7])
  assert lead.macro_f1_present(inst, lead.to_instruments(p, [7, 7], 24, 23)) == 1.0
  with pytest.raises(ValueError, match="labels must lie"):
    lead.to_instruments(np.array([4]), [7, 7], 24, 23)
