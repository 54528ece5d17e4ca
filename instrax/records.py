"""The records of a run: results, calibration per checkpoint step, evaluations of saved checkpoints.

Workdir layout (process 0 writes):

    <workdir>/results.json, results.csv   train_and_eval's final numbers; `step` and `checkpoint`
                                          say which state they come from ("best" on validation
                                          when a best checkpoint is kept, else "final"); the
                                          final state's numbers are kept too, as "final/…"
    <workdir>/calibration/<step>.json     decoding parameters tuned on validation for the
                                          checkpoint of that step (eval and predict use the
                                          step they restore)
    <workdir>/plots/*.png                 figures of the reported state
    <workdir>/eval/<tag>/                 `--mode=eval` of a saved checkpoint: its own
                                          results.json, plots/, TensorBoard run and the
                                          config differences it was evaluated with; the
                                          training run's record is never rewritten
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import numpy as np

from instrax import plots
from instrax.train import writers


def calibration_path(workdir: str, step: int) -> str:
  return os.path.join(workdir, "calibration", f"{int(step)}.json")


def save_calibration(workdir: str, step: int, calibration: dict[str, Any]) -> None:
  writers.write_json(calibration_path(workdir, step), {"step": int(step), **calibration})


def load_calibration(workdir: str, step: int) -> dict[str, Any] | None:
  """The calibration tuned for checkpoint `step`, or None when it was never computed."""
  path = calibration_path(workdir, step)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    saved = json.load(f)
  saved.pop("step", None)
  return saved


def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
  """Nested dict → {"a.b": value}."""
  out: dict[str, Any] = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(flat(v, f"{prefix}{k}."))
    else:
      out[f"{prefix}{k}"] = v
  return out


def config_differences(saved: dict[str, Any], current: dict[str, Any],
                       ignore: tuple[str, ...] = ()) -> list[tuple[str, Any, Any]]:
  """(field, saved, current) for every flattened config field that differs (lists compared as
  lists, so JSON round-trips of tuples do not count). Fields the saved config lacks (added to
  the code's defaults since the run started) do not count."""
  a, b = flat(saved), flat(current)
  norm = lambda v: json.loads(json.dumps(v))
  return [(k, a.get(k), b.get(k)) for k in sorted(a)
          if k not in ignore and norm(a.get(k)) != norm(b.get(k))]


def eval_dir(workdir: str, step: int, differences: list[tuple[str, Any, Any]]) -> str:
  """Where `--mode=eval` of checkpoint `step` writes: eval/step<N>, or eval/step<N>-<hash> when
  evaluated with config fields that differ from the run's."""
  tag = f"step{int(step)}"
  if differences:
    digest = hashlib.sha1(json.dumps(differences, default=str).encode()).hexdigest()[:8]
    tag += f"-{digest}"
  return os.path.join(workdir, "eval", tag)


def headline(results: dict[str, float]) -> dict[str, float]:
  """The "split/metric" entries (no per-class or per-strategy sub-keys)."""
  return {k: v for k, v in results.items() if k.count("/") == 1}


def write_results(out_dir: str, record: dict[str, Any], results: dict[str, float]) -> None:
  """results.json (record + numbers) and results.csv (the same, one row)."""
  writers.write_json(os.path.join(out_dir, "results.json"), {**record, **results})
  writers.write_csv_row(os.path.join(out_dir, "results.csv"),
                        {"workdir": out_dir, **record, **results})


def write_extras(out_dir: str, step: int, extras: dict[str, Any],
                 writer: writers.MetricWriter | None) -> None:
  """Figures → plots/*.png and TensorBoard images; audio and PR curves → TensorBoard."""
  images = {}
  for name, fig in extras.get("figures", {}).items():
    plots.save_figure(fig, os.path.join(out_dir, "plots", f"{name}.png"))
    images[f"test/{name}"] = plots.figure_to_array(fig)
  if writer is not None:
    writer.images(step, images)
    writer.audio(step, {f"test/{name}": (np.asarray(audio, np.float32), int(rate))
                        for name, (audio, rate) in extras.get("audio", {}).items()})
    for name, (labels, scores, weights) in extras.get("pr_curves", {}).items():
      writer.pr_curve(step, f"test/pr/{name}", labels, scores, weights=weights)


def format_report(title: str, results: dict[str, float], per_class: str = "",
                  reference: dict[str, Any] | None = None, final: dict[str, float] | None = None,
                  oracle: dict[str, float] | None = None) -> str:
  """The console table: headline numbers, per-class table, labelled final/oracle numbers and the
  published reference numbers."""
  table = writers.format_table(title, headline(results))
  if final:
    table += "\n\n" + writers.format_table("Final state (for comparison; not the reported one)",
                                           final)
  if oracle:
    table += "\n\n" + writers.format_table(
        "Oracle: decoding tuned on the test split itself, as some papers report (not a fair "
        "estimate)", oracle)
  if per_class:
    table += "\n\nPer class (test split):\n" + per_class
  if reference:
    table += "\n\nPublished reference numbers (real dataset):\n" + "\n".join(
        f"  {k}: {v}" for k, v in reference.items())
  return table
