"""Exports a trained run for shipping: params only, no optimizer state.

    python -m instrax.export --workdir=RUN [--checkpoint=best] --output=shipped/NAME

writes `NAME/params.msgpack` (the evaluation parameters — the EMA when the run kept one — and the
batch statistics, flax msgpack), `NAME/config.json` (the run's config, with its machine-specific
`data_dir` blanked, and data format), `NAME/calibration.json` (the decoding parameters tuned on
validation for that checkpoint) and `NAME/export.json` (source run, step, parameter count, sha256
of the params file). `predict` loads such a folder like a run directory (`--workdir=shipped/NAME`,
or `--model=NAME`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from typing import Any

import jax
import numpy as np

from instrax.errors import CheckpointError, UserError

PARAMS_FILE = "params.msgpack"
INFO_FILE = "export.json"


def is_export(path: str) -> bool:
  return os.path.exists(os.path.join(path, PARAMS_FILE))


def export(workdir: str, output: str, checkpoint: str = "best") -> dict[str, Any]:
  """Writes the shipped folder `output` from checkpoint `checkpoint` of run `workdir`."""
  from flax import serialization

  from instrax import main, records
  from instrax.experiment import Experiment

  config, data_format = main.load_workdir_config(workdir)
  exp = Experiment(config, data_format)
  state, step = main.restore_state(exp, workdir, checkpoint)
  calibration = records.load_calibration(workdir, step)
  if calibration is None:
    raise CheckpointError(f"no calibration stored for step {step} of {workdir}; run "
                          f"`python launch.py --workdir={workdir} --mode=eval "
                          f"--checkpoint={step}` first")
  payload = jax.device_get({"params": state.eval_params(), "batch_stats": state.batch_stats})
  blob = serialization.msgpack_serialize(payload)
  os.makedirs(output, exist_ok=True)
  with open(os.path.join(output, PARAMS_FILE), "wb") as f:
    f.write(blob)
  shipped_config = config.to_dict()
  shipped_config["data_dir"] = ""  # a path on the training machine; predict reads no dataset
  if shipped_config.get("model", {}).get("pretrained"):
    shipped_config["model"]["pretrained"] = ""  # (musicnn) initial weights, now in params
  with open(os.path.join(output, "config.json"), "w") as f:
    json.dump({"config": shipped_config, "data_format": data_format.__dict__}, f, indent=2,
              sort_keys=True)
  records.save_calibration(output, 0, calibration)
  info = {"source": os.path.abspath(workdir), "checkpoint": checkpoint, "step": int(step),
          "parameters": int(sum(np.size(x) for x in jax.tree.leaves(payload["params"]))),
          "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
  with open(os.path.join(output, INFO_FILE), "w") as f:
    json.dump(info, f, indent=2, sort_keys=True)
  return info


def load_info(path: str) -> dict[str, Any]:
  """The export.json of an exported folder: {"source", "checkpoint", "step", "parameters",
  "bytes", "sha256"} (see `export`)."""
  with open(os.path.join(path, INFO_FILE)) as f:
    return json.load(f)


def load_state(exp, path: str):
  """A predict-only TrainState (step 0) from an exported folder, checked against exp's model."""
  from flax import serialization

  from instrax.train import checkpoints, sharding
  from instrax.train.state import TrainState

  abstract = exp.abstract_state()
  with open(os.path.join(path, PARAMS_FILE), "rb") as f:
    restored = serialization.msgpack_restore(f.read())
  want = checkpoints.param_shapes(abstract.params)
  got = checkpoints.param_shapes(restored.get("params", {}))
  if want != got:
    raise CheckpointError(f"{path}/{PARAMS_FILE} does not hold the parameters of the model its "
                          "config.json describes; re-export it.")
  template = {"params": abstract.params, "batch_stats": abstract.batch_stats}
  values = serialization.from_state_dict(template, restored)
  values = jax.device_put(values, sharding.replicated(exp.mesh))
  return TrainState(step=np.zeros((), np.int32), params=values["params"],
                    batch_stats=values["batch_stats"], opt_state={},
                    rng=np.zeros((2,), np.uint32), ema_params={},
                    nonfinite=np.zeros((), np.int32))


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m instrax.export", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--workdir", required=True, help="the run to export")
  parser.add_argument("--checkpoint", default="best", help="latest, best or a step number")
  parser.add_argument("--output", required=True, help="the folder to write (e.g. shipped/NAME)")
  args = parser.parse_args(argv)
  try:
    info = export(args.workdir, args.output, args.checkpoint)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  print(json.dumps(info, indent=2))
  return 0


if __name__ == "__main__":
  sys.exit(main())
