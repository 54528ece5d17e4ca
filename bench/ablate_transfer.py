"""Real-audio transfer ablation (issue #14): which synthmix rendering ingredient helps a model
trained on renders name the instruments of real recordings?

  python bench/ablate_transfer.py --data_dir=DATA --workdir=runs/ablate [--steps=1500]
      [--only=full,no_room] [--config_args=remix=0,short=0] [--table=ablation.md]

For each `synthmix/ablate_<name>` config (data_builders/synthmix/synthmix.py `ABLATIONS`: `rich`
at 1,500 train mixes with one group of variety fields off, or without the TonejsInstruments bank
(`no_samples`); `full` has none off; or `full` with a bank added, `ADDITIONS`: `plus_diguitar`)
it builds the data
(`python -m data_builders`), trains `configs/instruments.py` on it for `--steps` steps (same seed,
same model, same schedule) and scores the final checkpoint with bench/eval_transfer.py on the
real labelled files (`real_transfer`: 11 one-instrument recordings; `real`: 3 other files).
`--config_args` appends arguments to the config string (e.g. `remix=0,short=0`: the training-time
augmentations off), so a training ingredient is ablated the same way; such variants get their own
run directories (`<name>@<args>`). Every
stage is skipped when its output exists, so the script resumes. The table: per variant, the
synthetic test micro-F1, and top-1 / mean rank of the true class per real group. Needs `make
soundfonts` (the five GM banks of `rich` and TonejsInstruments).

With 11 + 3 real files a difference of one file is within noise; the mean rank moves more
smoothly. One seed per variant: read differences below ~1 file / ~0.5 rank as no effect.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data_builders.synthmix.synthmix import ABLATIONS, ADDITIONS  # noqa: E402

VARIANTS = (*ABLATIONS, *ADDITIONS)


def run(cmd: list[str], log: pathlib.Path) -> None:
  """Runs `cmd` from the repository root, appending its output to `log`; raises on failure."""
  with open(log, "a") as f:
    f.write(f"$ {' '.join(cmd)}\n")
    f.flush()
    done = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, check=False)
  if done.returncode:
    raise SystemExit(f"ablate_transfer: failed ({done.returncode}), see {log}: {' '.join(cmd)}")


def variant(name: str, args: argparse.Namespace) -> dict:
  """Builds, trains and scores one variant (each stage skipped when done); its row."""
  py = sys.executable
  work = pathlib.Path(args.workdir) / (f"{name}@{args.config_args}" if args.config_args else name)
  work.mkdir(parents=True, exist_ok=True)
  log = work / "ablate.log"
  spec = f"synthmix/ablate_{name}"
  run([py, "-m", "data_builders", spec, f"--data_dir={args.data_dir}"], log)
  results = work / "results.json"
  if not results.is_file():
    extra = f",{args.config_args}" if args.config_args else ""
    run([py, "launch.py", f"--config=configs/instruments.py:steps={args.steps}{extra}",
         f"--workdir={work}", f"--config.dataset.name={spec}",
         f"--config.data_dir={args.data_dir}", f"--config.train.eval_every={args.steps}",
         f"--config.seed={args.seed}"], log)
  transfer = work / "transfer.json"
  if not transfer.is_file():
    run([py, "bench/eval_transfer.py", f"--workdir={work}", f"--json={transfer}"], log)
  return row(name, json.loads(results.read_text()), json.loads(transfer.read_text()),
             args.config_args)


def row(name: str, results: dict, transfer: dict, config_args: str = "") -> dict:
  """A table row from a run's results.json and eval_transfer's JSON."""
  out = {"variant": f"{name} ({config_args})" if config_args else name,
         "off": (", ".join(ABLATIONS[name]) or "—") if name in ABLATIONS
                else "— (+ " + ", ".join(ADDITIONS[name]) + ")",
         "synthetic_micro_f1": results.get("test/micro_f1")}
  for group, s in transfer["groups"].items():
    out[f"{group}_top1"] = f"{s['top1_correct']}/{s['files']}"
    out[f"{group}_mean_rank"] = s["mean_rank"]
  return out


def table(rows: list[dict]) -> str:
  """Markdown table of the rows (groups in the order of the first row)."""
  groups = [k[:-5] for k in rows[0] if k.endswith("_top1")]
  head = ["variant", "off", "synthetic test micro-F1"] + [
      f"{g} {m}" for g in groups for m in ("top-1", "mean rank")]
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
  for r in rows:
    f1 = r["synthetic_micro_f1"]
    cells = [r["variant"], r["off"], "—" if f1 is None else f"{f1:.3f}"]
    for g in groups:
      cells += [r.get(f"{g}_top1", "—"), f"{r.get(f'{g}_mean_rank', float('nan')):.2f}"]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--data_dir", required=True)
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--steps", type=int, default=1500)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--only", default="", help="comma-separated variants (default: all)")
  parser.add_argument("--config_args", default="",
                      help="appended to configs/instruments.py's argument string")
  parser.add_argument("--table", default="", help="also write the markdown table here")
  args = parser.parse_args(argv)
  names = [n for n in args.only.split(",") if n] or list(VARIANTS)
  unknown = sorted(set(names) - set(VARIANTS))
  if unknown:
    print(f"error: unknown variants {unknown}; choose from {', '.join(VARIANTS)}",
          file=sys.stderr)
    return 2
  rows = []
  for name in names:
    rows.append(variant(name, args))
    print(table(rows), flush=True)
  if args.table:
    pathlib.Path(args.table).write_text(table(rows) + "\n")
  return 0


if __name__ == "__main__":
  sys.exit(main())
