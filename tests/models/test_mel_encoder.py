"""The lead model's log-mel frame encoder: frames aligned with HuBERT's, the level kept, errors."""

from __future__ import annotations

import jax
import librosa
import numpy as np
import pytest

from instrax.errors import ConfigError
from instrax.models import hubert
from instrax.models.mel_encoder import MelEncoder, MelEncoderConfig

SR, HOP = 24000, 320


def test_frames_match_hubert_for_the_lead_segments():
  """T = (F + 1)·hop samples → F frames from both encoders (the seed's 120,320 → 375)."""
  mel, conv = MelEncoderConfig(), hubert.HubertConfig()
  for frames in (10, 375, 1000):
    t = (frames + 1) * HOP
    assert mel.num_frames(t) == conv.num_frames(t) == frames


def test_log_mel_input_is_librosas_and_level_is_kept():
  """The projection sees (log10 + 3) / 3 of librosa's (uncentred, Slaney) mel power; doubling the
  input
  adds log10(4) to every band, which a per-track normalisation would have erased."""
  cfg = MelEncoderConfig(n_mels=16, hidden=8, conv_layers=0, layers=0, heads=2, ffn=8)
  audio = np.random.default_rng(0).normal(size=(1, 11 * HOP)).astype(np.float32) * 0.1
  model = MelEncoder(cfg)
  params = model.init(jax.random.key(0), audio)
  _, state = model.apply(params, audio, capture_intermediates=True)
  seen = state["intermediates"]["projection"]["__call__"][0]
  kernel = params["params"]["projection"]["kernel"]
  bias = params["params"]["projection"]["bias"]
  want_mel = librosa.feature.melspectrogram(
      y=audio[0], sr=SR, n_fft=2 * HOP, hop_length=HOP, center=False, n_mels=16, fmin=30.0,
      power=2.0).T
  want = (np.log10(want_mel + 1e-8) + 3) / 3 @ kernel + bias
  np.testing.assert_allclose(np.asarray(seen[0]), want, rtol=1e-3, atol=1e-3)
  out1, out2 = model.apply(params, audio), model.apply(params, 2 * audio)
  assert not np.allclose(np.asarray(out1), np.asarray(out2), atol=1e-3)


def test_bad_settings_are_config_errors():
  with pytest.raises(ConfigError, match="skip samples"):
    MelEncoderConfig(n_fft=100, hop_length=320)
  with pytest.raises(ConfigError, match="multiple of heads"):
    MelEncoderConfig(hidden=10, heads=4)
  model = MelEncoder(MelEncoderConfig())
  with pytest.raises(ConfigError, match="too few"):
    jax.eval_shape(lambda x: model.init(jax.random.key(0), x), np.zeros((1, 100), np.float32))
