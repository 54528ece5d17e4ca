"""bench/tune_comparison.py's table logic on fabricated results.json files (no training), its run
plan, resumability, and the CPU-sized config arguments it uses (`width_div`, `frames`)."""

import json
import math
import statistics
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import tune_comparison as tc

from configs import separation, tagging
from instrax.errors import ConfigError


def _write(root: Path, name: str, results: dict) -> None:
  (root / name).mkdir(parents=True, exist_ok=True)
  (root / name / "results.json").write_text(json.dumps({"checkpoint": "best", "step": 80,
                                                        **results}))


def test_mean_std_is_the_sample_std_and_skips_nan():
  mean, std, n = tc.mean_std([0.8, 0.9, 1.0, float("nan")])
  assert n == 3
  assert mean == pytest.approx(0.9)
  assert std == pytest.approx(0.1)  # by hand: sqrt((0.01 + 0 + 0.01) / 2)
  assert std == pytest.approx(statistics.stdev([0.8, 0.9, 1.0]))
  assert math.isnan(tc.mean_std([0.5])[1])
  assert tc.mean_std([]) == (pytest.approx(float("nan"), nan_ok=True),
                             pytest.approx(float("nan"), nan_ok=True), 0)


def test_fmt():
  assert tc.fmt(0.81234, 0.00456, 3) == "0.812 ± 0.005"
  assert tc.fmt(0.81234, float("nan"), 1) == "0.812"
  assert tc.fmt(float("nan"), float("nan"), 0) == "—"


def test_tagging_table_aggregates_finished_seeds(tmp_path):
  for seed, (auc, ap) in enumerate([(0.70, 0.30), (0.72, 0.34), (0.74, 0.38)]):
    _write(tmp_path, f"tail_s{seed}", {"test/roc_auc": auc, "test/map": ap,
                                       "test/micro_f1": 0.5})
  _write(tmp_path, "random_s0", {"test/roc_auc": 0.60, "test/map": 0.2, "test/micro_f1": 0.4})
  _write(tmp_path, "random_s2", {"test/roc_auc": 0.64, "test/map": 0.2, "test/micro_f1": 0.4})
  (tmp_path / "from_vocals_s0").mkdir()  # started, not finished: no results.json
  lines = tc.tagging_table(str(tmp_path), ["vocals"], [0, 1, 2]).splitlines()
  assert lines[0] == "| arm | seeds done | ROC-AUC | PR-AUC | micro-F1 |"
  assert lines[2] == "| tail-only | 3/3 | 0.720 ± 0.020 | 0.340 ± 0.040 | 0.500 ± 0.000 |"
  # mean of 0.60 and 0.64, sample std sqrt(2 · 0.02² / 1) = 0.0283
  assert lines[3] == ("| TUne+ (random U-Net) | 2/3 | 0.620 ± 0.028 | 0.200 ± 0.000 "
                      "| 0.400 ± 0.000 |")
  assert lines[4] == "| TUne+ from vocals separator | 0/3 | — | — | — |"


def test_separation_table_lists_every_source_of_multisource(tmp_path):
  _write(tmp_path, "sep_vocals", {"test/sdr/vocals": 3.456, "test/si_sdr/vocals": -1.0})
  _write(tmp_path, "sep_multisource", {f"test/{m}/{s}": v for m, v in (("sdr", 1.0),
                                                                       ("si_sdr", 2.0))
                                       for s in tc.MULTI})
  lines = tc.separation_table(str(tmp_path), ["vocals", "other", "multisource"]).splitlines()
  assert lines[2] == "| vocals | vocals | 3.46 | -1.00 |"
  assert lines[3] == "| other | other | — | — |"
  assert lines[4:] == [f"| multisource | {s} | 1.00 | 2.00 |" for s in tc.MULTI]


def test_plan_same_steps_and_seeds_pretrained_arms_wait_for_their_separator():
  runs = {r.name: r for r in tc.plan(["vocals", "multisource"], [0, 1, 2], 80, 300, "/w",
                                     "width_div=8,frames=192", 100)}
  assert len(runs) == 2 + 4 * 3
  assert runs["from_multisource_s1"].after == ["sep_multisource"]
  assert runs["from_multisource_s1"].config == (
      "configs/tagging.py:synth,width_div=8,frames=192,init=/w/sep_multisource,multisource")
  assert runs["tail_s2"].config.endswith(",model=tune_tail") and runs["tail_s2"].after == []
  for name, run in runs.items():
    steps = 300 if name.startswith("sep_") else 80
    assert f"--config.train.num_steps={steps}" in run.overrides
    assert "--config.eval.max_examples=100" in run.overrides
    if not name.startswith("sep_"):
      assert f"--config.seed={name[-1]}" in run.overrides


def test_execute_skips_finished_runs_and_reports_a_failed_one(tmp_path):
  runs = tc.plan(["vocals"], [0], 10, 20, str(tmp_path), "width_div=8,frames=192", 4)
  for run in runs:
    _write(tmp_path, run.name, {"test/roc_auc": 0.5})
  assert tc.execute(runs, str(tmp_path), 2, "/bin/false") == {}  # nothing launched
  (tmp_path / "random_s0" / "results.json").unlink()
  with pytest.raises(RuntimeError, match="random_s0 failed"):
    tc.execute(runs, str(tmp_path), 2, "/bin/false")


def test_parse_list_names_the_valid_sources():
  assert tc.parse_list("vocals, other", tc.SOURCES) == ["vocals", "other"]
  with pytest.raises(ValueError, match="multisource"):
    tc.parse_list("voice", tc.SOURCES)


def test_cpu_sized_config_arguments_keep_the_seed_defaults():
  seed = tagging.get_config("")
  assert seed.task.window_s == pytest.approx(61_792 / 16000)
  assert "unet_filters" not in seed.model and "filters" not in seed.model
  assert separation.get_config("").task.segment_samples == 61_792
  small = tagging.get_config("synth,width_div=8,frames=192,init=/x")
  assert tuple(small.model.unet_filters) == (2, 4, 8, 16, 24, 24)
  assert tuple(small.model.filters) == (8, 16, 16, 16, 16, 16, 32)
  assert small.model.dense == 64 and small.model.unet_head_filters == 4
  assert small.task.window_s == pytest.approx((512 + 160 * 191) / 16000)
  sep = separation.get_config("synth,source=other,width_div=8,frames=192")
  assert tuple(sep.model.filters) == (2, 4, 8, 16, 24, 24) and sep.model.head_filters == 4
  assert sep.task.segment_samples == 512 + 160 * 191
  with pytest.raises(ConfigError, match="multiple of 64"):
    separation.get_config("frames=100")
  with pytest.raises(ConfigError, match="≥ 192"):
    tagging.get_config("frames=128")
  with pytest.raises(ConfigError, match="positive divisor"):
    tagging.get_config("width_div=0")


def test_importing_it_defines_no_global_flags():
  """The script parses its own arguments: importing it next to launch.py (one pytest worker
  does) must not define absl flags such as --workdir twice."""
  from absl import flags

  assert "sep_steps" not in flags.FLAGS and "width_div" not in flags.FLAGS
