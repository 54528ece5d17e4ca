"""The whole system on embedded data: train → checkpoints/TensorBoard/results → resume → eval."""

from __future__ import annotations

import glob
import json
import os

import jax
import numpy as np
import pytest

from instrax import main
from instrax.errors import CheckpointError, ConfigError, DatasetError
from instrax.experiment import Experiment
from tests.conftest import tiny_config

RECORD_KEYS = ("step", "checkpoint", "selected_on", "final/step")  # results.json's record


def _jsonl(workdir: str) -> list[dict]:
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, synth_data_dir) -> tuple[str, dict]:
  workdir = str(tmp_path_factory.mktemp("run"))
  results = main.run(tiny_config(data_dir=synth_data_dir), workdir, "train_and_eval")
  return workdir, results


def test_train_and_eval_writes_everything(trained):
  workdir, results = trained
  with open(os.path.join(workdir, "results.json")) as f:
    saved = json.load(f)
  assert saved["step"] in (3, 6) and saved["checkpoint"] == "best"  # evaluations at 3 and 6
  for split in ("validation", "test"):
    for m in ("micro_f1", "macro_f1", "micro_precision", "micro_recall"):
      assert 0.0 <= saved[f"{split}/{m}"] <= 1.0
  numbers = {k: v for k, v in saved.items() if k not in RECORD_KEYS}
  assert numbers == pytest.approx(results)
  assert glob.glob(os.path.join(workdir, "events.out.tfevents.*"))
  assert os.path.exists(os.path.join(workdir, "plots", "confusion.png"))
  assert os.path.exists(os.path.join(workdir, "config.json"))
  steps = sorted(int(p) for p in os.listdir(os.path.join(workdir, "checkpoints")) if p.isdigit())
  assert steps[-1] == 6
  logged = [r for r in _jsonl(workdir) if "train/loss" in r]
  assert [r["step"] for r in logged] == [2, 4, 6]
  assert all(r["train/learning_rate"] > 0 for r in logged)


def _states(workdir: str):
  """(initial state of the run's config, state of its latest checkpoint)."""
  config, data_format = main.load_workdir_config(workdir)
  exp = Experiment(config, data_format)
  return exp.init_state(), main.restore_state(exp, workdir, "latest")[0]


def _changed(a, b) -> list[bool]:
  """Per leaf: does any element differ between the two trees?"""
  return [not np.array_equal(np.asarray(x), np.asarray(y))
          for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))]


def test_training_changed_every_parameter_and_lowered_the_loss(trained):
  workdir, _ = trained
  init, final = _states(workdir)
  assert int(final.step) == 6 and int(final.nonfinite) == 0
  assert all(_changed(init.params, final.params))
  losses = [r["train/loss"] for r in _jsonl(workdir) if "train/loss" in r]
  assert losses[-1] < losses[0], losses


def test_eval_mode_reproduces_the_reported_metrics(trained, synth_data_dir):
  workdir, results = trained
  with open(os.path.join(workdir, "results.json")) as f:
    step = json.load(f)["step"]
  again = main.run(None, workdir, "eval", checkpoint=str(step))
  reported = {k: v for k, v in results.items() if not k.startswith("final/")}
  assert again == pytest.approx(reported, abs=1e-6)


def test_relaunch_resumes_at_the_right_step(tmp_path, synth_data_dir):
  workdir = str(tmp_path)
  main.run(tiny_config(data_dir=synth_data_dir, train__num_steps=4), workdir, "train")
  with pytest.raises(ConfigError, match=r"train.num_steps: 4 → 6.*--allow_config_change"):
    main.run(tiny_config(data_dir=synth_data_dir, train__num_steps=6), workdir, "train")
  main.run(tiny_config(data_dir=synth_data_dir, train__num_steps=6), workdir, "train",
           allow_config_change=True)
  logged = [r["step"] for r in _jsonl(workdir) if "train/loss" in r]
  assert logged == [2, 4, 6]  # the second run started at step 4, not 0


def test_checkpoint_of_another_model_is_refused_and_kept(trained, synth_data_dir):
  workdir, _ = trained
  before = sorted(os.listdir(os.path.join(workdir, "checkpoints")))
  other = tiny_config(data_dir=synth_data_dir, model__rnn_features=12, train__num_steps=9)
  with pytest.raises(ConfigError, match="another config"):
    main.run(other, workdir, "train")
  with pytest.raises(CheckpointError, match="do not match"):
    main.run(other, workdir, "train", allow_config_change=True)
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == before


def test_eval_without_checkpoint_is_a_clear_error(tmp_path, synth_data_dir):
  with pytest.raises(CheckpointError, match="No checkpoint"):
    main.run(tiny_config(data_dir=synth_data_dir), str(tmp_path), "eval")


def test_missing_dataset_says_how_to_build_it(tmp_path):
  config = tiny_config(data_dir=str(tmp_path))
  config.dataset.name = "irmas"
  with pytest.raises(DatasetError, match="python -m data_builders irmas"):
    main.run(config, str(tmp_path / "run"), "train")


def test_unknown_names_list_the_valid_ones(tmp_path, synth_data_dir):
  config = tiny_config(data_dir=synth_data_dir)
  config.model.name = "resnet9000"
  with pytest.raises(ConfigError, match=r"Valid names: .*crnn"):
    main.run(config, str(tmp_path), "train")


def test_training_options_run_together_and_each_acts(tmp_path, synth_data_dir):
  """EMA, bf16 compute, mixup, SpecAugment, clipped SGD with the cyclic schedule: one tiny run.

  Here: the EMA is kept apart from the params, SGD's momentum and the schedule act. What bf16,
  mixup and SpecAugment do to one step is pinned in tests/train/test_step.py.
  """
  config = tiny_config(data_dir=synth_data_dir, train__ema_decay=0.9,
                       train__compute_dtype="bfloat16", augment__mixup_alpha=0.4,
                       augment__specaugment=True, train__eval_every=0)
  config.optimizer = {"name": "sgd", "momentum": 0.9, "grad_clip_norm": 1.0}
  config.schedule = {"name": "cyclic_cosine", "learning_rate": 0.01, "warmup_steps": 2,
                     "period": 3}
  results = main.run(config, str(tmp_path), "train_and_eval")
  rows = [r for r in _jsonl(str(tmp_path)) if "train/loss" in r]
  assert all(np.isfinite(r["train/loss"]) for r in rows)
  # lr(s) at s = 1, 3, 5: warmup 0.01·1/2; cycle 0 at 1 of 3: 0.01·cos(π/2·1/2); cycle 1 start.
  np.testing.assert_allclose([r["train/learning_rate"] for r in rows],
                             [0.005, 0.01 * np.cos(np.pi / 4), 0.01 * 0.975], rtol=1e-6)
  init, final = _states(str(tmp_path))
  assert all(_changed(init.params, final.params))
  # EMA: restored as itself, between init and params (not a copy of either).
  assert all(_changed(final.ema_params, final.params))
  assert all(_changed(final.ema_params, init.params))
  momentum = [x for x in jax.tree.leaves(final.opt_state) if np.ndim(x) >= 1]
  assert momentum and any(np.abs(np.asarray(x)).max() > 0 for x in momentum)
  assert 0.0 <= results["test/micro_f1"] <= 1.0
