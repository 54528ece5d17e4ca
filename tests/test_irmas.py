"""IRMAS end to end on a fake IRMAS tree (with the real fixture files): build → train → window-
voting evaluation → predict; and the task's metrics against scikit-learn."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import precision_recall_fscore_support

import data_builders
from data_builders.irmas import fixtures
from instrax import main, predict
from instrax.data import vocabularies
from instrax.tasks.clip_classification import ClipClassification
from tests.conftest import REAL_FIXTURES, tiny_config


@pytest.fixture(scope="module")
def irmas_data_dir(tmp_path_factory) -> str:
  root = tmp_path_factory.mktemp("irmas_manual")
  real = REAL_FIXTURES / "irmas" if (REAL_FIXTURES / "irmas").is_dir() else None
  fixtures.make_fake_irmas(root, real_dir=real, seconds=0.5)
  data_dir = str(tmp_path_factory.mktemp("irmas_tfds"))
  data_builders.prepare("irmas", data_dir, root)
  return data_dir


@pytest.fixture(scope="module")
def irmas_run(tmp_path_factory, irmas_data_dir) -> tuple[str, dict]:
  workdir = str(tmp_path_factory.mktemp("irmas_run"))
  config = tiny_config("irmas", "tiny", data_dir=irmas_data_dir)
  return workdir, main.run(config, workdir, "train_and_eval")


def test_trains_and_reports_every_strategy(irmas_run):
  workdir, results = irmas_run
  for key in ("test/micro_f1", "test/macro_f1", "test/threshold", "test/majority/micro_f1",
              "test/s2/micro_f1", "validation/micro_f1", "test/f1/voi"):
    assert key in results, key
    assert 0.0 <= results[key] <= 1.0
  with open(os.path.join(workdir, "results.json")) as f:
    step = json.load(f)["step"]  # the reported checkpoint's step
  with open(os.path.join(workdir, "calibration", f"{step}.json")) as f:
    calibration = json.load(f)
  assert set(calibration) >= {"threshold/s1", "threshold/s2", "sweep/s1"}
  assert results["test/threshold"] == calibration["threshold/s1"]  # chosen on validation
  with open(os.path.join(workdir, "results.csv")) as f:
    header, row = f.read().splitlines()[:2]
  assert "test/micro_f1" in header.split(",") and len(row.split(",")) == len(header.split(","))
  assert os.path.getsize(os.path.join(workdir, "plots", "confusion.png")) > 1000


def test_predict_reports_each_file_and_survives_bad_ones(irmas_run, tmp_path):
  workdir, _ = irmas_run
  bad = tmp_path / "broken.wav"
  bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
  short = tmp_path / "short.flac"
  import soundfile as sf

  sf.write(short, (0.1 * np.sin(np.arange(4000) / 5.0)).astype(np.float32), 8000)
  results = list(predict.predict_files(predict.Predictor(workdir), [str(short), str(bad)]))
  assert results[0]["file"] == str(short)
  pred = results[0]["prediction"]
  assert set(pred["scores"]) == set(vocabularies.IRMAS)
  assert all(0.0 <= v <= 1.0 for v in pred["scores"].values())
  assert "error" in results[1] and os.path.basename(results[1]["file"]) == "broken.wav"
  out = tmp_path / "out"
  rc = predict.main([f"--workdir={workdir}", "--format=csv", f"--output={out}", str(short),
                     str(bad)])
  assert rc == 1  # one input failed
  lines = (out / "predictions.csv").read_text().splitlines()
  header = lines[0].split(",")
  assert header[:5] == ["file", "status", "error", "labels", "label_names"]
  assert header[5:] == list(vocabularies.IRMAS) and len(lines) == 3
  row = next(csv.reader([lines[1]]))
  assert row[1] == "ok" and [float(v) for v in row[5:]] == pytest.approx(
      [results[0]["prediction"]["scores"][c] for c in vocabularies.IRMAS], abs=1e-6)
  assert lines[2].split(",")[1] == "error"


def test_metrics_match_sklearn():
  rng = np.random.default_rng(0)
  task = ClipClassification(sample_rate=16000, channels=1, aggregation="s1", threshold=0.3)
  outputs = [rng.normal(size=(rng.integers(1, 6), 11)) for _ in range(40)]
  refs = [rng.random(11) < 0.2 for _ in range(40)]
  for r in refs:
    r[rng.integers(0, 11)] = True
  metrics = task.metrics(list(zip(outputs, refs)), {})
  # S1 by hand: mean over windows of the logistic function, kept at ≥ 0.3.
  pred = np.stack([expit(x).mean(axis=0) >= 0.3 for x in outputs])
  for avg in ("micro", "macro"):
    p, r, f, _ = precision_recall_fscore_support(np.stack(refs), pred, average=avg,
                                                 zero_division=0)
    assert metrics[f"{avg}_precision"] == pytest.approx(p)
    assert metrics[f"{avg}_recall"] == pytest.approx(r)
    assert metrics[f"{avg}_f1"] == pytest.approx(f)
  # False positives must lower precision (the seed's metric ignored them).
  perfect = [np.where(r, 5.0, -5.0)[None] for r in refs]
  assert task.metrics(list(zip(perfect, refs)), {})["micro_precision"] == 1.0
  perfect[0][0, ~refs[0]] = 5.0
  assert task.metrics(list(zip(perfect, refs)), {})["micro_precision"] < 1.0


def test_synth_variant_runs(tmp_path, synth_data_dir):
  config = tiny_config("irmas", "synth,tiny", data_dir=synth_data_dir)
  results = main.run(config, str(tmp_path), "train_and_eval")
  assert "test/micro_f1" in results
