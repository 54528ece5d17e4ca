"""Where metrics go: one TensorBoard event file per run (tensorboardX protos, no TensorFlow),
metrics.jsonl, console, and results.json. Only process 0 writes.

The event file is `<workdir>/events.out.tfevents.instrax`, opened for appending by every writer
of the run (training, its relaunches, evaluations), so a run is one file however often it is
resumed or re-evaluated. Each record reaches the OS in one unbuffered `write` as it is logged, so
a SIGKILL loses nothing already logged; `flush()` (called after every batch of scalars, i.e. once
per log interval) also fsyncs it against power loss. A record torn by a crash mid-write is cut off
when the file is next opened. Record framing is TFRecord's (length, masked CRC-32C of the length,
data, masked CRC-32C of the data); a resumed run appends a `SessionLog.START` event at its
`purge_step`, on which TensorBoard drops the killed run's events logged at or after that step.
"""

from __future__ import annotations

import json
import os
import struct
import time
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from tensorboardX import summary as tbx_summary
from tensorboardX.proto.event_pb2 import Event, SessionLog
from tensorboardX.proto.summary_pb2 import Summary
from tensorboardX.record_writer import masked_crc32c

EVENTS_FILE = "events.out.tfevents.instrax"  # TensorBoard reads any file named *tfevents*
_HEADER = struct.Struct("<QI")  # TFRecord: uint64 length, uint32 masked CRC of the length


def _record(data: bytes) -> bytes:
  """One TFRecord: length, its masked CRC-32C, the data, the data's masked CRC-32C."""
  length = struct.pack("<Q", len(data))
  return (length + struct.pack("<I", masked_crc32c(length)) + data
          + struct.pack("<I", masked_crc32c(data)))


def complete_length(path: str) -> int:
  """Bytes of `path` up to the end of its last complete record (0 for a missing file).

  Records are only ever appended, so damage can only be a short tail: a header that is cut off or
  fails its CRC, or data shorter than the header says.
  """
  if not os.path.exists(path):
    return 0
  size, end = os.path.getsize(path), 0
  with open(path, "rb") as f:
    while end + _HEADER.size <= size:
      f.seek(end)
      header = f.read(_HEADER.size)
      length, crc = _HEADER.unpack(header)
      if masked_crc32c(header[:8]) != crc or end + _HEADER.size + length + 4 > size:
        break
      end += _HEADER.size + length + 4
  return end


class MetricWriter:
  """Scalars, images, audio, PR curves and hparams to the run's event file; scalars also to
  `metrics.jsonl`. Disabled (every call a no-op) on processes other than 0."""

  def __init__(self, workdir: str, enabled: bool | None = None, purge_step: int | None = None):
    """`purge_step`: on resume, TensorBoard hides events logged at or after it by the killed run."""
    self.enabled = jax.process_index() == 0 if enabled is None else enabled
    self.workdir = workdir
    self.path = os.path.join(workdir, EVENTS_FILE)
    self._fd: int | None = None
    self._tags: set[str] = set()  # scalar tags logged by this writer (for hparams)
    self._last_step = 0
    if not self.enabled:
      return
    os.makedirs(workdir, exist_ok=True)
    keep = complete_length(self.path)
    if os.path.exists(self.path) and os.path.getsize(self.path) > keep:
      os.truncate(self.path, keep)  # a record torn by a crash
    self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    if keep == 0:
      self._write(Event(wall_time=time.time(), step=0, file_version="brain.Event:2"))
    if purge_step is not None:
      self._write(Event(wall_time=time.time(), step=int(purge_step),
                        session_log=SessionLog(status=SessionLog.START)))
    self.flush()
    self._jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a")  # noqa: SIM115

  def _write(self, event: Event) -> None:
    os.write(self._fd, _record(event.SerializeToString()))

  def _summary(self, step: int, summary: Summary) -> None:
    self._write(Event(wall_time=time.time(), step=int(step), summary=summary))

  def scalars(self, step: int, values: Mapping[str, Any], prefix: str = "") -> None:
    """Logs the scalar entries of `values` (others are skipped) as `prefix + name`; flushes."""
    if not self.enabled:
      return
    clean = {f"{prefix}{k}": float(v) for k, v in values.items() if np.ndim(v) == 0}
    for k, v in clean.items():
      self._summary(step, tbx_summary.scalar(k, v))
    self._tags.update(clean)
    self._last_step = int(step)
    self._jsonl.write(json.dumps({"step": int(step), "time": time.time(), **clean}) + "\n")
    self._jsonl.flush()
    self.flush()

  def images(self, step: int, images: Mapping[str, np.ndarray]) -> None:
    """uint8 (H, W, 3) RGB images, PNG-encoded."""
    if not self.enabled:
      return
    for k, img in images.items():
      self._summary(step, tbx_summary.image(k, np.asarray(img), dataformats="HWC"))
    self.flush()

  def audio(self, step: int, clips: Mapping[str, tuple[np.ndarray, int]]) -> None:
    """{tag: (samples (T,) or (T, C≤2) float in [-1, 1], sample_rate Hz)}, WAV-encoded; samples
    beyond ±1 are clipped (ValueError for other shapes)."""
    if not self.enabled:
      return
    for k, (wave, rate) in clips.items():
      wave = np.clip(np.asarray(wave, np.float32), -1.0, 1.0)
      if wave.ndim not in (1, 2) or (wave.ndim == 2 and wave.shape[1] not in (1, 2)):
        raise ValueError(f"audio {k!r}: expected (T,) or (T, 1|2) samples, got {wave.shape}")
      self._summary(step, tbx_summary.audio(k, wave, sample_rate=int(rate)))
    self.flush()

  def pr_curve(self, step: int, tag: str, labels: np.ndarray, scores: np.ndarray,
               weights: np.ndarray | None = None, num_thresholds: int = 127) -> None:
    """One PR curve for TensorBoard's PR-curves dashboard: binary `labels`, `scores` in [0, 1]
    (same shape), optional 0/1 `weights` (e.g. the mask of observed labels). Thresholds are
    `num_thresholds` (≤ 127) equal bins of the score, as tensorboard.plugins.pr_curve."""
    if not self.enabled:
      return
    labels, scores = np.asarray(labels).ravel(), np.asarray(scores, np.float64).ravel()
    if labels.shape != scores.shape:
      raise ValueError(f"pr_curve {tag!r}: labels {labels.shape} vs scores {scores.shape}")
    w = None if weights is None else np.asarray(weights, np.float64).ravel()
    self._summary(step, tbx_summary.pr_curve(tag, labels.astype(bool), np.clip(scores, 0, 1),
                                             num_thresholds=num_thresholds, weights=w))
    self.flush()

  def hparams(self, hparams: Mapping[str, Any], metrics: Mapping[str, float],
              step: int | None = None) -> None:
    """The run's hyperparameters for TensorBoard's HParams dashboard, with `metrics` (scalar
    tags) as its columns. Tags not yet logged by this writer are logged at `step` (default: the
    last step logged, else 0). Values other than bool/int/float/str are shown as their str()."""
    if not self.enabled:
      return
    step = self._last_step if step is None else step
    hp = {k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in hparams.items()}
    self.scalars(step, {k: v for k, v in metrics.items() if k not in self._tags})
    for summary in tbx_summary.hparams(hp, dict(metrics)):
      self._summary(step, summary)
    self.flush()

  def flush(self) -> None:
    """fsyncs the event file (records are already written as they are logged)."""
    if self._fd is not None:
      os.fsync(self._fd)

  def close(self) -> None:
    if self._fd is not None:
      self.flush()
      os.close(self._fd)
      self._fd = None
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
