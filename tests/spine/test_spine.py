"""The spine over every task shape: pytree inputs/outputs, shape checks, streamed evaluation,
parameter groups and transfer between runs — on a toy two-input, two-head task (tests/spine/toy)."""

from __future__ import annotations

import json

import jax
import ml_collections
import numpy as np
import pytest

from instrax import main
from instrax.errors import ConfigError
from instrax.experiment import DataFormat, Experiment
from tests.reliability import assert_same_state, restored_state
from tests.spine import toy

FORMAT = DataFormat(16000, 1)


def _leaves(tree) -> dict[str, np.ndarray]:
  return {jax.tree_util.keystr(p): np.asarray(x)
          for p, x in jax.tree_util.tree_flatten_with_path(tree)[0]}


def test_toy_task_trains_and_evaluates_end_to_end(tmp_path, synth_data_dir):
  results = main.run(toy.config(synth_data_dir), str(tmp_path), "train_and_eval")
  assert 0.0 <= results["test/accuracy"] <= 1.0
  # synthmix/tiny mixes are 4 s: 20 chunks of 0.2 s, each 11 frames, stitched per example.
  assert results["test/frames"] == 20 * 11
  saved = json.loads((tmp_path / "results.json").read_text())
  assert saved["test/accuracy"] == results["test/accuracy"]


def test_output_shapes_are_checked_against_the_task(synth_data_dir):
  config = toy.config(synth_data_dir)
  config.model.drop_frames = 1
  with pytest.raises(ConfigError, match=r"outputs .*frames.*\(1, 10, 2\).*expects.*\(1, 11, 2\)"):
    Experiment(config, FORMAT)


def test_augmentation_the_task_does_not_allow_is_an_error(synth_data_dir):
  config = toy.config(synth_data_dir)
  config.augment.mixup_alpha = 0.3
  with pytest.raises(ConfigError, match="mixup"):
    Experiment(config, FORMAT)


def test_frozen_parameter_group_and_its_batch_stats_stay_bit_identical(tmp_path, synth_data_dir):
  config = toy.config(synth_data_dir, eval_every=0, checkpoint_every=6)
  config.optimizer.param_groups = [["body", 0.0], ["clip_head", 0.5]]
  exp = Experiment(config, FORMAT)
  init = exp.init_state()
  main.run(config, str(tmp_path), "train")
  final = restored_state(str(tmp_path))
  before, after = _leaves(init.params), _leaves(final.params)
  frozen = [k for k in before if k.startswith("['body")]
  assert frozen and all(np.array_equal(before[k], after[k]) for k in frozen)
  assert all(not np.array_equal(before[k], after[k]) for k in before if k not in frozen)
  stats_before, stats_after = _leaves(init.batch_stats), _leaves(final.batch_stats)
  assert stats_before and all(np.array_equal(stats_before[k], stats_after[k])
                              for k in stats_before)


def test_unfrozen_batch_stats_do_update(tmp_path, synth_data_dir):
  config = toy.config(synth_data_dir, eval_every=0, checkpoint_every=6)
  init = Experiment(config, FORMAT).init_state()
  main.run(config, str(tmp_path), "train")
  final = restored_state(str(tmp_path))
  assert any(not np.array_equal(a, b) for a, b in zip(
      _leaves(init.batch_stats).values(), _leaves(final.batch_stats).values()))


@pytest.fixture(scope="module")
def source_run(tmp_path_factory, synth_data_dir) -> str:
  workdir = str(tmp_path_factory.mktemp("source"))
  main.run(toy.config(synth_data_dir, eval_every=0, checkpoint_every=6), workdir, "train")
  return workdir


def _downstream(data_dir: str, source: str, **train) -> ml_collections.ConfigDict:
  config = toy.config(data_dir, eval_every=0, **train)
  config.init.workdir = source
  config.init.exclude = ["clip_head"]
  return config


def test_transfer_loads_the_source_weights_exactly(tmp_path, synth_data_dir, source_run):
  config = _downstream(synth_data_dir, source_run, num_steps=0, checkpoint_every=1)
  exp = Experiment(config, FORMAT)
  from instrax.train import transfer

  fresh = exp.init_state()
  loaded = transfer.initialise_from(exp, fresh, config.init.to_dict())
  src = _leaves(restored_state(source_run).params)
  got, init = _leaves(loaded.params), _leaves(fresh.params)
  for k in src:
    if "clip_head" in k:
      assert np.array_equal(got[k], init[k]) and not np.array_equal(got[k], src[k])
    else:
      assert np.array_equal(got[k], src[k]), k
  assert all(np.array_equal(a, b) for a, b in zip(
      _leaves(loaded.batch_stats).values(),
      _leaves(restored_state(source_run).batch_stats).values()))


def test_transfer_from_an_exported_folder_loads_its_parameters(tmp_path, synth_data_dir,
                                                              source_run):
  # a shipped model's member (params.msgpack, no checkpoint) is a valid config.init.workdir
  import shutil

  from instrax import export, records
  from instrax.train import transfer

  run = str(tmp_path / "run")
  shutil.copytree(source_run, run)
  records.save_calibration(run, 6, {"threshold": 0.5})  # export needs the step's calibration
  export.export(run, str(tmp_path / "member"), checkpoint="6")
  config = _downstream(synth_data_dir, str(tmp_path / "member"))
  config.init.checkpoint = "best"  # ignored for an export: it holds one step
  exp = Experiment(config, FORMAT)
  fresh = exp.init_state()
  loaded = transfer.initialise_from(exp, fresh, config.init.to_dict())
  src = restored_state(source_run)
  want, got, init = _leaves(src.eval_params()), _leaves(loaded.params), _leaves(fresh.params)
  for k in want:
    if "clip_head" in k:
      assert np.array_equal(got[k], init[k])
    else:
      assert np.array_equal(got[k], want[k]) and not np.array_equal(got[k], init[k]), k
  assert all(np.array_equal(a, b) for a, b in zip(
      _leaves(loaded.batch_stats).values(), _leaves(src.batch_stats).values()))


def test_transfer_from_an_ensemble_folder_asks_for_a_member(synth_data_dir, source_run,
                                                            tmp_path):
  from instrax.train import transfer

  (tmp_path / "ensemble.json").write_text("{}")
  config = _downstream(synth_data_dir, str(tmp_path))
  exp = Experiment(config, FORMAT)
  with pytest.raises(ConfigError, match="member_0"):
    transfer.initialise_from(exp, exp.init_state(), config.init.to_dict())


def test_transfer_map_renames_and_refuses_unknown_paths(synth_data_dir, source_run):
  from instrax.train import transfer

  config = _downstream(synth_data_dir, source_run)
  config.init.map = [["body", "nowhere/body"]]
  exp = Experiment(config, FORMAT)
  with pytest.raises(ConfigError, match="no counterpart"):
    transfer.initialise_from(exp, exp.init_state(), config.init.to_dict())
  assert transfer.map_paths({"body/kernel": 1, "emb/embedding": 2}, [["body", "enc/body"]], []) \
      == {"enc/body/kernel": 1}


def test_downstream_run_resumes_from_its_own_checkpoint(tmp_path, synth_data_dir, source_run):
  whole, parts = str(tmp_path / "whole"), str(tmp_path / "parts")
  main.run(_downstream(synth_data_dir, source_run, checkpoint_every=3), whole, "train")
  main.run(_downstream(synth_data_dir, source_run, checkpoint_every=3, num_steps=3), parts,
           "train")
  # the relaunch must continue from step 3 of its own run, not re-load the source
  main.run(_downstream(synth_data_dir, source_run, checkpoint_every=3), parts, "train",
           allow_config_change=True)
  assert_same_state(restored_state(whole), restored_state(parts))
