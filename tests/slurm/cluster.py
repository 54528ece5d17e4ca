"""A one-node SLURM cluster on 127.0.0.1 for tests: munged, slurmctld and slurmd in a temp folder.

Everything (config, keys, sockets, state, logs) lives under the folder; the daemons run in the
foreground as children of the test process, talk over 127.0.0.1 on free ports, and are stopped by
their PIDs. Clients find the cluster through SLURM_CONF (set by `env()`; the fixture sets it for
the test session too). Needs Debian's slurm-wlm and munge (`apt-get install slurm-wlm munge`).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time

BINARIES = ("munged", "slurmctld", "slurmd", "srun", "sbatch", "squeue", "scancel", "scontrol")
NODE = "localhost"

CONF = """\
ClusterName=instrax-test
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={dir}/munge.socket
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool/%n
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
PlugStackConfig={dir}/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=5
MinJobAge=300
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={node} NodeHostname={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
"""


def missing() -> list[str]:
  """The SLURM/munge programs not on PATH (empty when a test cluster can start)."""
  return [b for b in BINARIES if shutil.which(b) is None]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


class LoopbackCluster:
  """munged + slurmctld + slurmd under `directory`; `start()`, then `stop()` (always)."""

  def __init__(self, directory: str, cpus: int = 4):
    self.dir, self.cpus = os.path.abspath(directory), cpus
    self.conf = os.path.join(self.dir, "slurm.conf")
    self._procs: list[subprocess.Popen] = []

  def env(self) -> dict[str, str]:
    """os.environ with this cluster's SLURM_CONF (and no SLURM job variables of an outer job)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_"))}
    return {**env, "SLURM_CONF": self.conf}

  def _write_files(self) -> None:
    for sub in ("state", f"spool/{NODE}", "munge"):
      os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
    os.chmod(self.dir, 0o755)
    key = os.path.join(self.dir, "munge", "munge.key")
    with open(key, "wb") as f:
      f.write(os.urandom(128))
    os.chmod(key, 0o600)
    with open(os.path.join(self.dir, "plugstack.conf"), "w"):
      pass
    with open(self.conf, "w") as f:
      f.write(CONF.format(node=NODE, dir=self.dir, user=getpass.getuser(), cpus=self.cpus,
                          ctld_port=_free_port(), slurmd_port=_free_port()))

  def _spawn(self, name: str, cmd: list[str]) -> None:
    log = open(os.path.join(self.dir, f"{name}.out"), "w")  # noqa: SIM115
    self._procs.append(subprocess.Popen(cmd, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL))
    log.close()

  def start(self, timeout: float = 60.0) -> None:
    """Starts the daemons and waits until the node is idle; RuntimeError (with logs) if not."""
    self._write_files()
    m = os.path.join(self.dir, "munge")
    self._spawn("munged", ["munged", "--foreground", "--force", f"--socket={self.dir}/munge.socket",
                           f"--key-file={m}/munge.key", f"--pid-file={m}/munged.pid",
                           f"--log-file={m}/munged.log", f"--seed-file={m}/munged.seed"])
    self._wait_for(lambda: os.path.exists(f"{self.dir}/munge.socket"), 20, "munged")
    self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", self.conf])
    self._spawn("slurmd", ["slurmd", "-D", "-N", NODE, "-f", self.conf])
    self._wait_for(self._node_idle, timeout, "slurmd to register")

  def _node_idle(self) -> bool:
    out = subprocess.run(["sinfo", "-h", "-n", NODE, "-o", "%t"], env=self.env(),
                         capture_output=True, text=True, timeout=20)
    return out.returncode == 0 and out.stdout.strip() == "idle"

  def jobs(self) -> list[str]:
    """The ids of the jobs (array tasks one by one) still known to the controller."""
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%i"], env=self.env(), capture_output=True,
                         text=True, timeout=20)
    return out.stdout.split() if out.returncode == 0 else []

  def start_requeued_now(self, job_id: str, timeout: float = 60.0) -> None:
    """Waits for `job_id` to be requeued (PENDING) and lifts SLURM's fixed ~2-minute hold on a
    requeued job (its BeginTime), so tests need not wait it out."""
    def pending() -> bool:
      out = subprocess.run(["squeue", "-h", "-r", "-j", job_id, "-o", "%T"], env=self.env(),
                           capture_output=True, text=True, timeout=20)
      return out.stdout.strip() == "PENDING"

    self._wait_for(pending, timeout, f"job {job_id} to be requeued")
    # slurmd revokes the killed run's job credential (second resolution) and refuses to launch
    # the same job id with a credential from that second ("Job credential revoked": the job
    # then fails instead of restarting; SLURM's own ~2-minute hold exists for this). Lifting
    # the hold a few seconds later avoids that race.
    time.sleep(3.0)
    subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], env=self.env(),
                   check=True, capture_output=True, timeout=20)

  def _wait_for(self, ready, timeout: float, what: str) -> None:
    end = time.time() + timeout
    while time.time() < end:
      if any(p.poll() is not None for p in self._procs):
        break
      if ready():
        return
      time.sleep(0.3)
    raise RuntimeError(f"test SLURM cluster: timed out waiting for {what}\n{self.logs()}")

  def logs(self) -> str:
    """The tail of every daemon log, for failure messages."""
    parts = []
    for name in ("munged.out", "munge/munged.log", "slurmctld.out", "slurmctld.log", "slurmd.out",
                 "slurmd.log"):
      path = os.path.join(self.dir, name)
      if os.path.exists(path):
        with open(path, errors="replace") as f:
          parts.append(f"--- {name}\n{f.read()[-2000:]}")
    return "\n".join(parts)

  def stop(self) -> None:
    """Cancels every job, stops the daemons by PID, then ends what the jobs left (found by their
    SLURM_CONF) — nothing of this cluster survives it."""
    if self._procs and self._procs[-1].poll() is None:
      subprocess.run(["scancel", "--full", "-u", getpass.getuser()], env=self.env(),
                     capture_output=True, timeout=20)
      end = time.time() + 15
      while time.time() < end and self.jobs():
        time.sleep(0.3)
    for proc in reversed(self._procs):
      if proc.poll() is None:
        proc.terminate()
    for proc in reversed(self._procs):
      try:
        proc.wait(timeout=15)
      except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for pid in _ours(self.conf):
      with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    self._procs = []


def _ours(conf: str, exclude: frozenset[int] | set[int] = frozenset()) -> list[int]:
  """PIDs of live processes whose environment holds SLURM_CONF=`conf`: jobs, slurmstepd and the
  helpers of the daemons (by then stopped)."""
  needle = f"SLURM_CONF={conf}\0".encode()
  pids = []
  for entry in os.listdir("/proc"):
    if not entry.isdigit() or int(entry) in exclude or int(entry) == os.getpid():
      continue
    try:
      with open(f"/proc/{entry}/environ", "rb") as f:
        if needle in f.read() + b"\0":
          pids.append(int(entry))
    except OSError:
      continue
  return pids
