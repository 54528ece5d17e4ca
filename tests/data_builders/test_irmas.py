"""IRMAS builder: name/label parsing, song-level split, and builds of a fake tree + real files."""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import shutil

import numpy as np
import pytest
import soundfile as sf

import data_builders
from data_builders.irmas import fixtures, layout
from data_builders.irmas.irmas import IrmasConfig
from instrax.audio import io
from instrax.data.vocabularies import IRMAS
from instrax.errors import AudioDecodeError, DatasetError
from tests.conftest import split_examples

REAL_TRAIN = "IRMAS-TrainingData/cla/[cla][cla]0189__2.wav"
REAL_TEST = "IRMAS-TestingData-Part1/Part1/02 - And The Body Will Die-8.wav"


def build(manual_dir: pathlib.Path, data_dir: pathlib.Path, spec: str = "irmas", **kwargs):
  return data_builders.prepare(spec, str(data_dir), manual_dir, **kwargs)


examples = split_examples


@pytest.fixture(scope="module")
def fake(tmp_path_factory, request) -> fixtures.FakeIrmas:
  try:
    real = request.getfixturevalue("real_fixtures") / "irmas"
  except pytest.skip.Exception:
    real = None
  return fixtures.make_fake_irmas(tmp_path_factory.mktemp("irmas") / "manual", real)


@pytest.fixture(scope="module")
def built(fake, tmp_path_factory):
  return build(fake.root, tmp_path_factory.mktemp("data"))


# --- pure functions ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("[cel][cla]0001__1.wav", layout.TrainName("cel", "cla", "unknown", 1, 1, None)),
    ("[cla][pop_roc]2548__3.wav", layout.TrainName("cla", "pop_roc", "unknown", 2548, 3, None)),
    ("031__[cel][nod][cla]0020__1.wav", layout.TrainName("cel", "cla", "nod", 20, 1, 31)),
    ("128__[voi][dru][lat_sou]1234__2.wav",
     layout.TrainName("voi", "lat_sou", "dru", 1234, 2, 128)),
])
def test_parse_train_name(name, expected):
  assert layout.parse_train_name(name) == expected


@pytest.mark.parametrize("name", [
    "[xyz][cla]0001__1.wav", "[cel][rock]0001__1.wav", "[cel][cla]0001_1.wav",
    "cel_0001__1.wav", "031__[cel][maybe][cla]0020__1.wav", "[cel][cla]0001__1.mp3"])
def test_parse_train_name_rejects(name):
  with pytest.raises(DatasetError, match=name.replace("[", r"\[").replace("]", r"\]")):
    layout.parse_train_name(name)


def test_read_labels_real_bytes(real_fixtures, tmp_path):
  path = real_fixtures / "irmas" / REAL_TEST.replace(".wav", ".txt")
  assert path.read_bytes() == b"gel\t\nvoi\t\n"
  assert layout.read_labels(path) == ("gel", "voi")


def test_parse_labels_variants():
  assert layout.parse_labels("\ufeffpia\t\r\nvoi \n\npia\t\n", "x.txt") == ("pia", "voi")
  with pytest.raises(DatasetError, match=r"odd \(1\)\.txt.*empty"):
    layout.parse_labels(" \t\n", "odd (1).txt")
  with pytest.raises(DatasetError, match=r"a\.txt.*'drm'"):
    layout.parse_labels("gel\t\ndrm\t\n", "a.txt")


@pytest.mark.parametrize("data", [
    b"cel\t\nvoi\t\n", b"cel\t\nvoi\t", b"cel\nvoi", b"cel\r\nvoi", b"cel\rvoi\r\n"])
def test_read_labels_keeps_the_last_line_with_or_without_a_final_newline(tmp_path, data):
  path = tmp_path / "song-1.txt"
  path.write_bytes(data)
  assert layout.read_labels(path) == ("cel", "voi")


def test_missing_label_file_named(tmp_path):
  sf.write(tmp_path / "Song, A & B (x)-1.wav", np.zeros((10, 2)), 44100)
  with pytest.raises(DatasetError, match=r"Song, A & B \(x\)-1\.txt"):
    layout.part_items(1, tmp_path)


def test_instrument_must_match_folder(tmp_path):
  (tmp_path / "cla").mkdir()
  sf.write(tmp_path / "cla" / "[cel][cla]0001__1.wav", np.zeros((10, 2)), 44100)
  with pytest.raises(DatasetError, match=r"\[cel\]\[cla\]0001__1\.wav.*'cla'"):
    layout.training_items(tmp_path)


def test_song_split_keeps_recordings_together(fake):
  items = layout.training_items(fake.root / layout.TRAIN_DIR)
  train, val = layout.split_train(items, 0.15)
  assert len(train) + len(val) == len(items) and train and val
  assert not {it.recording for it in train} & {it.recording for it in val}
  shared = {it.id for it in items if it.recording == fixtures.SHARED_RECORDING}
  assert len(shared) == 4 and (shared <= {it.id for it in val} or shared <= {it.id for it in train})
  assert layout.split_train(items, 0.0) == (items, [])
  # Over many recordings the held-out share approaches the fraction, and is deterministic.
  held = [layout.is_validation(r, 0.15) for r in range(1, 2549)]
  assert 0.13 < np.mean(held) < 0.17
  # Pinned, so a salted or version-dependent hash fails: sha256(b"irmas/recording/NNNN")'s first
  # 8 bytes / 2^64 < 0.15 (computed apart from the builder) for these recordings of 1..60.
  assert [r for r in range(1, 61) if layout.is_validation(r, 0.15)] == [
      11, 17, 22, 23, 28, 42, 46, 48, 51, 58]


def test_find_test_parts_alternative_layouts(tmp_path):
  (tmp_path / "Part1").mkdir()
  (tmp_path / "IRMAS-TestingData" / "IRTestingData-Part2").mkdir(parents=True)
  (tmp_path / "IRMAS-TestingData-Part3" / "Part3").mkdir(parents=True)
  assert layout.find_test_parts(tmp_path) == {
      1: tmp_path / "Part1", 2: tmp_path / "IRMAS-TestingData" / "IRTestingData-Part2",
      3: tmp_path / "IRMAS-TestingData-Part3" / "Part3"}


# --- builds -----------------------------------------------------------------------------------

def test_split_sizes_and_song_split(built, fake):
  train, val, test = (examples(built, s) for s in ("train", "validation", "test"))
  assert {s: i.num_examples for s, i in built.info.splits.items()} == {
      "train": len(train), "validation": len(val), "test": len(fake.test)}
  assert set(train) | set(val) == set(fake.training) and not set(train) & set(val)
  assert set(test) == set(fake.test)
  assert 0 < len(val) < len(train)
  recording = {i: fake.training[i].recording for i in fake.training}
  assert not {recording[i] for i in train} & {recording[i] for i in val}


def test_features_match_files(built, fake):
  assert built.info.features["audio"].shape == (None, 2)
  for split, expect in (("train", fake.training), ("validation", fake.training),
                        ("test", fake.test)):
    for id_, ex in examples(built, split).items():
      e = expect[id_]
      assert ex["labels"].dtype == np.float32 and ex["labels"].shape == (11,)
      assert [IRMAS[i] for i in np.flatnonzero(ex["labels"])] == sorted(e.labels, key=IRMAS.index)
      assert built.info.features["genre"].int2str(ex["genre"]) == e.genre
      assert built.info.features["drums"].int2str(ex["drums"]) == e.drums
      assert int(ex["part"]) == e.part
      pcm, rate = sf.read(fake.root / id_, dtype="int16", always_2d=True)
      assert rate == 44100 and ex["audio"].dtype == np.int16
      # ≤ 1 LSB: io.to_pcm16 scales by 32767 while decoding divides by 32768.
      np.testing.assert_allclose(ex["audio"], pcm, rtol=0, atol=1)


def test_real_files(built, real_fixtures):
  by_id = {**examples(built, "train"), **examples(built, "validation")}
  train = by_id[REAL_TRAIN]
  assert train["audio"].shape == (132299, 2)  # every IRMAS training excerpt has 132,299 frames
  np.testing.assert_array_equal(train["labels"], np.eye(11, dtype=np.float32)[IRMAS.index("cla")])
  assert built.info.features["genre"].int2str(train["genre"]) == "cla"  # classical, not clarinet
  test = examples(built, "test")[REAL_TEST]
  assert test["audio"].shape == (88200, 2) and int(test["part"]) == 1
  assert [IRMAS[i] for i in np.flatnonzero(test["labels"])] == ["gel", "voi"]
  assert built.info.features["genre"].int2str(test["genre"]) == "unknown"


def test_metadata_reloads(built):
  again = data_builders.get_builder("irmas", str(built.data_dir).split("/irmas/")[0])
  assert dict(again.info.metadata) == {"sample_rate": 44100, "channels": 2, "classes": list(IRMAS)}
  assert again.info.splits["test"].num_examples == built.info.splits["test"].num_examples


def test_bad_audio_skipped_and_counted(fake, tmp_path, caplog):
  with caplog.at_level(logging.WARNING):
    builder = build(fake.root, tmp_path)
  assert fake.bad[0] not in examples(builder, "test")
  assert "test: skipped 1 bad audio file(s)" in caplog.text


def test_bad_audio_fails(fake, tmp_path):
  config = IrmasConfig(name="strict", on_bad_audio="fail")
  with pytest.raises(AudioDecodeError, match=r"corrupt \(take 2\)-1\.wav"):
    build(fake.root, tmp_path, config=config)


def test_mono22k_resamples(fake, tmp_path):
  builder = build(fake.root, tmp_path, "irmas/mono22k")
  assert builder.info.metadata["sample_rate"] == 22050 and builder.info.metadata["channels"] == 1
  for id_, ex in examples(builder, "test").items():
    frames = sf.info(fake.root / id_).frames
    assert ex["audio"].shape == (round(frames / 2), 1) and ex["audio"].dtype == np.int16
    stereo, _ = io.load(fake.root / id_)
    mono = io.resample(stereo.mean(0, keepdims=True), 44100, 22050)
    # Resampling a file that peaks at full scale overshoots it: scaled to fit, never clipped.
    peak = max(float(mono.max()) * 32768 / 32767, -float(mono.min()))
    gain = min(1.0, 1.0 / peak)
    assert ex["gain"] == pytest.approx(gain, rel=1e-6)
    np.testing.assert_allclose(ex["audio"], np.round(mono.T * gain * 32768), atol=1)
    assert np.abs(io.from_pcm16(ex["audio"]).T / ex["gain"] - mono).max() <= 1 / 32768 / gain


def test_validation_fraction_zero(fake, tmp_path):
  config = dataclasses.replace(IrmasConfig(name="noval"), validation_fraction=0.0)
  builder = build(fake.root, tmp_path, config=config)
  assert set(builder.info.splits) == {"train", "test"}
  assert builder.info.splits["train"].num_examples == len(fake.training)


def test_missing_training_folder(fake, tmp_path):
  manual = tmp_path / "manual"
  shutil.copytree(fake.root / "IRMAS-TestingData-Part1", manual / "IRMAS-TestingData-Part1")
  with pytest.raises(DatasetError, match=r"IRMAS-TrainingData.*manual.*1290750"):
    build(manual, tmp_path / "data")


def test_missing_test_parts(fake, tmp_path):
  manual = tmp_path / "manual"
  shutil.copytree(fake.root / layout.TRAIN_DIR, manual / layout.TRAIN_DIR)
  with pytest.raises(DatasetError, match=r"IRMAS-TestingData-Part1/Part1.*1290750"):
    build(manual, tmp_path / "data")


def test_missing_manual_dir(tmp_path):
  expected = r"(?s)nowhere does not exist.*1290750.*IRMAS-TrainingData/<inst>"
  with pytest.raises(DatasetError, match=expected):
    build(tmp_path / "nowhere", tmp_path / "data")


# --- issue #15: OS metadata files, files with no signal, float files beyond full scale ----------

APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(64)


def test_os_metadata_silence_and_loud_float(fake, tmp_path, caplog):
  root = pathlib.Path(shutil.copytree(fake.root, tmp_path / "manual"))
  cel = root / layout.TRAIN_DIR / "cel"
  (cel / "._[cel][cla]0100__1.wav").write_bytes(APPLEDOUBLE)
  (root / layout.TRAIN_DIR / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
  part1 = root / "IRMAS-TestingData-Part1" / "Part1"
  stem = "01 - Rock & Roll (Live, 1999)-1"
  (part1 / f"._{stem}.wav").write_bytes(APPLEDOUBLE)
  (part1 / f"._{stem}.txt").write_bytes(APPLEDOUBLE)
  sf.write(part1 / "silent-9.wav", np.zeros((44100, 2)), 44100, subtype="PCM_16")
  (part1 / "silent-9.txt").write_text("pia\n")
  t = np.arange(22050) / 44100
  loud = np.stack([4.0 * np.sin(2 * np.pi * 440 * t), -2.0 * np.sin(2 * np.pi * 550 * t)], 1)
  sf.write(part1 / "loud-9.wav", loud, 44100, subtype="FLOAT")
  (part1 / "loud-9.txt").write_text("org\n")
  with caplog.at_level(logging.WARNING):
    builder = build(root, tmp_path / "data")
  assert "ignored 4 OS metadata file(s)" in caplog.text
  assert "test: skipped 2 bad audio file(s): {'no signal': 1, 'cannot decode audio': 1}" in (
      caplog.text)
  test = examples(builder, "test")
  assert not any("/._" in id_ for id_ in test) and "silent-9.wav" not in " ".join(test)
  ex = test["IRMAS-TestingData-Part1/Part1/loud-9.wav"]
  peak = np.abs(loud.astype(np.float32)).max()  # 4.0 at t = 1/1760 s: a sample lands on it
  assert ex["gain"] == pytest.approx(32767 / 32768 / peak, rel=1e-6)
  assert np.abs(ex["audio"]).max() == 32767
  restored = io.from_pcm16(ex["audio"]) / ex["gain"]
  assert np.abs(restored - loud).max() <= 0.5 / 32768 / ex["gain"] * 1.001  # nothing clipped
  assert all(e["gain"] == 1.0 for i, e in test.items() if "loud" not in i)
  assert "1 file(s) exceeded full scale" in caplog.text
  assert set(examples(builder, "train")) | set(examples(builder, "validation")) == set(
      fake.training)
