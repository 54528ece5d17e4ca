"""Is there a signal at all? Whole-file level statistics, one-shot or accumulated over a stream.

Definition (used by predict, evaluation and the dataset builders): a file *has a signal* when at
least `MIN_ACTIVE_S` = 0.1 s of it lies in active frames. Frames are consecutive, non-overlapping
`FRAME_S` = 20 ms pieces of the audio at the rate it is measured at (the last may be shorter); a
frame is active when its RMS over all channels, after removing each channel's mean within the
frame, is at least `FLOOR_DBFS` = −60 dB re full scale (amplitude 1.0, so a full-scale sine is
−3 dBFS). Removing the frame mean makes a constant offset (DC) count as silence. Hence:
- digital silence, a constant, or noise below −60 dBFS: no signal;
- a file shorter than 0.1 s (e.g. 1–100 samples): no signal, whatever it holds;
- a single click (≤ 2 active frames, 40 ms): no signal.

`FileStats` also keeps, per channel, the sum, minimum and maximum of the samples, so one pass over
a stream gives the DC offset and peak that `instrax.data.transforms` would compute on the whole
file (`dc_offset`, `peak`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from instrax.errors import NoSignalError

FLOOR_DBFS = -60.0
FRAME_S = 0.02
MIN_ACTIVE_S = 0.1
# A channel's mean is a DC offset to remove when |mean| > DC_RATIO · max|x − mean| (−30 dB re its
# peak). Music's own mean over 3-s crops stays far below: over 4,288 channel-crops of 64 fixture
# files (MAPS, Slakh, MAESTRO, IRMAS, TinySOL, OpenMIC, MedleyDB) the 99th percentile is −57 dB
# and the maximum −42 dB, so ordinary audio is left bit-identical while a recorder's offset goes.
DC_RATIO = 10 ** (-30 / 20)


@dataclasses.dataclass
class FileStats:
  """Accumulates level statistics of (C, n) float blocks of one file at `sample_rate` Hz.

  `update` each block in order, then read `has_signal`, `reason`, `dc_offset()`, `peak()`.
  Frames run across block boundaries, so the result does not depend on the block sizes.
  """

  sample_rate: int
  floor_dbfs: float = FLOOR_DBFS
  min_active_s: float = MIN_ACTIVE_S
  num_samples: int = 0
  active_samples: int = 0
  loudest_frame_dbfs: float = -np.inf
  total: np.ndarray | None = None  # (C,) float64 sums
  low: np.ndarray | None = None  # (C,) minima
  high: np.ndarray | None = None  # (C,) maxima
  _rest: np.ndarray | None = None  # samples of the unfinished frame

  @property
  def frame(self) -> int:
    """Frame length in samples."""
    return max(1, round(FRAME_S * self.sample_rate))

  def update(self, block: np.ndarray) -> FileStats:
    """Adds the next (C, n) block; returns self."""
    block = np.asarray(block, np.float32)
    if block.ndim != 2:
      raise ValueError(f"blocks must be (channels, samples), got shape {block.shape}")
    if block.shape[1] == 0:
      return self
    if self.total is None:
      channels = block.shape[0]
      self.total = np.zeros(channels)
      self.low = np.full(channels, np.inf, np.float32)
      self.high = np.full(channels, -np.inf, np.float32)
    self.num_samples += block.shape[1]
    self.total += block.sum(axis=1, dtype=np.float64)
    self.low = np.minimum(self.low, block.min(axis=1))
    self.high = np.maximum(self.high, block.max(axis=1))
    if self._rest is not None:
      block = np.concatenate([self._rest, block], axis=1)
    whole = block.shape[1] // self.frame * self.frame
    self._frames(block[:, :whole])
    self._rest = block[:, whole:] if whole < block.shape[1] else None
    return self

  def _frames(self, audio: np.ndarray) -> None:
    """Counts the active samples of (C, k·L) audio cut into frames of L (or one shorter) samples."""
    if audio.shape[1] == 0:
      return
    length = min(self.frame, audio.shape[1])
    frames = audio.reshape(audio.shape[0], -1, length).astype(np.float64)
    frames -= frames.mean(axis=2, keepdims=True)
    rms = np.sqrt(np.mean(frames**2, axis=(0, 2)))  # (frames,)
    with np.errstate(divide="ignore"):
      self.loudest_frame_dbfs = max(self.loudest_frame_dbfs, float(20 * np.log10(rms.max())))
    self.active_samples += int(np.sum(rms >= 10 ** (self.floor_dbfs / 20))) * length

  def _finish(self) -> None:
    if self._rest is not None:
      self._frames(self._rest)
      self._rest = None

  @property
  def active_s(self) -> float:
    """Seconds of the file in active frames."""
    self._finish()
    return self.active_samples / self.sample_rate

  @property
  def has_signal(self) -> bool:
    """Whether the file has a signal (module docstring)."""
    return self.active_s >= self.min_active_s

  @property
  def reason(self) -> str:
    """'' when there is a signal, else one line saying why not."""
    if self.has_signal:
      return ""
    duration = self.num_samples / self.sample_rate
    need = f"needs ≥ {self.min_active_s:g} s above {self.floor_dbfs:g} dBFS"
    if duration < self.min_active_s:
      return f"no signal: only {self.num_samples} sample(s) ({duration:.4f} s); a file {need}"
    if self.active_samples == 0:
      loudest = ("digital silence or a constant" if self.loudest_frame_dbfs == -np.inf
                 else f"loudest 20-ms frame {self.loudest_frame_dbfs:.1f} dBFS")
      return f"no signal: {loudest} over {duration:.2f} s; a file {need}"
    return (f"no signal: only {self.active_s:.3f} s of {duration:.2f} s above "
            f"{self.floor_dbfs:g} dBFS (a click?); a file {need}")

  def dc_offset(self) -> np.ndarray:
    """(C, 1) float32 offset `transforms.remove_dc` subtracts from the whole file (zeros when
    insignificant)."""
    if self.total is None:
      return np.zeros((0, 1), np.float32)
    return significant_dc(self.total / self.num_samples, self.low, self.high)[:, None]

  def peak(self) -> float:
    """max |x − dc_offset| over the file: the peak `transforms.peak_normalize` divides by after
    `remove_dc` (0.0 for an empty file)."""
    if self.total is None:
      return 0.0
    dc = self.dc_offset()[:, 0]
    return float(max(np.max(self.high - dc), np.max(dc - self.low)))

  def require_signal(self, path: str) -> None:
    """Raises NoSignalError(path, reason) when the file has no signal."""
    if not self.has_signal:
      raise NoSignalError(path, self.reason)


def significant_dc(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
  """(C,) float32 offsets to remove: each channel's `mean` where it is significant (|mean| >
  DC_RATIO · its peak after removing it), else 0. `low`/`high` are the channels' min/max."""
  mean = np.asarray(mean, np.float32)
  peak = np.maximum(np.asarray(high, np.float32) - mean, mean - np.asarray(low, np.float32))
  return np.where(np.abs(mean) > DC_RATIO * peak, mean, np.float32(0)).astype(np.float32)


def measure(audio: np.ndarray, sample_rate: int, floor_dbfs: float = FLOOR_DBFS,
            min_active_s: float = MIN_ACTIVE_S) -> FileStats:
  """`FileStats` of a whole (C, T) float signal at `sample_rate` Hz."""
  return FileStats(sample_rate, floor_dbfs, min_active_s).update(audio)


def has_signal(audio: np.ndarray, sample_rate: int, floor_dbfs: float = FLOOR_DBFS,
               min_active_s: float = MIN_ACTIVE_S) -> bool:
  """Whether (C, T) float audio at `sample_rate` Hz has a signal (module docstring)."""
  return measure(audio, sample_rate, floor_dbfs, min_active_s).has_signal
