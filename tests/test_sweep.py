"""Sweeps: the get_hyper combinators, trial selection, flag checks, results table, the runner."""

from __future__ import annotations

import csv
import json
import os
import sys

import pytest

from instrax import hyper, slurm, sweep
from instrax.errors import ConfigError
from tests.conftest import ROOT

DEMO = str(ROOT / "configs" / "demo.py")


def test_combinators():
  lr = hyper.sweep("config.schedule.learning_rate", [1e-3, 2e-3])
  seed = hyper.sweep("config.seed", [0, 1, 2])
  assert len(hyper.product([lr, seed])) == 6
  assert hyper.product([lr, seed])[1] == {"config.schedule.learning_rate": 1e-3, "config.seed": 1}
  assert hyper.zipit([lr, seed[:2]]) == [{"config.schedule.learning_rate": 1e-3, "config.seed": 0},
                                         {"config.schedule.learning_rate": 2e-3, "config.seed": 1}]
  assert len(hyper.chainit([lr, seed])) == 5
  with pytest.raises(ValueError):
    hyper.zipit([lr, seed])
  with pytest.raises(ValueError):
    hyper.product([lr, lr])
  assert hyper.to_flags({"config.model.channels": (4, 8)}) == ["--config.model.channels=(4,8)"]


def test_every_config_sweep_is_valid():
  for name in ("demo", "irmas", "openmic"):
    path = ROOT / "configs" / f"{name}.py"
    if path.exists():
      for setting in sweep.load_sweep(str(path)):
        assert all(k.startswith("config.") for k in setting)


@pytest.mark.slow
def test_runner_runs_and_collects(tmp_path, synth_data_dir, monkeypatch):
  cfg = tmp_path / "small_sweep.py"
  cfg.write_text(
      f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
      "from configs.demo import get_config  # noqa: F401\n"
      "def get_hyper(h):\n  return h.sweep('config.seed', [0, 1])\n")
  monkeypatch.chdir(ROOT)
  rc = sweep.main([f"--config={cfg}:tiny", f"--root={tmp_path / 'runs'}", "--devices=cpu,cpu",
                   f"--config.data_dir={synth_data_dir}"])
  assert rc == 0, [p.read_text()[-2000:] for p in (tmp_path / "runs").glob("*.log")]
  with open(tmp_path / "runs" / "sweep_results.csv") as f:
    rows = list(csv.DictReader(f))
  assert sorted(r["config.seed"] for r in rows) == ["0", "1"]
  assert all(0 <= float(r["test/micro_f1"]) <= 1 for r in rows)
  assert sys.executable and os.path.isdir(tmp_path / "runs" / rows[0]["run"] / "checkpoints")


def _trials(n: int, root) -> list[sweep.Trial]:
  settings = [{"config.seed": i} for i in range(n)]
  return sweep.plan(f"{DEMO}:tiny", str(root), [], settings)


def test_select_by_index_range_and_name(tmp_path):
  trials = _trials(6, tmp_path)
  assert [t.index for t in sweep.select(trials, "4,0-1")] == [0, 1, 4]
  assert [t.index for t in sweep.select(trials, "003-seed=3")] == [3]
  assert sweep.select(trials, "") == trials
  for bad in ("6", "x", "1-x"):
    with pytest.raises(ConfigError):
      sweep.select(trials, bad)


def test_unknown_flags_are_refused_before_anything_runs(tmp_path, capsys):
  root = tmp_path / "r"
  for typo in ("--dryrun", "--config.train.num_step=3", "--config.train.num_steps", "--dry"):
    assert sweep.main([f"--config={DEMO}:tiny", f"--root={root}", typo]) == 2
    assert typo.split("=")[0].lstrip("-") in capsys.readouterr().err
  assert not root.exists()


def test_dry_run_shows_the_selected_trials_with_pass_through_flags(tmp_path, capsys):
  rc = sweep.main([f"--config={DEMO}:tiny", f"--root={tmp_path}", "--only=1", "--dry_run",
                   "--config.train.num_steps=3"])
  out = capsys.readouterr().out
  assert rc == 0 and out.count("launch.py") == 1
  assert "001-learning_rate=0.001-rnn_features=64" in out and "--config.train.num_steps=3" in out
  rc = sweep.main([f"--config={DEMO}:tiny", f"--root={tmp_path}", "--only=0-2", "--dry_run",
                   "--slurm", "--gpus=2", "--partition=gpu"])
  out = capsys.readouterr().out
  assert rc == 0 and "3 trial(s) to submit" in out and "gpus=2" in out
  assert not os.path.exists(tmp_path / "slurm")


def test_results_are_ranked_with_headline_metrics_first(tmp_path, capsys):
  trials = _trials(4, tmp_path)
  for t, val in zip(trials[:3], (0.5, 0.9, 0.7)):
    os.makedirs(t.workdir)
    with open(os.path.join(t.workdir, "results.json"), "w") as f:
      json.dump({"step": 9, "test/aaa": 1.0, "test/guitar/f1": 0.3, "test/micro_f1": val / 2,
                 "validation/micro_f1": val}, f)
  rank_by = ("validation/micro_f1", "test/micro_f1", "max")
  assert sweep.collect_and_print(trials, str(tmp_path), rank_by) == 1
  with open(tmp_path / "sweep_results.csv") as f:
    rows = list(csv.DictReader(f))
  assert [r["run"] for r in rows] == ["001-seed=1", "002-seed=2", "000-seed=0"]
  assert list(rows[0]) == ["run", "validation/micro_f1", "test/micro_f1", "test/aaa",
                           "config.seed", "step", "test/guitar/f1"]
  out = capsys.readouterr().out
  assert out.index("001-seed=1") < out.index("002-seed=2") < out.index("000-seed=0")
  assert "0.9000" in out and "not finished: 003-seed=3" in out
  sweep.collect(trials, str(tmp_path), ("validation/micro_f1", "test/micro_f1", "min"))
  with open(tmp_path / "sweep_results.csv") as f:
    assert [r["run"] for r in csv.DictReader(f)] == ["000-seed=0", "002-seed=2", "001-seed=1"]


def test_an_interrupted_trials_log_is_kept(tmp_path):
  trial = sweep.Trial(0, "t", {}, str(tmp_path / "t"), str(tmp_path / "t.log"),
                      (sys.executable, "-c", "print('attempt')"))
  assert sweep.run_local([trial], ["cpu"]) == []
  assert sweep.run_local([trial], ["cpu"]) == []
  text = (tmp_path / "t.log").read_text()
  assert text.count("attempt") == 2 and text.count("=== ") == 2


def test_slurm_resources_flags_over_config_over_defaults():
  r = slurm.Resources.from_sources({"gpus": 1, "partition": "a"}, {"partition": "b", "gpus": None})
  assert (r.partition, r.gpus, r.cpus) == ("b", 1, slurm.Resources().cpus)
  with pytest.raises(ConfigError):
    slurm.Resources.from_sources({"gpu": 1}, {})
