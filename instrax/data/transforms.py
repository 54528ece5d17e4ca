"""Host-side example transforms shared by tasks: decoding stored audio, DC removal, cropping,
peak normalisation.

Normalisation never clips: float audio beyond ±1 is kept as float (`example_audio` accepts it),
int16 datasets that had to scale a file record the gain (`io.to_pcm16_scaled`), and
`peak_normalize` divides by the peak. A DC offset is removed before the peak is taken, so it
neither counts in the peak nor reaches the spectrum's 0 Hz bin. Both are exact no-ops on
ordinary audio: DC is only removed when it is significant (`level.DC_RATIO`), and gain 1 is not
applied.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from instrax.audio import io, level


def example_audio(example: dict[str, Any], channels: int, key: str = "audio") -> np.ndarray:
  """The audio of an example as float32 (channels, T), DC removed.

  `example[key]` is (T, C): int16 PCM as stored by the builders (divided by `example["gain"]`
  when present and ≠ 1, restoring the level of a file scaled to fit int16), or float audio as
  read by `io.load` (kept as is, samples beyond ±1 included).
  """
  stored = np.asarray(example[key])
  if stored.dtype == np.int16:
    audio = io.from_pcm16(stored).T
    gain = float(np.asarray(example.get("gain", 1.0)))
    if gain != 1.0:
      audio = audio / np.float32(gain)
  elif np.issubdtype(stored.dtype, np.floating):
    audio = np.asarray(stored, np.float32).T
  else:
    raise ValueError(f"example[{key!r}] must be int16 PCM or float audio, got {stored.dtype}")
  return remove_dc(io.convert_channels(audio, channels))


def dc_offset(audio: np.ndarray) -> np.ndarray:
  """(C, 1) float32 offset of (C, T) audio that `remove_dc` subtracts (zeros if insignificant)."""
  if audio.shape[-1] == 0:
    return np.zeros((audio.shape[0], 1), np.float32)
  mean = audio.mean(axis=1, dtype=np.float64)
  return level.significant_dc(mean, audio.min(axis=1), audio.max(axis=1))[:, None]


def remove_dc(audio: np.ndarray) -> np.ndarray:
  """(C, T) float audio minus its significant per-channel DC offset; `audio` itself (unchanged,
  not copied) when no channel has one."""
  offset = dc_offset(audio)
  return audio - offset if offset.any() else audio


def random_start(total: int, length: int, rng: np.random.Generator) -> int:
  """Uniform start of a `length` crop of `total` samples (0, drawing nothing, if it fits)."""
  return int(rng.integers(0, total - length + 1)) if total > length else 0


def random_crop(audio: np.ndarray, length: int, rng: np.random.Generator,
                start: int | None = None) -> np.ndarray:
  """(C, T) → (C, length): a uniformly random crop (from `start` when given), or the clip
  zero-padded at its end."""
  if start is None:
    start = random_start(audio.shape[1], length, rng)
  crop = audio[:, start:start + length]
  return np.pad(crop, ((0, 0), (0, length - crop.shape[1])))


def peak_normalize(audio: np.ndarray, peak: float | None = None) -> np.ndarray:
  """Divides by the peak |sample| (silence is returned unchanged); never clips.

  `peak` overrides the measured one, e.g. a whole file's (`level.FileStats.peak()`) when the
  file is processed in blocks.
  """
  if peak is None:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
  return audio / peak if peak > 1e-8 else audio
