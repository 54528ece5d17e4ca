"""Pieces every audio builder shares: reading audio under a bad-file policy, counting skips, and
warning when a build holds other item counts than the official release."""

from __future__ import annotations

import collections
import logging
import os
import re
from collections.abc import Mapping

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


def warn_unofficial_counts(dataset: str, found: Mapping[str, int],
                           official: Mapping[str, int]) -> list[str]:
  """Warns (one log line) when a build's item counts differ from the official release's.

  `found` and `official` map the same names (e.g. "test", "test Part2") to counts; a name absent
  from `found` counts 0. A partial download (a missing zip or folder) still builds, but its test
  numbers are not comparable with published ones, so the counts are said out loud. Returns the
  "name: N found, official M" lines of the mismatches ([] when every count agrees).
  """
  lines = [f"{name}: {found.get(name, 0):,} found, official {n:,}"
           for name, n in official.items() if found.get(name, 0) != n]
  if lines:
    logging.warning("%s: item counts differ from the official release (%s); results on this "
                    "build are not comparable with published ones (missing or extra files?)",
                    dataset, "; ".join(lines))
  return lines
