"""Pieces every audio builder shares: reading audio under a bad-file policy, and counting skips."""

from __future__ import annotations

import collections
import logging
import os
import re

import numpy as np

from instrax.audio import io
from instrax.errors import AudioDecodeError, DatasetError

SKIP, FAIL = "skip", "fail"


class AudioReader:
  """Reads files at a fixed rate/channel count as int16 (T, C); bad files are skipped or fatal.

  The skip count and reasons are logged at the end of each split (`report`).
  """

  def __init__(self, sample_rate: int, channels: int, on_bad_audio: str = SKIP):
    if on_bad_audio not in (SKIP, FAIL):
      raise DatasetError(f"on_bad_audio must be {SKIP!r} or {FAIL!r}, got {on_bad_audio!r}")
    self.sample_rate = sample_rate
    self.channels = channels
    self.on_bad_audio = on_bad_audio
    self.skipped: collections.Counter[str] = collections.Counter()
    self.examples: list[str] = []

  def read(self, path: str | os.PathLike) -> np.ndarray | None:
    """int16 (T, C) samples, or None when the file is bad and the policy is to skip it."""
    try:
      audio, _ = io.load(path, self.sample_rate, self.channels)
    except AudioDecodeError as e:
      if self.on_bad_audio == FAIL:
        raise
      self.skipped[re.sub(r"\d+", "N", e.reason.split(" (")[0])] += 1  # count by kind
      self.examples.append(str(e))
      logging.warning("skipping bad audio: %s", e)
      return None
    return io.to_pcm16(audio).T.copy()

  def report(self, split: str) -> None:
    n = sum(self.skipped.values())
    if n:
      logging.warning("%s: skipped %d bad audio file(s): %s", split, n, dict(self.skipped))


class LocalBuild:
  """Mixin for builders that read local files: TFDS prints "Downloading and preparing dataset
  Unknown size (download: Unknown size, …)" to stdout before every build, which is wrong here
  (nothing is downloaded, sizes are known only afterwards); log one line each way instead."""

  def _log_download_bytes(self) -> None:
    logging.info("Building dataset %s in %s", self.name, self.data_dir)

  def _log_download_done(self) -> None:
    logging.info("Dataset %s built in %s", self.name, self.data_dir)
