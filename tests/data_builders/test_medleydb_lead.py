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


# ---- the builder, on a fake tree in the real layout ------------------------------------------

@pytest.fixture(scope="module")
def fake(tmp_path_factory, request):
  from data_builders.medleydb_lead import fixtures

  try:
    real = request.getfixturevalue("real_fixtures") / "medleydb"
  except pytest.skip.Exception:
    real = None
  return fixtures.make_fake_medleydb(tmp_path_factory.mktemp("medleydb") / "manual", real)


@pytest.fixture(scope="module")
def built(fake, tmp_path_factory):
  import logging

  import data_builders

  records: list[str] = []
  handler = logging.Handler()
  handler.emit = lambda r: records.append(r.getMessage())
  logging.getLogger().addHandler(handler)
  try:
    builder = data_builders.prepare("medleydb_lead", str(tmp_path_factory.mktemp("tfds")),
                                    fake.root)
  finally:
    logging.getLogger().removeHandler(handler)
  return builder, "\n".join(records)


def _all(builder) -> dict[str, tuple[str, dict]]:
  from tests.conftest import split_examples

  return {name: (split, ex) for split in builder.info.splits
          for name, ex in split_examples(builder, split).items()}


def test_build_keeps_annotated_readable_songs_and_reports_the_others(fake, built):
  builder, log = built
  assert builder.info.metadata["sample_rate"] == 24000
  assert sorted(_all(builder)) == sorted(fake.good)
  assert "annotation names stem S05" in log and "unreadable stem" in log
  assert "skipped 2 annotated song(s)" in log


def test_markers_song_labels_instruments_and_audio(built):
  from instrax.audio import io

  _, ex = _all(built[0])["Fake_Markers"]
  assert ex["audio"].shape == (48000, 1) and ex["stems"].shape == (2, 48000)
  assert ex["stems"].dtype == np.int16
  # lead_cross ids (1-based, datasets.md §3): electric_bass 12, flute → woodwind 33
  np.testing.assert_array_equal(ex["instruments"], [12, 33])
  np.testing.assert_array_equal(ex["stem_numbers"], [1, 2])
  want = np.full(150, -1)
  want[37:112] = 1  # S02 from 0.5 s for 1.0 s at 75 Hz: int(37.5) .. int(112.5)
  np.testing.assert_array_equal(ex["lead"], want)
  mix = io.from_pcm16(ex["audio"][:, 0])
  stems = io.from_pcm16(ex["stems"]).sum(0)
  assert np.abs(mix - stems)[100:-100].max() < 2e-3  # the mix is the sum of its stems


def test_song_json_labels(built):
  _, ex = _all(built[0])["Fake_Json"]
  np.testing.assert_array_equal(ex["instruments"], [32, 19])  # vocal, keyboards
  np.testing.assert_array_equal(ex["lead"], np.zeros(150))


def test_real_metadata_song(built, real_fixtures):
  _, ex = _all(built[0])["AClassicEducation_NightOwl"]
  assert ex["stems"].shape == (13, 48000)
  assert ex["instruments"][7] == 32 and ex["instruments"][2] == 13  # male singer, dist. guitar
  want = np.full(150, -1)
  want[15:105] = 7  # S08 0.2-1.4 s
  want[75:90] = 2  # S03 1.0-1.2 s overwrites
  np.testing.assert_array_equal(ex["lead"], want)


def test_seeded_split_has_every_split_with_three_songs(built, real_fixtures):
  splits = sorted(split for split, _ in _all(built[0]).values())
  assert splits == ["test", "train", "validation"]


def test_split_file_decides_the_split(fake, tmp_path):
  import shutil

  import data_builders

  root = tmp_path / "manual"
  shutil.copytree(fake.root, root)
  # the seed's segment metadata.json format: "<song>-<i>": {..., "split": train|valid|test}
  (root / "v1_segmented").mkdir()
  (root / "v1_segmented" / "metadata.json").write_text(json.dumps({
      "Fake_Markers-0": {"split": "valid"}, "Fake_Markers-1": {"split": "valid"},
      "Fake_Json-0": {"split": "test"}}))
  builder = data_builders.prepare("medleydb_lead", str(tmp_path / "tfds"), root)
  got = {name: split for name, (split, _) in _all(builder).items()}
  assert got == {"Fake_Markers": "validation", "Fake_Json": "test"}


def test_split_file_errors(tmp_path):
  from data_builders.medleydb_lead import layout

  path = tmp_path / "split.json"
  path.write_text(json.dumps({"a": "dev"}))
  with pytest.raises(DatasetError, match="'dev'"):
    layout.read_split_file(path)
  path.write_text(json.dumps({"a-0": {"split": "train"}, "a-1": {"split": "test"}}))
  with pytest.raises(DatasetError, match="two splits"):
    layout.read_split_file(path)


def test_missing_tree_is_a_clear_error(tmp_path):
  from data_builders.medleydb_lead import layout

  with pytest.raises(DatasetError, match=r"METADATA\.yaml"):
    layout.find_tracks(tmp_path)
