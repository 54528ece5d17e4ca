"""Stem remixing and short crops (instrax.data.stem_remix), and the clip-classification task's
training examples that use them."""

from __future__ import annotations

import numpy as np
import pytest

from instrax.data import stem_remix, vocabularies
from instrax.errors import ConfigError
from instrax.tasks.clip_classification import ClipClassification

T = 4000
PROGRAMS = np.array([40, 128, 0, 33, 73])  # violin, drums, piano, bass (no IRMAS class), flute


def _stems(silent: tuple[int, ...] = ()) -> np.ndarray:
  rng = np.random.default_rng(0)
  stems = 0.1 * rng.standard_normal((len(PROGRAMS), T)).astype(np.float32)
  stems[list(silent)] = 0.0
  return stems


def _labels(*codes: str) -> np.ndarray:
  return np.array([c in codes for c in vocabularies.IRMAS], np.float32)


def test_a_solo_is_one_labelled_stem_and_its_label():
  stems = _stems()
  seen = set()
  for seed in range(40):
    audio, labels = stem_remix.remix(stems, PROGRAMS, np.random.default_rng(seed), "irmas", 1.0)
    assert labels.sum() == 1
    k = int(np.flatnonzero(np.isin(PROGRAMS, [40, 0, 73]))[
        [("vio", "pia", "flu").index(vocabularies.IRMAS[int(np.argmax(labels))])]][0])
    ratio = audio / stems[k]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)  # that stem alone, at some gain
    seen.add(vocabularies.IRMAS[int(np.argmax(labels))])
  assert seen == {"vio", "pia", "flu"}  # every labelled stem gets its turn


def test_a_remix_is_the_sum_of_the_kept_stems_and_labels_them():
  stems = _stems()
  for seed in range(30):
    audio, labels = stem_remix.remix(stems, PROGRAMS, np.random.default_rng(seed), "irmas", 0.0)
    # Recover the gains by least squares: the remix is in the span of the stems.
    gains, *_ = np.linalg.lstsq(stems.T.astype(np.float64), audio.astype(np.float64), rcond=None)
    kept = np.abs(gains) > 1e-3
    np.testing.assert_array_equal(labels, vocabularies.multi_hot(PROGRAMS[kept], "irmas"))
    assert labels.sum() >= 1
    lo, hi = (10 ** (g / 20) for g in stem_remix.GAIN_DB)
    assert np.all((gains[kept] > lo - 1e-3) & (gains[kept] < hi + 1e-3))


def test_silent_stems_are_never_kept_or_labelled():
  stems = _stems(silent=(0, 4))  # violin and flute silent in this crop: only piano can be named
  for seed in range(20):
    for solo in (0.0, 1.0):
      _, labels = stem_remix.remix(stems, PROGRAMS, np.random.default_rng(seed), "irmas", solo)
      np.testing.assert_array_equal(labels, _labels("pia"))
  unlabelled = _stems(silent=(0, 2, 4))  # drums and bass only
  assert stem_remix.remix(unlabelled, PROGRAMS, np.random.default_rng(0), "irmas", 0.5) is None


def test_remix_refuses_bad_input():
  with pytest.raises(ValueError, match="one program per row"):
    stem_remix.remix(_stems(), PROGRAMS[:3], np.random.default_rng(0), "irmas", 0.5)
  with pytest.raises(ValueError, match="solo_prob"):
    stem_remix.remix(_stems(), PROGRAMS, np.random.default_rng(0), "irmas", 1.5)


def test_shorten_keeps_a_contiguous_excerpt_then_zeros():
  audio = np.arange(1, 1001, dtype=np.float32)[None]
  lengths = set()
  for seed in range(50):
    out = stem_remix.shorten(audio, np.random.default_rng(seed), 200)
    n = int(np.count_nonzero(out))
    lengths.add(n)
    assert 200 <= n <= 1000 and np.all(out[0, n:] == 0)
    np.testing.assert_array_equal(np.diff(out[0, :n]), 1)  # one excerpt, in order
  assert min(lengths) < 500 < max(lengths)


def _task(**kw) -> ClipClassification:
  return ClipClassification(sample_rate=1000, channels=1, labels_key="irmas_labels", window_s=2.0,
                            **kw)


def _example() -> dict:
  stems = (_stems() * 3000).astype(np.int16)
  return {"audio": stems.sum(0, dtype=np.int16)[:, None], "stems": stems, "programs": PROGRAMS,
          "irmas_labels": vocabularies.multi_hot(PROGRAMS, "irmas")}


def test_training_examples_remix_and_shorten_only_when_asked():
  plain = _task()
  assert plain.train_features() == plain.features()  # stems are not even decoded
  ex = _example()
  out = plain.train_example(ex, np.random.default_rng(0))
  np.testing.assert_array_equal(out["targets"], ex["irmas_labels"])

  remixing = _task(remix_prob=1.0, solo_prob=1.0, short_prob=1.0, short_min_s=0.5)
  assert set(remixing.train_features()) >= {"stems", "programs"}
  for seed in range(10):
    out = remixing.train_example(ex, np.random.default_rng(seed))
    assert out["audio"].shape == (1, 2000) and out["targets"].sum() == 1
    n = int(np.max(np.flatnonzero(out["audio"][0]))) + 1
    assert 500 <= n <= 2000 and np.abs(out["audio"]).max() == pytest.approx(1.0)


def test_remix_config_errors_say_what_to_fix():
  with pytest.raises(ConfigError, match="remix_prob"):
    _task(remix_prob=1.5)
  with pytest.raises(ConfigError, match="channels=1"):
    ClipClassification(sample_rate=1000, channels=2, remix_prob=0.5)
  with pytest.raises(ConfigError, match="short_min_s"):
    _task(short_prob=0.5, short_min_s=3.0)


def test_the_instruments_config_trains_on_remixed_stems(tmp_path, synth_data_dir):
  """One real run of configs/instruments.py:tiny: the grain pipeline decodes stems and programs
  for training (not for evaluation) and the remixed, shortened batches train."""
  import json

  from instrax import main
  from tests.conftest import tiny_config

  config = tiny_config("instruments", data_dir=synth_data_dir)
  assert config.task.remix_prob > 0 and config.task.short_prob > 0
  workdir = str(tmp_path / "run")
  main.run(config, workdir, "train")
  with open(f"{workdir}/metrics.jsonl") as f:
    losses = [row["train/loss"] for row in map(json.loads, f) if "train/loss" in row]
  assert losses and all(np.isfinite(losses))


def test_shape_sees_only_the_kept_stems_before_they_are_summed():
  stems = _stems()
  seen = []

  def negate(kept: np.ndarray) -> np.ndarray:
    seen.append(kept.shape)
    return -kept

  for seed in range(8):
    plain = stem_remix.remix(stems, PROGRAMS, np.random.default_rng(seed), "irmas", 0.5)
    shaped = stem_remix.remix(stems, PROGRAMS, np.random.default_rng(seed), "irmas", 0.5,
                              shape=negate)
    np.testing.assert_allclose(shaped[0], -plain[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(shaped[1], plain[1])
  assert all(rows < len(PROGRAMS) for rows, _ in seen) and (1, T) in seen
