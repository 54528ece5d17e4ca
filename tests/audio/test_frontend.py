"""Frontend features against librosa, tf.signal conventions and the seed projects' shapes."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import librosa
import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from instrax.audio import frontend as F
from instrax.audio import io
from instrax.errors import ConfigError

RNG = np.random.default_rng(0)
NOISE = RNG.standard_normal(5000).astype(np.float32)


@pytest.mark.parametrize(("center", "pad_mode", "win_length"), [
    (True, "reflect", None), (True, "constant", None), (True, "constant", 400),
    (False, "constant", None)])
def test_stft_matches_librosa(center, pad_mode, win_length):
  ref = librosa.stft(NOISE, n_fft=512, hop_length=128, win_length=win_length, center=center,
                     pad_mode=pad_mode).T
  got = np.asarray(F.stft(jnp.asarray(NOISE), 512, 128, win_length, "hann", center, pad_mode))
  assert got.shape == ref.shape
  np.testing.assert_allclose(got, ref, atol=2e-5)


def test_uncentred_short_window_follows_tf_signal():
  """tf.signal.stft(frame 400, step 160, fft 512): frame t = x[160t : 160t + 400], zero-filled."""
  frames = np.lib.stride_tricks.sliding_window_view(NOISE, 400)[::160]
  ref = np.fft.rfft(frames * F.window("hann", 400), n=512)
  got = np.asarray(F.stft(jnp.asarray(NOISE), 512, 160, 400, "hann", center=False))
  assert got.shape == (1 + (5000 - 400) // 160, 257)
  np.testing.assert_allclose(got, ref, atol=2e-5)


def test_window_is_periodic_hann():
  np.testing.assert_allclose(F.window("hann", 512), librosa.filters.get_window("hann", 512),
                             atol=1e-7)


@pytest.mark.parametrize(("center", "win_length"), [(True, None), (True, 400), (False, None)])
def test_istft_inverts_stft(center, win_length):
  spec = F.stft(jnp.asarray(NOISE), 512, 128, win_length, "hann", center)
  y = np.asarray(F.istft(spec, 512, 128, win_length, "hann", center, length=NOISE.size))
  assert y.shape == NOISE.shape
  inner = slice(None) if center else slice(512, -512)  # uncentred edges lack window overlap
  np.testing.assert_allclose(y[inner], NOISE[inner], atol=1e-5)
  if center:
    ref = librosa.istft(np.asarray(spec).T, n_fft=512, hop_length=128, win_length=win_length,
                        length=NOISE.size)
    np.testing.assert_allclose(y, ref, atol=1e-5)


@pytest.mark.parametrize(("kwargs", "librosa_kwargs"), [
    (dict(sample_rate=44100, n_fft=4096, n_mels=224), dict(htk=False, norm="slaney")),
    (dict(sample_rate=16000, n_fft=2048, n_mels=229, f_min=50.0, f_max=8000.0, scale="htk",
          norm="none"), dict(htk=True, norm=None)),
])
def test_mel_filterbank_matches_librosa(kwargs, librosa_kwargs):
  ref = librosa.filters.mel(sr=kwargs["sample_rate"], n_fft=kwargs["n_fft"],
                            n_mels=kwargs["n_mels"], fmin=kwargs.get("f_min", 0.0),
                            fmax=kwargs.get("f_max"), **librosa_kwargs).T
  got = F.mel_filterbank(**kwargs)
  assert got.shape == ref.shape
  np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-8)


def test_tf_style_mel_is_linear_in_mel():
  """One band over bins at 0, 1, 2, 3, 4 kHz whose centre is 2 kHz on the HTK scale."""
  mel = lambda f: F.hz_to_mel(f, "htk")
  f_max = float(F.mel_to_hz(2 * mel(2000.0) - mel(1000.0), "htk"))
  kwargs = dict(sample_rate=8000, n_fft=8, n_mels=1, f_min=1000.0, f_max=f_max, scale="htk",
                norm="none")
  tf_style = F.mel_filterbank(**kwargs, style="tf")[:, 0]
  expected = [0.0, 0.0, 1.0, (mel(f_max) - mel(3000.0)) / (mel(f_max) - mel(2000.0)), 0.0]
  np.testing.assert_allclose(tf_style, expected, atol=1e-6)
  hz_style = F.mel_filterbank(**kwargs, style="librosa")[:, 0]
  assert hz_style[3] == pytest.approx((f_max - 3000.0) / (f_max - 2000.0), abs=1e-6)
  assert abs(hz_style[3] - tf_style[3]) > 0.03


def test_irmas_preset_matches_librosa_on_real_clip(real_fixtures):
  path = real_fixtures / "irmas" / "IRMAS-TrainingData" / "cla" / "[cla][cla]0189__2.wav"
  audio, rate = io.load(path, channels=1)
  frontend = F.make_frontend("irmas_cnn")
  got = np.asarray(jax.jit(frontend)(jnp.asarray(audio)))[0]
  mel = librosa.feature.melspectrogram(y=audio[0], sr=rate, n_fft=4096, hop_length=512,
                                       n_mels=224)
  ref = librosa.power_to_db(mel, ref=np.max, top_db=80.0).T
  assert got.shape == ref.shape == (259, 224)  # a 3-s clip has 259 frames (seeds.md §5.1)
  np.testing.assert_allclose(got, ref, atol=5e-3)
  assert got.max() == 0.0 and got.min() == -80.0


def test_onsets_velocities_preset_matches_torchaudio_recipe(real_fixtures):
  path = real_fixtures / "maps" / "flac" / "MAPS_MUS-alb_esp2_SptkBGCl.flac"
  pcm, rate = sf.read(path, frames=5 * 16000, dtype="int16")
  got = np.asarray(F.make_frontend("onsets_velocities")(jnp.asarray(pcm)))
  mel = librosa.feature.melspectrogram(y=io.from_pcm16(pcm), sr=rate, n_fft=2048, hop_length=384,
                                       n_mels=229, fmin=50.0, fmax=8000.0, htk=True, norm=None,
                                       pad_mode="reflect")
  ref = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0).T
  assert got.shape == ref.shape == (1 + 80000 // 384, 229)
  np.testing.assert_allclose(got, ref, atol=5e-3)


def test_musicnn_preset_matches_musicnn_batch_data(real_fixtures):
  """musicnn.extractor.batch_data: librosa melspectrogram(sr=16000, 512, 256, 96 mels) then
  log10(10000·x + 1); the preset gives that − 4 (folded into the converted input BatchNorm)."""
  path = real_fixtures / "maps" / "flac" / "MAPS_MUS-alb_esp2_SptkBGCl.flac"
  pcm, rate = sf.read(path, frames=3 * 16000, dtype="int16")
  got = np.asarray(F.make_frontend("musicnn")(jnp.asarray(pcm)))
  mel = librosa.feature.melspectrogram(y=io.from_pcm16(pcm), sr=rate, n_fft=512, hop_length=256,
                                       n_mels=96, pad_mode="reflect")
  ref = np.log10(10000 * mel + 1).T - 4.0
  assert got.shape == ref.shape == (1 + 48000 // 256, 96)
  np.testing.assert_allclose(got, ref, atol=2e-3)


def test_msspt_mel_spaces_256_bins_over_nyquist():
  """MSSPT drops the Nyquist bin, then tf.signal assumes its 256 bins span [0, 8 kHz]: sr/510."""
  args = (128, 100.0, 7800.0, "htk", "none", "tf")
  quirk = F.mel_filterbank(16000, 512, *args, n_freqs=256)
  np.testing.assert_array_equal(quirk, F.mel_filterbank(16000, 510, *args))
  np.testing.assert_array_equal(F.make_frontend("msspt_mel").mel_matrix, quirk)
  assert not np.allclose(quirk, F.mel_filterbank(16000, 512, *args)[:256])


def test_frontend_stft_round_trip_for_separation():
  frontend = F.make_frontend("msspt_stft")
  audio = jnp.asarray(RNG.uniform(-0.5, 0.5, 61_792), jnp.float32)
  spec = jax.jit(frontend.stft)(audio)
  assert spec.shape == (384, 257)
  y = jax.jit(frontend.istft, static_argnums=1)(spec, audio.size)
  np.testing.assert_allclose(y[512:-512], audio[512:-512], atol=1e-5)


def test_seed_shapes():
  assert F.make_frontend("msspt_stft").num_frames(61_792) == 384  # MSSPT: 384 × 256 input
  assert F.make_frontend("msspt_stft").num_features == 256
  assert F.make_frontend("msspt_mel").mel_matrix.shape == (256, 128)
  vggish = F.make_frontend("vggish")
  assert (vggish.num_frames(16000), vggish.num_features, vggish.frame_rate) == (98, 64, 100.0)
  lead = F.make_frontend("lead_crnn")
  assert lead.num_frames(119_999) == 375 and lead.frame_rate == 75.0


def test_sine_peaks_in_its_mel_band():
  t = np.arange(16000) / 16000
  sine = jnp.asarray(0.5 * np.sin(2 * np.pi * 1000.0 * t), jnp.float32)
  for name in ("vggish", "msspt_mel", "onsets_velocities"):
    frontend = F.make_frontend(name)
    peak_band = int(np.argmax(np.asarray(jax.jit(frontend)(sine)).mean(axis=0)))
    centre = F.mel_to_hz(np.linspace(F.hz_to_mel(frontend.f_min, "htk"),
                                     F.hz_to_mel(frontend.f_max, "htk"),
                                     frontend.n_mels + 2), "htk")[peak_band + 1]
    assert abs(centre - 1000.0) < 60.0, (name, centre)


def test_batches_channels_and_pcm16():
  frontend = F.make_frontend("logmel", n_mels=40, top_db=None)
  batch = jnp.asarray(RNG.uniform(-0.5, 0.5, (3, 2, 4000)), jnp.float32)
  out = jax.jit(frontend)(batch)
  assert out.shape == (3, 2, frontend.num_frames(4000), 40)
  np.testing.assert_allclose(out[1, 0], frontend(batch[1, 0]), atol=1e-4)
  pcm = io.to_pcm16(np.asarray(batch))
  np.testing.assert_allclose(frontend(jnp.asarray(pcm)), frontend(io.from_pcm16(pcm)), atol=1e-5)


def test_db_reference_and_floor_are_per_example():
  sine = np.sin(2 * np.pi * 440.0 * np.arange(NOISE.size) / 16000) + 1e-4 * NOISE
  clips = jnp.asarray(sine[None] * np.array([[1.0], [0.1]]), jnp.float32)
  relative = F.make_frontend("irmas_cnn", sample_rate=16000, n_fft=512, hop_length=128, n_mels=40)
  out = np.asarray(relative(clips))
  np.testing.assert_allclose(out[0], out[1], atol=1e-2)  # ref=max: invariant to gain
  assert out.max(axis=(1, 2)).tolist() == [0.0, 0.0]
  assert out.min(axis=(1, 2)).tolist() == [-80.0, -80.0]
  out = np.asarray(dataclasses.replace(relative, ref_max=False, top_db=None)(clips))
  assert out[0].max() - out[1].max() == pytest.approx(20.0, abs=1e-2)  # 20·log10(10) dB
  assert np.ptp(out[0]) > 85.0  # no floor


@settings(max_examples=25, deadline=None)
@given(num_samples=st.integers(600, 3000), hop=st.integers(64, 300), center=st.booleans(),
       win=st.sampled_from([None, 300]))
def test_num_frames_matches_output(num_samples, hop, center, win):
  audio = jax.ShapeDtypeStruct((num_samples,), jnp.float32)
  spec = jax.eval_shape(lambda x: F.stft(x, 512, hop, win, center=center), audio)
  assert spec.shape[0] == F.num_frames(num_samples, 512, hop, win, center)


def test_config_errors():
  with pytest.raises(ConfigError, match=r"Valid names: .*irmas_cnn"):
    F.make_frontend("irmas")
  with pytest.raises(ConfigError, match="n_hop"):
    F.make_frontend("logmel", n_hop=10)
  with pytest.raises(ConfigError, match="win_length"):
    F.Frontend(n_fft=256, win_length=400)
  with pytest.raises(ConfigError, match="f_max"):
    F.Frontend(sample_rate=16000, f_max=11025.0)
  with pytest.raises(ConfigError, match="mel_scale='htk'"):
    F.Frontend(mel_style="tf")
  with pytest.raises(ConfigError, match="window"):
    F.Frontend(window="kaiser")
  with pytest.raises(ConfigError, match="shorter than one STFT frame"):
    F.make_frontend("vggish")(jnp.zeros(399))


@pytest.mark.parametrize(("frame_length", "hop", "n"), [
    (64, 8, 5), (50, 20, 6), (48, 36, 4), (7, 7, 3), (5, 9, 4), (1, 1, 2), (67, 2, 3)])
def test_framing_by_block_slices_equals_gather(frame_length, hop, n):
  """Divisible, gcd > 1, hop = frame, hop > frame, and nearly coprime (> 32 slices: a gather)."""
  audio = jnp.arange((n - 1) * hop + frame_length + 5, dtype=jnp.float32)[None]
  got = F.frames(audio, n, frame_length, hop)
  assert got.shape == (1, n, frame_length)
  np.testing.assert_array_equal(got[0], np.asarray(audio[0])[F._frame_indices(n, frame_length,
                                                                                hop)])


@pytest.mark.parametrize("name", ["irmas_cnn", "onsets_velocities", "msspt_mel", "vggish"])
def test_mel_blocks_hold_every_weight(name):
  mel = F.make_frontend(name).mel_matrix
  groups = F.mel_blocks(mel)
  rebuilt = np.zeros_like(mel)
  for lo, hi, i, j in groups:
    rebuilt[lo:hi, i:j] = mel[lo:hi, i:j]
  np.testing.assert_array_equal(rebuilt, mel)
  assert [i for _, _, i, _ in groups] == [0] + [j for *_, j in groups[:-1]]
  assert groups[-1][3] == mel.shape[1]
  assert sum((hi - lo) * (j - i) for lo, hi, i, j in groups) < 0.25 * mel.size  # sparse for real
  rows = np.flatnonzero(mel.any(axis=1))
  assert F.mel_blocks(mel, overhead=10**12) == [(rows[0], rows[-1] + 1, 0, mel.shape[1])]


@pytest.mark.parametrize("name", ["irmas_cnn", "vggish", "msspt_stft"])
def test_per_signal_sparse_path_equals_batched_dense_path(name):
  """CPU takes `_linear_per_signal` (sparse mel, lax.map); other platforms the batched dense one."""
  frontend = F.make_frontend(name, sample_rate=16000, f_max=None)
  audio = jnp.asarray(RNG.uniform(-0.5, 0.5, (2, 3, 9000)), jnp.float32)
  cpu = np.asarray(jax.jit(frontend._linear_per_signal)(audio))
  dense = np.asarray(jax.jit(frontend._linear, static_argnums=1)(audio, False))
  assert cpu.shape == dense.shape == (2, 3, frontend.num_frames(9000), frontend.num_features)
  np.testing.assert_allclose(cpu, dense, rtol=2e-5, atol=1e-6 * dense.max())
  hlo = jax.jit(frontend).lower(audio).compile().as_text()
  assert ("while" in hlo) == (jax.default_backend() == "cpu")
