"""configs/lead.py: the seed's learning-rate groups and freeze ablations land on the intended
parameters of the real model (paths from the built model, multipliers from seeds.md §1.5)."""

from __future__ import annotations

import importlib

import pytest
from flax import traverse_util

from instrax.errors import ConfigError
from instrax.experiment import DataFormat, Experiment
from instrax.train import optim

lead = importlib.import_module("configs.lead")


def _multipliers(arg: str) -> dict[str, float]:
  """Parameter path → its learning-rate multiplier (1 = the default group) under `arg`."""
  config = lead.get_config(arg)
  exp = Experiment(config, DataFormat(16000, 1))
  groups = optim._groups(config.optimizer.param_groups)
  paths = ["/".join(k) for k in traverse_util.flatten_dict(exp.abstract_state().params)]
  frozen = exp.frozen or (lambda _: False)
  out = {}
  for p in paths:
    i = optim.group_of(p, groups)
    out[p] = 0.0 if frozen(p) else (groups[i][1] if i < len(groups) else 1.0)
  return out


def _kind(path: str, last: int = 1) -> str:
  if path.startswith(f"tracks/encoder/layer_{last}/"):
    return "last_layer"
  if path.startswith("tracks/encoder/"):
    return "encoder"
  return "attention" if path.startswith("attention/") else "head"


@pytest.mark.parametrize("arg, want", [
    # the seed's MedleyDB rates: head/embeddings 1e-4, attention 1e-5, encoder 1e-5
    ("synth,lrs=seed,encoder=conv",
     {"last_layer": 0.1, "encoder": 0.1, "attention": 0.1, "head": 1.0}),
    ("synth,lrs=mjn,encoder=conv",
     {"last_layer": 0.01, "encoder": 0.01, "attention": 0.01, "head": 1.0}),
    ("synth,encoder=conv",
     {"last_layer": 1.0, "encoder": 1.0, "attention": 1.0, "head": 1.0}),
    ("synth,lrs=seed,freeze=encoder,encoder=conv",
     {"last_layer": 0.0, "encoder": 0.0, "attention": 0.1, "head": 1.0}),
    ("synth,lrs=seed,freeze=all_but_last,encoder=conv",
     {"last_layer": 0.1, "encoder": 0.0, "attention": 0.1, "head": 1.0}),
])
def test_groups_match_the_intended_parameters(arg, want):
  got = _multipliers(arg)  # the default conv encoder has 2 layers: layer_1 is the last
  kinds = {_kind(p) for p in got}
  assert kinds == set(want)
  for path, mult in got.items():
    assert mult == want[_kind(path)], path
  heads = {p.split("/")[0] for p in got if _kind(p) == "head"}
  assert heads == {"ch_emb", "inst_emb", "norm", "head"}


def test_mel_encoder_groups():
  """The default mel encoder (projection, convs, a LayerNorm; no transformer layer):
  freeze=encoder freezes all of it, lrs=seed scales all of it, all_but_last is refused."""
  got = _multipliers("synth,lrs=seed")
  assert {p.split("/")[2] for p in got if p.startswith("tracks/encoder/")} == {
      "projection", "conv_0", "conv_1", "conv_2", "norm"}
  for path, mult in got.items():
    assert mult == {"encoder": 0.1, "attention": 0.1, "head": 1.0}[_kind(path)], path
  assert all(m == 0.0 for p, m in _multipliers("synth,freeze=encoder").items()
             if p.startswith("tracks/encoder/"))
  with pytest.raises(ConfigError, match="has none"):
    lead.get_config("synth,freeze=all_but_last")


def test_bad_names_are_config_errors():
  with pytest.raises(ConfigError, match="lrs="):
    lead.get_config("synth,lrs=fast")
  with pytest.raises(ConfigError, match="freeze="):
    lead.get_config("synth,freeze=half")
  with pytest.raises(ConfigError, match="checkpoint"):
    lead.get_config("encoder=hubert,freeze=all_but_last")
