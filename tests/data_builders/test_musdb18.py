"""musdb18 builder: layout, PyAV stem decoding of the real file, and a build of a fake tree."""

from __future__ import annotations

import numpy as np
import pytest

import data_builders
from data_builders.musdb18 import decode, fixtures, layout
from instrax.audio import io
from instrax.errors import AudioDecodeError, DatasetError
from tests.conftest import split_examples


@pytest.fixture(scope="module")
def fake(tmp_path_factory, request) -> fixtures.FakeMusdb:
  try:
    real = request.getfixturevalue("real_fixtures") / "musdb18"
  except pytest.skip.Exception:
    real = None
  return fixtures.make_fake_musdb(tmp_path_factory.mktemp("musdb") / "manual", real)


def test_validation_list_is_the_14_musdb_tracks():
  assert len(set(layout.VALIDATION)) == 14 and "Actions - One Minute Smile" in layout.VALIDATION


def test_tracks_and_splits(fake):
  found = {t.name: t for t in layout.tracks(layout.find_root(fake.root))}
  assert {n: t.split for n, t in found.items() if n in fake.splits} == fake.splits
  assert found["Some Artist - Some Song"].hq and not found["Broken - Track"].hq


def test_find_root_errors(tmp_path):
  with pytest.raises(DatasetError, match="train/ or test/"):
    layout.find_root(tmp_path)


def test_real_stem_file_has_five_streams(real_fixtures):
  path = real_fixtures / "musdb18" / "test" / f"{fixtures.REAL_TRACK}{layout.STEM_SUFFIX}"
  audio, rate = decode.read_stems(path)
  assert rate == 44100 and len(audio) == 5
  assert all(a.shape == audio[0].shape and a.shape[0] == 2 for a in audio)
  assert 5.9 < audio[0].shape[1] / rate < 6.2
  # stream 0 is the mixture: close to (not exactly, AAC) the sum of streams 1-4
  err = np.abs(audio[0] - sum(audio[1:])).mean() / np.abs(audio[0]).mean()
  assert err < 0.2
  assert np.abs(audio[4] - audio[0]).mean() > 0.3 * np.abs(audio[0]).mean()


def test_bad_stem_file_raises(fake):
  with pytest.raises(AudioDecodeError):
    decode.read_stems(fake.root / "train" / f"Broken - Track{layout.STEM_SUFFIX}")


def test_build(fake, tmp_path, caplog):
  builder = data_builders.prepare("musdb18", str(tmp_path), fake.root)
  info = builder.info
  assert info.metadata["sample_rate"] == 16000 and info.metadata["channels"] == 1
  seen = {}
  for split in info.splits:
    for name, ex in split_examples(builder, split).items():
      seen[name] = split
      assert all(ex[k].shape == ex["audio"].shape and ex[k].dtype == np.int16
                 for k in layout.SOURCES)
  assert seen == fake.splits  # the broken track skipped
  assert "skipped 1 bad audio" in caplog.text
  ex = split_examples(builder, "train")["Some Artist - Some Song"]
  want = io.resample(fake.sources["Some Artist - Some Song"]["bass"].T.mean(0, keepdims=True),
                     44100, 16000)
  got = io.from_pcm16(ex["bass"][:, 0])
  np.testing.assert_allclose(got, want[0, :got.size], atol=2e-3)
