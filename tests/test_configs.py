"""Every config file: `tiny` (and `synth,tiny` where offered) builds a complete Experiment."""

from __future__ import annotations

import importlib

import jax
import pytest

from instrax.config_args import parse_arg
from instrax.errors import ConfigError
from instrax.experiment import DataFormat, Experiment
from instrax.models.registry import MODELS, model_fields
from tests.conftest import ROOT

CONFIGS = sorted(p.stem for p in (ROOT / "configs").glob("*.py")
                 if p.stem not in ("__init__", "common", "run"))  # run.py: an existing run's


# Configs that offer the `synth` argument (the task on synthmix); the others must refuse it.
OFFER_SYNTH = ("demo", "irmas", "lead", "openmic", "piano", "separation", "tagging")


def _args(name: str) -> list[str]:
  return ["tiny", "synth,tiny"] if name in OFFER_SYNTH else ["tiny"]


def test_the_configs_listed_here_are_the_ones_there():
  assert CONFIGS == ["default", "demo", "instruments", "irmas", "lead", "openmic", "piano",
                     "separation", "tagging"]


@pytest.mark.parametrize("name", [n for n in CONFIGS if n not in OFFER_SYNTH])
def test_configs_without_synth_refuse_it_by_name(name):
  with pytest.raises(ConfigError, match="Unknown config argument 'synth'"):
    importlib.import_module(f"configs.{name}").get_config("synth,tiny")


@pytest.mark.parametrize("name", CONFIGS)
def test_config_builds_an_experiment(name):
  module = importlib.import_module(f"configs.{name}")
  for arg in _args(name):
    config = module.get_config(arg)
    assert config.train.num_steps <= 10, "tiny must run in seconds"
    fmt = DataFormat(16000, 1) if config.dataset.name.startswith("synthmix") else None
    if fmt is None:
      continue  # real datasets: exercised by tests/test_irmas.py and tests/test_openmic.py
    exp = Experiment(config, fmt)
    state = exp.abstract_state()
    assert jax.tree.leaves(state.params)


def test_config_args_parse_and_refuse_unknown():
  assert parse_arg("tiny,model=crnn", tiny=False, model="x") == {"tiny": True, "model": "crnn"}
  assert parse_arg("n=16", n=32) == {"n": 16}
  with pytest.raises(ConfigError, match="Valid: model, tiny"):
    parse_arg("bogus", tiny=False, model="x")
  with pytest.raises(ConfigError, match="expected int"):
    parse_arg("n=abc", n=32)


def _offered_models(name: str) -> list[str]:
  module = importlib.import_module(f"configs.{name}")
  return list(getattr(module, "MODELS", None) or MODELS.names())


@pytest.mark.parametrize("name", CONFIGS)
def test_model_arg_resets_the_model_block(name):
  """`model=X` leaves no field of the config's default model behind (issue #16 item 6)."""
  module = importlib.import_module(f"configs.{name}")
  default_model = module.get_config("tiny").model.name
  for model in _offered_models(name):
    for arg in (f"model={model}", f"model={model},tiny"):
      block = module.get_config(arg).model.to_dict()
      assert block["name"] == model
      accepted = set(model_fields(model)) - {"num_classes"}
      assert set(block) - {"name"} <= accepted, (arg, sorted(set(block) - accepted))
  with pytest.raises(ConfigError, match=f"configs/{name}.py: model='nope' unknown; valid: .*"
                                        f"{default_model}"):
    module.get_config("model=nope")


def test_swapped_model_builds_an_experiment():
  config = importlib.import_module("configs.demo").get_config("model=simple_cnn,tiny")
  exp = Experiment(config, DataFormat(16000, 1))
  assert exp.model_name == "simple_cnn"
  assert jax.tree.leaves(exp.abstract_state().params)


def test_irmas_stereo_is_honoured_or_refused():
  irmas = importlib.import_module("configs.irmas")
  synth = irmas.get_config("synth,stereo")
  assert (synth.task.channels, synth.dataset.name) == (2, "synthmix/irmas44k")  # stereo mixes
  assert irmas.get_config("stereo,model=cnn_rnn").task.channels == 2
  assert irmas.get_config("synth").task.channels == 1
  with pytest.raises(ConfigError, match="synth,tiny reads the mono synthmix/tiny"):
    irmas.get_config("synth,stereo,tiny")
  with pytest.raises(ConfigError, match="han2016 is mono"):
    irmas.get_config("stereo,model=han2016")


def test_instruments_compression_picks_the_frontend_scale():
  module = importlib.import_module("configs.instruments")
  assert module.get_config("tiny").frontend.get("scale", "db") == "db"
  pcen = module.get_config("tiny,compression=pcen").frontend
  assert (pcen.scale, pcen.power) == ("pcen", 1.0)
  with pytest.raises(ConfigError, match="compression='log'; choose db or pcen"):
    module.get_config("compression=log")


def test_instruments_musicnn_pretrained_takes_a_checkpoint_name_or_a_file():
  from instrax.models import musicnn_convert

  module = importlib.import_module("configs.instruments")
  pretrained = lambda arg: module.get_config(f"tiny,model=musicnn{arg}").model.pretrained
  assert pretrained("") == str(musicnn_convert.DEFAULT_OUTPUT)  # MTT_musicnn, as before
  assert pretrained(",pretrained=MSD_musicnn") == str(musicnn_convert.output_path("MSD_musicnn"))
  assert pretrained(",pretrained=/w/mine.msgpack") == "/w/mine.msgpack"
  assert pretrained(",pretrained=") == ""  # random init
  with pytest.raises(ConfigError, match="pretrained='MSD_musicn'; give MTT_musicnn or MSD_musicnn"):
    pretrained(",pretrained=MSD_musicn")
