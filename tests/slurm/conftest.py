"""The `slurm_cluster` fixture: a one-node SLURM cluster on 127.0.0.1 for the whole session."""

from __future__ import annotations

import os

import pytest

from tests.slurm import cluster


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
  """A started LoopbackCluster; SLURM_CONF points at it while the session runs (so submitit's
  sbatch finds it). Skipped where slurm-wlm/munge are not installed; daemons stopped at the end."""
  absent = cluster.missing()
  if absent:
    pytest.skip(f"SLURM not installed ({', '.join(absent)} not on PATH): "
                "apt-get install slurm-wlm munge")
  # A short path: munge's socket path must fit in a sockaddr_un (108 bytes).
  c = cluster.LoopbackCluster(str(tmp_path_factory.mktemp("slurm", numbered=True)))
  old = {k: v for k, v in os.environ.items() if k.startswith(("SLURM_", "SBATCH_"))}
  try:
    c.start()
    for k in old:
      del os.environ[k]
    os.environ["SLURM_CONF"] = c.conf
    yield c
  finally:
    c.stop()
    os.environ.pop("SLURM_CONF", None)
    os.environ.update(old)
