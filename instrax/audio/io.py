"""Reading audio files of any common format, rate and channel count into float32 arrays (host).

`load` (whole file) and `stream` (bounded memory, block by block) either return finite float32
(C ≥ 1, T ≥ 1) audio or raise `AudioDecodeError`; they never hand a bad file's failure on as
another exception type. Policies for borderline files:
- A file whose data is cut short (truncated download, a WAV header that promises more data than
  the file holds) loads the whole frames it holds, as libsndfile decodes them; one holding no
  whole frame is an error.
- A WAV whose data chunk is declared 0 bytes long with audio after it (the header of a streaming
  recorder that never went back to fill in the size) is read to the end of the file, with a
  logged warning.
- Float files are returned as stored: samples beyond ±1 are kept, not clipped (int PCM cannot
  exceed [-1, 1)); the task's normalisation scales them. `to_pcm16` clips; `to_pcm16_scaled`
  scales instead and returns the gain. Non-finite samples, and float64 samples beyond the
  float32 range, are an error.
- Headers are not trusted for memory: samples are decoded block by block, so a corrupt frame
  count cannot make `load` allocate more than the decoder actually produces.
- Containers libsndfile cannot read (MP4/M4A with AAC or ALAC, raw AAC, WMA, WebM, ...) are an
  error naming the container, the formats that are read, and an ffmpeg command to convert.
"""

from __future__ import annotations

import io as stdio
import logging
import os
import struct
from collections.abc import Iterator

import numpy as np
import soundfile as sf
import soxr

from instrax.errors import AudioDecodeError, ConfigError

MAX_CHANNELS = 256
RATE_RANGE = (1000, 1_000_000)  # Hz; outside it a header is corrupt (or not audio worth reading)
_BLOCK_SAMPLES = 1 << 20  # decoded per read call by `load`, over all channels
PCM16_MAX = 32767 / 32768  # the largest positive int16 sample as float


def load(path: str | os.PathLike, sample_rate: int | None = None,
         channels: int | None = None) -> tuple[np.ndarray, int]:
  """Decodes `path` to float32 (channels, samples); int PCM lands in [-1, 1), float as stored.

  Args:
    path: wav/flac/ogg/mp3/... file (libsndfile identifies the format by its content).
    sample_rate: resample to this rate (None keeps the file's rate).
    channels: 1 downmixes, 2 makes stereo (mono is duplicated), None keeps the file's channels.

  Returns:
    (audio, rate).

  Raises:
    AudioDecodeError: the file is missing, not a regular file, empty, undecodable, holds no
      samples or non-finite ones, has an implausible channel count or rate, or is in a container
      libsndfile does not read (the message names the supported formats and how to convert).
  """
  path = _check_path(path)
  with _Reader(path) as reader:
    rate = reader.rate
    chunks = list(reader.blocks(max(1, _BLOCK_SAMPLES // reader.channels)))
  audio = np.ascontiguousarray(np.concatenate(chunks).T)
  if audio.shape[1] == 0:
    raise AudioDecodeError(path, "file holds 0 samples")
  if not np.isfinite(audio).all():
    raise AudioDecodeError(path, "file holds NaN, infinite or beyond-float32 samples")
  audio = convert_channels(audio, channels)
  if sample_rate is not None and sample_rate != rate:
    audio = resample(audio, rate, sample_rate)
    rate = sample_rate
  return audio, rate


def stream(path: str | os.PathLike, sample_rate: int | None = None, channels: int | None = None,
           block_s: float = 10.0) -> Iterator[np.ndarray]:
  """Decodes `path` block by block: float32 (channels, n) arrays whose concatenation equals
  `load(path, sample_rate, channels)[0]` (resampling is one soxr HQ stream, seamless across
  blocks: the same samples as soxr's one-shot resampling).

  Memory is bounded by a few blocks, whatever the file's length. The file is opened (and a file
  that cannot be opened raises) when this is called; decoding errors found later (a non-finite
  sample, no samples at all) raise from the iteration. Blocks hold about `block_s` seconds of
  the file (the first is shorter by the resampler's delay, the last by what is left).

  Raises:
    AudioDecodeError: as `load`.
    ConfigError: block_s ≤ 0, channels < 1 or sample_rate ≤ 0.
  """
  if not block_s > 0:
    raise ConfigError(f"block_s must be positive, got {block_s}.")
  if channels is not None and channels < 1:
    raise ConfigError(f"channels must be ≥ 1 (or None to keep the file's), got {channels}.")
  if sample_rate is not None and sample_rate <= 0:
    raise ConfigError(f"sample_rate must be positive, got {sample_rate}.")
  path = _check_path(path)
  reader = _Reader(path)
  reader.__enter__()
  return _stream(reader, sample_rate, channels, max(1, round(block_s * reader.rate)))


def _stream(reader: _Reader, sample_rate: int | None, channels: int | None,
            block: int) -> Iterator[np.ndarray]:
  path, rate = reader.path, reader.rate
  out_channels = channels or reader.channels
  resampler = None
  if sample_rate is not None and sample_rate != rate:
    resampler = soxr.ResampleStream(rate, sample_rate, out_channels, dtype="float32",
                                    quality="HQ")
  total_in = total_out = 0
  first = None  # the first block, before resampling (for an input too short for soxr's stream)
  with reader:
    for chunk in reader.blocks(block):
      if chunk.size and not np.isfinite(chunk).all():
        bad = total_in + int(np.flatnonzero(~np.isfinite(chunk).all(axis=1))[0])
        raise AudioDecodeError(path, f"file holds NaN, infinite or beyond-float32 samples "
                               f"(first at sample {bad})")
      last = len(chunk) < block
      total_in += chunk.shape[0]
      if last and total_in == 0:
        raise AudioDecodeError(path, "file holds 0 samples")
      audio = convert_channels(np.ascontiguousarray(chunk.T), channels)
      first = audio if first is None else first
      if resampler is not None:
        audio = np.ascontiguousarray(resampler.resample_chunk(audio.T, last=last).T)
      if last and total_out + audio.shape[1] == 0:  # soxr makes nothing of a very short input
        audio = resample(first, rate, sample_rate)
      total_out += audio.shape[1]
      if audio.shape[1]:
        yield audio
      if last:
        return


class _Reader:
  """An open libsndfile handle with validated rate/channels, `blocks` of (n, C) float32 samples,
  and every libsndfile/codec failure turned into AudioDecodeError."""

  def __init__(self, path: str):
    self.path = path
    self._files: list = []
    try:
      f = sf.SoundFile(path)
      self._files.append(f)
      if f.frames == 0 and (size_at := _empty_data_chunk(path)) is not None:
        raw = open(path, "rb")  # noqa: SIM115 - closed in `close`
        self._files.append(raw)
        f = sf.SoundFile(_Overlay(raw, size_at, b"\xff\xff\xff\xff"))
        self._files.append(f)
        logging.warning("%s: the WAV header declares an empty data chunk (as a streaming "
                        "recorder writes it) but %d bytes follow it; reading them to the end "
                        "of the file", path, os.path.getsize(path) - size_at - 4)
    except Exception as e:  # libsndfile and its codecs raise several types; all mean unreadable.
      self.close()
      raise AudioDecodeError(path, _open_failure(path, e)) from e
    self.file = f
    self.rate, self.channels = f.samplerate, f.channels
    if not 1 <= self.channels <= MAX_CHANNELS:
      self.close()
      raise AudioDecodeError(path, f"implausible channel count {self.channels}")
    if not RATE_RANGE[0] <= self.rate <= RATE_RANGE[1]:
      self.close()
      raise AudioDecodeError(path, f"implausible sample rate {self.rate} Hz")

  def blocks(self, frames: int) -> Iterator[np.ndarray]:
    """(≤ frames, C) float32 blocks to the end of the data; the last is shorter than `frames`
    (possibly empty)."""
    while True:
      try:
        chunk = self.file.read(frames, dtype="float32", always_2d=True)
      except Exception as e:
        raise AudioDecodeError(self.path, f"cannot decode audio ({type(e).__name__}: {e})") from e
      yield chunk
      if len(chunk) < frames:
        return

  def close(self) -> None:
    for f in reversed(self._files):
      f.close()
    self._files = []

  def __enter__(self) -> _Reader:
    return self

  def __exit__(self, *exc) -> None:
    self.close()


def _check_path(path: str | os.PathLike) -> str:
  path = os.fspath(path)
  if not os.path.exists(path):
    raise AudioDecodeError(path, "no such file")
  if not os.path.isfile(path):
    raise AudioDecodeError(path, "not a regular file")
  if os.path.getsize(path) == 0:
    raise AudioDecodeError(path, "empty file")
  return path


def _empty_data_chunk(path: str) -> int | None:
  """Offset of the size field of a RIFF/WAVE file's data chunk when it says 0 bytes and bytes
  follow it; None otherwise. Chunks are walked from offset 12 (RIFF header) as RIFF specifies."""
  size = os.path.getsize(path)
  with open(path, "rb") as f:
    if f.read(4) != b"RIFF" or (f.read(4), f.read(4))[1] != b"WAVE":
      return None
    pos = 12
    while pos + 8 <= size:
      f.seek(pos)
      chunk_id, length = struct.unpack("<4sI", f.read(8))
      if chunk_id == b"data":
        return pos + 4 if length == 0 and size > pos + 8 else None
      pos += 8 + length + (length & 1)  # chunks are padded to an even length
  return None


class _Overlay(stdio.RawIOBase):
  """A read-only file that reads as `raw` with `patch` written over it at `offset`."""

  def __init__(self, raw, offset: int, patch: bytes):
    self.raw, self.offset, self.patch = raw, offset, patch

  def readable(self) -> bool:
    return True

  def seekable(self) -> bool:
    return True

  def seek(self, pos: int, whence: int = 0) -> int:
    return self.raw.seek(pos, whence)

  def tell(self) -> int:
    return self.raw.tell()

  def readinto(self, buffer) -> int:
    start = self.raw.tell()
    n = self.raw.readinto(buffer)
    lo, hi = max(start, self.offset), min(start + n, self.offset + len(self.patch))
    if lo < hi:
      memoryview(buffer)[lo - start:hi - start] = self.patch[lo - self.offset:hi - self.offset]
    return n


# Containers libsndfile does not read, by their first bytes.
_UNSUPPORTED = (
    (lambda h: h[4:8] == b"ftyp", "an MP4/M4A container (AAC or ALAC audio)"),
    (lambda h: len(h) > 1 and h[0] == 0xFF and h[1] & 0xF6 == 0xF0, "raw AAC (ADTS)"),
    (lambda h: h[:4] == bytes.fromhex("3026b275"), "WMA/ASF"),
    (lambda h: h[:4] == bytes.fromhex("1a45dfa3"), "WebM/Matroska"),
    (lambda h: h[:5] == b"#!AMR", "AMR"),
    (lambda h: h[:4] in (b".ra\xfd", b".RMF"), "RealAudio"),
)


def supported_formats() -> str:
  """The container formats libsndfile reads here, as one comma-separated string."""
  return ", ".join(sorted(set(sf.available_formats()) - {"RAW"}))


def _open_failure(path: str, error: Exception) -> str:
  """The reason a file could not be opened; names the container when it is a known unsupported
  one, and says what is supported and how to convert whenever the format is not recognised."""
  with open(path, "rb") as f:
    head = f.read(16)
  kind = next((name for test, name in _UNSUPPORTED if test(head)), None)
  detail = f"{type(error).__name__}: {error}"
  if kind is None and "possibly a pipe" in str(error):  # libsndfile's word for "cannot parse"
    return ("cannot decode audio (corrupt or not audio: the file exists but its contents cannot "
            f"be parsed as {os.path.splitext(path)[1].lstrip('.').upper() or 'audio'}; truncated "
            "download? wrong extension?)")
  if kind is None and "not recognised" not in str(error):
    return f"cannot decode audio ({detail})"
  stem = os.path.splitext(os.path.basename(path))[0]
  what = f"unsupported format: {kind}" if kind else "format not recognised"
  return (f"cannot decode audio: {what}. Readable formats (libsndfile "
          f"{sf.__libsndfile_version__}): {supported_formats()}; convert first, e.g. "
          f"`ffmpeg -i {os.path.basename(path)} {stem}.flac`")


def convert_channels(audio: np.ndarray, channels: int | None) -> np.ndarray:
  """(C, T) → (channels, T): downmix by mean, or repeat a mono signal."""
  if channels is None or audio.shape[0] == channels:
    return audio
  if channels < 1:
    raise ConfigError(f"channels must be ≥ 1 (or None to keep the file's), got {channels}.")
  if channels == 1:
    return audio.mean(axis=0, keepdims=True)
  if audio.shape[0] == 1:
    return np.repeat(audio, channels, axis=0)
  mono = audio.mean(axis=0, keepdims=True)
  return np.repeat(mono, channels, axis=0)


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
  """High-quality resampling of (C, T) float32 audio with soxr, to ≥ 1 sample when T ≥ 1.

  soxr makes round(T · rate_out / rate_in) samples, none for a very short input; that input is
  then zero-padded (as soxr treats the signal outside its support) and its first sample kept.
  """
  if rate_out <= 0:
    raise ConfigError(f"sample_rate must be positive, got {rate_out}.")
  if rate_in == rate_out:
    return audio
  out = soxr.resample(audio.T, rate_in, rate_out, quality="HQ")
  if len(out) == 0 and audio.shape[1]:
    padded = np.pad(audio.T, [(0, -(-rate_in // rate_out) + 1), (0, 0)])
    out = soxr.resample(padded, rate_in, rate_out, quality="HQ")[:1]
  return np.ascontiguousarray(np.asarray(out, np.float32).reshape(-1, audio.shape[0]).T)


def to_pcm16(audio: np.ndarray) -> np.ndarray:
  """float [-1, 1) → int16 (exact inverse of `from_pcm16`), clipping out-of-range samples."""
  return np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16)


def to_pcm16_scaled(audio: np.ndarray) -> tuple[np.ndarray, float]:
  """(int16 samples, gain) storing `audio` without clipping: pcm = to_pcm16(audio · gain).

  gain is 1.0 (and pcm exactly `to_pcm16(audio)`) when every sample fits int16, i.e. lies in
  [-1, 32767/32768]; otherwise the largest gain that makes it fit, so the loudest sample lands on
  the int16 limit. The original is recovered as `from_pcm16(pcm) / gain` up to 0.5 LSB / gain.
  """
  audio = np.asarray(audio, np.float32)
  if audio.size == 0:
    return to_pcm16(audio), 1.0
  over = max(float(audio.max()) / PCM16_MAX, -float(audio.min()))
  if over <= 1.0:
    return to_pcm16(audio), 1.0
  gain = 1.0 / over
  return to_pcm16(audio * np.float32(gain)), gain


def from_pcm16(pcm: np.ndarray) -> np.ndarray:
  """int16 → float32 in [-1, 1)."""
  return pcm.astype(np.float32) / 32768.0
