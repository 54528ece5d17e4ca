"""bench/transfer_sweep.py: the step list, the means/ranges over checkpoints by hand, and the
command on a tiny run against eval_transfer.py at each of its checkpoints."""

from __future__ import annotations

import json

import pytest

from bench import eval_transfer, transfer_sweep
from instrax import main
from tests.conftest import SHARED, tiny_config


def test_parse_steps_takes_a_range_or_a_list_and_refuses_the_rest():
  assert transfer_sweep.parse_steps("4000:5000:500") == [4000, 4500, 5000]
  assert transfer_sweep.parse_steps("1000, 500,1000") == [500, 1000]
  for bad in ("5000:4000:500", "1:2", "0:10:0", "", "-5"):
    with pytest.raises(ValueError):
      transfer_sweep.parse_steps(bad)


def _result(ranks: list[int]) -> dict:
  files = [{"group": "real_transfer", "file": f"f{i}.wav", "labels": ["flu"], "top1": "flu",
            "rank": r} for i, r in enumerate(ranks)]
  return {"files": files, "groups": {"real_transfer": eval_transfer.summarize(ranks),
                                     "all": eval_transfer.summarize(ranks)}}


def test_an_export_or_ensemble_is_refused(capsys):
  from instrax import predict

  shipped = f"{predict.SHIPPED_ROOT}/instruments"
  for folder in (shipped, f"{shipped}/member_0"):
    assert transfer_sweep.main([f"--workdir={folder}", "--steps=1,2"]) == 2
    assert "bench/eval_transfer.py" in capsys.readouterr().err


def test_aggregate_gives_means_ranges_and_per_file_counts():
  out = transfer_sweep.aggregate({1000: _result([1, 2, 1]), 500: _result([1, 4, 3])})
  g = out["groups"]["real_transfer"]
  assert (g["top1_mean"], g["top1_min"], g["top1_max"]) == (1.5, 1, 2)
  assert g["mean_rank_mean"] == pytest.approx((4 / 3 + 8 / 3) / 2)
  assert (g["mean_rank_min"], g["mean_rank_max"], g["checkpoints"]) == (pytest.approx(4 / 3),
                                                                        pytest.approx(8 / 3), 2)
  assert [(f["times_top1"], f["mean_rank"]) for f in out["files"]] == [(2, 1.0), (0, 3.0),
                                                                       (1, 2.0)]


@pytest.mark.slow
def test_command_matches_eval_transfer_at_each_checkpoint(tmp_path, synth_data_dir, capsys):
  fixtures = SHARED / "fixtures"
  if not (fixtures / "real_transfer").is_dir():
    pytest.skip(f"no real_transfer fixtures under {fixtures}")
  workdir = str(tmp_path / "run")
  main.run(tiny_config(data_dir=synth_data_dir), workdir, "train")  # checkpoints at 3 and 6
  out = tmp_path / "sweep.json"
  assert transfer_sweep.main([f"--workdir={workdir}", "--steps=3:6:3", f"--fixtures={fixtures}",
                              f"--json={out}"]) == 0
  sweep = json.loads(out.read_text())
  assert sweep["run"]["best_step"] in (3, 6)
  for step in (3, 6):
    single = tmp_path / f"{step}.json"
    assert eval_transfer.main([f"--workdir={workdir}", f"--checkpoint={step}",
                               f"--fixtures={fixtures}", f"--json={single}"]) == 0
    assert json.loads(single.read_text())["files"] == sweep["steps"][str(step)]["files"]
  assert transfer_sweep.main([f"--workdir={workdir}", "--steps=9",
                              f"--fixtures={fixtures}"]) == 2
  assert "step 9" in capsys.readouterr().err
