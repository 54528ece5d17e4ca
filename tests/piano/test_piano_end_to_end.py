"""configs/piano.py:maps,tiny end to end on trimmed real MAPS renders: build, train, calibrate and
evaluate (mir_eval onset and onset+velocity F1, figures), then predict a file longer than
`predict.segment_s` to MIDI + CSV."""

from __future__ import annotations

import csv

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

import data_builders
from data_builders.maps import fixtures
from instrax import main, predict
from tests.conftest import tiny_config

STEMS = ["MAPS_MUS-chpn-p14_AkPnBcht", "MAPS_MUS-chpn-p1_AkPnBcht", "MAPS_MUS-scn15_3_AkPnBcht",
         "MAPS_MUS-chpn-p7_SptkBGCl"]


@pytest.fixture(scope="module")
def maps_data(tmp_path_factory, real_fixtures):
  root = tmp_path_factory.mktemp("maps")
  fixtures.copy_real(real_fixtures / "maps", root / "manual", STEMS, seconds=6.0)
  data_builders.prepare("maps/pieces", str(root / "data"), root / "manual")
  return root


@pytest.mark.slow  # ≈ 45 s of CPU, minutes on a shared machine
def test_maps_tiny_trains_evaluates_and_predicts(tmp_path, maps_data):
  config = tiny_config("piano", "maps,maps_config=pieces,tiny", str(maps_data / "data"))
  config.predict.segment_s = 2.0  # the 6 s input is predicted in 3 segments
  workdir = tmp_path / "run"
  results = main.run(config, str(workdir), "train_and_eval")
  for name in ("onset_f1", "onset_velocity_f1", "onset_precision", "onset_recall"):
    assert 0.0 <= results[f"test/{name}"] <= 1.0, name
  assert results["test/pieces"] == 1.0
  assert results["test/threshold"] in config.task.thresholds
  assert list((workdir / "calibration").iterdir())  # tuned on validation, read back by predict

  wav = tmp_path / "piano.wav"
  audio, rate = sf.read(maps_data / "manual/flac/MAPS_MUS-chpn-p14_AkPnBcht.flac")
  sf.write(wav, np.stack([audio, audio], 1), rate)  # stereo: predict mixes down
  out = tmp_path / "out"
  assert predict.main(["--workdir", str(workdir), str(wav), "--output", str(out)]) == 0
  midi = pretty_midi.PrettyMIDI(str(out / "piano.mid"))
  with open(out / "piano.csv") as f:
    rows = list(csv.DictReader(f))
  assert len(midi.instruments[0].notes) == len(rows)
  onsets = [(float(r["onset_s"]), int(r["key"])) for r in rows]
  assert onsets == sorted(onsets) and len(set(onsets)) == len(onsets)  # no doubled notes
  assert all(0 <= o < 6.0 and 21 <= k <= 108 for o, k in onsets)
