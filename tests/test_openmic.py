"""configs/openmic.py end to end: fake OpenMIC tree → built dataset → train → eval → results."""

from __future__ import annotations

import json
import math
import pathlib

import jax
import pytest

import data_builders
from configs import openmic
from data_builders.openmic2018 import fixtures
from instrax import hyper, main, predict
from instrax.data.vocabularies import OPENMIC
from instrax.errors import ConfigError
from instrax.experiment import DataFormat, Experiment
from tests.conftest import tiny_config

HEADLINE = ("map", "roc_auc", "micro_f1", "macro_f1", "micro_precision", "micro_recall")

RECORD_KEYS = ("step", "checkpoint", "selected_on", "final/step")  # results.json's record


@pytest.fixture(scope="module")
def openmic_data_dir(tmp_path_factory) -> str:
  """openmic2018/audio32k and /features built from a fake tree with 1.5-s clips."""
  tmp = tmp_path_factory.mktemp("openmic")
  root = fixtures.make_tree(tmp / "manual", audio_seconds=1.5)
  data_dir = tmp / "data"
  for spec in ("openmic2018/audio32k", "openmic2018/features"):
    data_builders.prepare(spec, str(data_dir), root)
  return str(data_dir)


def _read(workdir: pathlib.Path, name: str) -> dict:
  return json.loads((workdir / name).read_text())


def _check_run(workdir: pathlib.Path, results: dict[str, float]) -> None:
  saved = _read(workdir, "results.json")
  assert saved["checkpoint"] == "best" and saved["step"] in (3, 6)  # evaluations at 3 and 6
  numbers = {k: v for k, v in saved.items() if k not in RECORD_KEYS}
  assert numbers == pytest.approx(results, nan_ok=True)
  for split in ("validation", "test"):
    assert 0.0 <= saved[f"{split}/map"] <= 1.0
    assert saved[f"{split}/map_classes"] >= 1
    for m in HEADLINE[2:]:
      assert 0.0 <= saved[f"{split}/{m}"] <= 1.0
    aps = [v for k, v in saved.items() if k.startswith(f"{split}/ap/")]
    assert len(aps) == saved[f"{split}/map_classes"]
    assert saved[f"{split}/map"] == pytest.approx(sum(aps) / len(aps))
  calibration = _read(workdir, f"calibration/{saved['step']}.json")
  assert sorted(calibration["thresholds"]) == sorted(OPENMIC)
  assert (workdir / "plots" / "pr_curves.png").stat().st_size > 0


@pytest.mark.parametrize("arg", ["tiny", "features,tiny"])
def test_openmic_tiny_trains_and_evaluates(arg, openmic_data_dir, tmp_path):
  config = tiny_config("openmic", arg, data_dir=openmic_data_dir)
  assert config.dataset.name == ("openmic2018/features" if "features" in arg
                                 else "openmic2018/audio32k")
  results = main.run(config, str(tmp_path), "train_and_eval")
  _check_run(tmp_path, results)
  saved = _read(tmp_path, "config.json")
  assert saved["config"]["task"]["name"] == "tagging"
  if arg == "tiny":  # the predict CLI on an unseen 44.1 kHz stereo file
    path = tmp_path / "clip.ogg"
    fixtures.write_ogg(path, 2.2, seed=5)
    (out,) = predict.predict_files(predict.Predictor(str(tmp_path)), [str(path)])
    pred = out["prediction"]
    assert out["duration_s"] == pytest.approx(2.2, abs=0.01) and pred["windows"] == 3
    assert sorted(pred["scores"]) == sorted(OPENMIC)
    assert all(pred["scores"][n] >= pred["thresholds"][n] for n in pred["instruments"])


@pytest.mark.slow
def test_openmic_eval_mode_reproduces_the_results(openmic_data_dir, tmp_path):
  results = main.run(tiny_config("openmic", "features,tiny", data_dir=openmic_data_dir),
                     str(tmp_path), "train_and_eval")
  again = main.run(None, str(tmp_path), "eval")
  assert again == pytest.approx(results, abs=1e-6, nan_ok=True)


@pytest.mark.slow
def test_openmic_synth_tiny_on_synthmix(synth_data_dir, tmp_path):
  config = tiny_config("openmic", "synth,tiny", data_dir=synth_data_dir)
  assert config.dataset.name == "synthmix/tiny"
  results = main.run(config, str(tmp_path), "train_and_eval")
  _check_run(tmp_path, results)


@pytest.mark.parametrize("model", list(openmic.MODELS))
def test_every_model_builds_at_tiny_size(model):
  config = openmic.get_config(f"model={model},tiny")
  fmt = DataFormat(0, 0) if model == "vggish_mlp" else DataFormat(32000, 1)
  state = Experiment(config, fmt).abstract_state()  # traces frontend + model on a training input
  shapes = [p.shape for p in jax.tree.leaves(state.params)]
  assert sum(math.prod(s) for s in shapes) > len(OPENMIC)
  assert any(len(s) == 2 and s[-1] == len(OPENMIC) for s in shapes)  # a head scoring 20 classes


@pytest.mark.slow
@pytest.mark.parametrize("model", list(openmic.MODELS))
def test_every_model_builds_at_full_size(model):
  config = openmic.get_config(f"model={model}")
  fmt = DataFormat(0, 0) if model == "vggish_mlp" else DataFormat(32000, 1)
  exp = Experiment(config, fmt)
  assert exp.task.input_shape() == ((10, 128) if model == "vggish_mlp" else (1, 320000))
  exp.abstract_state()


def test_config_args():
  audio = openmic.get_config()
  assert (audio.model.name, audio.frontend.n_mels, audio.frontend.hop_length) == (
      "short_chunk_res", 128, 320)
  assert audio.augment.specaugment and audio.augment.mixup_alpha > 0
  assert audio.train.best_metric == "map"
  assert audio.reference_numbers.PaSST_mAP == 0.843
  features = openmic.get_config("features")
  assert (features.model.name, features.frontend.name, features.task.input) == (
      "vggish_mlp", "identity", "vggish")
  assert openmic.get_config("model=vggish_mlp").dataset.name == "openmic2018/features"
  synth = openmic.get_config("synth")
  assert (synth.task.relevance_key, synth.task.mask_key) == ("openmic_relevance", "openmic_mask")
  for bad in ("model=resnet", "features,model=crnn", "synth,features"):
    with pytest.raises(ConfigError):
      openmic.get_config(bad)


def test_get_hyper_sweeps_existing_fields():
  config = openmic.get_config()
  points = openmic.get_hyper(hyper)
  assert len(points) == 6
  for key in points[0]:
    node = config
    for part in key.split(".")[1:]:
      node = node[part]  # KeyError if the sweep names a field the config lacks
