"""configs/tagging.py end to end: a tiny separator run, then TUne+ initialised from it (U-Net
weights loaded by name, equal to the separator's), frozen (bit-identical after training)."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

from instrax import main
from instrax.experiment import DataFormat, Experiment
from instrax.train import transfer
from tests.conftest import tiny_config
from tests.reliability import restored_state

FORMAT = DataFormat(16000, 1)


def _unet(tree) -> dict[str, np.ndarray]:
  """The leaves under 'unet' by path."""
  return {jax.tree_util.keystr(p): np.asarray(x) for p, x in
          jax.tree_util.tree_flatten_with_path(tree["unet"])[0]}


@pytest.fixture(scope="module")
def separator_run(tmp_path_factory, synth_data_dir) -> str:
  workdir = str(tmp_path_factory.mktemp("separator"))
  main.run(tiny_config("separation", "synth,tiny", synth_data_dir, train__num_steps=2,
                       train__eval_every=0, train__checkpoint_every=2), workdir, "train")
  return workdir


@pytest.mark.slow
def test_tune_plus_loads_the_separator_unet_by_name(synth_data_dir, separator_run):
  config = tiny_config("tagging", f"synth,tiny,init={separator_run}", synth_data_dir)
  exp = Experiment(config, FORMAT)
  fresh = exp.init_state()
  loaded = transfer.initialise_from(exp, fresh, config.init.to_dict())
  source = restored_state(separator_run)
  for what in ("params", "batch_stats"):
    src, got = _unet(getattr(source, what)), _unet(getattr(loaded, what))
    assert src.keys() == got.keys() and len(src) > 10
    assert all(np.array_equal(src[k], got[k]) for k in src), what
  tail_fresh, tail_loaded = (jax.tree.leaves(s.params["tail"]) for s in (fresh, loaded))
  assert all(np.array_equal(a, b) for a, b in zip(tail_fresh, tail_loaded))


@pytest.mark.slow
def test_frozen_unet_stays_bit_identical_and_the_tail_trains(tmp_path, synth_data_dir,
                                                             separator_run):
  config = tiny_config("tagging", f"synth,tiny,init={separator_run},freeze", synth_data_dir,
                       train__num_steps=2, train__eval_every=0, train__checkpoint_every=2,
                       eval__max_examples=2)
  assert config.optimizer.param_groups == [["unet/", 0.0]]
  results = main.run(config, str(tmp_path), "train_and_eval")
  assert math.isfinite(results["test/roc_auc"]) and math.isfinite(results["test/map"])
  source, final = restored_state(separator_run), restored_state(str(tmp_path))
  for what in ("params", "batch_stats"):
    src, got = _unet(getattr(source, what)), _unet(getattr(final, what))
    assert all(np.array_equal(src[k], got[k]) for k in src), what
  init = Experiment(config, FORMAT).init_state()
  assert any(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(init.params["tail"]),
                                                      jax.tree.leaves(final.params["tail"])))
