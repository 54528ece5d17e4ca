"""Seed 003's configs on the builders' fake release trees: build, train a few steps, evaluate —
configs/tagging.py on MTAT (macro ROC-AUC / PR-AUC) and FMA (top-1 accuracy), configs/separation.py
on musdb18 (hq wav folders for train/validation, the real 6-s `.stem.mp4` as test)."""

from __future__ import annotations

import math

import pytest

import data_builders
from data_builders.fma import fixtures as fma_fixtures
from data_builders.mtat import fixtures as mtat_fixtures
from instrax import main
from tests.conftest import tiny_config

STEPS = dict(train__num_steps=2, train__eval_every=0, train__checkpoint_every=2)


@pytest.mark.slow
def test_mtat_tiny_run(tmp_path):
  fake = mtat_fixtures.make_tree(tmp_path / "manual", n_train=2)
  data_builders.prepare("mtat", str(tmp_path / "data"), fake.root)
  config = tiny_config("tagging", "tiny,model=tune_tail", str(tmp_path / "data"), **STEPS)
  results = main.run(config, str(tmp_path / "run"), "train_and_eval")
  assert math.isfinite(results["test/roc_auc"]) and math.isfinite(results["test/map"])


@pytest.mark.slow
def test_fma_tiny_run(tmp_path):
  fake = fma_fixtures.make_tree(tmp_path / "manual")
  data_builders.prepare("fma/medium_minus_small", str(tmp_path / "data"), fake.root)
  config = tiny_config("tagging", "fma,tiny,model=tune_tail", str(tmp_path / "data"), **STEPS)
  results = main.run(config, str(tmp_path / "run"), "train_and_eval")
  assert results["test/accuracy"] in (0.0, 1.0)  # one test track


@pytest.mark.slow
def test_musdb18_separator_tiny_run(tmp_path, real_fixtures):
  from data_builders.musdb18 import fixtures as musdb_fixtures

  fake = musdb_fixtures.make_fake_musdb(tmp_path / "manual", real_fixtures / "musdb18")
  data_builders.prepare("musdb18", str(tmp_path / "data"), fake.root)
  config = tiny_config("separation", "tiny", str(tmp_path / "data"), **STEPS)
  results = main.run(config, str(tmp_path / "run"), "train_and_eval")
  # the real 6-s musdb18 excerpt is the test split; its vocals are not silent
  assert math.isfinite(results["test/sdr/vocals"]) and math.isfinite(results["test/si_sdr/vocals"])
