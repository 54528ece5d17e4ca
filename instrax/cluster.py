"""Multi-process start-up: jax.distributed from explicit flags or from the SLURM environment.

Under `srun` (one task per host or one per GPU) no flags are needed: JAX's SLURM cluster detection
reads the coordinator (first node of SLURM_STEP_NODELIST, port derived from SLURM_JOB_ID), the
process count (SLURM_NTASKS) and index (SLURM_PROCID). What JAX would guess wrong is which GPUs a
process owns — it always takes GPU SLURM_LOCALID — so `local_device_ids` picks them here:

  * one task on this node: all of its GPUs;
  * SLURM bound GPUs to tasks (each task sees fewer GPUs than there are tasks on the node, as with
    --gpus-per-task): all the task sees;
  * several tasks sharing the node's G GPUs: G / tasks each, the LOCALID-th block.

On CPU the collectives go through gloo. Reference: jax.distributed.initialize and
jax/_src/clusters/slurm_cluster.py; SLURM's srun(1) OUTPUT ENVIRONMENT VARIABLES.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

from instrax.errors import ConfigError


def slurm_step_tasks(env: Mapping[str, str] = os.environ) -> int:
  """Tasks of the enclosing `srun` job step (0 outside one, e.g. in an sbatch script's body)."""
  if "SLURM_PROCID" not in env or "SLURM_STEP_NODELIST" not in env:
    return 0
  return int(env.get("SLURM_STEP_NUM_TASKS", env.get("SLURM_NTASKS", "1")))


def tasks_on_node(env: Mapping[str, str] = os.environ) -> int:
  """Tasks of this job step on this node, from SLURM_STEP_TASKS_PER_NODE (e.g. "4(x2),3") and
  SLURM_NODEID; 1 when absent."""
  spec = env.get("SLURM_STEP_TASKS_PER_NODE") or env.get("SLURM_TASKS_PER_NODE")
  if not spec:
    return 1
  counts: list[int] = []
  for part in spec.split(","):
    m = re.fullmatch(r"(\d+)(?:\(x(\d+)\))?", part.strip())
    if m is None:
      raise ConfigError(f"cannot parse SLURM tasks per node {spec!r}")
    counts += [int(m.group(1))] * int(m.group(2) or 1)
  node = int(env.get("SLURM_NODEID", "0"))
  return counts[node] if node < len(counts) else counts[-1]


def local_device_ids(env: Mapping[str, str] = os.environ) -> list[int] | None:
  """The accelerator ids this SLURM task should use (see the module docstring); None for all."""
  tasks = tasks_on_node(env)
  visible = [d for d in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
  local = int(env.get("SLURM_LOCALID", "0"))
  if tasks == 1 or (visible and len(visible) < tasks):
    return None
  if not visible:  # unknown count: JAX's own choice, one device per task
    return [local]
  if len(visible) % tasks:
    raise ConfigError(f"{tasks} tasks on this node cannot share its {len(visible)} GPUs evenly; "
                      "launch one task per node or one per GPU")
  per = len(visible) // tasks
  return list(range(local * per, (local + 1) * per))


def init_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                     process_id: int | None = None) -> bool:
  """Starts jax.distributed when flags ask for it or an `srun` step has several tasks.

  Explicit values win over the SLURM environment. Returns whether it initialised. Call before
  any JAX computation.
  """
  import jax

  under_slurm = slurm_step_tasks() > 1
  if not (coordinator_address or (num_processes or 1) > 1 or under_slurm):
    return False
  if jax.config.jax_platforms in (None, "", "cpu"):
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
  ids = local_device_ids() if under_slurm else None
  jax.distributed.initialize(coordinator_address, num_processes, process_id,
                             local_device_ids=ids)
  if under_slurm and ids is None:  # JAX restricted us to GPU SLURM_LOCALID; we want them all
    jax.config.update("jax_cuda_visible_devices", "all")
    jax.config.update("jax_rocm_visible_devices", "all")
  logging.info("jax.distributed: process %d of %d", jax.process_index(), jax.process_count())
  return True
