"""Builders warn when a build's item counts differ from the official release (issue #9 item 11).

Before the fix a partial IRMAS download (e.g. test Part2 missing) built silently into a smaller
test set whose numbers are not comparable with published ones.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil

import data_builders
from data_builders.common import warn_unofficial_counts
from data_builders.irmas import fixtures as irmas_fixtures
from data_builders.irmas import layout as irmas_layout
from data_builders.openmic2018 import fixtures as openmic_fixtures
from data_builders.openmic2018 import layout as openmic_layout


@dataclasses.dataclass
class ManualDir:
  """What `_split_generators` reads of TFDS's download manager."""

  manual_dir: str


def test_official_counts_are_the_published_ones():
  assert irmas_layout.OFFICIAL_COUNTS == {"train+validation": 6705, "test": 2874,
                                          "test Part1": 807, "test Part2": 1301,
                                          "test Part3": 766}
  assert 807 + 1301 + 766 == 2874
  assert openmic_layout.OFFICIAL_COUNTS == {"train+validation": 14915, "test": 5085}


def test_helper_is_silent_on_official_counts(caplog):
  with caplog.at_level(logging.WARNING):
    assert warn_unofficial_counts("X", {"train": 3, "test": 2}, {"train": 3, "test": 2}) == []
  assert not caplog.records


def test_helper_lists_each_mismatch(caplog):
  with caplog.at_level(logging.WARNING):
    lines = warn_unofficial_counts("IRMAS", {"test": 1573, "test Part1": 807},
                                   {"test": 2874, "test Part1": 807, "test Part2": 1301})
  assert lines == ["test: 1,573 found, official 2,874", "test Part2: 0 found, official 1,301"]
  assert len(caplog.records) == 1
  assert "IRMAS" in caplog.text and "test Part2: 0 found, official 1,301" in caplog.text
  assert "not comparable" in caplog.text


def test_irmas_build_without_test_part2_warns(tmp_path, caplog):
  fake = irmas_fixtures.make_fake_irmas(tmp_path / "manual")
  shutil.rmtree(tmp_path / "manual" / irmas_layout.TEST_PARTS[2][0])
  n_part = {p: sum(1 for t in irmas_fixtures.TEST_FILES if t[0] == p) for p in (1, 3)}
  builder = data_builders.get_builder("irmas", str(tmp_path / "data"))
  with caplog.at_level(logging.WARNING):
    splits = builder._split_generators(ManualDir(str(fake.root)))
  assert "test" in splits  # still builds, but says so
  text = caplog.text
  assert "test Part2: 0 found, official 1,301" in text
  assert f"test Part1: {n_part[1]} found, official 807" in text
  assert f"test: {n_part[1] + n_part[3]} found, official 2,874" in text
  assert f"train+validation: {len(irmas_fixtures.training_files())} found, official 6,705" in text


def test_openmic_build_with_other_counts_warns(tmp_path, caplog):
  root = openmic_fixtures.make_tree(tmp_path / "manual", with_audio=False)
  n_train = len(openmic_layout.read_partition(root / openmic_layout.PARTITIONS["train"]))
  n_test = len(openmic_layout.read_partition(root / openmic_layout.PARTITIONS["test"]))
  builder = data_builders.get_builder("openmic2018/features", str(tmp_path / "data"))
  with caplog.at_level(logging.WARNING):
    builder._split_generators(ManualDir(str(root)))
  assert f"train+validation: {n_train} found, official 14,915" in caplog.text
  assert f"test: {n_test} found, official 5,085" in caplog.text
