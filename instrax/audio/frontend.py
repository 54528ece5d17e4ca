"""Spectral features on device: STFT, mel filterbank, dB/log scaling, and named frontends.

Everything on the audio path is a pure `jax.numpy` function, so it runs inside the jitted step;
filterbanks and windows are numpy constants computed once on the host. Layout: audio (..., T) →
features (..., frames, bins), time before frequency (as tf.signal and VGGish; transpose for the
torchaudio/librosa (bins, frames) order).

Framing conventions, chosen to reproduce the seed projects:
- `center=True` (librosa / torch): the signal is padded by n_fft // 2 on both sides, frame t is
  centred on sample t·hop, and a window shorter than n_fft sits in the middle of the frame.
- `center=False` (tf.signal / VGGish): frame t holds samples [t·hop, t·hop + win_length), without
  padding, zero-filled at its end to n_fft before the FFT.

Speed (bench/frontend.md): frames are cut as strided slices of gcd(frame, hop)-sample blocks, not by
a gather; on CPU the features are computed one signal at a time (a `lax.map`, which keeps the
frames and spectra in cache instead of paging in fresh buffers) and the mel projection multiplies
only the bins each group of bands covers (the filterbank is ~99 % zeros). Other platforms take the
whole batch at once with one dense matmul at float32 'highest' precision.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from instrax.audio.pcen import pcen
from instrax.errors import ConfigError
from instrax.registry import Registry, build

WINDOWS = ("hann", "hamming", "rect")
PAD_MODES = ("reflect", "constant")
SCALES = ("none", "db", "log", "log10", "pcen")
MEL_SCALES = ("slaney", "htk")
MEL_NORMS = ("none", "slaney")
MEL_STYLES = ("librosa", "tf")


def window(name: str, length: int) -> np.ndarray:
  """A periodic (DFT-even) window, as librosa, torch and tf.signal build them by default."""
  n = np.arange(length)
  if name == "hann":
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / length)).astype(np.float32)
  if name == "hamming":
    return (0.54 - 0.46 * np.cos(2 * np.pi * n / length)).astype(np.float32)
  if name == "rect":
    return np.ones(length, np.float32)
  raise ConfigError(f"Unknown window {name!r}. Valid names: {', '.join(WINDOWS)}.")


def num_frames(num_samples: int, n_fft: int, hop_length: int, win_length: int | None = None,
               center: bool = True) -> int:
  """How many STFT frames `stft` makes from `num_samples` samples."""
  padded = num_samples + 2 * (n_fft // 2) if center else num_samples
  frame_length = n_fft if center else (win_length or n_fft)
  if padded < frame_length:
    raise ConfigError(f"{num_samples} samples are shorter than one STFT frame of {frame_length} "
                      f"(center={center}); use longer clips or a smaller n_fft/win_length.")
  return 1 + (padded - frame_length) // hop_length


def _framing(n_fft: int, win_length: int | None, window_name: str,
             center: bool) -> tuple[int, np.ndarray]:
  """(frame length, window padded to it): n_fft with a centred window, or win_length uncentred."""
  win_length = win_length or n_fft
  w = window(window_name, win_length)
  if not center:
    return win_length, w
  left = (n_fft - win_length) // 2
  return n_fft, np.pad(w, (left, n_fft - win_length - left))


def _frame_indices(n: int, frame_length: int, hop_length: int) -> np.ndarray:
  return hop_length * np.arange(n)[:, None] + np.arange(frame_length)[None, :]


_MAX_FRAME_SLICES = 32  # above it (hop and frame length nearly coprime) a gather is cheaper


def frames(audio: jax.Array, n: int, frame_length: int, hop_length: int) -> jax.Array:
  """(..., T) → (..., n, frame_length): frame t holds samples [t·hop, t·hop + frame_length).

  With g = gcd(frame_length, hop) the signal is viewed as g-sample blocks; frame t is blocks
  t·hop/g … of which slice k is a strided slice of the block array, so framing is a few copies
  of contiguous rows (a gather of every sample is several times slower on CPU).
  """
  g = math.gcd(frame_length, hop_length)
  parts, step = frame_length // g, hop_length // g
  if parts > _MAX_FRAME_SLICES:
    return audio[..., _frame_indices(n, frame_length, hop_length)]
  num_blocks = (n - 1) * step + parts
  blocks = audio[..., :num_blocks * g].reshape(*audio.shape[:-1], num_blocks, g)
  sliced = [blocks[..., k:k + (n - 1) * step + 1:step, :] for k in range(parts)]
  return jnp.stack(sliced, axis=-2).reshape(*audio.shape[:-1], n, frame_length)


def stft(audio: jax.Array, n_fft: int, hop_length: int, win_length: int | None = None,
         window_name: str = "hann", center: bool = True, pad_mode: str = "reflect") -> jax.Array:
  """Complex STFT of float audio (..., T) → (..., frames, n_fft // 2 + 1), unnormalised."""
  frame_length, w = _framing(n_fft, win_length, window_name, center)
  n = num_frames(audio.shape[-1], n_fft, hop_length, win_length, center)
  if center:
    pad = [(0, 0)] * (audio.ndim - 1) + [(n_fft // 2, n_fft // 2)]
    audio = jnp.pad(audio, pad, mode=pad_mode)
  return jnp.fft.rfft(frames(audio, n, frame_length, hop_length) * w, n=n_fft, axis=-1)


def istft(spec: jax.Array, n_fft: int, hop_length: int, win_length: int | None = None,
          window_name: str = "hann", center: bool = True, length: int | None = None) -> jax.Array:
  """Least-squares inverse of `stft` (windowed overlap-add over the window-sum-square).

  Samples no window covers (the first one of an uncentred Hann STFT) stay unnormalised, as in
  librosa. `length` crops or zero-pads the result to that many samples.
  """
  frame_length, w = _framing(n_fft, win_length, window_name, center)
  n = spec.shape[-2]
  idx = _frame_indices(n, frame_length, hop_length)
  frames = jnp.fft.irfft(spec, n=n_fft, axis=-1)[..., :frame_length] * w
  total = frame_length + hop_length * (n - 1)
  out = jnp.zeros((*spec.shape[:-2], total), frames.dtype).at[..., idx].add(frames)
  wss = np.bincount(idx.ravel(), np.broadcast_to(w.astype(np.float64) ** 2, idx.shape).ravel())
  out = out / np.where(wss > np.finfo(np.float32).tiny, wss, 1.0).astype(np.float32)
  if center:
    out = out[..., n_fft // 2:]
  if length is not None:
    out = out[..., :length]
    out = jnp.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, length - out.shape[-1])])
  return out


def hz_to_mel(hz: np.ndarray, scale: str = "slaney") -> np.ndarray:
  """Hz → mel: HTK 2595·log10(1 + f/700), or Slaney's (librosa default) linear below 1 kHz."""
  hz = np.asarray(hz, np.float64)
  if scale == "htk":
    return 2595.0 * np.log10(1.0 + hz / 700.0)
  linear = hz / (200.0 / 3)
  log = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
  return np.where(hz >= 1000.0, log, linear)


def mel_to_hz(mel: np.ndarray, scale: str = "slaney") -> np.ndarray:
  """Inverse of `hz_to_mel`."""
  mel = np.asarray(mel, np.float64)
  if scale == "htk":
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
  linear = mel * (200.0 / 3)
  log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
  return np.where(mel >= 15.0, log, linear)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0,
                   f_max: float | None = None, scale: str = "slaney", norm: str = "slaney",
                   style: str = "librosa", n_freqs: int | None = None) -> np.ndarray:
  """Triangular mel filters as an (n_freqs, n_mels) float32 matrix: `spectrum @ filters`.

  style "librosa" (= torchaudio for htk/none) puts the triangles on the bins' true frequencies
  k·sr/n_fft, linear in Hz. style "tf" (= tf.signal.linear_to_mel_weight_matrix, VGGish) spaces
  n_freqs bins evenly over [0, sr/2] and makes the triangles linear in mel; with the Nyquist bin
  dropped (n_freqs = n_fft // 2) that reproduces MSSPT's off-by-one-bin frequencies.
  norm "slaney" scales each filter to unit area (2 / bandwidth in Hz).
  """
  f_max = sample_rate / 2 if f_max is None else f_max
  n_freqs = n_fft // 2 + 1 if n_freqs is None else n_freqs
  edges_mel = np.linspace(hz_to_mel(f_min, scale), hz_to_mel(f_max, scale), n_mels + 2)
  edges_hz = mel_to_hz(edges_mel, scale)
  if style == "tf":
    freqs = hz_to_mel(np.linspace(0.0, sample_rate / 2, n_freqs), scale)
    edges = edges_mel
  else:
    freqs = np.arange(n_freqs) * sample_rate / n_fft
    edges = edges_hz
  lower = (freqs[:, None] - edges[None, :-2]) / (edges[1:-1] - edges[:-2])
  upper = (edges[None, 2:] - freqs[:, None]) / (edges[2:] - edges[1:-1])
  filters = np.maximum(0.0, np.minimum(lower, upper))
  if norm == "slaney":
    filters *= 2.0 / (edges_hz[2:] - edges_hz[:-2])
  empty = np.flatnonzero(filters.max(axis=0) == 0)
  if empty.size:
    warnings.warn(f"mel filters {empty.tolist()} are empty: n_mels={n_mels} is too many for "
                  f"n_fft={n_fft} over [{f_min}, {f_max}] Hz.", stacklevel=2)
  return filters.astype(np.float32)


def mel_blocks(filters: np.ndarray, overhead: int = 1024) -> list[tuple[int, int, int, int]]:
  """Consecutive bands grouped as (bin lo, bin hi, band i, band j): `filters[lo:hi, i:j]` holds
  every nonzero weight of bands i..j−1, so `x[..., lo:hi] @ filters[lo:hi, i:j]` is exact.

  Dynamic programming picks the groups minimising Σ (hi − lo)·(j − i) multiply-adds per frame
  plus `overhead` per group (one more small matmul call).
  """
  nonzero = filters != 0
  n_bins, n_bands = filters.shape
  lo = np.where(nonzero.any(0), nonzero.argmax(0), n_bins)  # empty bands span nothing
  hi = np.where(nonzero.any(0), n_bins - nonzero[::-1].argmax(0), 0)
  best = np.zeros(n_bands + 1)
  start = np.zeros(n_bands + 1, int)
  for j in range(1, n_bands + 1):
    best[j] = np.inf
    span_lo, span_hi = n_bins, 0
    for i in range(j - 1, -1, -1):
      span_lo, span_hi = min(span_lo, lo[i]), max(span_hi, hi[i])
      cost = best[i] + max(span_hi - span_lo, 0) * (j - i) + overhead
      if cost < best[j]:
        best[j], start[j] = cost, i
  groups, j = [], n_bands
  while j:
    i = start[j]
    span_lo, span_hi = int(lo[i:j].min()), int(hi[i:j].max())
    groups.append((span_lo, span_hi, int(i), j) if span_lo < span_hi else (0, 0, int(i), j))
    j = i
  return groups[::-1]


def power_to_db(x: jax.Array, power: float = 2.0, ref_max: bool = False,
                top_db: float | None = 80.0, amin: float = 1e-10, axes: int = 2) -> jax.Array:
  """(20 / power)·log10(max(x, amin)) in dB, per example over the trailing `axes` axes.

  ref_max: subtract that maximum (librosa `ref=np.max`), else the reference is 1 (torchaudio).
  top_db: floor each example at its maximum − top_db.
  """
  db = (20.0 / power) * jnp.log10(jnp.maximum(x, amin))
  if not ref_max and top_db is None:
    return db
  peak = jnp.max(db, axis=tuple(range(-axes, 0)), keepdims=True)
  if top_db is not None:
    db = jnp.maximum(db, peak - top_db)
  return db - peak if ref_max else db


@dataclasses.dataclass(frozen=True)
class Frontend:
  """Audio (..., T) float or int16 PCM → features (..., frames, bins), jit-able, plain-data fields.

  Pipeline: STFT → |·|^power → optional mel projection → scale ("none", "db", "log": ln(x + offset),
  "log10": log10(x + offset), "pcen": per-channel energy normalisation with the pcen_* fields,
  instrax.audio.pcen). dB statistics (ref_max, top_db) are taken per example over the
  trailing `db_axes` axes: 2 = each channel's own spectrogram, 3 = shared across the channels of
  (B, C, T) input (IRMAS stereo); 3 on (B, T) input would share them across the batch.
  """

  sample_rate: int = 16000
  n_fft: int = 1024
  hop_length: int = 320
  win_length: int | None = None
  window: str = "hann"
  center: bool = True
  pad_mode: str = "reflect"
  power: float = 2.0
  drop_nyquist: bool = False
  n_mels: int = 128
  f_min: float = 0.0
  f_max: float | None = None
  mel_scale: str = "slaney"
  mel_norm: str = "slaney"
  mel_style: str = "librosa"
  scale: str = "db"
  ref_max: bool = False
  top_db: float | None = 80.0
  amin: float = 1e-10
  log_offset: float = 1e-6
  db_axes: int = 2
  pcen_time_constant: float = 0.4
  pcen_gain: float = 0.98
  pcen_bias: float = 2.0
  pcen_power: float = 0.5
  pcen_eps: float = 1e-6

  def __post_init__(self):
    choices = {"window": WINDOWS, "pad_mode": PAD_MODES, "scale": SCALES,
               "mel_scale": MEL_SCALES, "mel_norm": MEL_NORMS, "mel_style": MEL_STYLES}
    for name, valid in choices.items():
      if getattr(self, name) not in valid:
        raise ConfigError(f"frontend.{name}={getattr(self, name)!r}; valid: {', '.join(valid)}.")
    for name in ("sample_rate", "n_fft", "hop_length", "power", "pcen_time_constant"):
      if getattr(self, name) <= 0:
        raise ConfigError(f"frontend.{name} must be positive, got {getattr(self, name)}.")
    if self.win_length is not None and not 0 < self.win_length <= self.n_fft:
      raise ConfigError(
          f"frontend.win_length={self.win_length} must be in [1, n_fft={self.n_fft}].")
    if self.n_mels < 0 or self.db_axes < 1:
      raise ConfigError("frontend.n_mels must be ≥ 0 (0: linear bins) and db_axes ≥ 1.")
    if self.n_mels:
      f_max = self.sample_rate / 2 if self.f_max is None else self.f_max
      if not 0 <= self.f_min < f_max <= self.sample_rate / 2:
        raise ConfigError(f"frontend needs 0 ≤ f_min < f_max ≤ sample_rate / 2, got f_min="
                          f"{self.f_min}, f_max={f_max}, sample_rate={self.sample_rate}.")
      if self.mel_style == "tf" and self.mel_scale != "htk":
        raise ConfigError("frontend.mel_style='tf' uses the HTK mel scale; set mel_scale='htk'.")

  @property
  def n_freqs(self) -> int:
    """Linear frequency bins after the optional Nyquist drop."""
    return self.n_fft // 2 + (0 if self.drop_nyquist else 1)

  @property
  def num_features(self) -> int:
    """Size of the last output axis."""
    return self.n_mels or self.n_freqs

  @property
  def frame_rate(self) -> float:
    """Output frames per second."""
    return self.sample_rate / self.hop_length

  def num_frames(self, num_samples: int) -> int:
    """Output frames for a clip of `num_samples` samples."""
    return num_frames(num_samples, self.n_fft, self.hop_length, self.win_length, self.center)

  @functools.cached_property
  def mel_matrix(self) -> np.ndarray | None:
    """(n_freqs, n_mels) filterbank, or None for linear-frequency features."""
    if not self.n_mels:
      return None
    return mel_filterbank(self.sample_rate, self.n_fft, self.n_mels, self.f_min, self.f_max,
                          self.mel_scale, self.mel_norm, self.mel_style, self.n_freqs)

  def stft(self, audio: jax.Array) -> jax.Array:
    """Complex STFT (..., frames, n_fft // 2 + 1) with this frontend's framing (Nyquist kept)."""
    return stft(as_float(audio), self.n_fft, self.hop_length, self.win_length, self.window,
                self.center, self.pad_mode)

  def istft(self, spec: jax.Array, length: int | None = None) -> jax.Array:
    """Waveform (..., length) from a complex STFT made by `self.stft`."""
    return istft(spec, self.n_fft, self.hop_length, self.win_length, self.window, self.center,
                 length)

  @functools.cached_property
  def _mel_blocks(self) -> list[tuple[int, int, np.ndarray]]:
    """(lo, hi, mel_matrix[lo:hi, bands]) per group of `mel_blocks`, in band order."""
    return [(lo, hi, self.mel_matrix[lo:hi, i:j]) for lo, hi, i, j in mel_blocks(self.mel_matrix)]

  def _linear(self, audio: jax.Array, sparse_mel: bool) -> jax.Array:
    """|STFT|^power, mel-projected, before scaling: (..., T) float → (..., frames, features)."""
    spec = self.stft(audio)[..., :self.n_freqs]
    energy = jnp.real(spec) ** 2 + jnp.imag(spec) ** 2
    x = energy if self.power == 2 else energy ** (self.power / 2)
    if not self.n_mels:
      return x
    highest = jax.lax.Precision.HIGHEST  # no TF32 on GPU
    if not sparse_mel:
      return jnp.matmul(x, self.mel_matrix, precision=highest)
    return jnp.concatenate([jnp.matmul(x[..., lo:hi], w, precision=highest)
                            for lo, hi, w in self._mel_blocks], axis=-1)

  def _linear_per_signal(self, audio: jax.Array) -> jax.Array:
    """`_linear` with the sparse mel projection, one signal at a time (fastest on CPU)."""
    flat = audio.reshape(-1, audio.shape[-1])
    x = jax.lax.map(functools.partial(self._linear, sparse_mel=True), flat)
    return x.reshape(*audio.shape[:-1], *x.shape[-2:])

  def __call__(self, audio: jax.Array) -> jax.Array:
    x = jax.lax.platform_dependent(as_float(audio), cpu=self._linear_per_signal,
                                   default=functools.partial(self._linear, sparse_mel=False))
    if self.scale == "db":
      return power_to_db(x, self.power, self.ref_max, self.top_db, self.amin, self.db_axes)
    if self.scale == "log":
      return jnp.log(x + self.log_offset)
    if self.scale == "log10":
      return jnp.log10(x + self.log_offset)
    if self.scale == "pcen":
      return pcen(x, self.frame_rate, self.pcen_time_constant, self.pcen_gain, self.pcen_bias,
                  self.pcen_power, self.pcen_eps)
    return x


def as_float(audio: jax.Array) -> jax.Array:
  """float32 audio; integer input is int16 PCM, scaled as `instrax.audio.io.from_pcm16`."""
  if jnp.issubdtype(audio.dtype, jnp.integer):
    return audio.astype(jnp.float32) / 32768.0
  return audio.astype(jnp.float32)


# The seed projects' features (see shared/reference/seeds.md), as Frontend keyword arguments.
PRESETS: dict[str, dict[str, Any]] = {
    "logmel": {},
    # Onsets & Velocities (MAESTRO/MAPS): torchaudio MelSpectrogram + AmplitudeToDB(top_db=80).
    # Upstream floors at the whole file's max − 80 dB; here the floor is per cropped example.
    "onsets_velocities": dict(
        sample_rate=16000, n_fft=2048, hop_length=384, n_mels=229, f_min=50.0, f_max=8000.0,
        mel_scale="htk", mel_norm="none", pad_mode="reflect", scale="db", top_db=80.0),
    # IRMAS notebook: librosa melspectrogram (constant centre padding) + power_to_db(ref=max).
    "irmas_cnn": dict(
        sample_rate=44100, n_fft=4096, hop_length=512, n_mels=224, pad_mode="constant",
        scale="db", ref_max=True, top_db=80.0),
    # LeadInstrumentDetection MultiChannelCRNN: torchaudio mel power, no log.
    "lead_crnn": dict(
        sample_rate=24000, n_fft=2048, hop_length=320, n_mels=128, mel_scale="htk",
        mel_norm="none", scale="none"),
    # MSSPT separator input: uncentred tf.signal.stft, |X| without Nyquist, log10(x + 1e-4).
    "msspt_stft": dict(
        sample_rate=16000, n_fft=512, hop_length=160, center=False, power=1.0, drop_nyquist=True,
        n_mels=0, scale="log10", log_offset=1e-4),
    # MSSPT classifier: linear_to_mel_weight_matrix(128, 256, 16000, 100, 7800) on |X|, log10.
    "msspt_mel": dict(
        sample_rate=16000, n_fft=512, hop_length=160, center=False, power=1.0, drop_nyquist=True,
        n_mels=128, f_min=100.0, f_max=7800.0, mel_scale="htk", mel_norm="none", mel_style="tf",
        scale="log10", log_offset=1e-4),
    # VGGish (disco/OpenMIC features): 25 ms Hann, 10 ms hop, 64 mels 125–7500 Hz, ln(x + 0.01).
    "vggish": dict(
        sample_rate=16000, n_fft=512, win_length=400, hop_length=160, center=False, power=1.0,
        n_mels=64, f_min=125.0, f_max=7500.0, mel_scale="htk", mel_norm="none", mel_style="tf",
        scale="log", log_offset=0.01),
    # musicnn (Pons & Serra 2019): librosa melspectrogram (16 kHz, 512/256, 96 Slaney mels, the
    # 2019 librosa's reflect padding), log10(10000·x + 1) − 4 = log10(x + 1e-4); the constant is
    # folded into the converted input BatchNorm (models/musicnn_convert.py).
    "musicnn": dict(
        sample_rate=16000, n_fft=512, hop_length=256, n_mels=96, f_min=0.0, f_max=8000.0,
        pad_mode="reflect", scale="log10", log_offset=1e-4),
}

FRONTENDS: Registry[Callable[..., Frontend]] = Registry("frontend")
for _name, _kwargs in PRESETS.items():
  FRONTENDS.register(_name)(functools.partial(Frontend, **_kwargs))


def make_frontend(name: str, **overrides: Any) -> Frontend:
  """The preset `name` with config `overrides`; unknown names and fields raise ConfigError."""
  return build(FRONTENDS, name, **overrides)
