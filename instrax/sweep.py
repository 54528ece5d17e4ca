"""Runs a config's `get_hyper` sweep: one launch.py run (trial) per setting, each in its own
workdir, on this machine's devices or as one SLURM job array.

  python -m instrax.sweep --config=configs/demo.py --root=runs/demo --devices=0,1,2,3
  python -m instrax.sweep --config=configs/demo.py --root=runs/demo --slurm --partition=gpu \\
      --gpus=1 --time=120 --max_parallel=8
  python -m instrax.sweep --config=configs/demo.py --root=runs/demo --only=0,3-5 --dry_run
  python -m instrax.sweep --config=configs/demo.py --root=runs/demo --collect

Trial i runs in `<root>/<NNN-name>/`, its output appended to `<root>/<NNN-name>.log`. Locally, each
trial is pinned to one listed GPU (CUDA_VISIBLE_DEVICES), one trial per entry at a time
(`--devices=cpu,cpu` runs two CPU trials). With --slurm the trials are one job array (submitit),
resources from the flags or the config file's `SLURM = {...}` dict (keys as the flags); a trial
signalled by SLURM checkpoints and requeues itself (instrax/slurm.py), and a job after the array
writes the results table. A finished trial (results.json) is skipped, a queued one left alone, an
interrupted one resumes from its checkpoint: re-running the command completes a sweep.
Besides its own flags, only `--config.a.b=value` overrides (for every trial) are accepted.
The results go to `<root>/sweep_results.csv`, headline metrics first, ranked by
`<eval_split>/<train.best_metric>`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import importlib.util
import json
import os
import subprocess
import sys
import time
from types import ModuleType
from typing import Any

from instrax import hyper
from instrax.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass(frozen=True)
class Trial:
  """One setting of the sweep: index, name, {"config.a.b": value}, workdir, log, command."""

  index: int
  name: str
  setting: dict[str, Any]
  workdir: str
  log: str
  command: tuple[str, ...]

  def done(self) -> bool:
    return os.path.exists(os.path.join(self.workdir, "results.json"))


def load_module(config: str) -> ModuleType:
  """The config file of `config` (a path, optionally with :args), imported."""
  path = config.partition(":")[0]
  spec = importlib.util.spec_from_file_location("_sweep_config", path)
  if spec is None or not os.path.exists(path):
    raise ConfigError(f"config file {path} not found")
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)
  return mod


def load_sweep(config: str) -> list[dict]:
  """The settings of `get_hyper` in config file `config` (a path, optionally with :args)."""
  mod = load_module(config)
  if not hasattr(mod, "get_hyper"):
    raise ConfigError(f"{config} defines no get_hyper(h)")
  return mod.get_hyper(hyper)


def base_config(mod: ModuleType, config: str):
  """get_config of the config file, with the :args of `config`."""
  _, sep, arg = config.partition(":")
  return mod.get_config(arg) if sep else mod.get_config()


def check_overrides(cfg, extra: list[str], settings: list[dict]) -> None:
  """Every pass-through flag must be --config.<existing field>=value; ConfigError otherwise."""
  paths = [k for s in settings for k in s]
  for arg in extra:
    key = arg.split("=", 1)[0]
    if not arg.startswith("--config.") or "=" not in arg:
      raise ConfigError(f"unknown flag {arg!r}: besides its own flags (--help), the sweep accepts "
                        "only config overrides written --config.a.b=value")
    paths.append(key[2:])
  for path in dict.fromkeys(paths):
    node = cfg
    for part in path.split(".")[1:]:
      if not hasattr(node, "keys") or part not in node:
        raise ConfigError(f"unknown config field {path} (in the sweep or its flags); the fields "
                          "are those of the config file")
      node = node[part]


def plan(config: str, root: str, extra: list[str], settings: list[dict]) -> list[Trial]:
  """The trials: absolute paths, so that they run from any directory (and on any node)."""
  path, sep, arg = config.partition(":")
  config = os.path.abspath(path) + sep + arg
  trials = []
  for i, setting in enumerate(settings):
    name = hyper.run_name(i, setting)
    workdir = os.path.join(root, name)
    command = (sys.executable, os.path.join(ROOT, "launch.py"), f"--config={config}",
               f"--workdir={workdir}", *hyper.to_flags(setting), *extra)
    trials.append(Trial(i, name, setting, workdir, f"{workdir}.log", command))
  return trials


def select(trials: list[Trial], only: str) -> list[Trial]:
  """The trials named by `only`: a comma list of indices, ranges a-b and run names."""
  if not only:
    return trials
  by_name = {t.name: t for t in trials}
  chosen: dict[int, Trial] = {}
  for item in only.split(","):
    item = item.strip()
    if item in by_name:
      chosen[by_name[item].index] = by_name[item]
      continue
    lo, _, hi = item.partition("-")
    if not (lo.isdigit() and (hi.isdigit() or not hi)):
      raise ConfigError(f"--only: {item!r} is neither an index, a range a-b nor a run name")
    for i in range(int(lo), int(hi or lo) + 1):
      if i >= len(trials):
        raise ConfigError(f"--only: index {i} out of range; this sweep has trials 0-"
                          f"{len(trials) - 1}")
      chosen[i] = trials[i]
  return [chosen[i] for i in sorted(chosen)]


def run_local(trials: list[Trial], devices: list[str]) -> list[str]:
  """Runs the trials, at most one per entry of `devices` at a time; the names of failed ones."""
  free, pending = list(devices), list(trials)
  active: dict[str, tuple[subprocess.Popen, str]] = {}
  failed = []
  while pending or active:
    while pending and free:
      trial, device = pending.pop(0), free.pop(0)
      env = dict(os.environ)
      if device != "cpu":
        env["CUDA_VISIBLE_DEVICES"] = device
      with open(trial.log, "a") as log:  # an interrupted trial's log is kept
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} device {device} ===\n")
        log.flush()
        active[trial.name] = (subprocess.Popen(trial.command, env=env, stdout=log,
                                               stderr=subprocess.STDOUT, cwd=ROOT), device)
    time.sleep(1.0)
    for name, (proc, device) in list(active.items()):
      if proc.poll() is not None:
        del active[name]
        free.append(device)
        if proc.returncode:
          failed.append(name)
        print(f"{name}: {'done' if not proc.returncode else f'FAILED ({proc.returncode})'}")
  return failed


def headline(cfg) -> tuple[str, str, str]:
  """(ranking metric, its test-split counterpart, "max"|"min") from the config."""
  metric = cfg.train.best_metric or "loss"
  return (f"{cfg.dataset.eval_split}/{metric}", f"{cfg.dataset.test_split}/{metric}",
          cfg.train.best_mode if cfg.train.best_metric else "min")


def collect(trials: list[Trial], root: str, rank_by: tuple[str, str, str]) -> list[dict]:
  """Writes `<root>/sweep_results.csv` of the finished trials, best first; returns its rows.

  Columns: run, the ranking metric, its test counterpart, the other test-split metrics, the
  swept settings, then everything else in results.json.
  """
  key, test_key, mode = rank_by
  rows = []
  for t in trials:
    if t.done():
      with open(os.path.join(t.workdir, "results.json")) as f:
        rows.append({"run": t.name, **t.setting, **json.load(f)})
  sign = -1 if mode == "max" else 1
  rows.sort(key=lambda r: (key not in r, sign * float(r.get(key, 0.0)), r["run"]))
  if rows:
    names = list(dict.fromkeys(k for r in rows for k in r))
    test_prefix = test_key.split("/")[0] + "/"
    first = ["run", key, test_key]
    first += [k for k in names if k.startswith(test_prefix) and k.count("/") == 1]
    first += [k for t in trials for k in t.setting]
    fields = [k for k in dict.fromkeys(first) if k in names or k == "run"]
    fields += [k for k in names if k not in fields]
    with open(os.path.join(root, "sweep_results.csv"), "w", newline="") as f:
      w = csv.DictWriter(f, fieldnames=fields)
      w.writeheader()
      w.writerows(rows)
  return rows


def table(rows: list[dict], rank_by: tuple[str, str, str]) -> str:
  """The ranked results as text: rank, run, ranking metric, test metric."""
  key, test_key, _ = rank_by
  head = ["#", "run", key, test_key]
  body = [[str(i + 1), r["run"], *(f"{r[k]:.4f}" if isinstance(r.get(k), float) else "-"
                                   for k in (key, test_key))] for i, r in enumerate(rows)]
  widths = [max(len(x) for x in col) for col in zip(head, *body)]
  lines = ["  ".join(x.ljust(w) for x, w in zip(line, widths)) for line in [head, *body]]
  return "\n".join(lines)


def collect_and_print(trials: list[Trial], root: str, rank_by: tuple[str, str, str]) -> int:
  """Writes the CSV, prints the ranked table and what is not finished; the number unfinished."""
  rows = collect(trials, root, rank_by)
  if rows:
    print(f"\n{len(rows)} of {len(trials)} trial(s) finished; best first "
          f"({os.path.join(root, 'sweep_results.csv')}):\n")
    print(table(rows, rank_by))
  missing = [t.name for t in trials if not t.done()]
  if missing:
    print(f"\nnot finished: {', '.join(missing)}")
  return len(missing)


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog="python -m instrax.sweep", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              allow_abbrev=False)
  p.add_argument("--config", required=True, help="config file[:args] defining get_hyper")
  p.add_argument("--root", required=True, help="folder holding one workdir per trial")
  p.add_argument("--only", default="", help="trials to run: indices, ranges a-b, run names")
  p.add_argument("--dry_run", action="store_true", help="print the trials and exit")
  p.add_argument("--collect", action="store_true", help="only write and print the results table")
  p.add_argument("--devices", default="0", help="local: comma list of GPU ids or 'cpu' entries")
  s = p.add_argument_group("SLURM (defaults from the config file's SLURM dict)")
  s.add_argument("--slurm", action="store_true", help="submit the trials as a SLURM job array")
  s.add_argument("--partition", default=None)
  s.add_argument("--gpus", type=int, default=None, help="GPUs per trial")
  s.add_argument("--cpus", type=int, default=None, help="CPUs per trial")
  s.add_argument("--time", type=int, default=None, help="time limit per trial, minutes")
  s.add_argument("--mem", type=float, default=None, help="memory per trial, GB")
  s.add_argument("--max_parallel", type=int, default=None, help="trials running at once")
  s.add_argument("--signal_delay_s", type=int, default=None,
                 help="seconds before the time limit at which a trial checkpoints and requeues")
  return p


def main(argv: list[str] | None = None) -> int:
  args, extra = _parser().parse_known_args(argv)
  try:
    return _main(args, extra)
  except ConfigError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2


def _main(args: argparse.Namespace, extra: list[str]) -> int:
  mod = load_module(args.config)
  settings = load_sweep(args.config)
  cfg = base_config(mod, args.config)
  check_overrides(cfg, extra, settings)
  root = os.path.abspath(args.root)
  trials = select(plan(args.config, root, extra, settings), args.only)
  rank_by = headline(cfg)
  if args.collect:
    collect_and_print(trials, root, rank_by)
    return 0
  todo = [t for t in trials if not t.done()]
  for t in trials:
    print(f"{t.name}{'  (done)' if t.done() else ''}\n  launch.py {' '.join(t.command[2:])}")
  if args.slurm:
    return _submit(args, mod, trials, todo, root, rank_by)
  if args.dry_run:
    return 0
  os.makedirs(root, exist_ok=True)
  failed = run_local(todo, args.devices.split(","))
  collect_and_print(trials, root, rank_by)
  if failed:
    print(f"{len(failed)} trial(s) failed; see their .log files: {', '.join(failed)}")
  return 1 if failed else 0


def _submit(args, mod, trials, todo, root, rank_by) -> int:
  from instrax import slurm

  flag_values = {k: getattr(args, k) for k in slurm.RESOURCE_KEYS if hasattr(args, k)}
  resources = slurm.Resources.from_sources(getattr(mod, "SLURM", {}), flag_values)
  ids_path = os.path.join(root, "slurm", "jobs.json")
  ids = slurm.load_ids(ids_path)
  live = slurm.queued([ids[t.name] for t in todo if t.name in ids])
  for t in todo:
    if ids.get(t.name) in live:
      print(f"{t.name}: still {live[ids[t.name]].lower()} as job {ids[t.name]}; left alone")
  todo = [t for t in todo if ids.get(t.name) not in live]
  print(f"\nSLURM: {len(todo)} trial(s) to submit as one array, each {resources}")
  if args.dry_run or not todo:
    return 0
  ex = slurm.executor(os.path.join(root, "slurm"), resources, os.path.basename(root))
  jobs = [slurm.TrialJob(t.command, t.log, ROOT) for t in todo]
  then = functools.partial(collect_and_print, trials, root, rank_by)
  new = slurm.submit(ex, jobs, then)
  ids.update({t.name: j for t, j in zip(todo, new)})
  slurm.save_ids(ids_path, ids)
  print(f"submitted job array {new[0].split('_')[0]} ({len(new)} trial(s)); the results table is "
        f"written when they end, or now with --collect. Logs: {root}/<trial>.log, {root}/slurm/")
  return 0


if __name__ == "__main__":
  sys.exit(main())
