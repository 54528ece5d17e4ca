"""A run's headline results as the one line README.md and BENCHMARKS.md quote.

  python -m instrax.results workdirs/demo        # test micro-F1 0.906, macro-F1 0.902
  python -m instrax.results RUN --split=validation

Reads `RUN/results.json` (written by every evaluation); the line names the metrics each task
family reports as its headline, rounded to 3 decimals.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping

from instrax.errors import UserError

HEADLINE = (("micro_f1", "micro-F1"), ("macro_f1", "macro-F1"), ("map", "mAP"))


def headline(results: Mapping[str, float], split: str = "test") -> str:
  """"<split> micro-F1 0.906, macro-F1 0.902" from flat "split/metric" results; metrics of
  HEADLINE the run lacks are left out (ValueError if it has none of them)."""
  parts = [f"{label} {results[f'{split}/{key}']:.3f}" for key, label in HEADLINE
           if f"{split}/{key}" in results]
  if not parts:
    raise ValueError(f"results have none of {[f'{split}/{k}' for k, _ in HEADLINE]}")
  return f"{split} " + ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m instrax.results", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("workdir", help="a run directory made by launch.py")
  parser.add_argument("--split", default="test")
  args = parser.parse_args(argv)
  path = os.path.join(args.workdir, "results.json")
  try:
    if not os.path.exists(path):
      raise UserError(f"{path} not found: evaluate the run first (launch.py --mode=eval)")
    with open(path) as f:
      results = json.load(f)
    try:
      record = (f" ({results['checkpoint']} checkpoint, step {results['step']})"
                if "checkpoint" in results else "")
      print(headline(results, args.split) + record)
    except ValueError as e:
      raise UserError(f"{path}: {e}") from e
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main())
