"""Lead detection on the spine: `configs/lead.py:synth,tiny` trains, evaluates (per-segment and
whole-song metrics, confusion + heatmap figures) and predicts a lead timeline for a stem folder."""

from __future__ import annotations

import csv
import json
import pathlib

import numpy as np
import pytest
import soundfile as sf

from instrax import main, predict
from instrax.experiment import DataFormat, Experiment
from instrax.models import lead as lead_model
from tests.conftest import tiny_config

METRICS = ("segment_f1", "segment_inst_f1", "segment_accuracy", "frame_accuracy", "song_f1",
           "song_inst_f1")


def _config(data_dir: str):
  return tiny_config("lead", "synth,tiny", data_dir=data_dir, train__num_steps=3,
                     train__eval_every=0, train__checkpoint_every=3, eval__max_examples=2)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, synth_data_dir) -> tuple[pathlib.Path, dict]:
  workdir = tmp_path_factory.mktemp("lead_run")
  return workdir, main.run(_config(synth_data_dir), str(workdir), "train_and_eval")


@pytest.mark.slow
def test_train_and_eval_reports_segment_and_song_metrics_and_figures(trained):
  workdir, results = trained
  for split in ("validation", "test"):
    for name in METRICS:
      assert 0.0 <= results[f"{split}/{name}"] <= 1.0, name
    # synthmix/tiny songs are 4 s: 1-s windows every 0.5 s → 7 segments per song, 2 songs
    assert results[f"{split}/segments"] == 14
  plots = {p.name for p in (workdir / "plots").iterdir()}
  assert {"confusion.png", "heatmap_0.png", "heatmap_1.png"} <= plots
  assert json.loads((workdir / "results.json").read_text())["test/frame_accuracy"] == \
      results["test/frame_accuracy"]


@pytest.mark.slow
def test_predict_on_a_stem_folder_writes_a_lead_timeline(trained, tmp_path, capsys):
  workdir, _ = trained
  song = tmp_path / "my_song"
  song.mkdir()
  rate, t = 16000, np.arange(3 * 16000) / 16000
  flute = 0.3 * np.sin(2 * np.pi * 660 * t)
  bass = 0.3 * np.sin(2 * np.pi * 110 * t) * (t < 2)
  sf.write(song / "Flute.wav", flute, rate)
  sf.write(song / "Electric Bass (finger).wav", bass, rate)
  sf.write(song / "mix.wav", flute + bass, rate)
  sf.write(song / "._Flute.wav", np.zeros(10), rate)  # macOS metadata twin: ignored
  out = tmp_path / "out"
  assert predict.main(["--workdir", str(workdir), str(song), "--output", str(out)]) == 0
  capsys.readouterr()
  timeline = json.loads((out / "my_song.lead.json").read_text())
  assert timeline["id"] == "my_song"
  with open(out / "my_song.lead.csv") as f:
    rows = list(csv.DictReader(f))
  assert [(r["track"], r["instrument"]) for r in rows] == \
      [(e["track"], e["instrument"]) for e in timeline["timeline"]]
  names = {"mix", "Flute", "Electric Bass (finger)"}
  for e in timeline["timeline"]:
    assert e["track"] in names and 0 <= e["start"] < e["end"] <= 3.0 + 1e-6
    assert e["instrument"] == {"Flute": "Flute", "mix": "mix"}.get(e["track"],
                                                                   "Electric Bass (finger)")
  assert (out / "my_song.lead.png").stat().st_size > 1000


def test_pretrained_weights_are_loaded_after_init(monkeypatch, synth_data_dir):
  """The spine calls `model.load_pretrained(variables)` after init (outside jit), EMA included."""
  def load(self, variables):
    params = variables["params"]
    return {**variables,
            "params": {**params, "head": {**params["head"], "bias": params["head"]["bias"] + 7.0}}}

  monkeypatch.setattr(lead_model.LeadTrackClassifier, "load_pretrained", load)
  config = _config(synth_data_dir)
  config.train.ema_decay = 0.9
  state = Experiment(config, DataFormat(16000, 1)).init_state()
  np.testing.assert_array_equal(np.asarray(state.params["head"]["bias"]), 7.0)
  np.testing.assert_array_equal(np.asarray(state.ema_params["head"]["bias"]), 7.0)


@pytest.mark.slow
def test_medleydb_lead_trains_and_predicts_a_medleydb_stem_folder(tmp_path, real_fixtures, capsys):
  """configs/lead.py:tiny on the MedleyDB builder (fake tree in the real layout), then predict on
  a track's _STEMS folder: instruments come from the METADATA.yaml beside it."""
  import data_builders
  from data_builders.medleydb_lead import fixtures

  fake = fixtures.make_fake_medleydb(tmp_path / "manual", real_fixtures / "medleydb")
  data_builders.prepare("medleydb_lead", str(tmp_path / "tfds"), fake.root)
  config = tiny_config("lead", "tiny", data_dir=str(tmp_path / "tfds"), train__num_steps=2,
                       train__eval_every=0, train__checkpoint_every=2)
  results = main.run(config, str(tmp_path / "run"), "train_and_eval")
  assert results["test/segments"] == 3  # one 2-s song: 1-s windows every 0.5 s
  stems = fake.root / "Audio" / "Fake_Json" / "Fake_Json_STEMS"
  out = tmp_path / "out"
  assert predict.main(["--workdir", str(tmp_path / "run"), str(stems), "--output", str(out)]) == 0
  capsys.readouterr()
  timeline = json.loads((out / "Fake_Json_STEMS.lead.json").read_text())["timeline"]
  kinds = {"mix": "mix", "Fake_Json_STEM_01": "vocal", "Fake_Json_STEM_02": "keyboards"}
  assert all(kinds[e["track"]] == e["instrument"] for e in timeline)


@pytest.mark.slow
@pytest.mark.parametrize("arg", ["model=lead_inst_cls,variant=inst_emb", "model=lead_crnn"])
def test_inst_cls_models_run_from_the_config(arg, tmp_path, synth_data_dir):
  config = tiny_config("lead", f"synth,tiny,{arg}", data_dir=synth_data_dir,
                       train__num_steps=2, train__eval_every=0, train__checkpoint_every=2,
                       eval__max_examples=1)
  assert config.task.formulation == "inst_cls"
  results = main.run(config, str(tmp_path), "train_and_eval")
  for name in METRICS:
    assert 0.0 <= results[f"test/{name}"] <= 1.0, name
