"""MagnaTagATune builder: the real Won et al. split files, annotations parsing, and a build."""

from __future__ import annotations

import numpy as np
import pytest

import data_builders
from data_builders.mtat import fixtures, layout
from instrax.audio import io
from instrax.data.vocabularies import MTAT
from instrax.errors import DatasetError
from tests.conftest import split_examples


@pytest.fixture(scope="module")
def fake(tmp_path_factory, request) -> fixtures.FakeMtat:
  try:
    split_dir = request.getfixturevalue("real_fixtures") / "mtat" / "split"
  except pytest.skip.Exception:
    split_dir = None
  return fixtures.make_tree(tmp_path_factory.mktemp("mtat") / "manual", split_dir)


def test_vocabulary_is_won_et_al_tags_npy(real_fixtures):
  tags = np.load(real_fixtures / "mtat" / "split" / "tags.npy")
  assert tuple(tags.tolist()) == MTAT and len(set(MTAT)) == 50


def test_real_split_files(real_fixtures):
  split = real_fixtures / "mtat" / "split"
  valid, test = (layout.read_split(split / n) for n in ("valid.npy", "test.npy"))
  assert (len(valid), len(test)) == (1529, 4332)  # datasets.md §7
  assert {m[0] for _, m in valid} == {"c"} and {m[0] for _, m in test} == {"d", "e", "f"}
  assert not {i for i, _ in valid} & {i for i, _ in test}
  assert test[0] == (0, "f/american_bach_soloists-j_s__bach_solo_cantatas-01-bwv54__i_aria-30-59"
                        ".mp3")


def test_annotations_columns_by_name(fake):
  clips = layout.read_annotations(fake.root / layout.ANNOTATIONS)
  by_path = {c.mp3_path: c for c in clips}
  for mp3, tags in fake.tags.items():  # the two extra tag columns sit among the top-50 ones
    np.testing.assert_array_equal(by_path[mp3].tags, tags)
  assert [c.row for c in clips] == list(range(len(clips)))
  assert clips[0].clip_id == 2 and clips[1].clip_id == 6


def test_split_rows_must_match_annotations(fake):
  clips = layout.read_annotations(fake.root / layout.ANNOTATIONS)
  with pytest.raises(DatasetError, match="different releases"):
    layout.assign_splits(clips, {"test": [(0, "d/not-this-one.mp3")]})


def test_build(fake, tmp_path, caplog):
  builder = data_builders.prepare("mtat", str(tmp_path), fake.root)
  assert builder.info.metadata["sample_rate"] == 16000
  seen = {}
  for split in builder.info.splits:
    for name, ex in split_examples(builder, split).items():
      seen[name] = split
      np.testing.assert_array_equal(ex["tags"], fake.tags[name])
      assert ex["audio"].dtype == np.int16 and ex["audio"].shape[1] == 1
  assert seen == fake.splits  # the empty, short, untagged and missing clips are not built
  assert "skipped 2 bad audio file(s)" in caplog.text  # the empty mp3, the missing file
  assert "shorter than 29.1 s" in caplog.text
  name = next(n for n, s in fake.splits.items() if s == "train")
  ex = split_examples(builder, "train")[name]
  want, _ = io.load(fake.root / name, 16000, 1)
  got = io.from_pcm16(ex["audio"][:, 0])
  assert abs(got.size - want.shape[1]) < 16000 * 0.1
  n = min(got.size, want.shape[1])
  np.testing.assert_allclose(got[:n], want[0, :n], atol=1e-4)
