"""The shipped instrument model: `python -m instrax.predict FILE` with no --workdir uses it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf

from instrax import predict
from instrax.data import vocabularies

SHIPPED = os.path.join(predict.SHIPPED_ROOT, predict.DEFAULT_MODEL)


def _check_export(folder: str) -> dict:
  """An exported model folder: params only (no optimizer state), no machine-specific data_dir."""
  files = {"calibration", "config.json", "export.json", "params.msgpack"}
  assert set(os.listdir(folder)) - {"README.md"} == files
  with open(os.path.join(folder, "params.msgpack"), "rb") as f:
    assert b"opt_state" not in f.read()
  with open(os.path.join(folder, "config.json")) as f:
    config = json.load(f)["config"]
  assert config.get("data_dir", "") == "" and not config["model"].get("pretrained")
  with open(os.path.join(folder, "export.json")) as f:
    return json.load(f)


@pytest.mark.parametrize("name", sorted(os.listdir(predict.SHIPPED_ROOT)))
def test_every_shipped_model_is_params_only_small_and_documented(name):
  """Each folder of shipped/ (an export, or an ensemble of exports): params only, under 15 MB in
  all, a README naming each exported step and the command that trained it."""
  from instrax import ensemble

  folder = os.path.join(predict.SHIPPED_ROOT, name)
  with open(os.path.join(folder, "README.md")) as f:
    readme = f.read()
  assert "python launch.py" in readme
  if ensemble.is_ensemble(folder):
    with open(os.path.join(folder, ensemble.ENSEMBLE_FILE)) as f:
      members = [m["dir"] for m in json.load(f)["members"]]
    assert sorted(os.listdir(folder)) == sorted(["README.md", "calibration",
                                                 ensemble.ENSEMBLE_FILE, *members])
    infos = [_check_export(os.path.join(folder, m)) for m in members]
    assert "python -m instrax.ensemble" in readme
  else:
    infos = [_check_export(folder)]
  assert sum(i["bytes"] for i in infos) < 15 * 2**20
  assert all(f"step {i['step']}" in readme for i in infos)


def test_predict_without_workdir_uses_the_shipped_model(tmp_path, capsys):
  t = np.arange(16000 * 4) / 16000
  sf.write(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 440 * t), 16000)
  out = tmp_path / "out.json"
  assert predict.main([str(tmp_path / "tone.wav"), f"--output={out}"]) == 0
  with open(out) as f:
    written = json.load(f)
  assert written["run"]["workdir"] == SHIPPED and written["run"]["model"] == "instruments"
  with open(os.path.join(SHIPPED, "ensemble.json")) as f:
    members = json.load(f)["members"]
  assert [(os.path.basename(m["workdir"]), m["step"]) for m in written["run"]["members"]] == [
      (m["dir"], m["step"]) for m in members]
  scores = written["results"][0]["prediction"]["scores"]
  assert sorted(scores) == sorted(vocabularies.IRMAS)
  assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_unknown_shipped_model_lists_the_shipped_ones(capsys):
  assert predict.main(["x.wav", "--model=nope"]) == 2
  assert "shipped: instruments" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [["--workdir=x", "--model=instruments", "a.wav"]])
def test_workdir_and_model_together_are_refused(bad, capsys):
  assert predict.main(bad) == 2
  assert "not both" in capsys.readouterr().err


def test_shipped_instrument_model_scores_what_its_readme_says_on_real_recordings():
  """bench/eval_transfer.py on the shipped model reproduces the README's real-audio figures
  (skipped without the fixtures beside the repository)."""
  import re

  from bench import eval_transfer as et

  items = et.labelled_files(et.default_fixtures())
  if not any(i.group == "real_transfer" for i in items):
    pytest.skip("no real_transfer fixtures")
  predictor = predict.make_predictor(SHIPPED)
  result = et.evaluate(items, lambda p: predictor.predict_file(p)["prediction"]["scores"])
  with open(os.path.join(SHIPPED, "README.md")) as f:
    readme = f.read()
  claimed = re.search(r"\*\*(\d+) / 11\*\*, ([0-9.]+)", readme)
  got = result["groups"]["real_transfer"]
  assert (got["top1_correct"], round(got["mean_rank"], 2)) == (int(claimed[1]),
                                                               float(claimed[2]))
