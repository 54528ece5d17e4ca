"""The lead_detection task on hand-made examples (no dataset build): permutation labels,
windows, stitching, metrics, predict timeline and files, and shapes against the model."""

from __future__ import annotations

import csv
import json
import pathlib

import jax
import numpy as np
import pytest
from sklearn.metrics import f1_score

from instrax.errors import DatasetError
from instrax.models import build_model
from instrax.tasks import TASKS
from instrax.tasks.base import stack_chunks

SR = 16000


def _example(seconds=4.0, k=3):
  """Stem j is a constant level (j + 1) / 10; stem j leads during second j; no lead after."""
  t = int(seconds * SR)
  stems = np.stack([np.full(t, (j + 1) / 10, np.float32) for j in range(k)])
  labels = np.full(int(seconds * 75), -1, np.int32)
  for j in range(k):
    labels[j * 75:(j + 1) * 75] = j
  pcm = (stems * 32768).astype(np.int16)
  return {"id": b"song", "audio": pcm.sum(0)[:, None] // 2, "stems": pcm,
          "programs": np.array([0, 40, 128], np.int32)[:k], "lead": labels}


def _task(**kw):
  return TASKS.get("lead_detection")(**{"sample_rate": SR, "max_tracks": 4, "segment_s": 2.0,
                                        "eval_hop_s": 1.0, **kw})


def test_train_example_permutes_stems_and_recomputes_labels():
  task = _task()
  ex = _example()
  seen_orders = set()
  for seed in range(6):
    out = task.train_example(ex, np.random.default_rng(seed))
    spec = task.input_spec()
    for key, s in spec.items():
      assert out[key].shape == s.shape and out[key].dtype == s.dtype, key
    assert out["targets"].shape == (150,) and out["targets"].dtype == np.int32
    np.testing.assert_array_equal(out["track_mask"], [True, True, True, False])
    assert not out["stems"][3].any() and out["inst_ids"][3] == 0
    levels = out["stems"][:3, 1000:-1000].mean(1)
    seen_orders.add(tuple(np.round(levels * 10).astype(int)))
    # every lead frame points at the stem whose level identifies the original stem index
    for f in np.flatnonzero(out["targets"]):
      c = out["targets"][f]
      assert c >= 2
      assert round(float(levels[c - 2]) * 10) - 1 in (0, 1, 2)
    # programs 0, 40, 128 → ids 1, 41, 129 follow their stems
    for p in range(3):
      assert out["inst_ids"][p] == {1: 1, 2: 41, 3: 129}[round(float(levels[p]) * 10)]
  assert len(seen_orders) > 1  # ch_permute shuffles


def test_train_example_labels_match_the_crop():
  task = _task(ch_permute=False)
  ex = _example()
  for seed in range(4):
    out = task.train_example(ex, np.random.default_rng(seed))
    # label of stem j is class j + 2; find the crop start from the first frame's class
    t = out["targets"]
    starts = [s for s in range(0, 151) if np.array_equal(
        np.where(ex["lead"][s:s + 150] >= 0, ex["lead"][s:s + 150] + 2, 0), t)]
    assert starts, "targets are not a crop of the labels"


def test_too_many_stems_is_a_clear_error():
  with pytest.raises(DatasetError, match="max_tracks"):
    _task().train_example(_example(k=3) | {"stems": np.zeros((5, 100), np.int16)},
                          np.random.default_rng(0))


def test_eval_windows_stitching_metrics_and_prediction(tmp_path):
  task = _task()
  ex = _example()
  inputs = stack_chunks(task.eval_inputs(ex))
  assert inputs["stems"].shape == (3, 4, task.segment_samples)  # 300 frames, 150 / 75 → 3
  truth = np.where(ex["lead"] >= 0, ex["lead"] + 2, 0)
  windows = [(0, 150), (75, 225), (150, 300)]
  perfect = np.stack([np.eye(6)[truth[a:b]] * 10 for a, b in windows])
  combined = task.combine(perfect, ex)
  assert combined["log_probs"].shape == (300, 6)
  stats = task.example_stats(combined, ex)
  m = task.metrics([stats], {})
  assert m["segment_f1"] == m["frame_accuracy"] == m["song_f1"] == m["segment_inst_f1"] == 1.0
  assert m["segments"] == 3
  # a prediction that says "no lead" everywhere in the middle window only
  wrong = perfect.copy()
  wrong[1] = np.eye(6)[np.zeros(150, int)] * 10
  stats = task.example_stats(task.combine(wrong, ex), ex)
  want_mid = f1_score(truth[75:225], np.zeros(150, int), average="macro", zero_division=0)
  np.testing.assert_allclose(stats["segment_f1"], [1.0, want_mid, 1.0])
  # stitched: frames 75-225 average the middle window's "none" with a neighbour's right answer
  logp = jax.nn.log_softmax(np.eye(6)[truth] * 10)
  none = jax.nn.log_softmax(np.eye(6)[np.zeros(300, int)] * 10)
  avg = np.asarray(logp).copy()
  avg[75:225] = (np.asarray(logp)[75:225] + np.asarray(none)[75:225]) / 2
  np.testing.assert_allclose(task.metrics([stats], {})["frame_accuracy"],
                             np.mean(avg.argmax(-1) == truth))
  assert set(task.summaries([stats], {})) == {"confusion", "heatmap_0"}

  pred = task.predict(combined, {})
  assert [(e["start"], e["end"], e["instrument"]) for e in pred["timeline"]] == [
      (0.0, 1.0, "Acoustic Grand Piano"), (1.0, 2.0, "Violin"), (2.0, 3.0, "Drums")]
  paths = task.write_prediction(pred, "song", str(tmp_path))
  rows = list(csv.DictReader(pathlib.Path(paths[0]).read_text().splitlines()))
  assert [r["track"] for r in rows] == ["1:Acoustic Grand Piano", "2:Violin", "3:Drums"]
  assert json.loads(pathlib.Path(paths[1]).read_text())["timeline"][2]["end"] == 3.0
  assert paths[2].endswith(".png")


def test_target_spec_matches_the_model():
  task = _task()
  model = build_model("lead_ch_cls", **task.model_kwargs(), enc_conv_dim=4, enc_hidden=8,
                      enc_layers=1, enc_heads=2, enc_ffn=8, enc_pos_kernel=4, enc_pos_groups=2,
                      attn_heads=2)
  x = {k: jax.ShapeDtypeStruct((1, *s.shape), s.dtype) for k, s in task.input_spec().items()}
  out = jax.eval_shape(lambda x: model.init_with_output(jax.random.key(0), x)[0], x)
  assert out.shape == task.target_spec().shape


def test_predict_inputs_reads_a_folder_of_stems(tmp_path):
  import soundfile

  task = TASKS.get("lead_detection")(sample_rate=SR, max_tracks=4,
                                     instrument_vocabulary="lead_cross", instruments_key="inst",
                                     instrument_offset=0)
  for name, level in (("1#vocal", 0.1), ("2#electric_guitar", 0.2)):
    soundfile.write(tmp_path / f"{name}.wav", np.full(SR, level, np.float32), SR)
  ((start, ex),) = task.predict_inputs(str(tmp_path), SR, 1, 600.0)
  assert start == 0.0
  assert ex["stems"].shape == (2, SR) and "audio" not in ex
  np.testing.assert_array_equal(ex["inst"], [32, 13])
  assert ex["track_names"] == ["1#vocal", "2#electric_guitar"]
  inputs = stack_chunks(task.eval_inputs(ex))
  assert inputs["mix"].shape[0] == 1 and inputs["track_mask"][0].tolist() == [1, 1, 0, 0]


def test_inst_cls_targets_metrics_and_timeline_name_instruments():
  """formulation=inst_cls: classes = instrument ids (gm: program + 1; mix 130, none 131)."""
  task = _task(formulation="inst_cls", segment_s=4.0, eval_hop_s=4.0, ch_permute=False)
  assert task.num_outputs == 132 and task.class_names[-2:] == ("mix", "none")
  ex = _example()
  out = task.train_example(ex, np.random.default_rng(0))
  want = np.array([1] * 75 + [41] * 75 + [129] * 75 + [131] * 75)
  np.testing.assert_array_equal(out["targets"], want)
  perfect = (np.eye(132)[want] * 10)[None]
  combined = task.combine(perfect, ex)
  stats = task.example_stats(combined, ex)
  m = task.metrics([stats], {})
  assert m["segment_f1"] == m["frame_accuracy"] == m["song_inst_f1"] == 1.0
  # the heatmap marks rows (tracks): instrument 41 → the stem that has it, track class 3
  np.testing.assert_array_equal(stats["heatmap"]["pred"][::75], [2, 3, 4, 0])
  pred = task.predict(combined, {})
  assert [(e["start"], e["end"], e["track"], e["instrument"]) for e in pred["timeline"]] == [
      (0.0, 1.0, "1:Acoustic Grand Piano", "Acoustic Grand Piano"),
      (1.0, 2.0, "2:Violin", "Violin"), (2.0, 3.0, "3:Drums", "Drums")]


@pytest.mark.parametrize("name, fields", [
    ("lead_inst_cls", dict(variant="by_inst")),
    ("lead_crnn", dict(channels=4, rnn_features=4, hidden=4, n_mels=20))])
def test_target_spec_matches_the_inst_cls_models(name, fields):
  task = _task(formulation="inst_cls")
  if name == "lead_inst_cls":
    fields = dict(fields, enc_conv_dim=4, enc_hidden=8, enc_layers=1, enc_heads=2, enc_ffn=8,
                  enc_pos_kernel=4, enc_pos_groups=2, attn_heads=2)
  model = build_model(name, **task.model_kwargs(), **fields)
  x = {k: jax.ShapeDtypeStruct((1, *s.shape), s.dtype) for k, s in task.input_spec().items()}
  out = jax.eval_shape(lambda x: model.init_with_output(jax.random.key(0), x)[0], x)
  assert out.shape == task.target_spec().shape


def test_a_long_song_is_evaluated_in_parts_without_holding_it_whole():
  """eval_inputs yields `eval_group` windows at a time, read from the int16 stems: the peak
  memory while going through a 60-s, 4-stem song is a fraction of all its windows in float32."""
  import tracemalloc

  task = _task(eval_group=2)
  ex = _example(seconds=60.0, k=3)
  parts = task.eval_inputs(ex)
  tracemalloc.start()
  sizes, total_bytes = [], 0
  for part in parts:
    sizes.append(len(part["stems"]))
    total_bytes += sum(v.nbytes for v in part.values())
    del part
  _, peak = tracemalloc.get_traced_memory()
  tracemalloc.stop()
  assert sum(sizes) == len(task._windows(60 * 75)) == 59 and max(sizes) == 2
  assert peak < total_bytes / 5, (peak, total_bytes)
  stacked = stack_chunks(task.eval_inputs(ex))
  assert stacked["stems"].shape == (59, 4, task.segment_samples)
