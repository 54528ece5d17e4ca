"""bench/ablate_transfer.py: the ablation configs switch off exactly their fields, and the table
is built from results.json and eval_transfer's JSON as written (fabricated files, no training)."""

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import ablate_transfer

from data_builders.synthmix import render, variety
from data_builders.synthmix.synthmix import (
  ABLATIONS,
  ADDITIONS,
  BANKS,
  EXTRA_BANKS,
  RICH_BANKS,
  SAMPLED_BANK,
  Synthmix,
)


def test_each_ablation_config_is_rich_with_only_its_fields_off():
  configs = {c.name: c for c in Synthmix.BUILDER_CONFIGS}
  rich = configs["rich"]
  for name, off in ABLATIONS.items():
    c = configs[f"ablate_{name}"]
    fields = dataclasses.asdict(c.variety)
    assert {k for k, on in fields.items() if not on} == set(off) - {"samples"}, name
    assert c.soundfonts == ((*BANKS, *EXTRA_BANKS) if "samples" in off else RICH_BANKS), name
    assert c.num_train == 1500
    assert (c.duration_s, c.bpm_range, c.num_scores, c.sample_rate) == (
        rich.duration_s, rich.bpm_range, rich.num_scores, rich.sample_rate)
  assert configs["ablate_full"].variety == variety.ALL
  assert rich.soundfonts == RICH_BANKS == (*BANKS, "sf_GMbank", "FreePats", "TonejsInstruments")
  assert SAMPLED_BANK not in configs["ablate_no_samples"].soundfonts
  for name, add in ADDITIONS.items():  # `full` with banks added: nothing else differs
    c, full = configs[f"ablate_{name}"], configs["ablate_full"]
    assert c.soundfonts == (*RICH_BANKS, *add)
    same = [f.name for f in dataclasses.fields(c)
            if f.name not in ("name", "description", "soundfonts")]
    assert [getattr(c, f) for f in same] == [getattr(full, f) for f in same]
  assert ADDITIONS["plus_diguitar"] == ("DIGuitar",)
  assert ADDITIONS["plus_opl3"] == ("OPL3_FM",)
  assert ADDITIONS["plus_modelled"] == ("DIGuitar", "BowedStrings")
  assert all(b in render.STANDARD_PATHS for add in ADDITIONS.values() for b in add)


def test_each_full_size_addition_is_rich_with_only_its_banks_added():
  configs = {c.name: c for c in Synthmix.BUILDER_CONFIGS}
  rich = configs["rich"]
  for name, add in ADDITIONS.items():
    c = configs[f"rich_{name}"]
    assert c.soundfonts == (*RICH_BANKS, *add)
    same = [f.name for f in dataclasses.fields(c)
            if f.name not in ("name", "description", "soundfonts")]
    assert [getattr(c, f) for f in same] == [getattr(rich, f) for f in same], name


def test_rows_and_table_from_the_run_records():
  results = {"test/micro_f1": 0.5, "step": 1500}
  transfer = {"groups": {"real_transfer": {"top1_correct": 4, "files": 11, "mean_rank": 3.456},
                         "real": {"top1_correct": 1, "files": 3, "mean_rank": 2.0}}}
  r = ablate_transfer.row("no_room", results, transfer)
  assert r == {"variant": "no_room", "off": "eq, reverb", "synthetic_micro_f1": 0.5,
               "real_transfer_top1": "4/11", "real_transfer_mean_rank": 3.456,
               "real_top1": "1/3", "real_mean_rank": 2.0}
  lines = ablate_transfer.table([r, ablate_transfer.row("full", {}, transfer)]).splitlines()
  assert lines[0] == ("| variant | off | synthetic test micro-F1 | real_transfer top-1 | "
                      "real_transfer mean rank | real top-1 | real mean rank |")
  assert lines[2] == "| no_room | eq, reverb | 0.500 | 4/11 | 3.46 | 1/3 | 2.00 |"
  assert lines[3] == "| full | — | — | 4/11 | 3.46 | 1/3 | 2.00 |"
  recipe = ablate_transfer.row("full", results, transfer, "remix=0,short=0")
  assert recipe["variant"] == "full (remix=0,short=0)" and recipe["off"] == "—"


def test_config_args_reach_the_training_command_and_get_their_own_run(tmp_path, monkeypatch):
  commands = []

  def fake_run(cmd, log):
    commands.append(cmd)
    work = Path(log).parent
    if "launch.py" in cmd:
      (work / "results.json").write_text('{"test/micro_f1": 0.5}')
    elif "bench/eval_transfer.py" in cmd:
      (work / "transfer.json").write_text(
          '{"groups": {"real_transfer": {"top1_correct": 1, "files": 11, "mean_rank": 3.0}}}')

  monkeypatch.setattr(ablate_transfer, "run", fake_run)
  args = ablate_transfer.argparse.Namespace(data_dir="d", workdir=str(tmp_path), steps=20, seed=0,
                                            config_args="remix=0")
  r = ablate_transfer.variant("no_gain", args)
  train = next(c for c in commands if "launch.py" in c)
  assert "--config=configs/instruments.py:steps=20,remix=0" in train
  assert (tmp_path / "no_gain@remix=0" / "results.json").is_file()
  assert r["variant"] == "no_gain (remix=0)"


def test_unknown_variants_are_refused(capsys):
  assert ablate_transfer.main(["--data_dir=x", "--workdir=y", "--only=no_such"]) == 2
  assert "no_such" in capsys.readouterr().err

