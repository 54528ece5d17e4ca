"""Length-aware sampling: recordings cut into overlapping training segments with their notes."""

from __future__ import annotations

import numpy as np
import pytest

from data_builders.common import piece_examples, segment_bounds, segment_notes
from instrax.errors import DatasetError

SR = 100


def test_segment_counts_grow_with_length():
  # 20 s segments every 15 s: 1 + ceil((D − 20) / 15) segments
  assert len(segment_bounds(30 * SR, 20 * SR, 15 * SR)) == 2
  assert len(segment_bounds(600 * SR, 20 * SR, 15 * SR)) == 40  # 1 + ceil(580 / 15)
  assert segment_bounds(12 * SR, 20 * SR, 15 * SR) == [(0, 12 * SR)]
  assert segment_bounds(50, 20, 15) == [(0, 20), (15, 35), (30, 50)]
  with pytest.raises(DatasetError, match="hop"):
    segment_bounds(100, 20, 25)


def test_every_crop_fits_in_a_segment_and_draws_are_proportional_to_length():
  seg, hop, crop = 20 * SR, 15 * SR, 5 * SR
  for total in (21 * SR, 37 * SR + 3, 300 * SR):
    bounds = segment_bounds(total, seg, hop)
    assert bounds[-1][1] == total and all(b - a == seg for a, b in bounds)
    for start in range(0, total - crop + 1, 7):
      assert any(a <= start and start + crop <= b for a, b in bounds), (total, start)
  short, long = (len(segment_bounds(d * SR, seg, hop)) for d in (30, 600))
  assert long / short == 20  # a 10-minute piece yields 20× the segments of a 30-s one


def test_segment_notes_keep_notes_sounding_inside_relative_to_the_start():
  notes = np.array([[1.0, 2.0, 60, 80], [14.0, 16.0, 62, 70], [19.9, 21.0, 64, 60],
                    [25.0, 26.0, 65, 50]], np.float32)
  got = segment_notes(notes, 15.0, 35.0)
  np.testing.assert_allclose(got, [[-1.0, 1.0, 62, 70], [4.9, 6.0, 64, 60], [10.0, 11.0, 65, 50]],
                             atol=1e-5)
  assert segment_notes(np.zeros((0, 4)), 0.0, 1.0).shape == (0, 4)


def test_piece_examples_crops_carry_their_notes():
  rng = np.random.default_rng(0)
  audio = np.arange(50 * SR, dtype=np.int32)[:, None]  # sample value = its index
  notes = np.column_stack([np.sort(rng.uniform(0, 50, 40)), np.zeros(40), np.full(40, 60.0),
                           np.full(40, 80.0)]).astype(np.float32)
  notes[:, 1] = notes[:, 0] + 0.1
  records = piece_examples("p", {"audio": audio, "notes": notes}, SR, 20.0, 15.0)
  assert [k for k, _ in records] == ["p@0", "p@15000", "p@30000"]
  for _, rec in records:
    start = int(rec["audio"][0, 0])
    assert rec["offset_s"] == pytest.approx(start / SR)
    for crop in range(0, len(rec["audio"]) - 5 * SR + 1, 50):  # a 5 s crop of the segment
      lo, hi = (start + crop) / SR, (start + crop) / SR + 5
      want = notes[(notes[:, 0] >= lo) & (notes[:, 0] < hi), 0]
      rel = rec["notes"][:, 0] + rec["offset_s"]
      got = rel[(rel >= lo) & (rel < hi)]
      np.testing.assert_allclose(got, want, atol=1e-4)
  whole = piece_examples("p", {"audio": audio, "notes": notes}, SR, None, 15.0)
  assert len(whole) == 1 and whole[0][1]["offset_s"] == 0 and whole[0][1]["audio"] is audio
