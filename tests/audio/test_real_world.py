"""Issue #15, real-world audio that broke recognition, one test per kind of fault: loud float
files, no signal, DC offsets, 0-size WAV data chunks, long files (streaming) and unsupported
containers. Inputs are generated here; expectations are computed by hand or by numpy/soxr."""

from __future__ import annotations

import logging
import struct
import tracemalloc

import jax.numpy as jnp
import numpy as np
import pytest
import soundfile as sf
import soxr

from instrax.audio import frontend, io, level
from instrax.data import transforms
from instrax.errors import AudioDecodeError, ConfigError, NoSignalError
from tests.audio.test_io import FLOAT, PCM, wav_bytes, write

RNG = np.random.default_rng(15)


def music(rate: int, seconds: float, channels: int = 1) -> np.ndarray:
  """(C, T) float32: three decaying partials plus a little noise, zero mean up to ~1e-4."""
  t = np.arange(int(rate * seconds)) / rate
  x = sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in ((0.5, 220, 0), (0.3, 660, 1),
                                                              (0.2, 1320, 2)))
  x = x * (0.6 + 0.4 * np.cos(2 * np.pi * 0.5 * t))
  out = np.stack([x * (1.0 - 0.2 * c) for c in range(channels)]) + RNG.normal(0, 0.01,
                                                                              (channels, t.size))
  return out.astype(np.float32)


# --- 1. float audio beyond full scale is never clipped ----------------------------------------

def test_loud_float_wav_keeps_every_sample_through_normalisation(tmp_path):
  x = music(16000, 1.0)
  x *= 4.0 / np.abs(x).max()  # peaks at 4.0
  clipped_before = np.mean(np.abs(x) > 1.0)
  assert clipped_before > 0.2  # the regression: to_pcm16 clipped this many samples
  audio, _ = io.load(write(tmp_path, "loud.wav", wav_bytes(x.T, 16000, FLOAT, 32)))
  np.testing.assert_array_equal(audio, x)  # kept beyond ±1
  normalised = transforms.peak_normalize(transforms.example_audio({"audio": audio.T}, 1))
  np.testing.assert_allclose(normalised, x / 4.0, rtol=1e-6, atol=1e-7)
  assert np.sum(np.abs(normalised) >= 1.0 - 1e-6) == 1  # only the peak itself reaches 1


def test_int16_storage_scales_and_records_the_gain():
  x = np.array([[0.5, -4.0, 2.0, 0.0]], np.float32)
  pcm, gain = io.to_pcm16_scaled(x)
  assert gain == 0.25  # the most negative sample, −4, maps to −32768
  np.testing.assert_array_equal(pcm, [[16384 // 4, -32768, 16384, 0]])
  x = np.array([[2.0, -1.0]], np.float32)
  pcm, gain = io.to_pcm16_scaled(x)
  assert gain == pytest.approx(32767 / 32768 / 2) and pcm.tolist() == [[32767, -16384]]
  inside = np.array([[-1.0, 32767 / 32768, 0.1, -0.1]], np.float32)  # mean ≈ 0: no DC
  pcm, gain = io.to_pcm16_scaled(inside)
  assert gain == 1.0 and np.array_equal(pcm, io.to_pcm16(inside))
  stored = {"audio": pcm.T, "gain": np.float32(gain)}
  np.testing.assert_array_equal(transforms.example_audio(stored, 1), io.from_pcm16(pcm))


def test_example_audio_undoes_a_recorded_gain():
  x = music(8000, 0.5) * 3.0
  pcm, gain = io.to_pcm16_scaled(x)
  assert gain < 1.0
  restored = transforms.example_audio({"audio": pcm.T, "gain": np.float32(gain)}, 1)
  assert np.abs(restored - x).max() <= 0.5 / 32768 / gain * 1.001


def test_example_audio_refuses_other_dtypes():
  with pytest.raises(ValueError, match="int16 PCM or float"):
    transforms.example_audio({"audio": np.zeros((4, 1), np.int32)}, 1)


# --- 2. no signal -----------------------------------------------------------------------------

@pytest.mark.parametrize("case, why", [
    ("silence", "digital silence"),
    ("constant", "digital silence or a constant"),
    ("hiss", "loudest 20-ms frame -69"),  # white noise at −70 dBFS
    ("one sample", "only 1 sample(s)"),
    ("100 samples", "only 100 sample(s)"),
    ("click", "(a click?)"),
])
def test_no_signal(case, why):
  rate = 16000
  audio = {
      "silence": np.zeros((2, 3 * rate)),
      "constant": np.full((1, 3 * rate), 0.3),
      "hiss": RNG.normal(0, 10 ** (-70 / 20), (1, 3 * rate)),
      "one sample": np.array([[0.9]]),
      "100 samples": music(rate, 1.0)[:, :100],
      "click": np.pad([[1.0]], ((0, 0), (rate, 2 * rate))),
  }[case].astype(np.float32)
  stats = level.measure(audio, rate)
  assert not stats.has_signal and not level.has_signal(audio, rate)
  assert stats.reason.startswith("no signal: ") and why in stats.reason
  with pytest.raises(NoSignalError, match=f"^x.wav: no signal: .*{why[:12]}"):
    stats.require_signal("x.wav")


def test_signal_thresholds_by_hand():
  rate = 1000  # 20-sample frames
  tone = 0.002 * np.sqrt(2) * np.sin(2 * np.pi * 125 * np.arange(rate) / rate)  # RMS 0.002
  assert level.has_signal(tone[None], rate)  # −54 dBFS ≥ −60 dBFS
  assert not level.has_signal(tone[None] / 4, rate)  # −66 dBFS
  burst = np.zeros((1, rate))
  burst[0, 200:300] = tone[:100]  # exactly 5 active frames: 0.1 s
  assert level.measure(burst, rate).active_s == pytest.approx(0.1)
  assert level.has_signal(burst, rate)
  burst[0, 280:300] = 0.0
  assert not level.has_signal(burst, rate)  # 0.08 s


def test_music_and_a_quiet_recording_have_a_signal():
  assert level.has_signal(music(16000, 1.0), 16000)
  assert level.has_signal(music(16000, 1.0) * 10 ** (-40 / 20), 16000)  # peak ≈ −40 dBFS


def test_level_stats_do_not_depend_on_block_sizes():
  x = music(8000, 2.0, channels=2) + np.float32(0.2)
  one = level.measure(x, 8000)
  blocks = level.FileStats(8000)
  for a, b in [(0, 1), (1, 157), (157, 9000), (9000, 16000)]:
    blocks.update(x[:, a:b])
  assert blocks.active_samples == one.active_samples and blocks.num_samples == x.shape[1]
  np.testing.assert_allclose(blocks.dc_offset(), one.dc_offset(), rtol=1e-6)
  assert blocks.peak() == pytest.approx(one.peak(), rel=1e-6)
  # ... and they are what the transforms compute on the whole file
  np.testing.assert_allclose(one.dc_offset(), transforms.dc_offset(x), rtol=1e-6)
  assert one.peak() == pytest.approx(float(np.abs(transforms.remove_dc(x)).max()), rel=1e-6)


# --- 3. DC offset -----------------------------------------------------------------------------

def logmel(audio: np.ndarray) -> np.ndarray:
  """The IRMAS notebook's features (dB re the example's max, 80 dB floor) at 16 kHz."""
  fe = frontend.make_frontend("irmas_cnn", sample_rate=16000, n_fft=1024, hop_length=256,
                              n_mels=64)
  return np.asarray(fe(jnp.asarray(audio[None])))[0]


def test_dc_offset_does_not_change_the_features():
  x = music(16000, 1.0, channels=2)
  offset = np.array([[0.3], [-0.5]], np.float32)
  clean = transforms.peak_normalize(x - x.mean(axis=1, keepdims=True))
  shifted = transforms.peak_normalize(transforms.example_audio({"audio": (x + offset).T}, 2))
  np.testing.assert_allclose(shifted, clean, atol=1e-6)
  np.testing.assert_allclose(logmel(shifted), logmel(clean), atol=0.01)
  # The regression: without DC removal the offset takes the peak and the dB reference.
  naive = transforms.peak_normalize(x + offset)
  assert np.abs(logmel(naive) - logmel(clean)).max() > 10.0


def test_dc_removal_is_an_exact_no_op_on_ordinary_audio():
  x = music(16000, 1.0, channels=2)
  assert np.abs(x.mean(axis=1)).max() > 0  # some tiny mean, as real music has
  assert transforms.remove_dc(x) is x
  assert transforms.example_audio({"audio": x.T}, 2).tobytes() == x.tobytes()
  pcm = io.to_pcm16(x).T
  np.testing.assert_array_equal(transforms.example_audio({"audio": pcm}, 2),
                                io.from_pcm16(pcm).T)


def test_dc_threshold_by_hand():
  x = np.array([[1.0, -1.0] * 50], np.float32)
  small = x + np.float32(0.03)  # |mean| 0.03 ≤ 10^(−30/20) · 1 = 0.0316
  large = x + np.float32(0.033)
  assert not transforms.dc_offset(small).any()
  np.testing.assert_allclose(transforms.remove_dc(large), x, atol=1e-7)


# --- 4. WAV with a 0-byte data chunk (streaming recorders) ---------------------------------------

@pytest.mark.parametrize("tag, bits, dtype", [(PCM, 16, np.int16), (FLOAT, 32, np.float32)])
def test_zero_size_data_chunk_reads_what_follows(tmp_path, caplog, tag, bits, dtype):
  x = music(16000, 4.0, channels=2).T
  samples = io.to_pcm16(x) if dtype == np.int16 else x
  path = write(tmp_path, "rec.wav", wav_bytes(samples, 16000, tag, bits, data_size=0))
  with caplog.at_level(logging.WARNING):
    audio, rate = io.load(path)
  expected = io.from_pcm16(samples).T if dtype == np.int16 else x.T
  assert rate == 16000 and audio.shape == (2, 64000)
  np.testing.assert_array_equal(audio, expected)
  assert "declares an empty data chunk" in caplog.text
  assert f"{64000 * 2 * bits // 8} bytes follow" in caplog.text


def test_zero_size_data_chunk_after_other_chunks(tmp_path):
  x = io.to_pcm16(music(8000, 1.0).T)
  plain = wav_bytes(x, 8000, PCM, 16, data_size=0)
  list_chunk = b"LIST" + struct.pack("<I", 5) + b"INFOx\x00"  # odd size: one pad byte
  content = plain[:36] + list_chunk + plain[36:]
  audio, _ = io.load(write(tmp_path, "rec.wav", content))
  np.testing.assert_array_equal(audio, io.from_pcm16(x).T)


def test_zero_size_data_chunk_with_nothing_after_is_still_empty(tmp_path):
  path = write(tmp_path, "a.wav", wav_bytes(np.zeros((0, 1), np.int16), 16000, PCM, 16))
  with pytest.raises(AudioDecodeError, match="0 samples"):
    io.load(path)


# --- 7. long files: bounded-memory streaming ----------------------------------------------------

@pytest.mark.parametrize("rate_out, channels, block_s", [(None, None, 0.25), (16000, 1, 0.3),
                                                          (22050, 2, 1.0), (16000, 2, 100.0)])
def test_stream_equals_load(tmp_path, rate_out, channels, block_s):
  x = music(44100, 2.3, channels=2).T
  path = write(tmp_path, "a.flac", b"")
  sf.write(path, x, 44100, format="FLAC", subtype="PCM_24")
  blocks = list(io.stream(path, rate_out, channels, block_s))
  whole, _ = io.load(path, rate_out, channels)
  assert all(b.dtype == np.float32 and b.ndim == 2 for b in blocks)
  assert len(blocks) >= min(2.3 // block_s, 9)
  np.testing.assert_allclose(np.concatenate(blocks, axis=1), whole, atol=1e-6)
  if rate_out:
    reference = soxr.resample(io.convert_channels(sf.read(path, dtype="float32")[0].T,
                                                   channels).T, 44100, rate_out, quality="HQ")
    assert whole.shape[1] == len(reference)


def test_stream_short_and_bad_files(tmp_path):
  one = write(tmp_path, "one.wav", wav_bytes(np.array([[16384]], np.int16), 44100, PCM, 16))
  (got,) = io.stream(one, 16000)
  np.testing.assert_array_equal(got, io.load(one, 16000)[0])
  empty = write(tmp_path, "e.wav", wav_bytes(np.zeros((0, 1), np.int16), 16000, PCM, 16))
  with pytest.raises(AudioDecodeError, match="0 samples"):
    list(io.stream(empty))
  values = np.zeros((5000, 1), np.float32)
  values[4321] = np.nan
  nan = write(tmp_path, "n.wav", wav_bytes(values, 16000, FLOAT, 32))
  with pytest.raises(AudioDecodeError, match="first at sample 4321"):
    list(io.stream(nan, block_s=0.1))
  with pytest.raises(AudioDecodeError, match="no such file"):
    io.stream(tmp_path / "missing.wav")  # raised on the call, before iterating
  with pytest.raises(ConfigError, match="block_s"):
    io.stream(one, block_s=0)


def peak_stream_memory(path, rate: int) -> int:
  tracemalloc.start()
  try:
    stats = level.FileStats(rate)
    for block in io.stream(path, rate, 1, block_s=1.0):
      stats.update(block)
    return tracemalloc.get_traced_memory()[1]
  finally:
    tracemalloc.stop()


def test_stream_memory_does_not_grow_with_length(tmp_path):
  minute = music(44100, 6.0, channels=2).T
  short, long_ = tmp_path / "short.wav", tmp_path / "long.wav"
  sf.write(short, minute, 44100, subtype="PCM_16")
  with sf.SoundFile(long_, "w", 44100, 2, subtype="PCM_16") as f:
    for _ in range(10):  # 60 s: 21 MB as float32 stereo
      f.write(minute)
  small, large = peak_stream_memory(short, 16000), peak_stream_memory(long_, 16000)
  assert large < 1.2 * small + 200_000, (small, large)
  assert large < 60 * 44100 * 2 * 4 / 5  # far below the decoded file


# --- 8. unsupported containers --------------------------------------------------------------------

@pytest.mark.parametrize("name, head, kind", [
    ("song.m4a", b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A mp42isom", "MP4/M4A"),
    ("song.aac", b"\xff\xf1\x50\x80\x02\x1f\xfc", "raw AAC (ADTS)"),
    ("song.wma", bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c"), "WMA/ASF"),
    ("song.webm", bytes.fromhex("1a45dfa39f4286810142f7810142f2"), "WebM/Matroska"),
])
def test_unsupported_container_says_what_to_do(tmp_path, name, head, kind):
  path = write(tmp_path, name, head + RNG.bytes(3000))
  with pytest.raises(AudioDecodeError) as e:
    io.load(path)
  message = str(e.value)
  assert "\n" not in message and "unsupported format: " in message and kind in message
  for fmt in ("WAV", "FLAC", "OGG", "MP3", "AIFF"):
    assert fmt in message
  assert f"ffmpeg -i {name} song.flac" in message


def test_unrecognised_bytes_also_list_the_supported_formats(tmp_path):
  with pytest.raises(AudioDecodeError) as e:
    io.load(write(tmp_path, "x.bin", b"hello" * 100))
  message = str(e.value)
  assert "format not recognised" in message and "FLAC" in message and "ffmpeg" in message


def test_a_corrupt_mp3_is_called_corrupt_not_a_pipe(tmp_path):
  path = tmp_path / "song.mp3"
  path.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 20)
  with pytest.raises(AudioDecodeError) as info:
    io.load(path)
  assert "corrupt or not audio" in info.value.reason and "MP3" in info.value.reason
  assert "pipe" not in info.value.reason
