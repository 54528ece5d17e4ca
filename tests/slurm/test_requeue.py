"""Preemption on the loopback cluster: a signalled trial checkpoints, is requeued and resumes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from instrax import slurm

# A stand-in trainer: counts to 30 in `state`, resuming from it; on SIGTERM it saves and exits 2
# (as launch.py does on `Preempted`).
FAKE_TRAINER = textwrap.dedent("""\
    import os, signal, sys, time
    state, marker = sys.argv[1], sys.argv[2]
    start = int(open(state).read()) if os.path.exists(state) else 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    open(marker, "w").close()
    for i in range(start, 30):
        if stop:
            open(state, "w").write(str(i)); print("preempted at", i, flush=True); sys.exit(2)
        time.sleep(0.1)
    open(state, "w").write("30"); print("finished from", start, flush=True)
""")


def _wait(cond, timeout: float, what: str, cluster) -> None:
  end = time.time() + timeout
  while time.time() < end:
    if cond():
      return
    time.sleep(0.2)
  raise AssertionError(f"timed out waiting for {what}; queue: {cluster.jobs()}\n{cluster.logs()}")


@pytest.mark.parametrize("sig", ["TERM", "USR2"])  # scancel --signal=TERM; submitit's time signal
def test_signalled_trial_requeues_and_resumes(tmp_path, slurm_cluster, sig):
  script = tmp_path / "trainer.py"
  script.write_text(FAKE_TRAINER)
  state, marker, log = tmp_path / "state", tmp_path / "started", tmp_path / "trial.log"
  ex = slurm.executor(str(tmp_path / "slurm"), slurm.Resources(cpus=1, time=5, signal_delay_s=30),
                      "requeue-test")
  job = slurm.TrialJob((sys.executable, str(script), str(state), str(marker)), str(log),
                       str(tmp_path))
  [job_id] = slurm.submit(ex, [job])
  _wait(marker.exists, 60, "the trial to start", slurm_cluster)
  assert slurm.queued([job_id]) == {job_id: "RUNNING"}
  subprocess.run(["scancel", f"--signal={sig}", job_id], check=True, env=slurm_cluster.env())
  slurm_cluster.start_requeued_now(job_id)
  _wait(lambda: state.exists() and state.read_text() == "30" and not slurm.queued([job_id]), 120,
        "the requeued trial to finish", slurm_cluster)
  text = log.read_text()
  assert "(restart 0)" in text and "(restart 1)" in text, text
  assert f"signal SIG{sig}" in text and "requeue: ok" in text and "preempted at" in text, text
  preempted_at = int(text.split("preempted at ")[1].split()[0])
  assert 0 < preempted_at < 30 and f"finished from {preempted_at}" in text, text
  assert os.path.exists(tmp_path / "slurm")
