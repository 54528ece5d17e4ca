"""The run's event file, read back by TensorBoard itself: its EventAccumulator and its web UI."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest
import soundfile
from matplotlib.image import imread

from instrax.train import writers

ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
ALL = {k: 0 for k in (ea.SCALARS, ea.IMAGES, ea.AUDIO, ea.TENSORS)}  # 0 = keep every event


def _load(path: str):
  acc = ea.EventAccumulator(path, size_guidance=ALL)
  acc.Reload()
  return acc


def _steps(acc, tag: str) -> list[tuple[int, float]]:
  return [(e.step, round(e.value, 6)) for e in acc.Scalars(tag)]


def _events_files(workdir) -> list[str]:
  return sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*tfevents*"))


def _write_everything(workdir) -> None:
  w = writers.MetricWriter(str(workdir), enabled=True)
  w.scalars(1, {"loss": 0.5, "lr": 1e-3, "skipped": np.zeros(3)}, prefix="train/")
  w.scalars(2, {"loss": 0.25}, prefix="train/")
  red = np.zeros((20, 30, 3), np.uint8)
  red[..., 0] = 255
  w.images(2, {"test/red": red})
  t = np.arange(1600) / 16000
  w.audio(2, {"test/tone": (0.5 * np.sin(2 * np.pi * 440 * t), 16000)})
  w.pr_curve(2, "test/pr", np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.3, 0.1]))
  w.hparams({"schedule.learning_rate": 1e-3, "model.name": "crnn", "model.channels": (4, 8),
             "augment.specaugment": True}, {"test/micro_f1": 0.75, "train/loss": 0.25})
  w.close()


def test_every_kind_of_summary_reads_back_through_tensorboard(tmp_path):
  _write_everything(tmp_path)
  assert _events_files(tmp_path) == [writers.EVENTS_FILE]  # hparams too: no sub-run folder
  acc = _load(str(tmp_path))
  assert _steps(acc, "train/loss") == [(1, 0.5), (2, 0.25)]
  assert _steps(acc, "train/lr") == [(1, 0.001)]
  assert "train/skipped" not in acc.Tags()["scalars"]  # non-scalars are not logged
  assert _steps(acc, "test/micro_f1") == [(2, 0.75)]  # an hparams metric not logged before

  image = acc.Images("test/red")[0]
  pixels = imread(io.BytesIO(image.encoded_image_string), format="png")
  assert (image.step, image.width, image.height) == (2, 30, 20)
  np.testing.assert_allclose(pixels[..., :3].reshape(-1, 3).mean(0), [1.0, 0.0, 0.0])

  clip = acc.Audio("test/tone")[0]
  wave, rate = soundfile.read(io.BytesIO(clip.encoded_audio_string))
  assert (rate, clip.sample_rate, wave.shape) == (16000, 16000.0, (1600,))
  assert np.abs(wave - 0.5 * np.sin(2 * np.pi * 440 * np.arange(1600) / 16000)).max() < 1e-4

  # PR curve: rows tp, fp, tn, fn, precision, recall per threshold bin; at threshold 0 all four
  # scores are positive (tp 2, fp 2); above 0.85 only the 0.9 (a positive) is.
  from tensorboard.util import tensor_util

  curve = tensor_util.make_ndarray(acc.Tensors("test/pr")[0].tensor_proto)
  assert curve.shape == (6, 127)
  np.testing.assert_allclose(curve[:4, 0], [2, 2, 0, 0])
  bin_085 = int(np.ceil(0.85 * 126))
  np.testing.assert_allclose(curve[:, bin_085], [1, 0, 2, 1, 1.0, 0.5])

  from tensorboard.plugins.hparams import plugin_data_pb2

  content = acc.PluginTagToContent("hparams")
  start = plugin_data_pb2.HParamsPluginData.FromString(
      content["_hparams_/session_start_info"]).session_start_info
  assert start.hparams["schedule.learning_rate"].number_value == 1e-3
  assert start.hparams["model.name"].string_value == "crnn"
  assert start.hparams["model.channels"].string_value == "(4, 8)"
  assert start.hparams["augment.specaugment"].bool_value is True
  experiment = plugin_data_pb2.HParamsPluginData.FromString(
      content["_hparams_/experiment"]).experiment
  assert sorted(m.name.tag for m in experiment.metric_infos) == ["test/micro_f1", "train/loss"]


def test_relaunch_appends_to_the_same_file_and_hides_the_killed_runs_tail(tmp_path):
  w = writers.MetricWriter(str(tmp_path), enabled=True)
  for step in range(1, 7):
    w.scalars(step, {"loss": 10 + step})
  w.close()
  with open(tmp_path / writers.EVENTS_FILE, "ab") as f:
    f.write(b"\x40\x00\x00\x00\x00")  # a record torn by a kill mid-write
  # Resumed from the checkpoint at step 3: steps ≥ 4 of the killed run are superseded.
  w = writers.MetricWriter(str(tmp_path), enabled=True, purge_step=4)
  for step in range(4, 9):
    w.scalars(step, {"loss": 100 + step})
  w.close()
  writers.MetricWriter(str(tmp_path), enabled=True).close()  # an evaluation opens it too
  assert _events_files(tmp_path) == [writers.EVENTS_FILE]
  assert _steps(_load(str(tmp_path)), "loss") == [(1, 11), (2, 12), (3, 13), (4, 104), (5, 105),
                                                  (6, 106), (7, 107), (8, 108)]


def test_complete_length_stops_at_a_torn_tail(tmp_path):
  path = tmp_path / "events.out.tfevents.x"
  one = writers._record(b"abc")
  assert len(one) == 8 + 4 + 3 + 4
  path.write_bytes(one + one)
  assert writers.complete_length(str(path)) == 2 * len(one)
  for cut in (1, 11, 12, 17):  # inside the header, its CRC, the data, the data's CRC
    path.write_bytes(one + one[:cut])
    assert writers.complete_length(str(path)) == len(one)
  path.write_bytes(one + b"\xff" * 8 + one[8:])  # a length whose CRC does not match
  assert writers.complete_length(str(path)) == len(one)
  assert writers.complete_length(str(tmp_path / "missing")) == 0


_LOGGER = """
import sys, time
from instrax.train import writers
w = writers.MetricWriter(sys.argv[1], enabled=True)
step = 0
while True:
  step += 1
  w.scalars(step, {"loss": float(step)})
  print(step, flush=True)
  time.sleep(0.02)
"""


def test_sigkill_loses_no_logged_step(tmp_path):
  """Every step reported as logged before the SIGKILL is in the file TensorBoard reads."""
  proc = subprocess.Popen([sys.executable, "-c", _LOGGER, str(tmp_path)], stdout=subprocess.PIPE,
                          text=True, cwd=os.getcwd())
  try:
    last = 0
    while last < 20:
      last = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
  finally:
    if proc.poll() is None:
      proc.kill()
  steps = [s for s, _ in _steps(_load(str(tmp_path)), "loss")]
  assert steps[:last] == list(range(1, last + 1))
  assert steps == list(range(1, len(steps) + 1))


def _get(url: str, data: bytes | None = None) -> bytes:
  request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}
                                   if data else {})
  with urllib.request.urlopen(request, timeout=30) as r:
    return r.read()


def test_tensorboard_web_ui_serves_the_run(tmp_path):
  """Starts the real `tensorboard` (default loader) on 127.0.0.1 and fetches its routes."""
  _write_everything(tmp_path / "run")
  exe = os.path.join(os.path.dirname(sys.executable), "tensorboard")
  proc = subprocess.Popen([exe, "--logdir", str(tmp_path), "--host", "127.0.0.1", "--port", "0",
                           "--reload_interval", "1"], stderr=subprocess.PIPE, text=True)
  try:
    deadline, base = time.time() + 60, None
    while base is None and time.time() < deadline:
      line = proc.stderr.readline()
      if not line and proc.poll() is not None:
        pytest.fail(f"tensorboard exited with {proc.returncode}")
      if m := re.search(r"(http://127\.0\.0\.1:\d+)/", line):
        base = m.group(1)
    assert base, "tensorboard did not print its address"
    runs: list[str] = []
    while "run" not in runs and time.time() < deadline:
      runs = json.loads(_get(f"{base}/data/runs"))
      time.sleep(0.5)
    assert runs == ["run"]
    q = urllib.parse.urlencode
    scalars = json.loads(_get(f"{base}/data/plugin/scalars/scalars?"
                              + q({"run": "run", "tag": "train/loss"})))
    assert [(step, value) for _, step, value in scalars] == [(1, 0.5), (2, 0.25)]
    images = json.loads(_get(f"{base}/data/plugin/images/images?"
                             + q({"run": "run", "tag": "test/red"})))
    assert [i["step"] for i in images] == [2]
    png = _get(f"{base}/data/plugin/images/individualImage?{images[0]['query']}")
    assert imread(io.BytesIO(png), format="png").shape[:2] == (20, 30)
    audio = json.loads(_get(f"{base}/data/plugin/audio/audio?"
                            + q({"run": "run", "tag": "test/tone"})))
    wav = _get(f"{base}/data/plugin/audio/individualAudio?{audio[0]['query']}")
    assert soundfile.read(io.BytesIO(wav))[0].shape == (1600,)
    pr = json.loads(_get(f"{base}/data/plugin/pr_curves/pr_curves?"
                         + q({"run": "run", "tag": "test/pr"})))
    assert pr["run"][0]["step"] == 2 and pr["run"][0]["precision"][0] == 0.5
    hp = json.loads(_get(f"{base}/data/plugin/hparams/session_groups", json.dumps(
        {"allowedStatuses": ["STATUS_SUCCESS", "STATUS_UNKNOWN"], "colParams": [],
         "startIndex": 0, "sliceSize": 10}).encode()))
    group = hp["sessionGroups"][0]
    assert group["hparams"]["model.name"] == "crnn"
    assert {m["name"]["tag"]: m["value"] for m in group["metricValues"]} == {
        "test/micro_f1": 0.75, "train/loss": 0.25}
  finally:
    proc.terminate()
    try:
      proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
      proc.kill()


@pytest.mark.slow
def test_a_run_its_relaunch_and_evaluation_share_one_events_file(tmp_path, synth_data_dir):
  """train (4 steps) → relaunch to 6 → eval: the run is one file that TensorBoard reads as one
  run; the evaluation of a saved checkpoint is its own run in eval/step6/ (issue #9 item 3)."""
  from instrax import main
  from tests.conftest import tiny_config

  workdir = str(tmp_path)
  main.run(tiny_config(data_dir=synth_data_dir, train__num_steps=4), workdir, "train")
  main.run(tiny_config(data_dir=synth_data_dir), workdir, "train_and_eval",
           allow_config_change=True)
  main.run(None, workdir, "eval")
  assert _events_files(tmp_path) == [f"eval/step6/{writers.EVENTS_FILE}", writers.EVENTS_FILE]
  acc = _load(workdir)
  assert [s for s, _ in _steps(acc, "train/loss")] == [2, 4, 6]
  assert {"test/confusion", "test/per_class_prf"} <= set(acc.Tags()["images"])
  assert "_hparams_/session_start_info" in acc.PluginTagToContent("hparams")
