"""MedleyDB lead annotations: both of the seed's formats, the overwrite rule, missing stems."""

from __future__ import annotations

import json

import numpy as np
import pytest

from data_builders.medleydb_lead import annotations as A
from instrax.errors import DatasetError

MARKERS = ("Name\tStart\tDuration\tTime Format\tType\tDescription\n"
           "Marker 01\t0:01.000\t0:02.500\tdecimal\tCue\t8\n"
           "Marker 02\t0:02.000\t0:00.500\tdecimal\tCue\t3\n"
           "Marker 03\t1:00.000\t0:01.000\tdecimal\tCue\t\n")


def test_timecodes():
  assert A.timecode("1:02.500") == 62.5
  assert A.timecode("0:00.040") == pytest.approx(0.04)
  with pytest.raises(ValueError):
    A.timecode("1:")


def test_markers_and_labels_later_spans_overwrite():
  spans = A.parse_markers(MARKERS)
  assert spans == [(1.0, 3.5, 8), (2.0, 2.5, 3)]
  labels = A.frame_labels(spans, [1, 3, 8], num_frames=300, frame_rate=75)
  want = np.full(300, -1)
  want[75:262] = 2  # int(1.0·75) .. int(3.5·75) → stem S08 = index 2
  want[150:187] = 1  # S03 overwrites
  np.testing.assert_array_equal(labels, want)


def test_song_json_format_gives_the_same_spans():
  text = json.dumps({"Song_A": [{"lead_start": "0:01.000", "lead_end": "0:03.500",
                                 "lead_inst": "8#male_singer"}]})
  assert A.parse_song_json(text) == {"Song_A": [(1.0, 3.5, 8)]}


def test_bad_annotations_are_reported():
  with pytest.raises(DatasetError, match="line 2"):
    A.parse_markers("Name\tStart\tDuration\tDescription\nm\tx\t0:01.0\t8\n")
  with pytest.raises(DatasetError, match="S08"):
    A.frame_labels([(0.0, 1.0, 8)], [1, 2], 75, 75)


def test_song_split_is_seeded_and_in_the_seeds_proportions():
  songs = [f"s{i}" for i in range(109)]
  split = A.split_songs(songs)
  counts = {k: list(split.values()).count(k) for k in ("train", "validation", "test")}
  assert counts == {"train": 77, "validation": 16, "test": 16}
  assert split == A.split_songs(list(reversed(songs)))
