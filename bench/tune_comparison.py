"""MSSPT's claim on synthmix (issue #12, seeds.md §3): does separation pretraining help tagging?

  python bench/tune_comparison.py --workdir=/work/runs/tune_cmp --steps=150 --sep_steps=400 \\
      --seeds=0,1,2 --sources=vocals,other,multisource

(a) trains one separator per source on synthmix/demo (`configs/separation.py:synth,source=S`) and
scores it on the held-out test songs (SDR, BSSEval v4, and SI-SDR per source); (b) trains the
tagger on synthmix's OpenMIC tags (`configs/tagging.py:synth`) in each arm: the tail-only
baseline, TUne+ from a random U-Net and TUne+ initialised from each separator (`init=RUN`, the
documented `config.init` transfer), every arm with the same steps and seeds; (c) writes a
markdown table (mean ± sample standard deviation over seeds of test ROC-AUC and PR-AUC, and the
separators' SDR per source) to `<workdir>/table.md` and prints it.

Sources: synthmix groups its GM stems as musdb18 does (`instrax/tasks/separation.py`: vocals =
GM 52-54, the demo's "voice" program 52; bass 32-39; drums = the kit; other = the rest), so the
seed's vocals / other / multisource map one to one.

Every run is a `launch.py` subprocess, its directory `<workdir>/<arm>_s<seed>` (separators:
`sep_<source>`), its console output in `<workdir>/logs/`. A run whose results.json exists is
read, not rerun, so the script resumes after an interruption (a half-trained run resumes from
its own checkpoint). At most `--parallel` runs at once, each with XLA on one thread
(`XLA_FLAGS`, unless set in the environment): the project's CPU machine has 2 shared cores.
`--width_div`/`--frames` select the CPU-sized models (configs/tagging.py; 1 and 384 are the
seed's sizes).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = ("vocals", "other", "drums", "bass", "multisource")
MULTI = ("vocals", "other", "drums", "bass")  # the multisource separator's masks
TAG_METRICS = (("test/roc_auc", "ROC-AUC"), ("test/map", "PR-AUC"), ("test/micro_f1", "micro-F1"))
ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
REFERENCE = ("Reference (not comparable: real data, full-size models, full training): MTAT "
             "ROC-AUC 0.913 / PR-AUC 0.461 (Won et al. 2020, short-chunk ResNet); musdb18 SDR "
             "Open-Unmix 5.3, HT-Demucs 9.0, BS-RoFormer 9.8 dB.")


@dataclass
class Run:
  """One launch.py run: its directory name, config argument, overrides and prerequisite runs."""
  name: str
  config: str
  overrides: list[str]
  after: list[str] = field(default_factory=list)


def parse_list(text: str, valid: Sequence[str] | None = None) -> list[str]:
  """"a,b" → ["a", "b"]; ValueError naming the valid items for any other."""
  items = [s.strip() for s in text.split(",") if s.strip()]
  bad = [s for s in items if valid is not None and s not in valid]
  if not items or bad:
    raise ValueError(f"{text!r}: give a comma list of {', '.join(valid or ['items'])}")
  return items


def arms(sources: Sequence[str]) -> list[str]:
  """Tagging arms in table order: tail-only, TUne+ random, TUne+ from each separator."""
  return ["tail", "random", *(f"from_{s}" for s in sources)]


def plan(sources: Sequence[str], seeds: Sequence[int], steps: int, sep_steps: int, workdir: str,
         size: str, eval_examples: int) -> list[Run]:
  """Every run, separators first (the pretrained arms wait for theirs).

  Args:
    size: config arguments appended to both configs, e.g. "width_div=8,frames=192".
    eval_examples: eval.max_examples of every run (0 = whole splits).
  """
  common = [f"--config.eval.max_examples={eval_examples}"]
  runs = []
  for s in sources:
    runs.append(Run(f"sep_{s}", f"configs/separation.py:synth,source={s},{size}",
                    [*common, f"--config.train.num_steps={sep_steps}", "--config.seed=0",
                     "--config.train.eval_every=0",
                     f"--config.train.checkpoint_every={sep_steps}"]))
  for arm in arms(sources):
    for seed in seeds:
      arg = f"synth,{size}"
      after = []
      if arm == "tail":
        arg += ",model=tune_tail"
      elif arm.startswith("from_"):
        source = arm[len("from_"):]
        arg += f",init={os.path.join(workdir, f'sep_{source}')}"
        arg += ",multisource" if source == "multisource" else ""
        after = [f"sep_{source}"]
      runs.append(Run(f"{arm}_s{seed}", f"configs/tagging.py:{arg}",
                      [*common, f"--config.train.num_steps={steps}", f"--config.seed={seed}",
                       "--config.train.eval_every=0", f"--config.train.checkpoint_every={steps}"],
                      after))
  return runs


def read_results(run_dir: str) -> dict | None:
  """A finished run's results.json (None while it has none: not finished)."""
  path = os.path.join(run_dir, "results.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def mean_std(values: Sequence[float]) -> tuple[float, float, int]:
  """(mean, sample standard deviation (n − 1), n) of the finite values; NaN where undefined."""
  xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
  n = len(xs)
  if not n:
    return math.nan, math.nan, 0
  mean = sum(xs) / n
  std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else math.nan
  return mean, std, n


def fmt(mean: float, std: float, n: int, digits: int = 3) -> str:
  """"0.812 ± 0.004" ("—" when no value, no ± with one value)."""
  if not n:
    return "—"
  return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if n > 1 else "")


def tagging_table(workdir: str, sources: Sequence[str], seeds: Sequence[int]) -> str:
  """Markdown: per arm, mean ± std over the finished seeds of each TAG_METRICS value."""
  head = "| arm | seeds done | " + " | ".join(label for _, label in TAG_METRICS) + " |"
  rows = [head, "|---|---:|" + "---:|" * len(TAG_METRICS)]
  labels = {"tail": "tail-only", "random": "TUne+ (random U-Net)"}
  for arm in arms(sources):
    results = [read_results(os.path.join(workdir, f"{arm}_s{seed}")) for seed in seeds]
    done = [r for r in results if r is not None]
    cells = [fmt(*mean_std([r.get(key, math.nan) for r in done])) for key, _ in TAG_METRICS]
    name = labels.get(arm, f"TUne+ from {arm[len('from_'):]} separator")
    rows.append(f"| {name} | {len(done)}/{len(seeds)} | " + " | ".join(cells) + " |")
  return "\n".join(rows)


def separation_table(workdir: str, sources: Sequence[str]) -> str:
  """Markdown: per separator run, test SDR / SI-SDR (dB, median over songs) of each source."""
  rows = ["| separator | source | SDR (dB) | SI-SDR (dB) |", "|---|---|---:|---:|"]
  for s in sources:
    r = read_results(os.path.join(workdir, f"sep_{s}"))
    for name in (MULTI if s == "multisource" else (s,)):
      cells = ["—", "—"] if r is None else [
          fmt(r.get(f"test/{m}/{name}", math.nan), 0.0, 1, 2) for m in ("sdr", "si_sdr")]
      rows.append(f"| {s} | {name} | " + " | ".join(cells) + " |")
  return "\n".join(rows)


def report(workdir: str, sources: Sequence[str], seeds: Sequence[int], header: str) -> str:
  """The whole markdown report: header, tagging table, separation table, reference numbers."""
  return "\n\n".join([header, tagging_table(workdir, sources, seeds),
                      separation_table(workdir, sources), REFERENCE]) + "\n"


def _command(run: Run, workdir: str, python: str) -> list[str]:
  return [python, os.path.join(REPO, "launch.py"), f"--config={os.path.join(REPO, run.config)}",
          f"--workdir={os.path.join(workdir, run.name)}", *run.overrides]


def execute(runs: list[Run], workdir: str, parallel: int, python: str) -> dict[str, float]:
  """Runs the unfinished `runs`, at most `parallel` at once, each after its prerequisites;
  returns wall seconds per run started. Raises RuntimeError naming a failed run and its log."""
  env = dict(os.environ)
  env.setdefault("XLA_FLAGS", ONE_THREAD)
  os.makedirs(os.path.join(workdir, "logs"), exist_ok=True)
  pending = [r for r in runs if read_results(os.path.join(workdir, r.name)) is None]
  done = {r.name for r in runs} - {r.name for r in pending}
  running: dict[str, tuple[subprocess.Popen, float, object]] = {}
  walls = {}
  while pending or running:
    for run in list(pending):
      if len(running) >= parallel:
        break
      if all(a in done for a in run.after):
        # Closed when the run ends (below): it outlives this block.
        log = open(os.path.join(workdir, "logs", f"{run.name}.log"), "a")  # noqa: SIM115
        print(f"[{time.strftime('%H:%M:%S')}] start {run.name}", flush=True)
        proc = subprocess.Popen(_command(run, workdir, python), cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        running[run.name] = (proc, time.time(), log)
        pending.remove(run)
    time.sleep(2)
    for name, (proc, start, log) in list(running.items()):
      if proc.poll() is None:
        continue
      log.close()
      del running[name]
      walls[name] = time.time() - start
      if proc.returncode or read_results(os.path.join(workdir, name)) is None:
        for other, _, _ in running.values():
          other.terminate()
        raise RuntimeError(f"{name} failed (exit {proc.returncode}); see "
                           f"{os.path.join(workdir, 'logs', name + '.log')}")
      done.add(name)
      print(f"[{time.strftime('%H:%M:%S')}] done  {name} in {walls[name]:.0f} s", flush=True)
  return walls


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
  """The command line (argparse: importing this module defines no global flags)."""
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", required=True,
                      help="where the runs go (outside the repository)")
  parser.add_argument("--steps", type=int, default=150, help="training steps of every tagging run")
  parser.add_argument("--sep_steps", type=int, default=400,
                      help="training steps of every separator run")
  parser.add_argument("--seeds", default="0,1,2", help="comma list of tagging seeds (≥ 3)")
  parser.add_argument("--sources", default="vocals,other,multisource",
                      help=f"separators to pretrain: a comma list of {', '.join(SOURCES)}")
  parser.add_argument("--width_div", type=int, default=8,
                      help="filter counts ÷ this (1 = the seed's models)")
  parser.add_argument("--frames", type=int, default=192,
                      help="crop/window frames (384 = the seed's)")
  parser.add_argument("--eval_examples", type=int, default=0,
                      help="eval.max_examples of every run (0 = all)")
  parser.add_argument("--parallel", type=int, default=2, help="runs at once")
  parser.add_argument("--table", default="", help="markdown output (default <workdir>/table.md)")
  return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
  args = parse_args(argv)
  workdir = os.path.abspath(args.workdir)
  sources = parse_list(args.sources, SOURCES)
  seeds = [int(s) for s in parse_list(args.seeds)]
  size = f"width_div={args.width_div},frames={args.frames}"
  runs = plan(sources, seeds, args.steps, args.sep_steps, workdir, size, args.eval_examples)
  start = time.time()
  walls = execute(runs, workdir, args.parallel, sys.executable)
  header = (f"synthmix/demo, {size}, tagging {args.steps} steps × seeds {args.seeds}, "
            f"separators {args.sep_steps} steps; {len(walls)} runs trained in "
            f"{(time.time() - start) / 60:.1f} min wall (the others read from results.json). "
            "Test split; mean ± sample std over seeds.")
  text = report(workdir, sources, seeds, header)
  path = args.table or os.path.join(workdir, "table.md")
  with open(path, "w") as f:
    f.write(text)
  print(text)
  print(f"Table: {path}")


if __name__ == "__main__":
  main()
