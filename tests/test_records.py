"""Numbers that say where they come from, and records that are never rewritten (issue #9):
the reported checkpoint, calibration per step, evaluations of saved checkpoints in their own
folders, config checked before anything is written, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from instrax import main, predict, records
from instrax.errors import CheckpointError, ConfigError
from tests.conftest import ROOT, tiny_config
from tests.reliability import file_listing, run_env


def _json(path) -> dict:
  with open(path) as f:
    return json.load(f)


@pytest.fixture(scope="module")
def run(tmp_path_factory, synth_data_dir) -> tuple[str, dict]:
  """Evaluations at steps 2, 4 and 6; best checkpoint by validation micro-F1."""
  workdir = str(tmp_path_factory.mktemp("run"))
  config = tiny_config(data_dir=synth_data_dir, train__eval_every=2, train__checkpoint_every=2,
                       train__keep_last=1)
  return workdir, main.run(config, workdir, "train_and_eval")


def test_test_numbers_come_from_the_checkpoint_selected_on_validation(run):
  workdir, _ = run
  saved = _json(os.path.join(workdir, "results.json"))
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    rows = [json.loads(line) for line in f]
  evals = {r["step"]: r["validation/micro_f1"] for r in rows if "validation/micro_f1" in r}
  assert sorted(evals) == [2, 4, 6]
  best = max(evals.items(), key=lambda kv: (kv[1], -kv[0]))[0]  # first of the best on ties
  assert saved["step"] == best and saved["checkpoint"] == "best"
  assert saved["selected_on"] == "validation/micro_f1"
  assert saved["validation/micro_f1"] == pytest.approx(evals[best], abs=1e-9)
  if best != 6:  # the final state's numbers are kept, labelled
    assert saved["final/step"] == 6 and "final/test/micro_f1" in saved


def test_calibration_is_stored_per_checkpoint_step(run):
  workdir, _ = run
  stored = sorted(int(p.split(".")[0]) for p in os.listdir(os.path.join(workdir, "calibration")))
  assert stored == [2, 4, 6]
  for step in stored:
    cal = records.load_calibration(workdir, step)
    assert set(cal) >= {"threshold/s1", "sweep/s1"}
  assert not os.path.exists(os.path.join(workdir, "calibration.json"))


def test_eval_of_a_checkpoint_never_rewrites_the_run_record(run, synth_data_dir):
  workdir, _ = run
  before = file_listing(workdir)
  out = main.run(None, workdir, "eval", checkpoint="latest")
  after = file_listing(workdir)
  changed = {k for k in after if before.get(k) != after[k]}
  assert changed and all(k.startswith("eval/step6/") for k in changed), changed
  saved = _json(os.path.join(workdir, "eval", "step6", "results.json"))
  assert saved["step"] == 6 and saved["test/micro_f1"] == pytest.approx(out["test/micro_f1"])
  # a re-evaluation with changed decoding records the change in its own folder
  config = tiny_config(data_dir=synth_data_dir)
  config.task.aggregation = "s2"
  main.run(config, workdir, "eval", checkpoint="latest")
  tagged = [d for d in os.listdir(os.path.join(workdir, "eval")) if d.startswith("step6-")]
  assert len(tagged) == 1
  diff = _json(os.path.join(workdir, "eval", tagged[0], "config_differences.json"))
  assert {"field": "task.aggregation", "run": "s1", "eval": "s2"} in diff["differences"]


@pytest.mark.parametrize("field, value, message", [
    ("dataset__test_split", "tset", "dataset.test_split='tset' is not a split"),
    ("dataset__eval_split", "valid", "dataset.eval_split='valid' is not a split"),
    ("train__best_metric", "micro_f2", "train.best_metric='micro_f2' is not a metric"),
])
def test_config_is_checked_before_anything_is_written(tmp_path, synth_data_dir, field, value,
                                                      message):
  config = tiny_config(data_dir=synth_data_dir, **{field: value})
  with pytest.raises(ConfigError, match=message):
    main.run(config, str(tmp_path / "run"), "train_and_eval")
  assert not os.path.exists(tmp_path / "run")


def test_bad_checkpoint_name_and_existing_output_are_one_line_errors(run, tmp_path):
  workdir, _ = run
  with pytest.raises(CheckpointError, match="--checkpoint='last': use latest, best or a step"):
    main.run(None, workdir, "eval", checkpoint="last")
  wav = tmp_path / "a.wav"
  sf.write(wav, (0.2 * np.sin(np.arange(48000) / 3.0)).astype(np.float32), 16000)
  existing = tmp_path / "out.json"
  existing.write_text("keep me")
  proc = subprocess.run([sys.executable, "-m", "instrax.predict", f"--workdir={workdir}",
                         f"--output={existing}", str(wav)], cwd=ROOT, env=run_env(),
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 2 and "Traceback" not in proc.stderr
  assert "already exists; pass --overwrite" in proc.stderr
  assert existing.read_text() == "keep me"
  # the format follows the suffix; the file holds the run's step and thresholds
  assert predict.main([f"--workdir={workdir}", f"--output={existing}", "--overwrite",
                       str(wav)]) == 0
  written = _json(existing)
  assert written["run"]["step"] > 0 and "threshold/s1" in written["run"]["calibration"]
  assert written["results"][0]["status"] == "ok"
