"""The task contract, for every registered task family on synthmix `tiny` (issue #8 item 7):
one training example matches the declared input spec; loss and gradients are finite; evaluation
gives finite metrics; predict writes its output. A new task family passes this first."""

from __future__ import annotations

import importlib

import jax
import numpy as np
import pytest
import soundfile as sf

import instrax.tasks  # noqa: F401  (registers the task families)
from instrax import evaluate, main, predict
from instrax.data import sources
from instrax.experiment import DataFormat, Experiment
from instrax.tasks.base import TASKS
from tests.spine import toy

#: task family → (config module, arg) that runs it on embedded data.
CONFIGS = {
    "clip_classification": ("demo", "tiny"),
    "tagging": ("openmic", "synth,tiny"),
    "lead_detection": ("lead", "synth,tiny"),
    "transcription": ("piano", "synth,tiny"),
    "separation": ("separation", "synth,tiny"),
}
TEST_ONLY = {toy.NAME}


def test_every_registered_task_has_a_contract_config():
  assert set(TASKS.names()) - TEST_ONLY == set(CONFIGS)


def _config(name: str, data_dir: str):
  module, arg = CONFIGS[name]
  config = importlib.import_module(f"configs.{module}").get_config(arg)
  config.data_dir = data_dir
  config.train.num_steps, config.train.eval_every, config.train.checkpoint_every = 2, 2, 2
  config.eval.max_examples = 8
  return config


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_task_contract(name, tmp_path, synth_data_dir):
  config = _config(name, synth_data_dir)
  dataset = sources.load(config.dataset.name, synth_data_dir)
  exp = Experiment(config, DataFormat.from_dataset(dataset))
  task = exp.task
  # one training example matches the spec
  source = dataset.source(config.dataset.train_split, task.features())
  example = source[0]
  if task.extra_examples:
    extra = [source[i % len(source)] for i in range(1, 1 + task.extra_examples)]
    example = {**example, "extra": extra}
  train = task.train_example(example, np.random.default_rng(0))
  for key, spec in exp.input_spec.items():
    assert train[key].shape == spec.shape and train[key].dtype == spec.dtype, key
  # loss and gradients are finite
  batch = jax.tree.map(lambda *xs: np.stack(xs), *[train] * 2)
  state = exp.init_state()
  from instrax.train import sharding

  state, metrics = exp.train_step(state, sharding.to_global(batch, exp.mesh))
  assert bool(metrics["finite"]) and np.isfinite(float(metrics["loss"]))
  # evaluation gives finite metrics
  stats, silent = evaluate.split_stats(exp, state, dataset.source(config.dataset.eval_split,
                                                          task.features()), 8)
  assert silent == 0
  scores = task.metrics(stats, task.calibrate(stats))
  assert scores and all(np.isfinite(v) for v in scores.values()), scores
  # predict writes its output (a trained run directory, then the CLI on one file)
  workdir = tmp_path / "run"
  main.run(config, str(workdir), "train")
  main.run(None, str(workdir), "eval", checkpoint="latest")
  audio = np.asarray(dataset.source(config.dataset.test_split, ("audio",))[0]["audio"])
  wav = tmp_path / "in.wav"
  sf.write(wav, audio, dataset.sample_rate)
  target = str(tmp_path / "stems") if name == "lead_detection" else str(wav)
  if name == "lead_detection":
    (tmp_path / "stems").mkdir()
    sf.write(tmp_path / "stems" / "mix.wav", audio, dataset.sample_rate)
    sf.write(tmp_path / "stems" / "piano.wav", audio, dataset.sample_rate)
  out = tmp_path / "out"
  rc = predict.main([f"--workdir={workdir}", "--format=json", f"--output={out}", target])
  assert rc == 0
  assert (out / "predictions.json").exists()
