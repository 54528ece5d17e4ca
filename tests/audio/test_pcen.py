"""PCEN (instrax.audio.pcen) against librosa.pcen, and the invariances it is used for."""

from __future__ import annotations

import jax.numpy as jnp
import librosa
import numpy as np
import pytest
import scipy.signal

from instrax.audio import pcen as pcen_lib
from instrax.audio.frontend import make_frontend


def _librosa_pcen(energy: np.ndarray, sr: int, hop: int, **kwargs) -> np.ndarray:
  """librosa's PCEN of (frames, bands) energy, 2^31-scaled, smoother started at E[0]."""
  s = energy.T.astype(np.float64) * pcen_lib.INPUT_SCALE
  b = pcen_lib.smoothing_coefficient(sr / hop, kwargs.get("time_constant", 0.4))
  zi = scipy.signal.lfilter_zi([b], [1, b - 1])[None, :] * s[:, :1]
  return librosa.pcen(s, sr=sr, hop_length=hop, zi=zi, **kwargs).T


@pytest.mark.parametrize("kwargs", [{}, dict(time_constant=0.06, gain=0.8, bias=10.0,
                                            power=0.25)])
def test_matches_librosa(kwargs):
  rng = np.random.default_rng(0)
  energy = np.abs(rng.normal(size=(3, 150, 24))) ** 2 * 1e-3
  energy[1, 40:] = 0.0  # a clip that falls silent (zero padding)
  names = dict(time_constant="time_constant", gain="gain", bias="bias", power="power")
  ours = np.asarray(pcen_lib.pcen(jnp.asarray(energy, jnp.float32), 100.0,
                                  **{names[k]: v for k, v in kwargs.items()}))
  ref = np.stack([_librosa_pcen(e, 16000, 160, **kwargs) for e in energy])
  np.testing.assert_allclose(ours, ref, rtol=2e-5, atol=2e-5)


def test_smoother_is_the_first_order_recursion():
  rng = np.random.default_rng(1)
  e = rng.random((2, 50, 3))
  s = 0.1
  m = np.empty_like(e)
  prev = e[:, 0]
  for t in range(e.shape[1]):
    prev = (1 - s) * prev + s * e[:, t]
    m[:, t] = prev
  np.testing.assert_allclose(np.asarray(pcen_lib.smooth(jnp.asarray(e), s)), m, rtol=1e-6)


def test_divides_out_a_static_band_gain():
  """A fixed per-band colouring (an EQ, a microphone) barely moves PCEN once the smoother has
  settled, where it shifts a log-mel by its full size in dB."""
  rng = np.random.default_rng(2)
  energy = rng.random((400, 16)) + 0.1
  colour = np.geomspace(0.05, 20.0, 16)  # -13 to +13 dB
  plain = np.asarray(pcen_lib.pcen(jnp.asarray(energy), 100.0))
  coloured = np.asarray(pcen_lib.pcen(jnp.asarray(energy * colour), 100.0))
  settled = slice(100, None)
  rel = np.abs(coloured[settled] - plain[settled]).mean() / plain[settled].mean()
  assert rel < 0.1
  log_shift = np.abs(np.log10(energy * colour) - np.log10(energy)).mean() * 10
  assert log_shift > 5.0


def test_frontend_scale_pcen():
  fe = make_frontend("logmel", scale="pcen", power=1.0, n_mels=32)
  audio = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000).astype(np.float32)
  out = np.asarray(fe(jnp.asarray(audio)[None]))
  assert out.shape == (1, fe.num_frames(16000), 32)
  assert np.isfinite(out).all() and out.min() >= 0.0
  silent = np.asarray(fe(jnp.zeros((1, 16000))))
  np.testing.assert_array_equal(silent, 0.0)  # silence (zero padding) maps to 0


def test_bad_time_constant():
  with pytest.raises(ValueError, match="positive"):
    pcen_lib.smoothing_coefficient(100.0, 0.0)
