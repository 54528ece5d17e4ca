"""Sweep trials as one SLURM job array, through submitit; preempted trials requeue themselves.

Each trial is a `TrialJob`: submitit runs it on a node, and it runs the trial's launch.py command
as a child process, its output appended to the trial's log. When SLURM signals the job before its
time limit (submitit's `--signal=USR2@<delay>`, or `scancel --signal=TERM JOB`), the child gets
SIGTERM, so the train loop writes a checkpoint and exits (`Preempted`); the job then asks SLURM to
requeue it (`scontrol requeue`) and, started again, resumes from that checkpoint. A trial's
outcome is its workdir (results.json), not submitit's result pickle.
Reference: submitit's SlurmExecutor and JobEnvironment; sbatch(1) --signal, scontrol(1) requeue.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from instrax.errors import ConfigError

RESOURCE_KEYS = ("partition", "gpus", "cpus", "time", "mem", "max_parallel", "signal_delay_s",
                 "extra")


@dataclasses.dataclass(frozen=True)
class Resources:
  """Per-trial resources. time in minutes, mem in GB (None: the partition's default), gpus and cpus
  per trial (one task, one node), max_parallel: trials running at once (0: no limit),
  signal_delay_s: how long before the time limit SLURM signals a trial to checkpoint,
  extra: further sbatch options, e.g. {"account": "x", "qos": "y"}."""

  partition: str = ""
  gpus: int = 0
  cpus: int = 4
  time: int = 60
  mem: float | None = None
  max_parallel: int = 0
  signal_delay_s: int = 120
  extra: dict[str, Any] = dataclasses.field(default_factory=dict)

  @classmethod
  def from_sources(cls, config_values: dict[str, Any], flag_values: dict[str, Any]) -> Resources:
    """Flags (non-None) over the config file's SLURM dict over the defaults; unknown keys are a
    ConfigError."""
    unknown = set(config_values) - set(RESOURCE_KEYS)
    if unknown:
      raise ConfigError(f"SLURM dict in the config file: unknown key(s) {sorted(unknown)}; known: "
                        f"{', '.join(RESOURCE_KEYS)}")
    merged = {**config_values, **{k: v for k, v in flag_values.items() if v is not None}}
    return cls(**merged)


def executor(folder: str, resources: Resources, name: str):
  """A submitit SlurmExecutor for trials of `resources`, logs and pickles under `folder`; its jobs
  import instrax from this checkout."""
  import submitit

  checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

  ex = submitit.SlurmExecutor(folder=folder, max_num_timeout=0)
  params: dict[str, Any] = dict(
      job_name=name, time=resources.time, cpus_per_task=resources.cpus, ntasks_per_node=1,
      nodes=1, signal_delay_s=resources.signal_delay_s, array_parallelism=resources.max_parallel
      or 1024, setup=[f"export PYTHONPATH={checkout}${{PYTHONPATH:+:$PYTHONPATH}}"],
      additional_parameters={"requeue": True, **resources.extra})
  if resources.partition:
    params["partition"] = resources.partition
  if resources.gpus:
    params["gpus_per_node"] = resources.gpus
  if resources.mem:
    params["mem"] = f"{int(resources.mem * 1024)}M"
  ex.update_parameters(**params)
  return ex


@dataclasses.dataclass(frozen=True)
class TrialJob:
  """What a SLURM array task runs: `command` in `cwd`, output appended to `log`; on SLURM's
  preemption signal, checkpoint (via the child's SIGTERM handling) and requeue."""

  command: tuple[str, ...]
  log: str
  cwd: str

  def __call__(self) -> int:
    import submitit

    job_id = submitit.JobEnvironment().job_id
    received: list[int] = []
    with open(self.log, "a") as log:
      log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {socket.gethostname()} SLURM job "
                f"{job_id} (restart {os.environ.get('SLURM_RESTART_COUNT', '0')}) ===\n")
      log.flush()
      # The child ignores USR2 (SLURM sends it to every process of the step); it is told by TERM.
      old_usr2 = signal.signal(signal.SIGUSR2, signal.SIG_IGN)
      proc = subprocess.Popen(self.command, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)

      def forward(signum: int, _frame: Any) -> None:
        received.append(signum)
        with contextlib.suppress(ProcessLookupError):
          proc.send_signal(signal.SIGTERM)

      old_term = signal.signal(signal.SIGTERM, forward)
      signal.signal(signal.SIGUSR2, forward)
      try:
        rc = proc.wait()
      finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGUSR2, old_usr2)
      if rc == 0:
        return 0
      if received:
        requeue = subprocess.run(["scontrol", "requeue", job_id], capture_output=True, text=True)
        log.write(f"=== signal {signal.Signals(received[0]).name}: launch.py exited with {rc}; "
                  f"requeue: {requeue.returncode or 'ok'} {requeue.stderr.strip()} ===\n")
        log.flush()
        if requeue.returncode == 0:
          sys.exit(-1)  # like submitit's own requeue: no result file, SLURM restarts this job
    raise RuntimeError(f"trial failed (launch.py exit status {rc}); see {self.log}")


def submit(ex, jobs: Sequence[TrialJob], then: Callable[[], Any] | None = None) -> list[str]:
  """Submits `jobs` as one array (and `then` as a job that runs after it ends); their job ids."""
  with ex.batch():
    submitted = [ex.submit(job) for job in jobs]
  ids = [j.job_id for j in submitted]
  if then is not None and ids:
    array_id = ids[0].split("_")[0]
    ex.update_parameters(time=10, gpus_per_node=None, dependency=f"afterany:{array_id}")
    ex.submit(then)
  return ids


def queued(job_ids: Sequence[str]) -> dict[str, str]:
  """{job id: SLURM state} of those of `job_ids` still pending or running (squeue, one row per
  array task). Raises ConfigError when squeue cannot be run."""
  if not job_ids:
    return {}
  try:
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T"], capture_output=True, text=True,
                         timeout=60)
  except FileNotFoundError as e:
    raise ConfigError("squeue not found: --slurm needs the SLURM client commands on PATH") from e
  if out.returncode:
    raise ConfigError(f"squeue failed: {out.stderr.strip()}")
  states = dict(line.split(maxsplit=1) for line in out.stdout.splitlines() if " " in line)
  return {j: states[j] for j in job_ids if j in states}


def load_ids(path: str) -> dict[str, str]:
  """{trial name: job id} recorded by earlier submissions (empty if none)."""
  if not os.path.exists(path):
    return {}
  with open(path) as f:
    return json.load(f)


def save_ids(path: str, ids: dict[str, str]) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(f"{path}.tmp", "w") as f:
    json.dump(ids, f, indent=1)
  os.replace(f"{path}.tmp", path)
