"""A whole file's dB reference, computed block by block in bounded memory.

The Onsets and Velocities seed floors its log-mel at the WHOLE file's maximum − 80 dB
(torchaudio `AmplitudeToDB(top_db=80)` on the file's spectrogram, seeds.md §2.1); evaluation and
predict cut files into chunks, so every chunk of a file must share the file's maximum. `MaxDb`
takes the file's samples in pieces of any size (a stream of decoded blocks) and returns the
maximum, over every frame and bin, of a frontend's dB features of the whole file — exactly what
the frontend gives on the whole file at once (centred frames, reflect padding), because each
block of `block_frames` frames is computed with ⌈n_fft / 2 / hop⌉ frames of real context on both
sides (the file's own reflect padding at its two ends).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np


@functools.lru_cache(maxsize=8)
def _frame_max(features: Callable[[jax.Array], jax.Array], margin: int, block_frames: int):
  """jit: (samples,) block → (block_frames,) max over bins of its frames [margin, margin + G)."""
  def fn(block: jax.Array) -> jax.Array:
    return jnp.max(features(block[None])[0, margin:margin + block_frames], axis=-1)
  return jax.jit(fn)


class MaxDb:
  """Running maximum of `features` (audio (B, T) → dB (B, frames, bins), centred frames every
  `hop` samples of an `n_fft` window, reflect-padded) over one file fed by `add` in order.

  Memory: one block of (block_frames + 2·margin)·hop samples, whatever the file's length.
  """

  def __init__(self, features: Callable[[jax.Array], jax.Array], hop: int, n_fft: int,
               block_frames: int = 512):
    if hop < 1 or n_fft < 1 or block_frames < 1:
      raise ValueError(f"need hop, n_fft, block_frames ≥ 1, got {hop}, {n_fft}, {block_frames}")
    self.hop, self.block_frames = hop, block_frames
    self.margin = -(-(n_fft // 2) // hop)  # frames of context each side
    self.pad = self.margin * hop  # samples of reflect padding at the file's ends
    self._fn = _frame_max(features, self.margin, block_frames)
    self._buf = np.zeros(0, np.float32)  # padded-file samples from frame `_frame` · hop on
    self._started = False
    self._frame = 0  # first frame not yet measured
    self._samples = 0
    self._max = -np.inf

  def add(self, samples: np.ndarray) -> None:
    """Feeds the next (n,) float samples of the file (mono)."""
    samples = np.asarray(samples, np.float32).reshape(-1)
    self._samples += len(samples)
    self._buf = np.concatenate([self._buf, samples])
    if not self._started and len(self._buf) > self.pad:
      self._buf = np.concatenate([self._buf[1:self.pad + 1][::-1], self._buf])
      self._started = True
    if self._started:
      self._run(final=False)

  def _run(self, final: bool) -> None:
    length = (self.block_frames + 2 * self.margin) * self.hop
    total = self._samples // self.hop + 1
    while self._frame < total and (len(self._buf) >= length or final):
      block = self._buf[:length]
      block = np.pad(block, (0, length - len(block)))
      valid = min(self.block_frames, total - self._frame)
      self._max = max(self._max, float(np.max(np.asarray(self._fn(block))[:valid])))
      self._frame += self.block_frames
      self._buf = self._buf[self.block_frames * self.hop:]

  def result(self) -> float:
    """The maximum over the whole file (call once, after the last `add`); −inf for no samples."""
    if not self._samples:
      return -np.inf
    if not self._started:  # a file of at most `pad` samples
      self._buf = np.pad(self._buf, (self.pad, 0), mode="reflect")
      self._started = True
    tail = self._buf[-self.pad - 1:-1][::-1] if len(self._buf) > self.pad else np.zeros(0)
    self._buf = np.concatenate([self._buf, tail, np.zeros(self.pad - len(tail), np.float32)])
    self._run(final=True)
    return self._max


def file_max_db(features: Callable[[jax.Array], jax.Array], audio: np.ndarray, hop: int,
                n_fft: int, block_frames: int = 512) -> float:
  """`MaxDb` of one in-memory (T,) mono file."""
  acc = MaxDb(features, hop, n_fft, block_frames)
  acc.add(audio)
  return acc.result()
