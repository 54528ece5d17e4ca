"""The piano transcription task (seeds.md §2): targets, loss, chunked eval, scores, predict."""

from __future__ import annotations

import csv

import jax
import jax.numpy as jnp
import numpy as np
import pretty_midi
import pytest

from instrax.audio.frontend import make_frontend
from instrax.models import build_model
from instrax.tasks import TASKS

HOP, SR = 384, 16000
FRAME_S = HOP / SR
# [onset_s, offset_s, midi_pitch, velocity, track]
NOTES = np.array([[0.5, 0.9, 60, 127, 0], [1.0, 1.5, 64, 64, 0], [2.2, 2.4, 21, 32, 0],
                  [3.1, 3.5, 108, 100, 0], [3.3, 3.6, 110, 90, 0]], np.float32)


def _task(**kwargs):
  task = TASKS.get("transcription")(**kwargs)
  task.bind_frontend(make_frontend("onsets_velocities", top_db=None))
  return task


def _example(seconds: float = 4.0, notes=NOTES) -> dict:
  audio = (np.random.default_rng(0).normal(size=(round(seconds * SR), 1)) * 1000).astype(np.int16)
  return {"audio": audio, "notes": notes, "id": b"piece"}


def test_train_example_targets_as_the_seed():
  task = _task()
  out = task.train_example(_example(3.0), np.random.default_rng(0))  # 126 frames < 208: start 0
  assert out["audio"].shape == (1, 207 * HOP) and out["audio"].dtype == np.float32
  onsets, velocity = out["targets"]["onsets"], out["targets"]["velocity"]
  assert onsets.shape == velocity.shape == (207, 88)
  # 0.5 s → frame floor(20.83) = 20, dilated to 20..22, first frame dropped → rows 19..21
  assert np.flatnonzero(onsets[:, 60 - 21]).tolist() == [19, 20, 21]
  assert np.flatnonzero(onsets[:, 64 - 21]).tolist() == [40, 41, 42]  # floor(41.67) = 41
  np.testing.assert_allclose(velocity[19:22, 39], 1.0)
  np.testing.assert_allclose(velocity[40:43, 43], 64 / 127, rtol=1e-6)
  assert onsets.sum() == 3 * 4  # MIDI 110 is off the keyboard


def test_train_example_random_chunk_keeps_notes_aligned():
  task = _task(chunk_frames=20)
  ex = _example(4.0)
  for seed in range(5):
    out = task.train_example(ex, np.random.default_rng(seed))
    audio = out["audio"][0]
    start = np.flatnonzero(np.isclose(ex["audio"][:, 0] / 32768.0, audio[0]))
    start = next(s for s in start if np.allclose(ex["audio"][s:s + 50, 0] / 32768.0, audio[:50]))
    first = start // HOP
    rows = np.flatnonzero(out["targets"]["onsets"][:, 39])
    expected = [f - first - 1 for f in (20, 21, 22) if 0 <= f - first - 1 < 19]
    assert rows.tolist() == expected


def test_loss_hand_computed_at_zero_logits():
  task = _task(chunk_frames=8)
  targets = np.zeros((2, 7, 88), np.float32)
  targets[0, 3, 5] = targets[1, 0, 0] = 1.0
  velocity = targets * 0.5
  batch = {"targets": {"onsets": jnp.asarray(targets), "velocity": jnp.asarray(velocity)}}
  outputs = {"onsets": jnp.zeros((2, 3, 7, 88)), "velocity": jnp.zeros((2, 7, 88))}
  loss, aux = task.loss(outputs, batch)
  p = 2 / targets.size
  ln2 = np.log(2)
  assert float(aux["onset_loss"]) == pytest.approx(ln2 * (1 + 7 * p), rel=1e-4)
  assert float(aux["velocity_loss"]) == pytest.approx(ln2 * p, rel=1e-4)
  assert float(loss) == pytest.approx(ln2 * (1 + 7 * p) + 10 * ln2 * p, rel=1e-4)


def test_target_spec_matches_the_model_output():
  task = _task()
  spec = task.input_spec()
  frames = make_frontend("onsets_velocities").num_frames(spec["audio"].shape[-1])
  assert frames == 208
  model = build_model("onsets_velocities", **task.model_kwargs())
  x = jnp.zeros((1, 1, 229, frames))
  out = jax.eval_shape(lambda: model.init_with_output(jax.random.PRNGKey(0), x, train=False)[0])
  assert jax.tree.map(lambda a: a.shape, out) == jax.tree.map(lambda a: a.shape,
                                                               task.target_spec())


def test_eval_chunks_cover_the_piece_and_stitch_back_exactly():
  task = _task(eval_chunk_s=1.2, eval_overlap_s=0.24)  # 50-frame chunks, 10 frames overlap
  assert (task.eval_chunk_frames, task.eval_overlap_frames) == (50, 10)
  ex = _example(5.0)
  total = 80000 // HOP + 1  # 209 frames
  chunks = task.eval_inputs(ex)["audio"]
  assert chunks.shape == (5, 1, 49 * HOP)  # 1 + ceil((209 − 50) / 40) chunks
  audio = ex["audio"][:, 0] / 32768.0
  np.testing.assert_allclose(chunks[2, 0], audio[80 * HOP:80 * HOP + 49 * HOP], atol=1e-7)
  # fake model outputs: output j of chunk c is frame 40c + j + 1; logit encodes that frame
  frame = 40 * np.arange(5)[:, None] + np.arange(49)[None, :] + 1
  logits = np.log(frame / 1000 / (1 - frame / 1000)).astype(np.float32)
  outputs = {"onsets": np.repeat(logits[:, None, :, None], 3, 1) * np.ones((1, 1, 1, 88)),
             "velocity": logits[..., None] * np.ones((1, 1, 88), np.float32)}
  combined = task.combine(outputs, ex)
  expected = np.arange(total) / 1000
  for key in ("onsets", "velocity"):
    assert combined[key].shape == (total, 88)
    np.testing.assert_allclose(combined[key][:, 7], expected, atol=1e-6)


def _perfect(task, ex) -> dict:
  """What an ideal model outputs: the dilated training targets on every frame."""
  from instrax.tasks.transcription import onset_roll

  total = len(ex["audio"]) // HOP + 1
  onsets, velocity = onset_roll(ex["notes"], 0, total, FRAME_S)
  return {"onsets": onsets, "velocity": velocity}


def test_perfect_prediction_scores_one_and_calibrates():
  task = _task(thresholds=(0.5, 0.95), shifts_s=(-0.01, -0.2))
  ex = _example(4.0)
  stats = task.example_stats(_perfect(task, ex), ex)
  assert stats["grid"].shape == (2, 2, 6) and stats["num_notes"] == 4
  calibration = task.calibrate([stats, stats])
  assert calibration["threshold"] == 0.5 and calibration["shift_s"] == -0.01
  metrics = task.metrics([stats], calibration)
  assert metrics["onset_f1"] == 1.0 and metrics["onset_velocity_f1"] == 1.0
  # above the blurred peak (≈ 0.88) nothing is found: zeros, not NaN
  assert task.metrics([stats], {"threshold": 0.95, "shift_s": -0.01})["onset_f1"] == 0.0
  assert "onsets" in task.table(metrics)
  figures = task.summaries([stats], calibration)
  assert set(figures) == {"piano_roll", "threshold_curve"}


def test_predict_writes_midi_and_csv(tmp_path):
  task = _task()
  ex = _example(4.0)
  prediction = task.predict(_perfect(task, ex), {"threshold": 0.7, "shift_s": -0.01})
  keys = [n["key"] for n in prediction["notes"]]
  assert keys == [60, 64, 21, 108]
  assert [n["velocity"] for n in prediction["notes"]] == [127, 64, 32, 100]
  paths = task.write_prediction(prediction, "piece", str(tmp_path))
  midi = pretty_midi.PrettyMIDI(paths[0])
  got = midi.instruments[0].notes
  assert [(n.pitch, n.velocity) for n in got] == [(n["key"], n["velocity"])
                                                  for n in prediction["notes"]]
  np.testing.assert_allclose([n.start for n in got], [n["onset_s"] for n in prediction["notes"]],
                             atol=0.003)  # MIDI ticks: 1/440 s at pretty_midi's defaults
  with open(paths[1]) as f:
    rows = list(csv.DictReader(f))
  assert [int(r["key"]) for r in rows] == keys
  assert float(rows[0]["onset_s"]) == pytest.approx(21 * FRAME_S - 0.01, abs=1e-4)


def test_predict_segments_tile_the_frames_once():
  from instrax.tasks.transcription import predict_segments

  samples = 16000 * 7 + 5
  frames = samples // HOP + 1
  layout = predict_segments(samples, HOP, step=50, context=8)
  owned = []
  for start, stop, (lo, hi) in layout:
    assert start % HOP == 0 and stop <= samples
    assert (stop - start) // HOP + 1 >= hi  # the segment computes every frame it owns
    owned += list(range(start // HOP + lo, start // HOP + hi))
  assert owned == list(range(frames))


def test_merged_segments_equal_the_whole_file_prediction():
  """Notes on and around segment boundaries are found once, at the whole-file onset."""
  from instrax.tasks.transcription import predict_segments

  task = _task()
  samples = 16000 * 12
  step = 100  # frames owned per segment: boundaries at frames 100, 200, 300, 400
  notes = [[f * FRAME_S, f * FRAME_S + 0.3, 30 + k, 40 + k] for k, f in
           enumerate([97, 98, 99, 100, 101, 198, 199, 200, 201, 202, 300, 451])]
  ex = _example(12.0, np.array(notes, np.float32))
  whole = _perfect(task, ex)
  calibration = {"threshold": 0.7, "shift_s": -0.01}
  expected = task.predict(whole, calibration)["notes"]
  assert len(expected) == len(notes)
  parts = []
  for start, stop, keep in predict_segments(samples, HOP, step, context=8):
    first, n = start // HOP, (stop - start) // HOP + 1
    parts.append((start / SR, {k: v[first:first + n] for k, v in whole.items()}
                   | {"keep_frames": keep}))
  assert len(parts) == 6  # 501 frames: the last segment owns frame 500
  assert task.merge_predictions(parts, calibration)["notes"] == expected
  # without the ownership rule the context would double the boundary notes
  doubled = task.merge_predictions([(s, {k: v for k, v in c.items() if k != "keep_frames"})
                                    for s, c in parts], calibration)["notes"]
  assert len(doubled) > len(expected)


def test_eval_chunks_share_the_whole_piece_db_reference():
  task = _task(eval_chunk_s=1.2, eval_overlap_s=0.24)
  ex = _example(5.0)
  ex["audio"][-2000:] *= 20  # the loudest part is in the last chunk only
  inputs = task.eval_inputs(ex)
  frontend = make_frontend("onsets_velocities", top_db=None)
  whole = float(np.asarray(frontend(ex["audio"][None, :, 0] / 32768.0)).max())
  np.testing.assert_allclose(inputs["ref_db"], whole, atol=1e-3)
  first = float(np.asarray(frontend(inputs["audio"][0])).max())
  assert first < whole - 10  # a per-chunk reference would differ


def test_room_augment_changes_audio_not_targets():
  plain, augmented = _task(), _task(room_augment=1.0)
  a = plain.train_example(_example(3.0), np.random.default_rng(0))
  b = augmented.train_example(_example(3.0), np.random.default_rng(0))
  np.testing.assert_array_equal(a["targets"]["onsets"], b["targets"]["onsets"])
  assert np.max(np.abs(a["audio"] - b["audio"])) > 1e-3
  with pytest.raises(Exception, match="room_augment"):
    _task(room_augment=2.0)
