"""launch.py under `srun`: jax.distributed from the SLURM environment, no flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from instrax import cluster
from instrax.errors import ConfigError
from tests.conftest import ROOT


def test_tasks_on_node_reads_slurm_compressed_lists():
  env = {"SLURM_STEP_TASKS_PER_NODE": "4(x2),3", "SLURM_NODEID": "1"}
  assert cluster.tasks_on_node(env) == 4
  assert cluster.tasks_on_node({**env, "SLURM_NODEID": "2"}) == 3
  assert cluster.tasks_on_node({}) == 1
  with pytest.raises(ConfigError):
    cluster.tasks_on_node({"SLURM_STEP_TASKS_PER_NODE": "two"})


def test_local_device_ids_per_host_per_gpu_and_bound():
  node = {"SLURM_STEP_TASKS_PER_NODE": "4", "SLURM_NODEID": "0", "SLURM_LOCALID": "2"}
  # one task per GPU on a 4-GPU node: GPU 2 for local task 2
  assert cluster.local_device_ids({**node, "CUDA_VISIBLE_DEVICES": "0,1,2,3"}) == [2]
  # 4 tasks sharing 8 GPUs: the third block of two
  assert cluster.local_device_ids({**node, "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"}) == [4, 5]
  # SLURM bound one GPU to each task (--gpus-per-task=1): use what the task sees
  assert cluster.local_device_ids({**node, "CUDA_VISIBLE_DEVICES": "2"}) is None
  # one task per host: every GPU
  one = {"SLURM_STEP_TASKS_PER_NODE": "1", "SLURM_LOCALID": "0", "CUDA_VISIBLE_DEVICES": "0,1"}
  assert cluster.local_device_ids(one) is None
  assert cluster.local_device_ids({**node, "CUDA_VISIBLE_DEVICES": ""}) == [2]
  with pytest.raises(ConfigError):
    cluster.local_device_ids({**node, "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5"})


def test_only_srun_steps_count():
  batch = {"SLURM_JOB_ID": "7", "SLURM_NTASKS": "4", "SLURM_PROCID": "0"}  # sbatch script body
  assert cluster.slurm_step_tasks(batch) == 0
  step = {**batch, "SLURM_STEP_NODELIST": "n1", "SLURM_STEP_NUM_TASKS": "2"}
  assert cluster.slurm_step_tasks(step) == 2


def _train(cmd_prefix, workdir, data_dir, devices, env):
  env = {**env, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
         "JAX_PLATFORMS": "cpu"}
  cmd = [*cmd_prefix, sys.executable, "launch.py", "--config=configs/demo.py:tiny",
         f"--workdir={workdir}", f"--config.data_dir={data_dir}", "--config.train.log_every=1",
         "--mode=train"]
  out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
  assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
  return out.stdout + out.stderr


def _losses(workdir) -> list[float]:
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line)["train/loss"] for line in f if "train/loss" in line]


@pytest.mark.slow
def test_srun_two_tasks_match_one_process(tmp_path, synth_data_dir, slurm_cluster):
  """`srun -n 2` (2 processes × 2 CPU devices, no flags) trains as 1 process × 4 devices."""
  env = slurm_cluster.env()
  _train([], tmp_path / "one", synth_data_dir, 4, env)
  log = _train(["srun", "-n", "2", "--kill-on-bad-exit=1"], tmp_path / "two", synth_data_dir, 2,
               env)
  assert "processes: 2" in log and "devices: 4" in log, log[-3000:]
  one, two = _losses(tmp_path / "one"), _losses(tmp_path / "two")
  assert len(one) == len(two) == 6  # process 1 wrote no rows of its own
  np.testing.assert_allclose(one, two, rtol=2e-4, atol=1e-5)
