"""One training process per workdir: an advisory lock held on the workdir while training."""

from __future__ import annotations

import fcntl
import os

import jax

from instrax.errors import CheckpointError


class WorkdirLock:
  """Exclusive flock on the workdir directory itself (no file is written); process 0 only.

  A second training launch on the same workdir fails at once instead of interleaving checkpoints
  and logs with the first. The lock dies with its process, so a killed run never leaves it stale.
  A workdir the lock created is removed again on exit if nothing was written into it (a launch
  that failed before its first record leaves no empty run directory behind).
  """

  def __init__(self, workdir: str):
    self.workdir = workdir
    self._fd: int | None = None
    self._created = False

  def __enter__(self) -> WorkdirLock:
    if jax.process_index() != 0:
      return self
    self._created = not os.path.exists(self.workdir)
    os.makedirs(self.workdir, exist_ok=True)
    fd = os.open(self.workdir, os.O_RDONLY)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
      os.close(fd)
      raise CheckpointError(
          f"Another process is training in {self.workdir}. Wait for it to finish (or stop it), "
          "or train into another --workdir.") from e
    self._fd = fd
    return self

  def __exit__(self, *exc) -> None:
    if self._fd is not None:
      fcntl.flock(self._fd, fcntl.LOCK_UN)
      os.close(self._fd)
      self._fd = None
      if self._created and not os.listdir(self.workdir):
        os.rmdir(self.workdir)
