"""Ensembles of trained models: the mean of the members' window probabilities, then the task's
decoding with thresholds tuned for the ensemble.

  python -m instrax.ensemble --member=RUN_A --member=RUN_B@best --data_dir=DIR \
      --output=shipped/NAME [--max_examples=300]

writes `NAME/ensemble.json` (members, where they came from, the ensemble's validation and test
scores), one export per member (`NAME/member_<i>/`, instrax/export.py; a member that is already an
export is copied: its `from` is the run that export came from, `copied_from` the copied folder)
and `NAME/calibration.json`: the task's decoding tuned with the averaged outputs on the validation
split of `--dataset` (by default the first member's training dataset). `predict` and
`bench/eval_transfer.py` load such a folder like a run (`--workdir=shipped/NAME`, `--model=NAME`).

Members must share the task, its classes and its windows (clip tasks: `combined` outputs are
(windows, classes) probabilities, averaged element-wise); each reads the input at its own sample
rate and frontend. Averaging the probabilities of independently trained models is the plain
ensemble of Dietterich (2000), "Ensemble methods in machine learning".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import Any

import numpy as np

from instrax.errors import ConfigError, UserError

ENSEMBLE_FILE = "ensemble.json"


def is_ensemble(path: str) -> bool:
  return os.path.exists(os.path.join(path, ENSEMBLE_FILE))


def _check_members(members: list[Any]) -> None:
  first = members[0]
  for m in members[1:]:
    for what, get in (("task", lambda p: p.config.task.name),
                      ("classes", lambda p: tuple(p.exp.task.class_names)),
                      ("window_s", lambda p: p.config.task.get("window_s")),
                      ("eval_overlap", lambda p: p.config.task.get("eval_overlap"))):
      if get(m) != get(first):
        raise ConfigError(f"ensemble members differ in {what}: {first.workdir} has "
                          f"{get(first)!r}, {m.workdir} has {get(m)!r}")


def average(outputs: list[Any]) -> np.ndarray:
  """Element-wise mean of the members' combined outputs of one input or segment (same shapes)."""
  arrays = [np.asarray(o, np.float32) for o in outputs]
  if any(a.shape != arrays[0].shape for a in arrays):
    raise ConfigError(f"ensemble members give outputs of shapes {[a.shape for a in arrays]}; "
                      "they need the same windows")
  return np.mean(arrays, axis=0)


class EnsemblePredictor:
  """The members of an ensemble folder, predicting as one (the `Predictor` interface)."""

  def __init__(self, path: str):
    from instrax import records
    from instrax.predict import Predictor

    with open(os.path.join(path, ENSEMBLE_FILE)) as f:
      info = json.load(f)
    self.workdir = path
    self.members = [Predictor(os.path.join(path, m["dir"])) for m in info["members"]]
    _check_members(self.members)
    self.exp, self.config = self.members[0].exp, self.members[0].config
    self.data_format = self.members[0].data_format
    self.step = 0
    self.calibration = records.load_calibration(path, 0) or {}

  def predict_file(self, path: str) -> dict[str, Any]:
    from instrax.predict import prediction_result

    runs = [m.segments(path) for m in self.members]
    first_parts, duration, stats = runs[0]
    if len({len(parts) for parts, _, _ in runs}) != 1:
      raise ConfigError("ensemble members cut the input into different segments; give them the "
                        "same predict.segment_s")
    parts = [(start, average([r[0][i][1] for r in runs]))
             for i, (start, _) in enumerate(first_parts)]
    return prediction_result(self.exp.task, path, parts, duration, stats, self.calibration)


def evaluate_ensemble(members: list[Any], dataset, max_examples: int = 0
                      ) -> tuple[dict[str, Any], dict[str, float]]:
  """(calibration tuned on the validation split, validation and test metrics) of the averaged
  outputs of `members` (Predictor-like: exp, state) on `dataset`'s splits."""
  from instrax import evaluate

  first = members[0]
  task, config = first.exp.task, first.config

  def split(name: str) -> list[Any]:
    source = dataset.source(name, task.features())
    examples = list(evaluate.signal_examples(first.exp, source, max_examples))
    per_member = [[c for _, c in evaluate.example_results(m.exp, m.state, iter(examples),
                                                          len(examples), desc=name)]
                  for m in members]
    return [task.example_stats(average([p[i] for p in per_member]), e)
            for i, e in enumerate(examples)]

  val = split(config.dataset.eval_split)
  calibration = task.calibrate(val)
  metrics = {f"validation/{k}": v for k, v in task.metrics(val, calibration).items()}
  test = split(config.dataset.test_split)
  metrics.update({f"test/{k}": v for k, v in task.metrics(test, calibration).items()})
  return calibration, metrics


def build(members: list[str], output: str, data_dir: str, max_examples: int = 0,
          dataset: str = "") -> dict[str, Any]:
  """Writes the ensemble folder `output` from `members` ("RUN" or "RUN@CHECKPOINT"; exports are
  copied) and returns its ensemble.json content. It is calibrated and scored on `dataset` (a
  registered name, e.g. "synthmix/rich"), by default the first member's training dataset. It is
  built in `output`.partial and renamed when complete; an existing non-empty `output` or a member
  that is no run is a UserError, before anything is written."""
  from instrax import export, records
  from instrax.data import sources
  from instrax.predict import Predictor

  if len(members) < 2:
    raise UserError("an ensemble needs at least two --member")
  if os.path.exists(output) and os.listdir(output):
    raise UserError(f"{output} exists and is not empty: choose a new folder (nothing is "
                    "overwritten)")
  for spec in members:
    run = spec.partition("@")[0]
    if not (export.is_export(run) or os.path.exists(os.path.join(run, "config.json"))):
      raise UserError(f"--member={spec}: {run} is neither a run directory nor an export")
  partial = output.rstrip("/") + ".partial"
  if os.path.exists(partial):
    shutil.rmtree(partial)  # a build that stopped half-way
  os.makedirs(partial)
  entries = []
  for i, spec in enumerate(members):
    run, _, checkpoint = spec.partition("@")
    target = os.path.join(partial, f"member_{i}")
    if export.is_export(run):
      shutil.copytree(run, target, ignore=shutil.ignore_patterns("README.md"))  # one README
    else:
      export.export(run, target, checkpoint or "best")
    source = export.load_info(target)
    entry = {"dir": f"member_{i}", "from": spec, "step": source["step"]}
    if export.is_export(run):  # where the copied export itself came from, and the copy's path
      entry.update({"from": f"{source['source']}@{source['checkpoint']}", "copied_from": run})
    entries.append(entry)
  loaded = [Predictor(os.path.join(partial, e["dir"])) for e in entries]
  _check_members(loaded)
  name = dataset or loaded[0].config.dataset.name
  calibration, metrics = evaluate_ensemble(loaded, sources.load(name, data_dir), max_examples)
  records.save_calibration(partial, 0, calibration)
  info = {"members": entries, "combine": "mean of window probabilities",
          "dataset": name, "max_examples": max_examples,
          "metrics": metrics}
  with open(os.path.join(partial, ENSEMBLE_FILE), "w") as f:
    json.dump(info, f, indent=2, sort_keys=True)
  if os.path.exists(output):
    os.rmdir(output)  # empty (checked above)
  os.replace(partial, output)
  return info


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m instrax.ensemble", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--member", action="append", required=True,
                      help="a run (RUN or RUN@best|latest|STEP) or an exported folder; repeat")
  parser.add_argument("--output", required=True, help="the folder to write (e.g. shipped/NAME)")
  parser.add_argument("--data_dir", required=True, help="where the members' dataset is built")
  parser.add_argument("--max_examples", type=int, default=0,
                      help="validation/test examples to calibrate and score on (0 = all)")
  parser.add_argument("--dataset", default="",
                      help="the dataset to calibrate and score on (default: the first member's), "
                           "e.g. when members trained on different synthmix variants")
  args = parser.parse_args(argv)
  try:
    info = build(args.member, args.output, args.data_dir, args.max_examples, args.dataset)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(json.dumps(info, indent=2, sort_keys=True))
  return 0


if __name__ == "__main__":
  sys.exit(main())
