"""The config of an existing run (its config.json), for re-evaluating it with changed fields.

    python launch.py --workdir=RUN --mode=eval --config.task.aggregation=s2

launch.py loads this file for you when `--mode=eval` is given `--config.*` fields without a
config file; explicitly: `--config=configs/run.py:RUN`.
"""

from __future__ import annotations

import json
import os

import ml_collections

from instrax.errors import ConfigError


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  if not arg:
    raise ConfigError("configs/run.py needs the run directory: --config=configs/run.py:RUN")
  path = os.path.join(arg, "config.json")
  if not os.path.exists(path):
    raise ConfigError(f"{path} not found: {arg} is not an instrax run directory")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f)["config"])
