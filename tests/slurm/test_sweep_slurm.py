"""`python -m instrax.sweep --slurm` on the loopback cluster: preemption, collection, rerun."""

from __future__ import annotations

import csv
import json
import subprocess
import time

import pytest

from instrax import slurm, sweep
from tests.conftest import ROOT


def _metrics(workdir) -> list[dict]:
  with open(workdir / "metrics.jsonl") as f:
    return [json.loads(line) for line in f]


@pytest.mark.slow
def test_slurm_sweep_preempted_trial_resumes_bit_exactly(tmp_path, synth_data_dir, slurm_cluster,
                                                         monkeypatch):
  """Two identical trials; trial 0 gets `scancel --signal=TERM` mid-training, checkpoints, is
  requeued and resumes: its results and loss curve equal those of the uninterrupted trial 1."""
  cfg = tmp_path / "twin_sweep.py"
  cfg.write_text(f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
                 "from configs.demo import get_config  # noqa: F401\n"
                 "SLURM = {'cpus': 1, 'time': 20}\n"
                 "def get_hyper(h):\n  return h.sweep('config.seed', [0, 0])\n")
  monkeypatch.setenv("JAX_PLATFORMS", "cpu")
  root = tmp_path / "runs"
  argv = [f"--config={cfg}:tiny", f"--root={root}", "--slurm",
          f"--config.data_dir={synth_data_dir}", "--config.train.num_steps=30",
          "--config.train.log_every=1"]
  assert sweep.main(argv) == 0
  ids = slurm.load_ids(str(root / "slurm" / "jobs.json"))
  first, second = sorted(ids)
  end = time.time() + 300
  while time.time() < end and not ((root / first / "metrics.jsonl").exists()
                                   and len(_metrics(root / first)) >= 3):
    time.sleep(0.2)
  subprocess.run(["scancel", "--signal=TERM", ids[first]], check=True, env=slurm_cluster.env())
  slurm_cluster.start_requeued_now(ids[first])
  end = time.time() + 600
  while time.time() < end and not (root / "sweep_results.csv").exists():
    time.sleep(1)
  log = (root / f"{first}.log").read_text()
  assert "(restart 1)" in log and "requeue: ok" in log and "Resumed from" in log, log[-3000:]
  with open(root / first / "results.json") as f, open(root / second / "results.json") as g:
    assert json.load(f) == json.load(g)
  losses = [[r["train/loss"] for r in _metrics(root / n) if "train/loss" in r]
            for n in (first, second)]
  assert len(losses[0]) == 30 and losses[0] == losses[1]
  with open(root / "sweep_results.csv") as f:
    rows = list(csv.DictReader(f))
  assert {r["run"] for r in rows} == {first, second}
  assert list(rows[0])[:3] == ["run", "validation/micro_f1", "test/micro_f1"]
  assert sweep.main(argv) == 0  # everything finished: nothing submitted again
  assert slurm.load_ids(str(root / "slurm" / "jobs.json")) == ids
