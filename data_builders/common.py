"""Pieces every audio builder shares: reading audio under a bad-file policy, storing it as int16
without clipping, skipping files with no signal, ignoring OS metadata files, counting all of
these in the build log, and warning when a build holds other item counts than the official
release."""

from __future__ import annotations

import collections
import logging
import os
import pathlib
import re
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from instrax.audio import io, level
from instrax.errors import AudioDecodeError, ConfigError, DatasetError, NoSignalError

SKIP, FAIL = "skip", "fail"

# Files and folders operating systems leave in a tree (macOS AppleDouble `._x` twins and Finder
# files, Windows thumbnails and recycle bin, zip's __MACOSX copies); never dataset content.
OS_METADATA_FILES = frozenset({".DS_Store", ".localized", "Icon\r", "Thumbs.db", "ehthumbs.db",
                               "desktop.ini"})
OS_METADATA_DIRS = frozenset({"__MACOSX", ".Spotlight-V100", ".Trashes", ".fseventsd",
                              ".TemporaryItems", ".DocumentRevisions-V100", "$RECYCLE.BIN",
                              "System Volume Information"})


def is_os_metadata(path: str | os.PathLike) -> bool:
  """Whether `path` is an OS metadata file (`._<name>`, `.DS_Store`, `Thumbs.db`, ...) or lies in
  an OS metadata folder (`__MACOSX`, `.Trashes`, ...)."""
  path = pathlib.PurePath(path)
  return (path.name.startswith("._") or path.name in OS_METADATA_FILES
          or any(part in OS_METADATA_DIRS for part in path.parts[:-1]))


def log_os_metadata(root: str | os.PathLike) -> int:
  """Counts the OS metadata files under `root` (which builders ignore) and logs the count with a
  few examples; returns the count."""
  found = []
  for folder, _dirs, files in os.walk(root):
    found += [os.path.join(folder, f) for f in files if is_os_metadata(os.path.join(folder, f))]
  if found:
    logging.warning("ignored %d OS metadata file(s) under %s (._*, .DS_Store, __MACOSX/, ...), "
                    "e.g. %s", len(found), root, [os.path.relpath(f, root) for f in found[:3]])
  return len(found)


class Stored(NamedTuple):
  """A file's audio as stored: int16 (T, C) and the gain applied to fit it (1.0 almost always):
  the file's samples are `io.from_pcm16(audio) / gain`."""

  audio: np.ndarray
  gain: float


class AudioReader:
  """Reads files at a fixed rate/channel count as int16 (T, C); bad files are skipped or fatal.

  A file is bad when it does not decode (`AudioDecodeError`) or has no signal
  (`instrax.audio.level`: digital silence, under 0.1 s, a lone click); a file beyond int16's range
  (float audio louder than full scale) is scaled to fit, not clipped, and its gain returned. The
  counts by kind (skipped, scaled) are logged at the end of each split (`report`).
  """

  def __init__(self, sample_rate: int, channels: int, on_bad_audio: str = SKIP):
    if on_bad_audio not in (SKIP, FAIL):
      raise DatasetError(f"on_bad_audio must be {SKIP!r} or {FAIL!r}, got {on_bad_audio!r}")
    self.sample_rate = sample_rate
    self.channels = channels
    self.on_bad_audio = on_bad_audio
    self.skipped: collections.Counter[str] = collections.Counter()
    self.examples: list[str] = []
    self.scaled: list[tuple[str, float]] = []

  def read(self, path: str | os.PathLike) -> Stored | None:
    """The file as stored, or None when it is bad and the policy is to skip it."""
    try:
      audio, _ = io.load(path, self.sample_rate, self.channels)
      level.measure(audio, self.sample_rate).require_signal(os.fspath(path))
    except AudioDecodeError as e:
      if self.on_bad_audio == FAIL:
        raise
      kind = "no signal" if isinstance(e, NoSignalError) else e.reason.split(" (")[0]
      self.skipped[re.sub(r"\d+", "N", kind)] += 1  # count by kind
      self.examples.append(str(e))
      logging.warning("skipping bad audio: %s", e)
      return None
    pcm, gain = io.to_pcm16_scaled(audio)
    if gain != 1.0:
      self.scaled.append((os.fspath(path), gain))
    return Stored(pcm.T.copy(), gain)

  def report(self, split: str) -> None:
    n = sum(self.skipped.values())
    if n:
      logging.warning("%s: skipped %d bad audio file(s): %s", split, n,
                      dict(self.skipped))
    if self.scaled:
      logging.warning("%s: %d file(s) exceeded full scale and were stored scaled to fit int16 "
                      "(the `gain` feature records it), e.g. %s", split, len(self.scaled),
                      self.scaled[:3])


def check_on_bad_audio(value: str) -> None:
  """A builder config's bad-file policy must be SKIP or FAIL (ConfigError naming both)."""
  if value not in (SKIP, FAIL):
    raise ConfigError(f"on_bad_audio must be {SKIP!r} or {FAIL!r}, got {value!r}")


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


class LocalBuild:
  """Mixin for builders that read local files: TFDS prints "Downloading and preparing dataset
  Unknown size (download: Unknown size, …)" to stdout before every build, which is wrong here
  (nothing is downloaded, sizes are known only afterwards); log one line each way instead."""

  def _log_download_bytes(self) -> None:
    logging.info("Building dataset %s in %s", self.name, self.data_dir)

  def _log_download_done(self) -> None:
    logging.info("Dataset %s built in %s", self.name, self.data_dir)


def segment_bounds(num_samples: int, segment: int, hop: int) -> list[tuple[int, int]]:
  """[(start, stop)) sample ranges that cut a recording into training segments (length-aware
  sampling, issue #8 item 6): starts 0, hop, 2·hop, ... while a segment still ends inside the
  recording, plus a last one ending at the recording's end; a recording no longer than `segment`
  is one segment. Every window of at most `segment − hop` samples lies wholly inside some
  segment, and the count grows with the length (≈ 1 + (num_samples − segment) / hop), so drawing
  segments uniformly draws the recording in proportion to its length.

  Raises DatasetError unless 0 < hop ≤ segment.
  """
  if not 0 < hop <= segment:
    raise DatasetError(f"segment hop must be in (0, segment={segment}], got {hop}")
  if num_samples <= segment:
    return [(0, num_samples)]
  bounds = [(s, s + segment) for s in range(0, num_samples - segment, hop)]
  return [*bounds, (num_samples - segment, num_samples)]


def segment_notes(notes: np.ndarray, start_s: float, stop_s: float) -> np.ndarray:
  """The notes (N, ≥2) [onset_s, offset_s, ...] sounding in [start_s, stop_s), times made
  relative to start_s (a note begun before the segment keeps its negative onset, so frame targets
  stay right; onset targets ignore it)."""
  notes = np.asarray(notes)
  keep = (notes[:, 0] < stop_s) & (notes[:, 1] > start_s) if len(notes) else np.zeros(0, bool)
  out = notes[keep].copy()
  out[:, :2] -= start_s
  return out


def piece_examples(key: str, example: dict, sample_rate: int, segment_s: float | None,
                   hop_s: float) -> list[tuple[str, dict]]:
  """A piece's example (`audio` (T, C), `notes` (N, ≥2) in seconds) → the records to store:
  the piece whole (`segment_s` None; `offset_s` 0), or its `segment_bounds` segments of
  `segment_s` seconds every `hop_s` (keys `<key>@<offset in ms>`), each with the audio, the
  `segment_notes` and `offset_s` = where the segment starts in the piece."""
  if segment_s is None:
    return [(key, {**example, "offset_s": np.float32(0.0)})]
  audio = example["audio"]
  out = []
  for start, stop in segment_bounds(len(audio), round(segment_s * sample_rate),
                                    round(hop_s * sample_rate)):
    offset = start / sample_rate
    out.append((f"{key}@{round(offset * 1000)}", {
        **example, "audio": audio[start:stop], "offset_s": np.float32(offset),
        "notes": segment_notes(example["notes"], offset, stop / sample_rate).astype(
            example["notes"].dtype)}))
  return out
