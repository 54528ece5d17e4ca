"""FMA builder: tracks.csv's 3-line header, subsets (incl. MSSPT's medium minus small), genres."""

from __future__ import annotations

import numpy as np
import pytest

import data_builders
from data_builders.fma import fixtures, layout
from instrax.data.vocabularies import FMA
from instrax.errors import DatasetError
from tests.conftest import split_examples


@pytest.fixture(scope="module")
def fake(tmp_path_factory) -> fixtures.FakeFma:
  return fixtures.make_tree(tmp_path_factory.mktemp("fma") / "manual")


def test_genre_order_is_msspt():
  assert len(set(FMA)) == 16 and FMA[0] == "Electronic" and FMA[5] == "Old-Time / Historic"
  assert FMA[-1] == "Soul-RnB"


def test_tracks_csv_by_column_name(fake):
  tracks = {t.track_id: t for t in layout.read_tracks(fake.root / layout.TRACKS)}
  assert tracks[1040] == layout.Track(1040, "train", "medium", "Old-Time / Historic")
  assert tracks[140].split == "validation" and tracks[3001].genre_top == ""
  assert tracks[1039].tid == "001039"


@pytest.mark.parametrize("subset,ids", [
    ("small", {2, 5, 140}), ("medium_minus_small", {1039, 1040, 1082, 2011, 3001, 3002, 3003}),
    ("medium", {2, 5, 140, 1039, 1040, 1082, 2011, 3001, 3002, 3003})])
def test_subsets(fake, subset, ids):
  tracks = layout.read_tracks(fake.root / layout.TRACKS)
  assert {t.track_id for t in layout.select(tracks, subset)} == ids


def test_bad_subset_and_header(fake, tmp_path):
  with pytest.raises(DatasetError, match="medium_minus_small"):
    layout.select([], "tiny")
  bad = tmp_path / "tracks.csv"
  bad.write_text("track_id,title\n1,x\n")
  with pytest.raises(DatasetError, match="3 header lines"):
    layout.read_tracks(bad)


def test_build_medium_minus_small(fake, tmp_path, caplog):
  builder = data_builders.prepare("fma/medium_minus_small", str(tmp_path), fake.root)
  seen = {}
  for split in builder.info.splits:
    for tid, ex in split_examples(builder, split).items():
      seen[int(tid)] = split
      genre = fake.tracks[int(tid)][2]
      assert ex["genre"] == FMA.index(genre)
      np.testing.assert_array_equal(ex["labels"], np.eye(16)[FMA.index(genre)])
      assert ex["audio"].shape[1] == 1 and abs(ex["audio"].shape[0] - 16000) < 2000
  # 3001: no genre_top; 3002: corrupt; 3003: missing
  assert seen == {1039: "train", 1040: "train", 1082: "test", 2011: "validation"}
  assert "train: skipped 1 bad audio file(s): {'cannot decode audio': 1}" in caplog.text
  assert "test: skipped 1 bad audio file(s): {'missing file': 1}" in caplog.text
  assert "without a single top-level genre" in caplog.text
