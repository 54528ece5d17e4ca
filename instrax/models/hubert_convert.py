"""Hugging Face HuBERT/MERT checkpoint directory (config.json + weights) → `hubert.Hubert` params.

Reads `model.safetensors` (or a sharded `model.safetensors.index.json`) with `safetensors`, or
`pytorch_model.bin` when PyTorch is installed. Key names follow `transformers.HubertModel`
(a leading `hubert.` from task heads is dropped); the positional conv's weight norm is folded,
w = g · v / ‖v‖ with the norm over all axes but the kernel axis (`torch.nn.utils.weight_norm`,
dim=2). PyTorch layouts are transposed: Linear (out, in) → (in, out), Conv1d (out, in, k) → (k, in,
out). Errors say which file or key to fix.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np

from instrax.errors import DatasetError
from instrax.models.hubert import HubertConfig

_PREFIXES = ("hubert.", "model.", "mert.")


def config_from_dir(checkpoint_dir: str | pathlib.Path) -> HubertConfig:
  """The `HubertConfig` of `checkpoint_dir/config.json`; unsupported variants are errors."""
  path = pathlib.Path(checkpoint_dir) / "config.json"
  if not path.is_file():
    raise DatasetError(f"{path}: not found; a Hugging Face checkpoint directory needs config.json")
  cfg = json.loads(path.read_text())
  checks = {"feat_extract_norm": ("group", "group"), "do_stable_layer_norm": (False, False),
            "conv_pos_batch_norm": (False, False), "hidden_act": ("gelu", "gelu"),
            "feat_extract_activation": ("gelu", "gelu")}
  for key, (want, default) in checks.items():
    if cfg.get(key, default) != want:
      raise DatasetError(f"{path}: {key}={cfg[key]!r} is not supported (only {want!r}, the "
                         "HuBERT-base/MERT-95M layout)")
  dropout = float(cfg.get("hidden_dropout", 0.1))
  return HubertConfig(
      hidden_size=int(cfg["hidden_size"]), num_hidden_layers=int(cfg["num_hidden_layers"]),
      num_attention_heads=int(cfg["num_attention_heads"]),
      intermediate_size=int(cfg["intermediate_size"]), conv_dim=tuple(cfg["conv_dim"]),
      conv_kernel=tuple(cfg["conv_kernel"]), conv_stride=tuple(cfg["conv_stride"]),
      conv_bias=bool(cfg.get("conv_bias", False)),
      num_conv_pos_embeddings=int(cfg["num_conv_pos_embeddings"]),
      num_conv_pos_embedding_groups=int(cfg["num_conv_pos_embedding_groups"]),
      layer_norm_eps=float(cfg.get("layer_norm_eps", 1e-5)),
      feat_proj_layer_norm=bool(cfg.get("feat_proj_layer_norm", True)), dropout=dropout)


def load_state_dict(checkpoint_dir: str | pathlib.Path) -> dict[str, np.ndarray]:
  """Every tensor of the checkpoint's weights as float32 numpy arrays, by PyTorch key."""
  root = pathlib.Path(checkpoint_dir)
  index = root / "model.safetensors.index.json"
  files = ([root / f for f in sorted(set(json.loads(index.read_text())["weight_map"].values()))]
           if index.is_file() else [root / "model.safetensors"])
  if all(f.is_file() for f in files):
    from safetensors.numpy import load_file

    state: dict[str, np.ndarray] = {}
    for f in files:
      state.update(load_file(str(f)))
  elif (root / "pytorch_model.bin").is_file():
    try:
      import torch
    except ImportError as e:
      raise DatasetError(f"{root}: pytorch_model.bin needs PyTorch to read; install it or save "
                         "the checkpoint as model.safetensors") from e
    raw = torch.load(root / "pytorch_model.bin", map_location="cpu", weights_only=True)
    state = {k: v.float().numpy() for k, v in raw.items()}
  else:
    raise DatasetError(f"{root}: no model.safetensors or pytorch_model.bin")
  return {k: np.asarray(v, np.float32) for k, v in state.items()}


def _strip(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  out = {}
  for key, value in state.items():
    for p in _PREFIXES:
      if key.startswith(p):
        key = key[len(p):]
    out[key] = value
  return out


def _pos_conv_weight(state: dict[str, np.ndarray], base: str) -> np.ndarray:
  """The effective (out, in/groups, k) positional conv weight, weight norm folded in."""
  for g_key, v_key in ((f"{base}.parametrizations.weight.original0",
                        f"{base}.parametrizations.weight.original1"),
                       (f"{base}.weight_g", f"{base}.weight_v")):
    if g_key in state and v_key in state:
      g, v = state[g_key], state[v_key]
      norm = np.sqrt(np.sum(v.astype(np.float64) ** 2, axis=(0, 1), keepdims=True))
      return (g * v / norm).astype(np.float32)
  if f"{base}.weight" in state:
    return state[f"{base}.weight"]
  raise KeyError(f"{base}.weight")


def convert(state: dict[str, np.ndarray], config: HubertConfig) -> dict[str, Any]:
  """PyTorch HubertModel state dict → the `params` tree of `Hubert(config)`.

  Raises DatasetError naming the first missing key or a shape that does not match `config`.
  """
  s = _strip(state)

  def get(key: str) -> np.ndarray:
    if key not in s:
      raise DatasetError(f"checkpoint lacks {key!r} (is it a HuBERT/MERT model?)")
    return s[key]

  linear = lambda k: {"kernel": get(f"{k}.weight").T, "bias": get(f"{k}.bias")}
  norm = lambda k: {"scale": get(f"{k}.weight"), "bias": get(f"{k}.bias")}
  extractor: dict[str, Any] = {}
  for i in range(len(config.conv_dim)):
    conv = {"kernel": get(f"feature_extractor.conv_layers.{i}.conv.weight").transpose(2, 1, 0)}
    if config.conv_bias:
      conv["bias"] = get(f"feature_extractor.conv_layers.{i}.conv.bias")
    extractor[f"conv_{i}"] = conv
  extractor["norm_0"] = norm("feature_extractor.conv_layers.0.layer_norm")
  try:
    pos_weight = _pos_conv_weight(s, "encoder.pos_conv_embed.conv")
  except KeyError as e:
    raise DatasetError(f"checkpoint lacks the positional conv weight {e}") from e
  params: dict[str, Any] = {
      "feature_extractor": extractor,
      "feature_projection": linear("feature_projection.projection"),
      "pos_conv": {"kernel": pos_weight.transpose(2, 1, 0),
                   "bias": get("encoder.pos_conv_embed.conv.bias")},
      "encoder_norm": norm("encoder.layer_norm"),
  }
  if config.feat_proj_layer_norm:
    params["feature_norm"] = norm("feature_projection.layer_norm")
  for i in range(config.num_hidden_layers):
    p = f"encoder.layers.{i}"
    params[f"layer_{i}"] = {
        "attention": {n: linear(f"{p}.attention.{n}") for n in
                      ("q_proj", "k_proj", "v_proj", "out_proj")},
        "layer_norm": norm(f"{p}.layer_norm"),
        "intermediate_dense": linear(f"{p}.feed_forward.intermediate_dense"),
        "output_dense": linear(f"{p}.feed_forward.output_dense"),
        "final_layer_norm": norm(f"{p}.final_layer_norm"),
    }
  return params


def check_shapes(params: Any, expected: Any) -> None:
  """Raises DatasetError when a converted leaf's shape differs from the initialised model's."""
  import jax

  flat = dict(jax.tree_util.tree_leaves_with_path(params))
  for path, leaf in jax.tree_util.tree_leaves_with_path(expected):
    got = flat.get(path)
    if got is None or tuple(got.shape) != tuple(leaf.shape):
      raise DatasetError(f"checkpoint parameter {jax.tree_util.keystr(path)} has shape "
                         f"{None if got is None else tuple(got.shape)}, the model expects "
                         f"{tuple(leaf.shape)}; does config.json match the weights?")


def load(checkpoint_dir: str | pathlib.Path) -> tuple[HubertConfig, dict[str, Any]]:
  """(config, params) of the Hugging Face checkpoint in `checkpoint_dir`."""
  config = config_from_dir(checkpoint_dir)
  return config, convert(load_state_dict(checkpoint_dir), config)
