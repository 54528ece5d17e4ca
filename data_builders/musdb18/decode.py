"""Decoding the 5 AAC streams of a musdb18 `.stem.mp4` with PyAV (FFmpeg bundled in its wheels)."""

from __future__ import annotations

import os

import numpy as np

from instrax.audio import io
from instrax.errors import AudioDecodeError


def read_stems(path: str | os.PathLike, num_streams: int = 5) -> tuple[list[np.ndarray], int]:
  """([float32 (C, T) per audio stream, in stream order], sample rate) of a multi-stream file.

  Streams are cut to the shortest one (AAC priming can differ by a frame).
  Raises:
    AudioDecodeError: the file cannot be opened or decoded, or has fewer than `num_streams`
      audio streams, or streams of different rates.
  """
  import av

  path = os.fspath(path)
  try:
    with av.open(path) as container:
      streams = list(container.streams.audio)
      if len(streams) < num_streams:
        raise AudioDecodeError(path, f"{len(streams)} audio streams, expected {num_streams}")
      rates = {s.rate for s in streams[:num_streams]}
      if len(rates) != 1:
        raise AudioDecodeError(path, f"streams at different rates {sorted(rates)}")
      chunks: list[list[np.ndarray]] = [[] for _ in range(num_streams)]
      for packet in container.demux(streams[:num_streams]):
        k = streams.index(packet.stream)
        for frame in packet.decode():
          x = frame.to_ndarray()  # fltp: (C, n); packed formats: (1, n·C)
          if not frame.format.is_planar:
            x = x.reshape(-1, len(frame.layout.channels)).T
          chunks[k].append(np.asarray(x, np.float32))
  except AudioDecodeError:
    raise
  except Exception as e:  # PyAV/FFmpeg raise many types; all mean unreadable
    raise AudioDecodeError(path, f"cannot decode stems ({type(e).__name__}: {e})") from e
  if any(not c for c in chunks):
    raise AudioDecodeError(path, "a stem stream holds no audio")
  audio = [np.concatenate(c, axis=1) for c in chunks]
  n = min(a.shape[1] for a in audio)
  audio = [a[:, :n] for a in audio]
  if not all(np.isfinite(a).all() for a in audio):
    raise AudioDecodeError(path, "non-finite samples")
  return audio, rates.pop()


def load_stems(path: str | os.PathLike, sample_rate: int, channels: int) -> list[np.ndarray]:
  """`read_stems` converted to `channels` and resampled to `sample_rate` (float32 (C, T))."""
  audio, rate = read_stems(path)
  return [io.resample(io.convert_channels(a, channels), rate, sample_rate) for a in audio]
