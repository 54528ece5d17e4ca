"""Reading Gravis UltraSound instrument patches (`.pat`, the format of the FreePats set and of
TiMidity's banks) as SoundFont samples (`sf2.Sample`).

Layout (GF1 patch format 1.10, as documented in the Gravis UltraSound SDK and read by TiMidity,
`instrum.c`): a 129-byte file header ("GF1PATCH110\\0ID#000002\\0", description, counts), a 63-byte
instrument header, a 47-byte layer header whose byte 6 counts the samples, then per sample a
96-byte header followed by its PCM data. Sample header fields (little-endian): name (7 bytes),
loop fractions (1), data size in bytes (4), loop start and end in bytes (4, 4), sample rate in Hz
(2), lowest, highest and root frequency in mHz (4, 4, 4), tune (2), balance (1), envelope rates
and offsets (6, 6), tremolo and vibrato sweep/rate/depth (3, 3), modes (1), scale frequency (2),
scale factor (2: 1024 = normal keyboard tracking), reserved (36). Mode bits: 16-bit, unsigned,
looped, ping-pong loop, reversed, sustained, enveloped, clamped release.

Only the first layer of the first instrument is read (the only one GUS patches in use have).
Not carried over: the GUS envelope, tremolo and vibrato (the SoundFont preset sets its own
envelope), the loop points' fractions (sub-sample loop lengths: a few cents of pitch on a short
loop), and each sample's own low-high frequency range — the SoundFont plays each key from the
nearest root instead (`sf2.key_ranges`), so a patch whose sample ranges stretch one recording far
from its root is transposed less; a second sample at the same root key is dropped.
"""

from __future__ import annotations

import math
import os
import struct

import numpy as np

from data_builders.synthmix import sf2

MAGIC = (b"GF1PATCH110\0", b"GF1PATCH100\0")
_FILE_HEADER, _INSTRUMENT_HEADER, _LAYER_HEADER, _SAMPLE_HEADER = 129, 63, 47, 96
_SAMPLE_FIELDS = struct.Struct("<7sBIIIHIIIhB6s6s3s3sBHH36s")
_16BIT, _UNSIGNED, _LOOPED, _PING_PONG, _REVERSED = 1, 2, 4, 8, 16


def frequency_to_key(millihertz: int) -> tuple[int, int]:
  """(MIDI key, SoundFont pitch correction in cents) of a GUS root frequency in mHz: the nearest
  key (A4 = 440 Hz = 69), and the cents that bring the sample's true pitch to it. ValueError for
  a frequency that is not positive."""
  if millihertz <= 0:
    raise ValueError(f"root frequency {millihertz} mHz is not positive")
  exact = 69.0 + 12.0 * math.log2(millihertz / 1000.0 / 440.0)
  key = min(127, max(0, round(exact)))
  return key, max(-99, min(99, round(100 * (key - exact))))


def _pcm(data: bytes, modes: int) -> np.ndarray:
  """The sample's PCM as float in [-1, 1)."""
  if modes & _16BIT:
    ints = np.frombuffer(data[: len(data) // 2 * 2], "<u2" if modes & _UNSIGNED else "<i2")
    audio = ints.astype(np.float64) - (32768 if modes & _UNSIGNED else 0)
    return audio / 32768.0
  ints = np.frombuffer(data, np.uint8 if modes & _UNSIGNED else np.int8)
  return (ints.astype(np.float64) - (128 if modes & _UNSIGNED else 0)) / 128.0


def _loop(audio: np.ndarray, start: int, end: int, modes: int) -> tuple[np.ndarray, tuple | None]:
  """The audio and forward loop a SoundFont can play: a ping-pong loop is unrolled (the loop
  segment followed by itself reversed, looped forward); what follows the loop is dropped, as a
  looped GUS voice never reaches it before its release."""
  if not modes & _LOOPED or end - start < 8 or end > audio.size:
    return audio, None
  if modes & _PING_PONG:
    segment = audio[start:end]
    return np.concatenate([audio[:end], segment[::-1]]), (start, end + segment.size)
  return audio[:end], (start, end)


def read(path: str | os.PathLike, prefix: str = "") -> list[sf2.Sample]:
  """The samples of the GUS patch at `path`, lowest root key first, one per root key (the first
  read wins a repeated key); names start with `prefix`. ValueError for a file that is not a GF1
  patch or is cut short."""
  with open(path, "rb") as f:
    blob = f.read()
  if blob[:12] not in MAGIC:
    raise ValueError(f"{path}: not a GUS patch (no GF1PATCH header)")
  offset = _FILE_HEADER + _INSTRUMENT_HEADER + _LAYER_HEADER
  if len(blob) < offset:
    raise ValueError(f"{path}: cut short in its headers")
  count = blob[offset - _LAYER_HEADER + 6]
  samples: dict[int, sf2.Sample] = {}
  for i in range(count):
    if len(blob) < offset + _SAMPLE_HEADER:
      raise ValueError(f"{path}: cut short at sample {i} of {count}")
    (_, _, size, loop_start, loop_end, rate, _, _, root, _, _, _, _, _, _, modes, _, _,
     _) = _SAMPLE_FIELDS.unpack_from(blob, offset)
    offset += _SAMPLE_HEADER
    if rate == 0 or root == 0:
      raise ValueError(f"{path}: sample {i} has a zero sample rate or root frequency")
    if len(blob) < offset + size:
      raise ValueError(f"{path}: sample {i} needs {size} bytes, {len(blob) - offset} left")
    audio = _pcm(blob[offset: offset + size], modes)
    offset += size
    width = 2 if modes & _16BIT else 1
    loop_start, loop_end = loop_start // width, loop_end // width
    if modes & _REVERSED:  # the data and its loop mirrored, as TiMidity plays it
      audio = audio[::-1]
      loop_start, loop_end = audio.size - loop_end, audio.size - loop_start
    audio, loop = _loop(audio, loop_start, loop_end, modes)
    key, cents = frequency_to_key(root)
    if audio.size >= 8 and key not in samples:
      samples[key] = sf2.Sample(f"{prefix}{i}", np.clip(audio, -1.0, 1.0), rate, key, loop,
                                cents)
  return [samples[k] for k in sorted(samples)]
