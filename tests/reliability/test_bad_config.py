"""Bad configuration and state: clear errors that say what to fix, and nothing written is lost."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

import data_builders
from instrax import main
from instrax.errors import CheckpointError, ConfigError, DatasetError
from tests import reliability as rel
from tests.conftest import tiny_config

STEPS = "--config.train.num_steps=12"


def _fails_cleanly(proc, *needles: str) -> None:
  """A non-zero exit with a short message naming the problem, not a traceback."""
  assert proc.returncode != 0
  assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
  for needle in needles:
    assert needle in proc.stderr, proc.stderr[-3000:]


def test_unknown_config_key_is_one_clear_line(tmp_path):
  proc = rel.run(rel.launch_args(str(tmp_path), str(tmp_path), "--config.train.bogus=1"),
                 rel.run_env())
  _fails_cleanly(proc, "bogus")
  assert not os.listdir(tmp_path)


def test_unknown_config_file_argument_is_one_clear_line(tmp_path):
  args = [a.replace("configs/demo.py:tiny", "configs/demo.py:tiny,bogus")
          for a in rel.launch_args(str(tmp_path), str(tmp_path))]
  proc = rel.run(args, rel.run_env())
  _fails_cleanly(proc, "Unknown config argument 'bogus'", "tiny")
  assert not os.listdir(tmp_path)


def test_wrong_type_is_a_flag_error(tmp_path):
  proc = rel.run(rel.launch_args(str(tmp_path), str(tmp_path), "--config.train.num_steps=abc"),
                 rel.run_env())
  _fails_cleanly(proc, "--config.train.num_steps=abc", "int")
  assert not os.listdir(tmp_path)


def test_unknown_model_through_launch_lists_the_valid_ones(tmp_path, synth_data_dir):
  proc = rel.run(rel.launch_args(str(tmp_path / "run"), synth_data_dir,
                                 "--config.model.name=resnet9000"), rel.run_env())
  assert proc.returncode == 2
  _fails_cleanly(proc, "error: Unknown model 'resnet9000'. Valid names:", "crnn")
  assert not os.path.exists(tmp_path / "run" / "checkpoints")


@pytest.mark.parametrize("block,name,valid", [
    ("model", "resnet9000", "crnn"), ("task", "beat_tracking", "clip_classification"),
    ("optimizer", "lion9", "adamw"), ("schedule", "zigzag", "warmup_cosine"),
    ("frontend", "cqt9", "logmel")])
def test_unknown_registry_names_list_the_valid_ones(tmp_path, synth_data_dir, block, name, valid):
  config = tiny_config(data_dir=synth_data_dir)
  config[block].name = name
  with pytest.raises(ConfigError, match=f"Unknown {block} '{name}'. Valid names: .*{valid}"):
    main.run(config, str(tmp_path), "train")
  assert not os.path.exists(tmp_path / "checkpoints")


def test_unknown_nonfinite_policy_is_refused(tmp_path, synth_data_dir):
  """...before any record: the new workdir is not left behind, an existing one is kept."""
  config = tiny_config(data_dir=synth_data_dir, train__on_nonfinite="ignore")
  with pytest.raises(ConfigError, match="on_nonfinite must be one of"):
    main.run(config, str(tmp_path / "new"), "train")
  assert not os.path.exists(tmp_path / "new")
  with pytest.raises(ConfigError, match="on_nonfinite must be one of"):
    main.run(config, str(tmp_path), "train")
  assert os.path.isdir(tmp_path)


def test_eval_without_a_checkpoint_says_so_and_creates_nothing(tmp_path, synth_data_dir):
  with pytest.raises(CheckpointError, match=r"No checkpoint in .*train first"):
    main.run(tiny_config(data_dir=synth_data_dir), str(tmp_path), "eval")
  assert not os.listdir(tmp_path)  # read-only: not even an empty checkpoints/ folder


def _built_version(data_dir: str) -> str:
  (version,) = os.listdir(os.path.join(data_dir, "synthmix", "tiny"))
  return version


def _copy_dataset(src_data_dir: str, dst_data_dir: str, version: str, edit=None) -> None:
  """The built synthmix/tiny of `src_data_dir` as `version` under `dst_data_dir` (records linked,
  dataset_info.json copied and passed through `edit`)."""
  src = os.path.join(src_data_dir, "synthmix", "tiny", _built_version(src_data_dir))
  dst = os.path.join(dst_data_dir, "synthmix", "tiny", version)
  os.makedirs(dst)
  for name in os.listdir(src):
    if name != "dataset_info.json":
      os.symlink(os.path.join(src, name), os.path.join(dst, name))
  with open(os.path.join(src, "dataset_info.json")) as f:
    info = {**json.load(f), "version": version}
  with open(os.path.join(dst, "dataset_info.json"), "w") as f:
    json.dump(edit(info) if edit else info, f)


def test_dataset_of_another_version_says_how_to_rebuild(tmp_path, synth_data_dir):
  data_dir = str(tmp_path / "data")
  current = str(data_builders.get_builder("synthmix/tiny", data_dir).version)
  _copy_dataset(synth_data_dir, data_dir, "0.0.1")
  with pytest.raises(DatasetError, match=rf"found version\(s\) 0.0.1 .* reads version {current}. "
                     r"Rebuild it: python -m data_builders synthmix/tiny"):
    main.run(tiny_config(data_dir=data_dir), str(tmp_path / "run"), "train")
  assert os.listdir(os.path.join(data_dir, "synthmix", "tiny")) == ["0.0.1"]  # nothing built


def test_empty_split_is_a_clear_error(tmp_path, synth_data_dir):
  def empty_train(info):
    for split in info["splits"]:
      if split["name"] == "train":
        split["shardLengths"], split["numBytes"] = ["0"], "0"
    return info

  data_dir = str(tmp_path / "data")
  _copy_dataset(synth_data_dir, data_dir, _built_version(synth_data_dir), empty_train)
  with pytest.raises(DatasetError, match="Split 'train' of synthmix/tiny is empty"):
    main.run(tiny_config(data_dir=data_dir), str(tmp_path / "run"), "train")


# --- a checkpoint written on 4 devices --------------------------------------------------------

@pytest.fixture(scope="module")
def four_devices(tmp_path_factory, synth_data_dir) -> tuple[str, dict]:
  """A run trained and evaluated on 4 (fake CPU) devices; its results.json."""
  workdir = str(tmp_path_factory.mktemp("four"))
  rel.run_ok(rel.launch_args(workdir, synth_data_dir, STEPS, mode="train_and_eval"),
             rel.run_env(devices=4))
  with open(os.path.join(workdir, "results.json")) as f:
    return workdir, json.load(f)


def test_checkpoint_of_another_model_is_refused_and_nothing_changes(four_devices, synth_data_dir):
  workdir, _ = four_devices
  before = rel.file_listing(workdir)
  other = tiny_config(data_dir=synth_data_dir, model__rnn_features=12)
  with pytest.raises(ConfigError, match=r"another config.*model.rnn_features: 8 → 12.*Nothing "
                     r"was changed"):
    main.run(other, workdir, "train")
  with pytest.raises(CheckpointError, match=r"do not match the configured model.*Nothing was "
                     r"overwritten. Use a new --workdir"):
    main.run(other, workdir, "train", allow_config_change=True)
  with pytest.raises(CheckpointError, match="do not match"):
    main.run(other, workdir, "eval")
  assert rel.file_listing(workdir) == before  # same files, sizes and modification times


def test_relaunch_may_keep_more_checkpoints_but_not_train_differently():
  """Keeping more recent checkpoints (e.g. for a checkpoint sweep) changes no result, so a
  relaunch may change it; a training field still needs --allow_config_change."""
  from instrax import records

  saved = {"train": {"keep_last": 2, "num_steps": 100}, "data_dir": "/a"}
  more = {"train": {"keep_last": 40, "num_steps": 100}, "data_dir": "/b"}
  assert records.config_differences(saved, more, main.RELAUNCH_FREE) == []
  longer = {"train": {"keep_last": 40, "num_steps": 200}, "data_dir": "/a"}
  assert records.config_differences(saved, longer, main.RELAUNCH_FREE) == [
      ("train.num_steps", 100, 200)]


def test_four_device_checkpoint_evaluates_the_same_on_one(four_devices, tmp_path):
  workdir, results = four_devices
  copy = str(tmp_path / "copy")
  shutil.copytree(workdir, copy)
  step = results["step"]
  rel.run_ok([sys.executable, "launch.py", f"--workdir={copy}", "--mode=eval",
              f"--checkpoint={step}"], rel.run_env())
  with open(os.path.join(copy, "eval", f"step{step}", "results.json")) as f:
    again = json.load(f)
  reported = {k: v for k, v in results.items() if "/" in k and not k.startswith("final/")}
  assert {k: again[k] for k in reported} == pytest.approx(reported, abs=1e-6)


@pytest.mark.slow
def test_four_device_checkpoint_resumes_training_on_two(four_devices, tmp_path, synth_data_dir):
  workdir, _ = four_devices
  copy = str(tmp_path / "copy")
  shutil.copytree(workdir, copy)
  proc = rel.run_ok(rel.launch_args(copy, synth_data_dir, "--config.train.num_steps=15",
                                    "--allow_config_change"), rel.run_env(devices=2))
  assert f"Resumed from {copy}/checkpoints at step 12" in proc.stderr
  assert rel.steps(copy)[-1] == 15
  assert [r["step"] for r in rel.jsonl(copy) if "train/loss" in r][-2:] == [14, 15]
  assert int(rel.restored_state(copy).step) == 15



def test_a_second_trainer_on_the_same_workdir_is_refused(tmp_path, synth_data_dir):
  """While one process trains in a workdir (holds its lock), another launch fails at once."""
  import fcntl

  workdir = tmp_path / "run"
  workdir.mkdir()
  fd = os.open(workdir, os.O_RDONLY)  # stands in for the first trainer
  fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  try:
    with pytest.raises(CheckpointError, match="Another process is training"):
      main.run(tiny_config(data_dir=synth_data_dir), str(workdir), "train")
    assert os.listdir(workdir) == []  # nothing written
  finally:
    os.close(fd)
  main.run(tiny_config(data_dir=synth_data_dir, train__num_steps=2), str(workdir), "train")
  fd = os.open(workdir, os.O_RDONLY)  # the finished run released its lock
  fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  os.close(fd)


def test_a_feature_the_dataset_lacks_is_named_with_the_fix(synth_data_dir):
  """E.g. task.remix_prob on a dataset without stems: the error names the feature and the fix."""
  from instrax.data import sources

  ds = sources.load("synthmix/tiny", synth_data_dir)
  with pytest.raises(DatasetError, match=r"no feature\(s\) \['stemz'\].*task.remix_prob needs "
                     r"stems.*its features: .*stems"):
    ds.source("train", ("audio", "stemz"))
