"""instrax entry point.

  python launch.py --config=configs/demo.py --workdir=/tmp/demo
  python launch.py --config=configs/irmas.py:synth,tiny --workdir=DIR --config.train.num_steps=50
  python launch.py --workdir=DIR --mode=eval --checkpoint=best
"""

from __future__ import annotations

import os
import sys

from absl import app, flags
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file[:args].", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory (checkpoints, logs, results).")
_MODE = flags.DEFINE_enum("mode", "train_and_eval", ["train", "eval", "train_and_eval"],
                          "What to do.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", "latest",
                                  "For --mode=eval: latest, best or a step number.")
_ALLOW_CHANGE = flags.DEFINE_bool(
    "allow_config_change", False,
    "Continue a run whose config.json differs from --config (the differing fields change).")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None,
                                   "host:port of process 0, for multi-process runs.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Processes in a multi-process run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index.")
flags.mark_flag_as_required("workdir")


def main(argv: list[str]) -> int:
  del argv
  from instrax import logs

  logs.configure(flags.FLAGS.verbosity)  # before anything logs: libraries at WARNING by default
  from instrax import cluster
  from instrax import main as instrax_main
  from instrax.errors import UserError

  # Multi-process: these flags, or nothing under `srun` (read from SLURM; docs/clusters.md).
  cluster.init_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  try:
    instrax_main.run(_CONFIG.value, _WORKDIR.value, _MODE.value, _CHECKPOINT.value,
                     allow_config_change=_ALLOW_CHANGE.value)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 0


def _eval_overrides(argv: list[str]) -> list[str]:
  """`--mode=eval --config.task.X=Y` without a config file: the run's own config.json is the base
  (configs/run.py), so only the overridden fields change."""
  if any(a == "--config" or a.startswith("--config=") for a in argv):
    return argv
  if "--mode=eval" not in argv or not any(a.startswith("--config.") for a in argv):
    return argv
  workdir = next((a.split("=", 1)[1] for a in argv if a.startswith("--workdir=")), None)
  if not workdir:
    return argv
  run_config = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs", "run.py")
  return [argv[0], f"--config={run_config}:{workdir}", *argv[1:]]


def _parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, with an unknown --config.* field as one line instead of a traceback."""
  from instrax.errors import UserError

  argv = _eval_overrides(argv)
  try:
    return flags.FLAGS(argv)
  except UserError as e:  # raised by a config file's get_config (e.g. an unknown string arg)
    print(f"error: {e}", file=sys.stderr)
  except flags.Error as e:
    print(f"error: {e}\nPass --helpshort to see the flags.", file=sys.stderr)
  except (AttributeError, KeyError) as e:  # ml_collections: a --config.* path that does not exist
    text = e
    while isinstance(text, BaseException) and text.args:  # a KeyError inside an AttributeError
      text = text.args[0]
    given = " ".join(a.split("=")[0] for a in argv[1:] if a.startswith("--config."))
    print(f"error: unknown config field {str(text).replace(chr(10), '; ')} (in {given}). The "
          "fields are those of the config file; see configs/default.py.", file=sys.stderr)
  sys.exit(2)


def cli() -> None:
  """The `instrax-launch` command (`pip install -e .`): the same as `python launch.py`."""
  app.run(main, flags_parser=_parse_flags)


if __name__ == "__main__":
  cli()
