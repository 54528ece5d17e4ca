"""bench/probe_banks.py: the probe keys by hand, the rendered notes a scorer sees (TimGM6mb, which
pretty_midi ships), the table from made-up rows, and the command on the shipped model."""

import json

import numpy as np
import pytest
import soundfile as sf

from bench import probe_banks
from data_builders.synthmix import render
from instrax.data import vocabularies


def test_keys_are_spread_evenly_inside_the_playing_range():
  # clarinet (71): range 50..91; fractions 1/5..4/5 of 41 semitones above 50
  assert probe_banks.probe_keys(71, 4) == [58, 66, 75, 83]
  assert probe_banks.probe_keys(71, 1) == [70]


def test_each_program_and_key_is_rendered_alone_and_ranked(tmp_path):
  seen = []

  def scorer(path: str) -> dict[str, float] | None:
    audio, sr = sf.read(path)
    seen.append(path)
    assert sr == probe_banks.SAMPLE_RATE and len(audio) == sr  # 1 s
    onset = round(probe_banks.NOTE[0] * sr)
    assert np.abs(audio[:onset]).max() == 0 and np.abs(audio[onset:]).max() > 1e-3
    scores = {c: 0.1 for c in vocabularies.IRMAS}
    scores["flu"], scores["cla"] = 0.9, 0.5  # clarinet second, saxophone third
    scores["sax"] = 0.3
    return scores

  rows = probe_banks.probe(scorer, [render.DEFAULT_NAME], ["cla", "sax"], 2, tmp_path)
  # clarinet: program 71; saxophone: programs 64-67; two keys each, one bank
  assert [(r["program"], r["key"]) for r in rows] == [
      (71, k) for k in probe_banks.probe_keys(71, 2)] + [
      (p, k) for p in (64, 65, 66, 67) for k in probe_banks.probe_keys(p, 2)]
  assert len(seen) == len(rows) == 10
  assert {(r["class"], r["rank"], r["top1"]) for r in rows} == {("cla", 2, "flu"),
                                                                ("sax", 3, "flu")}


def test_table_counts_right_answers_ranks_and_silent_notes():
  rows = [{"class": "cla", "bank": "A", "rank": 1, "top1": "cla"},
          {"class": "cla", "bank": "A", "rank": 3, "top1": "flu"},
          {"class": "cla", "bank": "A", "rank": 2, "top1": "flu"},
          {"class": "cla", "bank": "A", "rank": None, "top1": None},
          {"class": "vio", "bank": "B", "rank": None, "top1": None}]
  lines = probe_banks.table(rows).splitlines()
  assert lines[2] == "| cla | A | 1/3 | 2.00 | flu (2) | 1 |"
  assert lines[3] == "| vio | B | 0/0 | nan | — | 1 |"


def test_bad_classes_are_refused(capsys):
  with pytest.raises(SystemExit) as e:
    probe_banks.main(["--classes=clarinet"])
  assert e.value.code == 2 and "IRMAS codes" in capsys.readouterr().err


@pytest.mark.slow
def test_command_on_the_shipped_model(tmp_path, capsys):
  out = tmp_path / "probe.json"
  assert probe_banks.main(["--classes=flu", f"--banks={render.DEFAULT_NAME}", "--keys=1",
                           f"--json={out}"]) == 0
  rows = json.loads(out.read_text())
  assert [(r["class"], r["program"], r["bank"]) for r in rows] == [("flu", 73,
                                                                    render.DEFAULT_NAME)]
  assert 1 <= rows[0]["rank"] <= len(vocabularies.IRMAS)
  assert f"| flu | {render.DEFAULT_NAME} |" in capsys.readouterr().out
