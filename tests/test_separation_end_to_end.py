"""configs/separation.py:synth,tiny end to end: train, evaluate (SDR/SI-SDR, audio summaries) and
predict WAV stems with the CLI, whose JSON holds file paths, never audio."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf

from instrax import main, predict
from tests.conftest import tiny_config


@pytest.mark.slow
def test_separator_trains_evaluates_and_predicts_stems(tmp_path, synth_data_dir):
  workdir = tmp_path / "sep"
  config = tiny_config("separation", "synth,tiny", synth_data_dir, train__num_steps=2,
                       train__eval_every=0, train__checkpoint_every=2)
  results = main.run(config, str(workdir), "train_and_eval")
  for name in ("test/sdr", "test/sdr/drums", "test/si_sdr/drums"):
    assert math.isfinite(results[name]), name

  from tensorboard.backend.event_processing import event_accumulator

  events = event_accumulator.EventAccumulator(str(workdir), size_guidance={"audio": 0})
  events.Reload()
  assert {"test/mixture", "test/drums"} <= set(events.Tags()["audio"])

  rate, seconds = 22050, 2.0  # resampled to the run's 16 kHz by predict
  t = np.arange(int(rate * seconds)) / rate
  song = tmp_path / "song.wav"
  sf.write(song, 0.3 * np.sin(2 * np.pi * 440 * t), rate)
  out = tmp_path / "out"
  assert predict.main([f"--workdir={workdir}", str(song), f"--output={out}",
                       "--format=json"]) == 0
  saved = json.loads((out / "predictions.json").read_text())
  (result,) = saved["results"]
  stem_path = out / "song" / "drums.wav"
  assert result["prediction"]["stems"] == {"drums": str(stem_path)}
  assert result["files"] == [str(stem_path)]
  audio, sr = sf.read(stem_path)
  assert sr == 16000 and audio.shape == (32000,)
  # stems cannot go to stdout
  assert predict.main([f"--workdir={workdir}", str(song), "--format=json"]) == 2
