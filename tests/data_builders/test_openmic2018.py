"""OpenMIC-2018 builder: npz/CSV/partition validation, errata, validation carve, and builds."""

from __future__ import annotations

import json
import logging
import pathlib
import shutil

import numpy as np
import pytest

import data_builders
from data_builders.openmic2018 import fixtures, layout
from data_builders.openmic2018.openmic2018 import Openmic2018Config
from instrax.audio import io
from instrax.data.vocabularies import OPENMIC
from instrax.errors import ConfigError, DatasetError
from tests.conftest import split_examples

REAL_KEY = "000046_3840"


def build(manual_dir: pathlib.Path, data_dir: pathlib.Path, spec: str = "openmic2018", **kwargs):
  return data_builders.prepare(spec, str(data_dir), manual_dir, **kwargs)


examples = split_examples


def raw_npz(root: pathlib.Path) -> dict[str, np.ndarray]:
  with np.load(root / layout.NPZ, allow_pickle=True) as z:
    return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def real(request) -> pathlib.Path | None:
  try:
    return request.getfixturevalue("real_fixtures") / "openmic2018"
  except pytest.skip.Exception:
    return None


@pytest.fixture(scope="module")
def tree(tmp_path_factory, real) -> pathlib.Path:
  return fixtures.make_tree(tmp_path_factory.mktemp("openmic") / "manual", real)


@pytest.fixture
def copy(tree, tmp_path) -> pathlib.Path:
  """A private copy of the fake tree, to break."""
  return pathlib.Path(shutil.copytree(tree, tmp_path / "manual" / "openmic-2018"))


@pytest.fixture(scope="module")
def features(tree, tmp_path_factory):
  return build(tree.parent, tmp_path_factory.mktemp("data"), "openmic2018/features")


@pytest.fixture(scope="module")
def audio32k(tree, tmp_path_factory):
  return build(tree, tmp_path_factory.mktemp("data"))  # manual_dir = openmic-2018/ itself


# --- reading the release files ---------------------------------------------------------------

def test_npz_has_real_dtypes_and_loads_cast(tree):
  raw = raw_npz(tree)
  assert raw["X"].dtype == np.int64 and raw["Y_true"].dtype == np.float64
  assert raw["Y_mask"].dtype == np.bool_ and raw["sample_key"].dtype == object
  data = layout.load_npz(tree / layout.NPZ)
  n = len(raw["sample_key"])
  assert data.vggish.dtype == np.float32 and data.vggish.shape == (n, 10, 128)
  assert data.relevance.dtype == np.float32 and data.mask.dtype == np.bool_
  assert data.keys.dtype.kind == "U" and list(data.keys) == sorted(raw["sample_key"].tolist())
  np.testing.assert_array_equal(data.vggish, raw["X"])
  np.testing.assert_allclose(data.relevance, raw["Y_true"], atol=1e-7)
  np.testing.assert_array_equal(data.mask, raw["Y_mask"])
  assert np.all(data.relevance[~data.mask] == 0.5)


def test_real_fixture_files_are_in_the_tree(tree, real):
  if real is None:
    pytest.skip("real fixtures absent")
  data = layout.load_npz(tree / layout.NPZ)
  i = data.index()[REAL_KEY]
  features = json.loads((real / "vggish/000" / f"{REAL_KEY}.json").read_text())["features"]
  np.testing.assert_array_equal(data.vggish[i], np.asarray(features))
  assert data.mask[i].sum() == 3  # clarinet, flute, trumpet in the real aggregated CSV
  assert data.relevance[i, OPENMIC.index("clarinet")] == pytest.approx(0.17105)
  assert (tree / "audio/000" / f"{REAL_KEY}.ogg").read_bytes() == (
      real / "audio/000" / f"{REAL_KEY}.ogg").read_bytes()
  for split, rel in layout.PARTITIONS.items():
    real_keys = layout.read_partition(real / rel)
    assert layout.read_partition(tree / rel)[:len(real_keys)] == real_keys, split


def test_find_root_accepts_folder_or_parent(tree, tmp_path):
  assert layout.find_root(tree) == tree
  assert layout.find_root(tree.parent) == tree
  with pytest.raises(DatasetError, match=r"openmic-2018\.npz"):
    layout.find_root(tmp_path)


def test_labels_csv_agrees_with_npz(tree):
  data = layout.load_npz(tree / layout.NPZ)
  relevance, mask = layout.labels_from_csv(tree / layout.LABELS_CSV, data.keys, OPENMIC)
  np.testing.assert_array_equal(mask, data.mask)
  np.testing.assert_allclose(relevance, data.relevance, atol=1e-6)
  layout.check_labels_agree(data, relevance, mask, "csv")


def test_errata_applied_once():
  keys = ["095253_134400", "095263_96000", "113025_99840", "200001_0"]
  relevance = np.full((4, 20), 0.5, np.float32)
  mask = np.zeros((4, 20), bool)
  relevance[0, OPENMIC.index("piano")], mask[0, OPENMIC.index("piano")] = 0.0, True
  relevance[1, OPENMIC.index("mallet_percussion")] = 0.8  # observed, already positive
  mask[1, OPENMIC.index("mallet_percussion")] = True
  fixed, fixed_mask, changed = layout.apply_errata(relevance, mask, keys, OPENMIC)
  assert changed == 2
  assert fixed[0, OPENMIC.index("piano")] == 1.0 and fixed_mask[0, OPENMIC.index("piano")]
  assert fixed[1, OPENMIC.index("mallet_percussion")] == pytest.approx(0.8)
  assert fixed[2, OPENMIC.index("trumpet")] == 1.0 and fixed_mask[2, OPENMIC.index("trumpet")]
  assert fixed_mask.sum() == 3 and relevance[0, OPENMIC.index("piano")] == 0.0  # inputs kept
  assert layout.apply_errata(fixed, fixed_mask, keys, OPENMIC)[2] == 0


def test_carve_validation_keeps_groups_whole_and_is_deterministic():
  keys = [f"{t:06d}_{s}" for t in range(1, 21) for s in range(t % 3 + 1)]
  artists = {k: str(int(k[:6]) // 4) for k in keys}  # 4 tracks per artist
  groups = {k: layout.group_of(k, artists) for k in keys}
  train, val = layout.carve_validation(keys, groups, 0.25)
  assert sorted(train + val) == sorted(keys) and not set(train) & set(val)
  assert round(0.25 * len(keys)) <= len(val) < len(keys) / 2
  assert not {groups[k] for k in train} & {groups[k] for k in val}
  # Pinned: groups in sha1("0:<group>") order are artist 4 (8 keys), 5 (3 keys), ...; 41 keys ·
  # 0.25 → 10, reached after artists 4 and 5, i.e. tracks 16-20.
  assert val == [k for k in keys if int(k[:6]) >= 16]
  assert layout.carve_validation(keys, groups, 0.0) == (keys, [])
  by_track = {k: layout.group_of(k, {}) for k in keys}
  assert by_track[keys[0]] == "track:000001" and groups[keys[0]] == "artist:0"
  with pytest.raises(ConfigError):
    layout.carve_validation(keys, groups, 1.0)


def test_splits_without_metadata_are_track_disjoint(copy):
  (copy / layout.METADATA_CSV).unlink()
  data = layout.load_labelled(copy)
  splits = layout.make_splits(copy, data.keys, 0.3)
  tracks = {s: {k.split("_")[0] for k in ks} for s, ks in splits.items()}
  assert splits["validation"] and not tracks["train"] & tracks["validation"]


# --- bad input ---------------------------------------------------------------------------------

def resave_npz(root: pathlib.Path, **changes) -> None:
  arrays = raw_npz(root)
  arrays.update(changes)
  np.savez(root / layout.NPZ, **{k: v for k, v in arrays.items() if v is not None})


def test_npz_missing_array(copy):
  resave_npz(copy, Y_mask=None)
  with pytest.raises(DatasetError, match=r"openmic-2018\.npz.*missing.*Y_mask"):
    layout.load_labelled(copy)


def test_npz_wrong_shape(copy):
  resave_npz(copy, X=raw_npz(copy)["X"][:, :, :127])
  with pytest.raises(DatasetError, match=r"openmic-2018\.npz: X has shape .*127"):
    layout.load_labelled(copy)


def test_npz_unreadable(copy):
  (copy / layout.NPZ).write_bytes(b"not a zip")
  with pytest.raises(DatasetError, match=r"openmic-2018\.npz: cannot read"):
    layout.load_labelled(copy)


def test_class_map_disagreeing_with_npz(copy, tmp_path):
  mapping = {c: i for i, c in enumerate(OPENMIC[:19])}
  (copy / layout.CLASS_MAP).write_text(json.dumps(mapping))
  with pytest.raises(DatasetError, match=r"class-map\.json: 19 classes but the npz has 20"):
    build(copy.parent, tmp_path / "data", "openmic2018/features")
  mapping = {c: i for i, c in enumerate(OPENMIC)} | {"bass": 3, "cello": 2}
  (copy / layout.CLASS_MAP).write_text(json.dumps(mapping))
  with pytest.raises(DatasetError, match=r"class-map\.json: classes differ.*'cello' != 'bass'"):
    layout.load_labelled(copy)


def test_partition_key_absent_from_npz(copy):
  path = copy / layout.PARTITIONS["train"]
  path.write_text(path.read_text() + "999999_0\n")
  with pytest.raises(DatasetError, match=r"split01_train\.csv: 1 key\(s\) not in .*999999_0"):
    layout.make_splits(copy, layout.load_npz(copy / layout.NPZ).keys, 0.1)


def test_labels_csv_disagreeing_with_npz(copy):
  path = copy / layout.LABELS_CSV
  lines = path.read_text().splitlines()
  key, inst, _, n = lines[-1].split(",")
  path.write_text("\n".join([*lines[:-1], f"{key},{inst},0.333,{n}"]) + "\n")
  with pytest.raises(DatasetError, match=rf"aggregated-labels\.csv disagrees .*{key}/{inst}"):
    layout.load_labelled(copy)


def test_missing_audio_fails_by_default_and_writes_nothing(copy, tmp_path):
  layout.audio_path(copy, "200003_5000").unlink()
  with pytest.raises(DatasetError, match=r"1 key\(s\) have no audio file, e.g. 200003_5000"):
    build(copy.parent, tmp_path / "data")
  assert not list((tmp_path / "data").glob("openmic2018/*/*/dataset_info.json"))


def test_no_manual_dir(tmp_path):
  with pytest.raises(DatasetError, match="manual dir"):
    build(tmp_path / "nowhere", tmp_path / "data", "openmic2018/features")


def test_bad_config_values(copy, tmp_path):
  with pytest.raises(ConfigError, match="on_missing_audio"):
    build(copy, tmp_path / "data", config=Openmic2018Config(name="x", on_missing_audio="drop"))


# --- builds ------------------------------------------------------------------------------------

def test_features_build_without_audio(tmp_path, real):
  root = fixtures.make_tree(tmp_path / "manual", real, with_audio=False)
  assert not (root / "audio").exists()
  builder = build(root.parent, tmp_path / "data", "openmic2018/features")
  assert "audio" not in builder.info.features
  assert builder.info.metadata["classes"] == list(OPENMIC)
  assert len(builder.as_data_source("test")) == len(layout.read_partition(
      root / layout.PARTITIONS["test"]))


def test_features_splits_and_labels(features, tree):
  data = layout.load_npz(tree / layout.NPZ)
  raw_row = data.index()
  train_keys = layout.read_partition(tree / layout.PARTITIONS["train"])
  test_keys = layout.read_partition(tree / layout.PARTITIONS["test"])
  splits = {s: examples(features, s) for s in ("train", "validation", "test")}
  assert len(splits["validation"]) >= round(0.1 * len(train_keys)) > 0
  assert set(splits["train"]) | set(splits["validation"]) == set(train_keys)
  assert set(splits["test"]) == set(test_keys)
  assert not set(splits["train"]) & set(splits["validation"])
  artists = layout.read_artists(tree / layout.METADATA_CSV)
  owners = {s: {artists[k] for k in splits[s]} for s in splits}
  assert not owners["train"] & owners["validation"]
  errata = dict(layout.ERRATA)
  for split in splits.values():
    for key, ex in split.items():
      i = raw_row[key]
      np.testing.assert_array_equal(ex["vggish"], data.vggish[i])
      if key in errata:
        j = OPENMIC.index(errata[key])
        assert ex["relevance"][j] == 1.0 and ex["mask"][j]
        assert data.relevance[i, j] in (0.0, 0.5)  # the fake npz holds the wrong label
        ex["relevance"][j], ex["mask"][j] = data.relevance[i, j], data.mask[i, j]
      np.testing.assert_array_equal(ex["relevance"], data.relevance[i])
      np.testing.assert_array_equal(ex["mask"], data.mask[i])
  assert errata.keys() <= set().union(*splits.values())


def test_audio32k_is_resampled_mono(audio32k, tree, real):
  assert audio32k.info.metadata["sample_rate"] == 32000
  assert audio32k.info.metadata["channels"] == 1
  train = examples(audio32k, "train")
  ex = train["200001_0"]
  assert ex["audio"].dtype == np.int16 and ex["audio"].shape == (32000, 1)
  expected, _ = io.load(layout.audio_path(tree, "200001_0"), 32000, 1)
  np.testing.assert_array_equal(ex["audio"][:, 0], io.to_pcm16(expected)[0])
  if real is not None:  # the real fixture clip: 2 s at 22.05 kHz mono
    assert train[REAL_KEY]["audio"].shape == (64000, 1)
  assert sum(audio32k.info.splits[s].num_examples for s in ("train", "validation", "test")) == (
      len(raw_npz(tree)["sample_key"]))


def test_audio44k_keeps_stereo(tree, tmp_path):
  builder = build(tree.parent, tmp_path / "data", "openmic2018/audio44k")
  ex = examples(builder, "test")["300001_0"]
  assert ex["audio"].shape == (44100, 2) and ex["audio"].dtype == np.int16
  assert np.abs(ex["audio"][:, 0].astype(float) - ex["audio"][:, 1]).mean() > 100  # 2 tones


def test_missing_audio_skip_mode_counts(copy, tmp_path, caplog):
  for key in ("200003_5000", "300002_0"):
    layout.audio_path(copy, key).unlink()
  config = Openmic2018Config(name="skip_missing", on_missing_audio="skip")
  with caplog.at_level(logging.WARNING):
    builder = build(copy, tmp_path / "data", config=config)
  n_train = len(layout.read_partition(copy / layout.PARTITIONS["train"]))
  n_test = len(layout.read_partition(copy / layout.PARTITIONS["test"]))
  splits = builder.info.splits
  assert splits["train"].num_examples + splits["validation"].num_examples == n_train - 1
  assert splits["test"].num_examples == n_test - 1
  assert "test: skipped 1 key(s) with no audio file" in caplog.text
  assert "300002_0" not in examples(builder, "test")


def test_corrupt_audio_skipped_by_default_or_fatal(copy, tmp_path, caplog):
  layout.audio_path(copy, "300001_10000").write_bytes(b"OggS garbage" * 10)
  with caplog.at_level(logging.WARNING):
    builder = build(copy, tmp_path / "skip")
  assert "300001_10000" not in examples(builder, "test")
  assert "test: skipped 1 bad audio file(s)" in caplog.text
  config = Openmic2018Config(name="fail_bad", on_bad_audio="fail")
  with pytest.raises(DatasetError, match=r"bad audio for key 300001_10000"):
    build(copy, tmp_path / "fail", config=config)


def test_tampered_npz_cannot_run_code(tmp_path):
  """An object array whose pickle calls a function is refused, and the function never runs."""
  import os

  from instrax.errors import DatasetError

  marker = tmp_path / "pwned"

  class Evil:
    def __reduce__(self):
      return (os.mkdir, (str(marker),))

  path = tmp_path / "openmic-2018.npz"
  np.savez(path, X=np.zeros((1, 10, 128), np.int64), Y_true=np.zeros((1, 20)),
           Y_mask=np.zeros((1, 20), bool), sample_key=np.array([Evil()], dtype=object))
  with pytest.raises(DatasetError, match="cannot read npz"):
    layout.load_npz(path)
  assert not marker.exists()


def test_os_metadata_files_are_ignored_and_counted(copy, tmp_path, caplog):
  root = copy
  ogg = layout.audio_path(root, "200001_0")
  (ogg.parent / f"._{ogg.name}").write_bytes(b"\x00\x05\x16\x07Mac OS X" + bytes(40))
  (root / "__MACOSX").mkdir()
  (root / "__MACOSX" / "._openmic-2018.npz").write_bytes(b"\x00\x05\x16\x07")
  with caplog.at_level(logging.WARNING):
    builder = build(root.parent, tmp_path / "data")
  assert "ignored 2 OS metadata file(s)" in caplog.text
  assert "200001_0" in {**examples(builder, "train"), **examples(builder, "test")}
