"""Shipping a run as params only: `instrax.export` → a folder `predict` loads like a run."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf

from instrax import export, main, predict
from instrax.errors import CheckpointError, UserError
from tests.conftest import tiny_config


@pytest.fixture(scope="module")
def run(tmp_path_factory, synth_data_dir) -> str:
  workdir = str(tmp_path_factory.mktemp("run"))
  main.run(tiny_config(data_dir=synth_data_dir), workdir, "train_and_eval")
  return workdir


def test_exported_model_predicts_exactly_as_its_run(run, tmp_path, synth_data_dir):
  out = str(tmp_path / "shipped")
  info = export.export(run, out, "best")
  assert sorted(os.listdir(out)) == ["calibration", "config.json", "export.json",
                                     "params.msgpack"]
  with open(os.path.join(out, "params.msgpack"), "rb") as f:
    blob = f.read()
  assert b"params" in blob and b"opt_state" not in blob
  with open(os.path.join(run, "results.json")) as f:
    saved = json.load(f)
  assert info["step"] == saved["step"] and info["parameters"] > 0
  with open(os.path.join(out, "config.json")) as f:
    assert json.load(f)["config"]["data_dir"] == ""  # the run's was a path on this machine
  with open(os.path.join(run, "config.json")) as f:
    assert json.load(f)["config"]["data_dir"] == synth_data_dir
  audio = (0.3 * np.sin(2 * np.pi * 440 * np.arange(16000 * 4) / 16000)).astype(np.float32)
  wav = tmp_path / "tone.wav"
  sf.write(wav, audio, 16000)
  from_run = predict.Predictor(run, "best").predict_file(str(wav))
  from_export = predict.Predictor(out).predict_file(str(wav))
  assert from_export["prediction"]["scores"] == pytest.approx(from_run["prediction"]["scores"],
                                                              abs=1e-6)
  assert from_export["prediction"]["instruments"] == from_run["prediction"]["instruments"]


def test_export_of_a_mismatched_folder_is_refused(run, tmp_path):
  out = str(tmp_path / "shipped")
  export.export(run, out, "latest")
  path = os.path.join(out, "config.json")
  with open(path) as f:
    config = json.load(f)
  config["config"]["model"]["rnn_features"] = 12
  with open(path, "w") as f:
    json.dump(config, f)
  with pytest.raises(CheckpointError, match="re-export"):
    predict.Predictor(out)


def test_an_ensemble_of_two_runs_predicts_their_mean(run, tmp_path, synth_data_dir):
  """`instrax.ensemble`: members exported into one folder, calibrated together on validation;
  predict averages their window probabilities (checked against the members run alone)."""
  from instrax import ensemble

  second = str(tmp_path / "second")
  main.run(tiny_config(data_dir=synth_data_dir, seed=1), second, "train_and_eval")
  out = str(tmp_path / "ens")
  info = ensemble.build([run, f"{second}@latest"], out, synth_data_dir, max_examples=8)
  assert [m["dir"] for m in info["members"]] == ["member_0", "member_1"]
  assert np.isfinite(info["metrics"]["validation/micro_f1"])
  assert ensemble.is_ensemble(out) and not ensemble.is_ensemble(run)
  audio = (0.3 * np.sin(2 * np.pi * 330 * np.arange(16000 * 4) / 16000)).astype(np.float32)
  wav = str(tmp_path / "tone.wav")
  sf.write(wav, audio, 16000)
  both = predict.make_predictor(out)
  assert isinstance(both, ensemble.EnsemblePredictor)
  got = both.predict_file(wav)["prediction"]["scores"]
  alone = [predict.Predictor(os.path.join(out, m)).segments(wav)[0][0][1]
           for m in ("member_0", "member_1")]
  want = both.exp.task.predict(np.mean(alone, axis=0), both.calibration)["scores"]
  assert got == pytest.approx(want)
  assert got != pytest.approx(both.exp.task.predict(alone[0], both.calibration)["scores"])
  assert predict.main(["--workdir", out, wav]) == 0
  with pytest.raises(UserError, match="at least two"):
    ensemble.build([run], str(tmp_path / "one"), synth_data_dir)
  before = sorted(os.listdir(out))
  with pytest.raises(UserError, match="not empty"):  # nothing overwritten
    ensemble.build([os.path.join(out, "member_0"), run], out, synth_data_dir)
  assert sorted(os.listdir(out)) == before
  with pytest.raises(UserError, match="neither a run directory nor an export"):
    ensemble.build([run, str(tmp_path / "nope")], str(tmp_path / "new"), synth_data_dir)
  assert not os.path.exists(tmp_path / "new")
  # A member copied from an ensemble's export records the run it came from, not the copy.
  copied = ensemble.build([os.path.join(out, "member_1"), run], str(tmp_path / "ens2"),
                          synth_data_dir, max_examples=8)["members"]
  assert copied[0]["from"] == f"{second}@latest"
  assert copied[0]["copied_from"] == os.path.join(out, "member_1")
  assert copied[1]["from"] == run and "copied_from" not in copied[1]


def test_an_ensemble_is_calibrated_on_the_dataset_named(run, tmp_path, synth_data_dir,
                                                        monkeypatch):
  """`--dataset` picks the split the ensemble is calibrated and scored on (default: the first
  member's), e.g. members trained on different synthmix variants calibrated on one of them."""
  from instrax import ensemble
  from instrax.data import sources

  asked, load = [], sources.load

  def recording_load(name, data_dir):
    asked.append(name)
    return load("synthmix/tiny", data_dir)  # the only dataset built here

  monkeypatch.setattr(sources, "load", recording_load)
  info = ensemble.build([run, f"{run}@latest"], str(tmp_path / "a"), synth_data_dir,
                        max_examples=4, dataset="synthmix/elsewhere")
  assert asked == ["synthmix/elsewhere"] and info["dataset"] == "synthmix/elsewhere"
  default = ensemble.build([run, f"{run}@latest"], str(tmp_path / "b"), synth_data_dir,
                           max_examples=4)
  assert asked[-1] == default["dataset"] == "synthmix/tiny"
  assert default["metrics"] == pytest.approx(info["metrics"])
