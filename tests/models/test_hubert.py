"""The Flax HuBERT encoder and its checkpoint converter against transformers' PyTorch HubertModel.

Needs torch + transformers (requirements-extras.txt); skipped with the reason otherwise.
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from instrax.errors import DatasetError
from instrax.models import hubert, hubert_convert

torch = pytest.importorskip("torch", reason="torch not installed (pip install -r "
                            "requirements-extras.txt)")
transformers = pytest.importorskip("transformers", reason="transformers not installed (pip "
                                   "install -r requirements-extras.txt)")

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
             conv_dim=[16] * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)


def _random_checkpoint(path, **overrides) -> transformers.HubertModel:
  torch.manual_seed(0)
  model = transformers.HubertModel(transformers.HubertConfig(**SMALL, **overrides)).eval()
  with torch.no_grad():  # random affine norms too, so that a swapped scale/bias cannot pass
    for name, p in model.named_parameters():
      if "norm" in name:
        p.copy_(torch.randn_like(p) * 0.3 + (1.0 if name.endswith("weight") else 0.0))
  model.save_pretrained(path)
  return model


@pytest.mark.slow
@pytest.mark.parametrize("conv_bias", [False, True])
def test_converted_checkpoint_matches_pytorch(tmp_path, conv_bias):
  torch_model = _random_checkpoint(tmp_path, conv_bias=conv_bias)
  audio = np.random.default_rng(0).normal(size=(2, 6720)).astype(np.float32) * 0.3
  with torch.no_grad():
    want = torch_model(torch.from_numpy(audio)).last_hidden_state.numpy()
  config, params = hubert_convert.load(tmp_path)
  model = hubert.Hubert(config)
  expected = jax.eval_shape(lambda: model.init(jax.random.key(0), audio[:, :400]))["params"]
  hubert_convert.check_shapes(params, expected)
  got = np.asarray(jax.jit(lambda p, x: model.apply({"params": p}, x))(params, audio))
  assert got.shape == want.shape == (2, config.num_frames(6720), 32) == (2, 20, 32)
  np.testing.assert_array_less(np.abs(got - want).max(), 1e-4)


def test_num_frames_and_hop_are_the_seeds():
  c = hubert.HubertConfig()
  assert c.hop_length == 320
  assert c.num_frames(120_320) == 375  # 5 s at 24 kHz + 320 samples of padding (seed §1.2)


def test_unsupported_variant_and_missing_files_are_clear_errors(tmp_path):
  (tmp_path / "config.json").write_text(json.dumps({**SMALL, "do_stable_layer_norm": True}))
  with pytest.raises(DatasetError, match="do_stable_layer_norm"):
    hubert_convert.config_from_dir(tmp_path)
  with pytest.raises(DatasetError, match=r"no model\.safetensors"):
    hubert_convert.load_state_dict(tmp_path)
  with pytest.raises(DatasetError, match=r"config\.json"):
    hubert_convert.config_from_dir(tmp_path / "nowhere")


@pytest.mark.slow
def test_lead_model_loads_a_checkpoint_into_its_encoder(tmp_path):
  from instrax.models import build_model

  _random_checkpoint(tmp_path)
  model = build_model("lead_ch_cls", 5, encoder="hubert", encoder_checkpoint=str(tmp_path),
                      attn_heads=2, num_instruments=3)
  x = {"mix": np.zeros((1, 1, 6720), np.float32), "stems": np.zeros((1, 2, 6720), np.float32),
       "track_mask": np.ones((1, 2), bool), "inst_ids": np.ones((1, 2), np.int32)}
  params = jax.eval_shape(lambda: model.init(jax.random.key(0), x))["params"]
  params = jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), params)
  loaded = model.load_pretrained({"params": params})["params"]
  _, want = hubert_convert.load(tmp_path)
  np.testing.assert_array_equal(loaded["tracks"]["encoder"]["layer_1"]["attention"]["q_proj"]
                                ["kernel"], want["layer_1"]["attention"]["q_proj"]["kernel"])
  assert not np.any(loaded["head"]["kernel"])  # the rest untouched
