"""Real-audio transfer of one run at many checkpoints: the spread a single checkpoint hides.

  python bench/transfer_sweep.py --workdir=RUN --steps=4000:16000:500 [--json=sweep.json]
  python bench/transfer_sweep.py --workdir=RUN --steps=500,1000,4000

Scores each checkpoint as `bench/eval_transfer.py --workdir=RUN --checkpoint=STEP` does (same
files, same protocol, one process), then prints, per group (`real_transfer`, `real`, `all`), the
top-1 count and mean rank at every step, their means with (min–max) over the steps, and per file
how many checkpoints name it and the mean rank of its true class. The checkpoint the run selected
on validation (`best`, when the run keeps one) is marked `*`: that one is the protocol's answer;
the means say how much of it is luck. Why: a difference of one file between two single
checkpoints of one run is common (BENCHMARKS.md, "Real-audio transfer").
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench import eval_transfer


def parse_steps(spec: str) -> list[int]:
  """`START:STOP:EVERY` (both ends included) or a comma list → sorted distinct steps.

  Raises ValueError on anything else, an empty range or a step below 0.
  """
  spec = spec.strip()
  if ":" in spec:
    parts = spec.split(":")
    if len(parts) != 3:
      raise ValueError(f"--steps={spec!r}: write START:STOP:EVERY, e.g. 4000:16000:500")
    start, stop, every = (int(p) for p in parts)
    if every <= 0 or stop < start:
      raise ValueError(f"--steps={spec!r}: EVERY must be > 0 and STOP >= START")
    steps = list(range(start, stop + 1, every))
  else:
    steps = [int(s) for s in spec.split(",") if s.strip()]
  if not steps or min(steps) < 0:
    raise ValueError(f"--steps={spec!r}: no steps, or a negative one")
  return sorted(set(steps))


def aggregate(per_step: dict[int, dict[str, Any]]) -> dict[str, Any]:
  """Means and ranges over checkpoints of `eval_transfer.evaluate` results keyed by step.

  Returns {"groups": {group: {"top1_mean", "top1_min", "top1_max", "mean_rank_mean",
  "mean_rank_min", "mean_rank_max", "checkpoints"}}, "files": [{"group", "file", "labels",
  "times_top1", "mean_rank", "checkpoints"}]} (files in the results' order).
  """
  results = [per_step[s] for s in sorted(per_step)]
  groups = {}
  for group in results[0]["groups"]:
    top1 = [r["groups"][group]["top1_correct"] for r in results]
    rank = [r["groups"][group]["mean_rank"] for r in results]
    groups[group] = {"top1_mean": statistics.fmean(top1), "top1_min": min(top1),
                     "top1_max": max(top1), "mean_rank_mean": statistics.fmean(rank),
                     "mean_rank_min": min(rank), "mean_rank_max": max(rank),
                     "checkpoints": len(results)}
  files = []
  for i, row in enumerate(results[0]["files"]):
    ranks = [r["files"][i]["rank"] for r in results]
    files.append({"group": row["group"], "file": row["file"], "labels": row["labels"],
                  "times_top1": sum(x == 1 for x in ranks), "mean_rank": statistics.fmean(ranks),
                  "checkpoints": len(ranks)})
  return {"groups": groups, "files": files}


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--workdir", required=True, help="a run directory made by launch.py")
  parser.add_argument("--steps", required=True, help="START:STOP:EVERY or a comma list")
  parser.add_argument("--fixtures", default=None, help="folder holding real_transfer/ and real/")
  parser.add_argument("--json", default=None, help="also write every result and the summary")
  args = parser.parse_args(argv)
  from instrax import ensemble, export
  from instrax import main as instrax_main
  from instrax.errors import UserError

  try:
    steps = parse_steps(args.steps)
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  if export.is_export(args.workdir) or ensemble.is_ensemble(args.workdir):
    print(f"error: {args.workdir} is an exported model or an ensemble: it holds one set of "
          "weights, not checkpoints; score it with bench/eval_transfer.py", file=sys.stderr)
    return 2
  fixtures = args.fixtures or eval_transfer.default_fixtures()
  items = eval_transfer.labelled_files(fixtures)
  if not items:
    print(f"error: no labelled real files under {fixtures} (pass --fixtures=DIR)", file=sys.stderr)
    return 2
  per_step: dict[int, dict[str, Any]] = {}
  best = None
  for step in steps:
    try:
      predictor = eval_transfer.irmas_predictor(args.workdir, str(step))
    except UserError as e:
      print(f"error: step {step}: {e}", file=sys.stderr)
      return 2
    if best is None:
      selected = instrax_main.best_step(predictor.exp, args.workdir)
      best = -1 if selected is None else selected
    result = eval_transfer.evaluate(items, eval_transfer.scorer_of(predictor))
    per_step[step] = result
    print(f"step {step:>6}{'*' if step == best else ' '} " + "  ".join(
        f"{g}: {s['top1_correct']}/{s['files']}, {s['mean_rank']:.2f}"
        for g, s in result["groups"].items()), flush=True)
  summary = aggregate(per_step)
  for group, s in summary["groups"].items():
    print(f"{group} over {s['checkpoints']} checkpoints: top-1 {s['top1_mean']:.2f} "
          f"({s['top1_min']}–{s['top1_max']}), mean rank {s['mean_rank_mean']:.2f} "
          f"({s['mean_rank_min']:.2f}–{s['mean_rank_max']:.2f})")
  for f in summary["files"]:
    print(f"  {f['group']:<14} {f['file'][:44]:<44} {','.join(f['labels']):<8} "
          f"top-1 at {f['times_top1']}/{f['checkpoints']}, mean rank {f['mean_rank']:.2f}")
  if args.json:
    pathlib.Path(args.json).write_text(json.dumps(
        {"run": {"workdir": os.path.abspath(args.workdir), "best_step": best},
         "steps": {str(k): v for k, v in per_step.items()}, "summary": summary}, indent=2))
  return 0


if __name__ == "__main__":
  sys.exit(main())
