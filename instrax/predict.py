"""Runs a trained model on your inputs: `python -m instrax.predict [--workdir=RUN] FILE...`.

Every task predicts: instrument recognition and tagging (a table/JSON/CSV of classes and scores),
and the tasks that write files of their own (MIDI + note CSV, lead timelines, separated stems)
write them under `--output`. Inputs of any length, rate and channel count are decoded in segments
of `predict.segment_s` seconds (bounded memory: a 2-hour file needs no more than a 10-minute one),
resampled and down/up-mixed to what the model was trained on, then run chunk by chunk exactly as
in evaluation. Each input's result is written as soon as it is done, so a crash on file 9 keeps
files 1–8. A file that cannot be read gets an error line and the others are still processed; the
exit code is 1 when any input failed.

Which model: `--workdir=RUN` (a run directory made by launch.py), or `--model=NAME` for a model
shipped with instrax (see `shipped/`); with neither, the shipped instrument model.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import sysconfig
from collections.abc import Iterator
from typing import Any

from instrax import logs
from instrax.errors import UserError


def _shipped_root() -> str:
  """`shipped/` beside the package (a checkout or an editable install), else the copy a wheel
  install puts under <prefix>/share/instrax/shipped (pyproject.toml's data-files)."""
  beside = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "shipped")
  if os.path.isdir(beside):
    return beside
  return os.path.join(sysconfig.get_path("data"), "share", "instrax", "shipped")


SHIPPED_ROOT = _shipped_root()
DEFAULT_MODEL = "instruments"
FORMATS = {".json": "json", ".csv": "csv", ".txt": "table", ".jsonl": "json"}


def shipped_workdir(name: str) -> str:
  """The run directory of shipped model `name`; UserError listing the shipped ones if absent."""
  from instrax.ensemble import ENSEMBLE_FILE

  def is_model(folder: str) -> bool:
    return any(os.path.exists(os.path.join(folder, f)) for f in ("config.json", ENSEMBLE_FILE))

  path = os.path.join(SHIPPED_ROOT, name)
  if not is_model(path):
    have = sorted(d for d in os.listdir(SHIPPED_ROOT) if is_model(os.path.join(SHIPPED_ROOT, d))
                  ) if os.path.isdir(SHIPPED_ROOT) else []
    raise UserError(f"no shipped model {name!r} in {SHIPPED_ROOT} (shipped: "
                    f"{', '.join(have) or 'none'}); pass --workdir=RUN to use a run you trained.")
  return path


class Predictor:
  """A restored run: its Experiment, state, checkpoint step and calibration."""

  def __init__(self, workdir: str, checkpoint: str = "latest"):
    from instrax import export, main, records
    from instrax.experiment import Experiment

    self.workdir = workdir
    self.config, self.data_format = main.load_workdir_config(workdir)
    self.exp = Experiment(self.config, self.data_format)
    if export.is_export(workdir):  # a shipped model: params only (instrax/export.py)
      self.state = export.load_state(self.exp, workdir)
      self.step = int(export.load_info(workdir)["step"])
      calibration = records.load_calibration(workdir, 0)
    else:
      self.state, self.step = main.restore_state(self.exp, workdir, checkpoint)
      calibration = records.load_calibration(workdir, self.step)
    if calibration is None:
      logging.warning("no calibration stored for step %d of %s: using the task's default "
                      "decoding (run `python launch.py --workdir=%s --mode=eval "
                      "--checkpoint=%d` to tune it on validation)", self.step, workdir, workdir,
                      self.step)
      calibration = {}
    self.calibration = calibration

  def segments(self, path: str) -> tuple[list[tuple[float, Any]], float, Any]:
    """([(start_s, combined output)] of each segment of one input, its duration in s, its
    `instrax.audio.level.FileStats`), decoded segment by segment."""
    import numpy as np

    from instrax import evaluate
    from instrax.audio import level

    task, fmt = self.exp.task, self.data_format
    segment_s = float(self.config.get("predict", {}).get("segment_s", 600.0))
    parts, duration = [], 0.0
    stats = level.FileStats(fmt.sample_rate)

    def examples() -> Iterator[dict[str, Any]]:
      nonlocal duration
      for start_s, example in task.predict_inputs(path, fmt.sample_rate, fmt.channels, segment_s):
        parts.append([start_s, None])
        duration = max(duration, start_s + _seconds(example, fmt.sample_rate))
        if "audio" in example:  # (T, C), or (T,) mono
          audio = np.asarray(example["audio"], np.float32)
          stats.update(audio[None] if audio.ndim == 1 else audio.T)
        yield example

    for i, (_, combined) in enumerate(evaluate.example_results(
        self.exp, self.state, examples(), desc=os.path.basename(path))):
      parts[i][1] = combined
    return [(s, c) for s, c in parts], duration, stats

  def predict_file(self, path: str) -> dict[str, Any]:
    """The task's prediction for one input (decoded segment by segment), or status "no_signal"
    when an audio input has no usable signal (`instrax.audio.level`: no instruments are named)."""
    parts, duration, stats = self.segments(path)
    return prediction_result(self.exp.task, path, parts, duration, stats, self.calibration)


def prediction_result(task, path: str, parts: list[tuple[float, Any]], duration: float, stats,
                      calibration: dict[str, Any]) -> dict[str, Any]:
  """{"file", "status", "duration_s", "prediction" | "error"} of one input's segment outputs."""
  if stats.num_samples and not stats.has_signal:
    return {"file": path, "status": "no_signal", "duration_s": round(duration, 3),
            "error": stats.reason}
  return {"file": path, "status": "ok", "duration_s": round(duration, 3),
          "prediction": task.merge_predictions(parts, calibration)}


def make_predictor(workdir: str, checkpoint: str = "latest"):
  """A `Predictor`, or an `instrax.ensemble.EnsemblePredictor` for an ensemble folder."""
  from instrax import ensemble

  if ensemble.is_ensemble(workdir):
    return ensemble.EnsemblePredictor(workdir)
  return Predictor(workdir, checkpoint)


def _seconds(example: dict[str, Any], sample_rate: int) -> float:
  audio = example.get("audio")
  return 0.0 if audio is None else len(audio) / sample_rate


def predict_files(predictor: Predictor, files: list[str]) -> Iterator[dict[str, Any]]:
  """Yields one result per input, in order: {"file", "status": "ok", "prediction", ...} or
  {"file", "status": "error", "error"}."""
  from instrax.errors import AudioDecodeError

  for path in files:
    try:
      yield predictor.predict_file(path)
    except AudioDecodeError as e:
      yield {"file": path, "status": "error", "error": e.reason}
    except UserError as e:
      yield {"file": path, "status": "error", "error": str(e)}


class ResultWriter:
  """Writes results as they come: a table to stdout, or a .json/.csv/.txt file (or folder).

  The file is rewritten completely after each input (atomically), so what is on disk is always a
  complete, valid file holding every input finished so far.
  """

  def __init__(self, output: str | None, fmt: str | None, class_names: tuple[str, ...],
               run: dict[str, Any], overwrite: bool):
    self.results: list[dict[str, Any]] = []
    self.class_names, self.run = class_names, run
    self.width = 0  # table column width (the longest input name, when known)
    self.path, self.dir = None, None
    if output is None:
      self.fmt = fmt or "table"
      return
    suffix = os.path.splitext(output)[1].lower()
    if suffix in FORMATS:
      self.path, self.fmt = output, FORMATS[suffix]
      if fmt and fmt != self.fmt:
        raise UserError(f"--format={fmt} contradicts --output={output} (a {self.fmt} file)")
      self.dir = os.path.dirname(os.path.abspath(output))
    else:
      if os.path.exists(output) and not os.path.isdir(output):
        raise UserError(f"--output={output} is an existing file without a .json/.csv/.txt "
                        "suffix; give a folder, or a file name ending in .json, .csv or .txt")
      self.fmt = fmt or "table"
      self.dir = output
      ext = {"table": "txt"}.get(self.fmt, self.fmt)
      self.path = os.path.join(output, f"predictions.{ext}")
    if os.path.exists(self.path) and not overwrite:
      raise UserError(f"{self.path} already exists; pass --overwrite to replace it, or choose "
                      "another --output")
    os.makedirs(self.dir, exist_ok=True)

  def add(self, result: dict[str, Any]) -> None:
    self.results.append(result)
    if self.path is None:
      print(format_results([result], self.fmt, self.class_names, self.run,
                           header=len(self.results) == 1, width=self.width), flush=True)
      return
    text = format_results(self.results, self.fmt, self.class_names, self.run)
    tmp = f"{self.path}.tmp"
    with open(tmp, "w", newline="") as f:
      f.write(text.rstrip("\n") + "\n")
    os.replace(tmp, self.path)


def format_results(results: list[dict[str, Any]], fmt: str, class_names: tuple[str, ...] = (),
                   run: dict[str, Any] | None = None, header: bool = True,
                   width: int = 0) -> str:
  """Results as a table, JSON ({"run": ..., "results": [...]}) or CSV (one column per class)."""
  if fmt == "json":
    return json.dumps({"run": run or {}, "results": results}, indent=2)
  if fmt == "csv":
    import io as stdio

    buf = stdio.StringIO()
    writer = csv.writer(buf)
    if header:
      writer.writerow(["file", "status", "error", "labels", "label_names", *class_names])
    for r in results:
      pred = r.get("prediction", {})
      scores = pred.get("scores", {})
      labels = pred.get("instruments", pred.get("labels", []))
      names = pred.get("names", {})
      writer.writerow([r["file"], r["status"], r.get("error", ""), " ".join(labels),
                       "; ".join(names.get(x, x) for x in labels),
                       *(f"{scores[c]:.6f}" if c in scores else "" for c in class_names)])
    return buf.getvalue()
  rows = []
  for r in results:
    if r["status"] != "ok":
      rows.append((r["file"], r["status"].upper(), r.get("error", "")))
      continue
    pred = r["prediction"]
    scores = pred.get("scores", {})
    labels = pred.get("instruments", pred.get("labels", []))
    detail = " ".join(f"{k}={v:.3f}" for k, v in sorted(scores.items(), key=lambda kv: -kv[1]))
    detail = detail or pred.get("summary", "")
    rows.append((r["file"], ",".join(labels) or "-", detail))
  width = max(width, *(len(os.path.basename(r[0])) for r in rows), 4)
  lines = [f"{'file':<{width}}  {'prediction':<24}  detail (or error)"] if header else []
  lines += [f"{os.path.basename(f):<{width}}  {labels:<24}  {detail}" for f, labels, detail in rows]
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m instrax.predict", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("inputs", nargs="+", help="audio files (or stem folders, for lead)")
  parser.add_argument("--workdir", default=None, help="a run directory made by launch.py")
  parser.add_argument("--model", default=None,
                      help=f"a shipped model by name (default without --workdir: {DEFAULT_MODEL})")
  parser.add_argument("--checkpoint", default="latest", help="latest, best or a step number")
  parser.add_argument("--format", choices=("table", "json", "csv"), default=None,
                      help="output format (default: from --output's suffix, else table)")
  parser.add_argument("--output", default=None,
                      help="a folder (predictions.<format> and the task's files go there) or a "
                           ".json/.csv/.txt file; default: stdout")
  parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
  args = parser.parse_args(argv)
  from instrax import ensemble

  logging.getLogger().setLevel(logging.WARNING)
  logs.configure(0)
  try:
    if args.workdir and args.model:
      raise UserError("give --workdir or --model, not both")
    workdir = args.workdir or shipped_workdir(args.model or DEFAULT_MODEL)
    predictor = make_predictor(workdir, args.checkpoint)
    task = predictor.exp.task
    run = {"workdir": workdir, "model": None if args.workdir else args.model or DEFAULT_MODEL,
           "checkpoint": args.checkpoint, "step": predictor.step,
           "task": predictor.config.task.name, "calibration": predictor.calibration}
    if isinstance(predictor, ensemble.EnsemblePredictor):
      run["members"] = [{"workdir": m.workdir, "step": m.step} for m in predictor.members]
    if task.needs_output_dir and not args.output:
      raise UserError(f"a {predictor.config.task.name} run writes files (e.g. separated stems); "
                      "pass --output=DIR")
    out = ResultWriter(args.output, args.format, tuple(task.class_names), run, args.overwrite)
    out.width = max(len(os.path.basename(p.rstrip("/"))) for p in args.inputs)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  failed = silent = 0
  for result in predict_files(predictor, args.inputs):
    if result["status"] == "ok" and out.dir:
      stem = os.path.splitext(os.path.basename(result["file"].rstrip("/")))[0]
      result["files"] = task.write_prediction(result["prediction"], stem, out.dir)
    failed += result["status"] == "error"
    silent += result["status"] == "no_signal"
    if result["status"] != "ok":
      print(f"{result['status'].replace('_', ' ')}: {result['file']}: {result['error']}",
            file=sys.stderr)
    out.add(result)
  if out.path:
    print(f"wrote {out.path}")
  total = len(out.results)
  print(f"{total - failed - silent} of {total} input(s) predicted"
        + (f", {silent} without signal" if silent else "")
        + (f", {failed} failed" if failed else ""), file=sys.stderr)
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())
