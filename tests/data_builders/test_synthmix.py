"""synthmix: the `tiny` config built once per module, checked feature by feature."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import pytest
import tensorflow_datasets as tfds

import data_builders
from data_builders.synthmix import (
  Synthmix,
  SynthmixConfig,
  arrange,
  example,
  instruments,
  lead,
  render,
  scores,
)
from instrax.data import vocabularies
from instrax.errors import DatasetError

SPLIT_SIZES = {"train": 24, "validation": 8, "test": 8}
SR, RATE, DURATION = 16000, 75.0, 4.0


def _tiny() -> SynthmixConfig:
  return next(c for c in Synthmix.BUILDER_CONFIGS if c.name == "tiny")


def _examples(builder) -> dict[str, list[dict]]:
  source = builder.as_data_source()
  return {split: [source[split][i] for i in range(len(source[split]))] for split in SPLIT_SIZES}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[pathlib.Path, dict[str, list[dict]]]:
  data_dir = tmp_path_factory.mktemp("synthmix")
  builder = data_builders.get_builder("synthmix/tiny", str(data_dir))
  builder.download_and_prepare()
  return data_dir, _examples(builder)


@pytest.fixture(scope="module")
def train(built) -> list[dict]:
  return built[1]["train"]


def test_split_sizes(built):
  data_dir, examples = built
  builder = data_builders.get_builder("synthmix/tiny", str(data_dir))
  assert {s: i.num_examples for s, i in builder.info.splits.items()} == SPLIT_SIZES
  assert {s: len(v) for s, v in examples.items()} == SPLIT_SIZES


def test_pieces_and_excerpts_are_pinned(built):
  """Fixed expected ids (a salted or version-dependent choice of pieces or excerpts fails): the
  pieces split in sha1-of-name order, the excerpts drawn from the seeded per-example RNG."""
  ids = {split: sorted((int(i.split("#")[1]), i) for i in (e["id"].decode() for e in exs))
         for split, exs in built[1].items()}
  assert {i.split(" ")[0] for _, i in ids["train"]} == {
      "bach/bwv1.6", "bach/bwv10.7", "bach/bwv101.7", "bach/bwv104.6"}
  assert [i for _, i in ids["validation"]] == [
      f"bach/bwv103.6 bars {b} #{n}" for n, b in enumerate(
          ["4-6", "14-15", "8-9", "9-11", "1-3", "3-4", "11-13", "13-14"])]
  assert [i for _, i in ids["test"]] == [
      f"bach/bwv102.7 bars {b} #{n}" for n, b in enumerate(
          ["4-5", "9-12", "4-5", "12-13", "7-8", "13-15", "7-8", "6-8"])]
  assert ids["train"][0][1] == "bach/bwv104.6 bars 3-4 #0"


def test_metadata_survives_reload(built):
  data_dir = built[0]
  fresh = data_builders.get_builder("synthmix/tiny", str(data_dir))
  assert fresh.info.metadata["sample_rate"] == SR
  assert fresh.info.metadata["channels"] == 1
  from_disk = tfds.builder_from_directory(fresh.data_dir)
  assert fresh.data_dir.endswith(f"synthmix/tiny/{Synthmix.VERSION}")
  assert from_disk.info.metadata["sample_rate"] == SR
  assert from_disk.info.metadata["lead_frame_rate"] == RATE
  assert from_disk.info.metadata["vocabularies"]["irmas"] == list(vocabularies.IRMAS)


def test_feature_shapes_and_dtypes(train):
  for ex in train:
    k = len(ex["programs"])
    assert isinstance(ex["id"], bytes) and b" bars " in ex["id"] and b" #" in ex["id"]
    assert ex["audio"].shape == (DURATION * SR, 1) and ex["audio"].dtype == np.int16
    assert ex["stems"].shape == (k, DURATION * SR) and ex["stems"].dtype == np.int16
    assert 1 <= k <= _tiny().max_tracks and ex["programs"].dtype == np.int32
    for key, n in [("irmas_labels", 11), ("openmic_labels", 20), ("openmic_relevance", 20)]:
      assert ex[key].shape == (n,) and ex[key].dtype == np.float32
    assert ex["openmic_mask"].shape == (20,) and ex["openmic_mask"].dtype == np.bool_
    assert ex["notes"].ndim == 2 and ex["notes"].shape[1] == 5 and ex["notes"].dtype == np.float32
    assert ex["lead"].shape == (DURATION * RATE,) and ex["lead"].dtype == np.int32


def test_stems_sum_to_mix(train):
  for ex in train:
    residual = ex["stems"].astype(np.int32).sum(axis=0) - ex["audio"][:, 0]
    assert np.abs(residual).max() <= len(ex["programs"])  # int16 rounding only


def test_audio_is_loud_but_not_clipped(train):
  for ex in train:
    audio = ex["audio"].astype(np.float64) / 32768
    peak = np.abs(audio).max()
    assert 10 ** (-1.5 / 20) <= peak <= 10 ** (-1 / 20) + 1e-4
    assert np.sqrt(np.mean(audio ** 2)) > 0.02
    for stem in ex["stems"]:
      assert np.abs(stem.astype(np.float64)).max() > 300  # every track is audible


def test_labels_follow_programs(train):
  for ex in train:
    programs = ex["programs"]
    np.testing.assert_array_equal(ex["irmas_labels"], vocabularies.multi_hot(programs, "irmas"))
    np.testing.assert_array_equal(ex["openmic_labels"], vocabularies.multi_hot(programs, "openmic"))
    melodic = [p for p in programs if p in vocabularies.GM_TO_IRMAS]
    assert 1 <= len(melodic) <= 3
    assert len({vocabularies.GM_TO_IRMAS[p] for p in melodic}) == len(melodic)  # distinct classes
    assert sum(p in instruments.BASS_PROGRAMS for p in programs) <= 1
    assert sum(p == vocabularies.DRUMS for p in programs) <= 1
    assert len(melodic) + sum(p in instruments.BASS_PROGRAMS or p == 128 for p in programs) \
        == len(programs)


def test_openmic_partial_labels(train):
  for ex in train:
    labels, mask, relevance = ex["openmic_labels"], ex["openmic_mask"], ex["openmic_relevance"]
    assert np.any(mask & (labels == 1)) and np.any(mask & (labels == 0))
    np.testing.assert_array_equal(relevance[mask], labels[mask])
    assert np.all(relevance[~mask] == 0.5)
  assert 0.2 < np.mean([ex["openmic_mask"].mean() for ex in train]) < 0.6


def test_notes_inside_duration_and_ranges(train):
  for ex in train:
    notes, programs = ex["notes"], ex["programs"]
    onset, offset, pitch, velocity, track = notes.T
    assert np.all(onset >= 0) and np.all(offset <= DURATION + 1e-5) and np.all(offset > onset)
    assert np.all((velocity >= 1) & (velocity <= 127))
    np.testing.assert_array_equal(track, track.astype(int))
    assert set(track.astype(int)) == set(range(len(programs)))  # every track plays
    assert np.all(np.diff(onset) >= 0)
    for k, p in enumerate(programs):
      if p != vocabularies.DRUMS:
        lo, hi = instruments.RANGES[int(p)]
        assert np.all((pitch[track == k] >= lo) & (pitch[track == k] <= hi))


def test_lead_is_a_playing_melodic_track(train):
  for ex in train:
    labels, programs, notes = ex["lead"], ex["programs"], ex["notes"]
    assert np.all((labels >= -1) & (labels < len(programs)))
    leads = set(labels[labels >= 0].tolist())
    assert leads and all(int(programs[k]) in vocabularies.GM_TO_IRMAS for k in leads)
    for f in np.flatnonzero(labels >= 0)[::7]:
      mine = notes[notes[:, 4] == labels[f]]
      assert np.any((mine[:, 0] < (f + 1) / RATE) & (mine[:, 1] > f / RATE))


def test_lead_track_is_loudest_in_its_frames(train):
  checked = loudest = 0
  for ex in train:
    stems = ex["stems"].astype(np.float64)
    frames = len(ex["lead"])
    frame_of_sample = np.minimum((np.arange(stems.shape[1]) * RATE / SR).astype(int), frames - 1)
    energy = np.stack([np.bincount(frame_of_sample, s ** 2, frames) for s in stems], axis=1)
    for k in set(ex["lead"][ex["lead"] >= 0].tolist()):
      total = energy[ex["lead"] == k].sum(axis=0)
      checked += 1
      loudest += int(np.argmax(total) == k)
  assert checked >= len(train) and loudest >= 0.9 * checked


def test_rebuild_is_identical_with_pool_and_explicit_soundfont(built, tmp_path):
  """Same seed → byte-identical examples, though rendered by 2 worker processes from a user-named
  SoundFont path (the same TimGM6mb file)."""
  config = dataclasses.replace(_tiny(), name="mine", workers=2,
                               soundfont=str(render.default_soundfont()))
  builder = Synthmix(config=config, data_dir=str(tmp_path), file_format="array_record")
  builder.download_and_prepare()
  again = _examples(builder)
  for split, examples in built[1].items():
    for a, b in zip(examples, again[split], strict=True):
      assert a.keys() == b.keys()
      for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=f"{split} {key}")


def test_missing_soundfont_is_a_dataset_error(tmp_path):
  config = dataclasses.replace(_tiny(), name="nosf", soundfont=str(tmp_path / "nope.sf2"))
  builder = Synthmix(config=config, data_dir=str(tmp_path), file_format="array_record")
  with pytest.raises(DatasetError, match=r"SoundFont not found: .*nope\.sf2"):
    builder.download_and_prepare()


def test_stereo_example_at_44k(built):
  params = example.Params((3.0, 3.0), 44100, 2, 5, 7, 75.0)
  cache = scores.load(_tiny().num_scores, built[0] / "downloads" / "synthmix")  # already parsed
  material = scores.split_scores(scores.read(cache), "train")
  ex = example.make(params, material, "train", 0, render.Renderer(None, 44100))
  assert ex["audio"].shape == (3 * 44100, 2) and ex["stems"].shape[1] == 3 * 44100
  assert np.abs(ex["audio"]).max() <= 32768 * 10 ** (-1 / 20) + 1
  assert not np.array_equal(ex["audio"][:, 0], ex["audio"][:, 1])  # panned


def test_fit_range_keeps_notes_in_range():
  pitches = np.array([48, 50, 52, 55, 100])
  out = instruments.fit_range(pitches, 73)  # flute, 60..96
  # +12 and +24 both fit the bulk; +24 centres it; the outlier is folded down by octaves.
  np.testing.assert_array_equal(out, [72, 74, 76, 79, 88])


def test_lead_gain_ramps_between_levels():
  spans = [(0.0, 1.0, 0), (1.0, 2.0, 1)]
  g = lead.gain(spans, 0, 2 * SR, SR, boost=2.0, ramp_s=0.02)
  assert g[0] == 2.0 and g[-1] == 1.0 and g[SR] == pytest.approx(1.5)
  assert g[SR - 200] == 2.0 and g[SR + 200] == 1.0


def test_frame_labels_mark_silence_as_no_lead():
  notes = [np.array([[0.0, 0.5, 60, 100]]), np.array([[1.2, 2.0, 64, 100]])]
  labels = lead.frame_labels([(0.0, 1.0, 0), (1.0, 2.0, 1)], notes, 2.0, 10.0)
  np.testing.assert_array_equal(labels, [0] * 5 + [-1] * 7 + [1] * 8)


def test_clean_trims_overlapping_unisons():
  notes = np.array([[0.0, 1.0, 60, 90], [0.5, 1.5, 60, 90], [0.5, 0.51, 62, 90]])
  np.testing.assert_array_equal(arrange.clean(notes), [[0.0, 0.5, 60, 90], [0.5, 1.5, 60, 90]])


def test_changed_recipes_carry_a_new_version():
  """`rich` and `ablate_*` render every variety field through RICH_BANKS: adding a field or a
  bank changes their output, so their version must move with it (a 1.1.0 `rich` is then
  refused, not reused); the configs that render as before keep the builder's version."""
  from data_builders.synthmix import synthmix, variety

  recipe_of = {"1.3.0": ({"fonts", "dynamics", "register", "eq", "reverb", "compression",
                          "codec", "noise", "gain", "held", "vibrato", "ensemble"},
                         ("TimGM6mb", "FluidR3_GM", "MuseScore_General", "TonejsInstruments"),
                         (), 0.5),
               "1.4.0": ({"fonts", "dynamics", "register", "eq", "reverb", "compression",
                          "codec", "noise", "gain", "held", "vibrato", "ensemble"},
                         ("TimGM6mb", "FluidR3_GM", "MuseScore_General", "sf_GMbank", "FreePats",
                          "TonejsInstruments"), (), 0.5)}
  fields = {f.name for f in dataclasses.fields(variety.Variety)}
  recipe = (fields, synthmix.RICH_BANKS, synthmix.RICH_FONT_WEIGHTS, synthmix.RICH_CHAIN_PROB)
  assert recipe_of[synthmix.RICH_VERSION] == recipe, "recipe changed: bump RICH_VERSION"
  versions = {c.name: str(data_builders.get_builder(f"synthmix/{c.name}", "/nonexistent").version)
              for c in synthmix.Synthmix.BUILDER_CONFIGS}
  assert versions["rich"] == synthmix.RICH_VERSION
  assert all(versions[f"ablate_{n}"] == synthmix.RICH_VERSION for n in synthmix.ABLATIONS)
  configs = {c.name: c for c in synthmix.Synthmix.BUILDER_CONFIGS}
  assert configs["rich"].chain_prob == synthmix.RICH_CHAIN_PROB
  assert all(configs[f"ablate_{n}"].chain_prob == synthmix.RICH_CHAIN_PROB
             for n in synthmix.ABLATIONS)
  assert {versions[n] for n in ("demo", "tiny", "irmas44k", "piano")} == {"1.0.0"}
