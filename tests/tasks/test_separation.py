"""The separation task: remixing, masking + iSTFT loss, chunked evaluation, metrics, stems."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import soundfile as sf

from instrax.audio.frontend import make_frontend
from instrax.errors import ConfigError
from instrax.metrics import separation as sep_metrics
from instrax.tasks import separation
from instrax.tasks.separation import Separation

SEG = 512 + 160 * 63  # 64 frames


def make_task(**kw) -> Separation:
  task = Separation(sample_rate=16000, channels=1, segment_samples=SEG, **kw)
  task.frontend = make_frontend("msspt_stft")  # the Experiment's bind_frontend
  return task


def assert_reconstructs(actual, expected):
  """Equal up to float error; within 16 samples of either end the window sum is tiny (sample 0
  lies under the zero of the first periodic-Hann window only), so the error is larger there."""
  actual, expected = np.asarray(actual), np.asarray(expected)
  np.testing.assert_allclose(actual[..., 16:-16], expected[..., 16:-16], atol=2e-4)
  np.testing.assert_allclose(actual[..., 1:], expected[..., 1:], atol=5e-3)


def gm_example(rng, seconds=1.5):
  """A synthmix-like example: stems of drums, bass, voice and piano; mono mix = their sum."""
  n = int(seconds * 16000)
  stems = rng.normal(scale=0.1, size=(4, n))
  pcm = np.round(stems * 32768).astype(np.int16)
  mix = pcm.astype(np.int32).sum(0)[:, None].astype(np.int16)
  return {"audio": mix, "stems": pcm, "programs": np.array([128, 33, 52, 0], np.int32)}


def test_remix_unisource_by_hand():
  songs = [{"mixture": np.full(3, 10.0 * k), "vocals": np.full(3, float(k))} for k in range(1, 5)]
  mix, targets = separation.remix(songs, ("vocals",))
  np.testing.assert_allclose(targets, [[3.0] * 3])  # vocals of songs 1 + 2
  np.testing.assert_allclose(mix, [3.0 + 27.0 + 36.0] * 3)  # + accompaniments 30−3, 40−4


def test_remix_multisource_uses_seven_songs():
  songs = [{s: np.full(2, 10.0 ** k) for s in (*separation.MUSDB_SOURCES, "mixture")}
           for k in range(7)]
  mix, targets = separation.remix(songs, separation.MUSDB_SOURCES)
  np.testing.assert_allclose(targets[:, 0], [1 + 10, 100 + 1000, 1e4 + 1e5, 1e6])
  np.testing.assert_allclose(mix, targets.sum(0))
  with pytest.raises(ValueError, match="needs 7"):
    separation.remix(songs[:6], separation.MUSDB_SOURCES)


def test_gm_groups():
  assert [separation.gm_group(p) for p in (128, 33, 52, 54, 0, 40)] == [
      "drums", "bass", "vocals", "vocals", "other", "other"]


def test_train_example_crops_sources_with_their_mixture():
  rng = np.random.default_rng(0)
  task = make_task(sources=("drums", "bass"), stems_format="gm", remix=False)
  ex = task.train_example(gm_example(rng), rng)
  assert ex["audio"].shape == (1, SEG) and ex["targets"].shape == (2, SEG)
  stems = gm_example(np.random.default_rng(0))["stems"].astype(np.float32) / 32768
  start = int(np.flatnonzero(np.isclose(stems[0], ex["targets"][0, 0]))[0])
  np.testing.assert_allclose(ex["targets"], stems[:2, start:start + SEG], atol=1e-7)
  np.testing.assert_allclose(ex["audio"][0], stems[:, start:start + SEG].sum(0), atol=1e-6)


def test_train_example_remixes_extra_songs():
  rng = np.random.default_rng(1)
  task = make_task(sources=separation.MUSDB_SOURCES, stems_format="gm")
  assert task.extra_examples == 6
  songs = [gm_example(rng) for _ in range(7)]
  ex = task.train_example({**songs[0], "extra": songs[1:]}, rng)
  assert ex["targets"].shape == (4, SEG)
  np.testing.assert_allclose(ex["audio"][0], ex["targets"].sum(0), atol=1e-6)
  with pytest.raises(ConfigError, match="6 extra"):
    task.train_example({**songs[0], "extra": songs[1:3]}, rng)


def test_unit_masks_give_back_the_mixture_and_loss_zero():
  task = make_task(sources=("vocals", "drums"))
  t = np.arange(SEG) / 16000  # band-limited: the unmasked Nyquist bin holds ~nothing
  audio = jnp.asarray(np.stack([0.3 * np.sin(2 * np.pi * 440 * t + 1), 0.2 * np.sin(
      2 * np.pi * 1234 * t) + 0.1 * np.cos(2 * np.pi * 3000 * t)])[:, None], jnp.float32)
  masks = jnp.ones((2, 2, 256, 64))
  est = task.estimates(masks, audio)
  assert est.shape == (2, 2, SEG)
  assert_reconstructs(est, jnp.broadcast_to(audio, est.shape))
  batch = {"audio": audio, "targets": jnp.broadcast_to(audio, (2, 2, SEG))}
  loss, aux = jax.jit(task.loss)(masks, batch)
  assert float(loss) < 1e-4 and set(aux) == {"mae/vocals", "mae/drums"}
  half, _ = task.loss(masks * 0.5, batch)  # half the magnitude: error = |x|/2 (below Nyquist)
  np.testing.assert_allclose(float(half), float(jnp.abs(audio).mean()) / 2, rtol=0.01)


def test_masks_must_match_the_stft():
  task = make_task()
  with pytest.raises(ConfigError, match="msspt_stft"):
    task.estimates(jnp.ones((1, 1, 257, 64)), jnp.zeros((1, 1, SEG)))


def test_target_spec_from_the_frontend():
  task = Separation(sample_rate=16000, channels=1, sources=separation.MUSDB_SOURCES)
  assert task.target_spec() is None
  task.frontend = make_frontend("msspt_stft")
  assert task.target_spec().shape == (1, 4, 256, 384)
  assert task.input_shape() == (1, 61_792)


def test_chunked_evaluation_overlap_adds_back_the_track():
  rng = np.random.default_rng(2)
  task = make_task(sources=("bass", "other"), stems_format="gm", eval_overlap=0.5)
  ex = gm_example(rng, seconds=2.0)
  chunks = task.eval_inputs(ex)
  assert chunks.shape[1:] == (1, SEG) and chunks.shape[0] == 6  # hop SEG/2 over 32,000 samples
  combined = task.combine(np.ones((chunks.shape[0], 2, 256, 64), np.float32), ex)
  mix = ex["audio"][:, 0] / 32768
  assert combined.shape == (2, mix.size)
  assert_reconstructs(combined, np.broadcast_to(mix, combined.shape))


def test_overlap_add_weights_by_hand():
  chunks = np.array([[[1.0, 1.0, 1.0, 1.0]], [[3.0, 3.0, 3.0, 3.0]]])
  out = separation.overlap_add(chunks, np.array([0, 2]), 6)
  # ramp (1, 2, 2, 1): samples 2-3 mix 1·(2, 1) with 3·(1, 2)
  np.testing.assert_allclose(out[0], [1, 1, (2 + 3) / 3, (1 + 6) / 3, 3, 3])


def test_stats_metrics_and_summaries():
  rng = np.random.default_rng(3)
  task = make_task(sources=("drums", "vocals"), stems_format="gm", audio_summary_s=0.5)
  stats = []
  for noise in (0.01, 0.02, 0.1):
    ex = gm_example(rng, seconds=2.0)
    ref = task.reference(ex)
    est = ref + noise * rng.normal(size=ref.shape)
    stats.append(task.example_stats(est.astype(np.float32), ex))
    np.testing.assert_allclose(stats[-1]["sdr"], sep_metrics.track_sdr(ref, est, 16000),
                               rtol=1e-4)
    assert stats[-1]["si_sdr"][0] == pytest.approx(sep_metrics.si_sdr(ref[0], est[0]), rel=1e-3)
  m = task.metrics(stats, {})
  assert m["sdr/drums"] == pytest.approx(stats[1]["sdr"][0])  # median of three tracks
  assert m["sdr"] == pytest.approx((m["sdr/drums"] + m["sdr/vocals"]) / 2)
  assert set(m) == set(task.metric_names())
  audio = task.audio_summaries(stats, {})
  assert set(audio) == {"mixture", "drums", "vocals"} and audio["drums"][0].shape == (8000,)
  assert "drums" in task.table(m)


def test_predict_writes_wav_stems(tmp_path):
  task = make_task(sources=("vocals", "bass"))
  t = np.arange(16000) / 16000
  parts = [(0.0, np.stack([0.5 * np.sin(2 * np.pi * 440 * t[:9000]), np.zeros(9000)])),
           (9000 / 16000, np.stack([0.5 * np.sin(2 * np.pi * 440 * t[9000:]), np.zeros(7000)]))]
  pred = task.merge_predictions(parts, {})
  assert pred["duration_s"] == 1.0 and pred["rms_dbfs"]["bass"] == -200.0
  paths = task.write_prediction(pred, "song", str(tmp_path))
  audio, rate = sf.read(paths[0])
  assert rate == 16000 and paths[0].endswith("song/vocals.wav")
  np.testing.assert_allclose(audio, 0.5 * np.sin(2 * np.pi * 440 * t), atol=1e-4)


def test_bad_config():
  with pytest.raises(ConfigError):
    Separation(sample_rate=16000, channels=1, sources=("piano",))
  with pytest.raises(ConfigError, match="stems_format"):
    make_task().signals({"audio": np.zeros((10, 1), np.int16)})
