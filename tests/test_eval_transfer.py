"""bench/eval_transfer.py: ranks and summaries by hand, the labelled-file collection on a made-up
fixtures tree, and the whole command on a tiny run against the predicted scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from bench import eval_transfer
from instrax import main
from tests.conftest import SHARED, tiny_config


def test_rank_counts_classes_scored_above_the_best_true_class():
  scores = {"cel": 0.1, "cla": 0.7, "flu": 0.4, "pia": 0.9}
  assert eval_transfer.rank_of_truth(scores, ["pia"]) == 1
  assert eval_transfer.rank_of_truth(scores, ["flu"]) == 3
  assert eval_transfer.rank_of_truth(scores, ["cel", "cla"]) == 2  # best true class: cla
  assert eval_transfer.summarize([1, 3, 2, 1]) == {"files": 4, "top1_correct": 2,
                                                   "top1_accuracy": 0.5, "mean_rank": 1.75}


def _wav(path, seed: int) -> None:
  path.parent.mkdir(parents=True, exist_ok=True)
  sf.write(path, np.random.default_rng(seed).uniform(-0.5, 0.5, 1600), 16000)


def test_labelled_files_from_every_source_once(tmp_path):
  rt = tmp_path / "real_transfer"
  _wav(rt / "audio" / "a.wav", 0)
  _wav(rt / "audio" / "b.wav", 1)
  (rt / "labels.csv").write_text("file,instrument\na.wav,flu\nb.wav,vio\n")
  irmas = tmp_path / "real" / "irmas"
  _wav(irmas / "IRMAS-TrainingData" / "cla" / "x.wav", 2)
  _wav(irmas / "IRMAS-TestingData-Part1" / "Part1" / "song-1.wav", 3)
  (irmas / "IRMAS-TestingData-Part1" / "Part1" / "song-1.txt").write_text("gel\t\nvoi\t\n")
  tinysol = tmp_path / "real" / "tinysol"
  _wav(tinysol / "audio" / "Winds" / "fl.wav", 0)  # the same audio as a.wav: counted once
  _wav(tinysol / "audio" / "Strings" / "cb.wav", 4)  # contrabass: no IRMAS class
  (tinysol / "annotation").mkdir()
  (tinysol / "annotation" / "TinySOL_metadata.csv").write_text(
      "Path,Instrument (in full)\nWinds/fl.wav,Flute\nStrings/cb.wav,Contrabass\n")
  items = eval_transfer.labelled_files(tmp_path)
  assert [(i.group, i.path.rsplit("/", 1)[1], i.labels) for i in items] == [
      ("real_transfer", "a.wav", ("flu",)), ("real_transfer", "b.wav", ("vio",)),
      ("real", "x.wav", ("cla",)), ("real", "song-1.wav", ("gel", "voi"))]


@pytest.mark.slow
def test_command_on_a_tiny_run_matches_the_predicted_scores(tmp_path, synth_data_dir):
  fixtures = SHARED / "fixtures"
  if not (fixtures / "real_transfer").is_dir():
    pytest.skip(f"no real_transfer fixtures under {fixtures}")
  workdir = str(tmp_path / "run")
  main.run(tiny_config(data_dir=synth_data_dir), workdir, "train")
  out = tmp_path / "transfer.json"
  assert eval_transfer.main([f"--workdir={workdir}", f"--fixtures={fixtures}",
                             f"--json={out}"]) == 0
  result = json.loads(out.read_text())
  from instrax.predict import Predictor

  predictor = Predictor(workdir)
  rows = result["files"]
  assert len(rows) == len(eval_transfer.labelled_files(fixtures)) >= 11
  ranks = {"real_transfer": [], "real": []}
  for item, row in zip(eval_transfer.labelled_files(fixtures), rows, strict=True):
    scores = predictor.predict_file(item.path)["prediction"]["scores"]
    order = sorted(scores, key=lambda c: -scores[c])  # best first
    rank = min(order.index(c) for c in item.labels) + 1
    assert row["rank"] == rank and row["top1"] == order[0]
    ranks[item.group].append(rank)
  for group, r in ranks.items():
    s = result["groups"][group]
    assert s["files"] == len(r) and s["top1_correct"] == r.count(1)
    assert s["mean_rank"] == pytest.approx(np.mean(r))


def test_tilted_scores_a_brighter_or_darker_copy_of_each_file(tmp_path):
  t = np.arange(16000) / 16000
  tone = 0.2 * np.sin(2 * np.pi * 250 * t) + 0.2 * np.sin(2 * np.pi * 4000 * t)  # 4 octaves apart
  sf.write(tmp_path / "x.wav", np.stack([tone, tone], 1), 16000)  # stereo: channels alike
  balances = []

  def scorer(path: str) -> dict[str, float]:
    audio, _ = sf.read(path)
    assert audio.shape == (16000, 2) and np.abs(audio).max() == pytest.approx(0.5, rel=1e-6)
    spectrum = np.abs(np.fft.rfft(audio[:, 0]))
    balances.append(20 * np.log10(spectrum[4000] / spectrum[250]))
    return {"flu": 1.0}

  for slope in (3.0, -6.0):
    copies = tmp_path / f"copies{slope}"
    copies.mkdir()
    assert eval_transfer.tilted(scorer, slope, copies)(str(tmp_path / "x.wav")) == {"flu": 1.0}
  assert balances == pytest.approx([4 * 3.0, 4 * -6.0], abs=0.01)
