"""Where metrics go: TensorBoard event files (tensorboardX, no TensorFlow), metrics.jsonl, console,
and results.json. Only process 0 writes."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import jax
import numpy as np


class MetricWriter:
  """Scalars, images and hparams to TensorBoard and `metrics.jsonl` under `workdir`."""

  def __init__(self, workdir: str, enabled: bool | None = None, purge_step: int | None = None):
    """`purge_step`: on resume, TensorBoard hides events logged at or after it by the killed run."""
    self.enabled = jax.process_index() == 0 if enabled is None else enabled
    self.workdir = workdir
    self._tb = None
    if self.enabled:
      from tensorboardX import SummaryWriter

      os.makedirs(workdir, exist_ok=True)
      self._tb = SummaryWriter(logdir=workdir, flush_secs=10, purge_step=purge_step)
      self._jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a")  # noqa: SIM115

  def scalars(self, step: int, values: dict[str, Any], prefix: str = "") -> None:
    if not self.enabled:
      return
    clean = {f"{prefix}{k}": float(v) for k, v in values.items() if np.ndim(v) == 0}
    for k, v in clean.items():
      self._tb.add_scalar(k, v, step)
    self._jsonl.write(json.dumps({"step": int(step), "time": time.time(), **clean}) + "\n")
    self._jsonl.flush()

  def images(self, step: int, images: dict[str, np.ndarray]) -> None:
    """uint8 (H, W, 3) images."""
    if not self.enabled:
      return
    for k, img in images.items():
      self._tb.add_image(k, img, step, dataformats="HWC")

  def audio(self, step: int, tag: str, audio: np.ndarray, sample_rate: int) -> None:
    """(T,) float32 audio in [-1, 1] (e.g. separated stems)."""
    if not self.enabled:
      return
    self._tb.add_audio(tag, np.clip(audio, -1.0, 1.0)[None], step, sample_rate=sample_rate)

  def hparams(self, hparams: dict[str, Any], metrics: dict[str, float]) -> None:
    if not self.enabled:
      return
    hp = {k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in hparams.items()}
    self._tb.add_hparams(hp, {f"hparam/{k}": float(v) for k, v in metrics.items()},
                         name="hparams")

  def flush(self) -> None:
    if self.enabled:
      self._tb.flush()

  def close(self) -> None:
    if self.enabled:
      self._tb.close()
      self._jsonl.close()


def write_json(path: str, payload: dict[str, Any]) -> None:
  """Atomically writes JSON (process 0 only): a crash never leaves a half-written file."""
  if jax.process_index() != 0:
    return
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f"{path}.tmp"
  with open(tmp, "w") as f:
    json.dump(payload, f, indent=2, sort_keys=True)
  os.replace(tmp, path)


def write_csv_row(path: str, row: dict[str, Any]) -> None:
  """Writes a header and one row (process 0 only): a run's results for spreadsheets/sweeps."""
  if jax.process_index() != 0:
    return
  import csv

  tmp = f"{path}.tmp"
  with open(tmp, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(row))
    w.writeheader()
    w.writerow(row)
  os.replace(tmp, path)


def format_table(title: str, values: dict[str, float]) -> str:
  """A two-column console table of metrics."""
  width = max((len(k) for k in values), default=10)
  lines = [title, "-" * (width + 12)]
  lines += [f"{k:<{width}}  {v:>9.4f}" for k, v in values.items()]
  return "\n".join(lines)
