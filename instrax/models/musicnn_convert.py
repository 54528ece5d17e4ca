"""The musicnn weights in the musicnn 0.1.0 wheel on PyPI → `instrax.models.musicnn.Musicnn`
variables, without TensorFlow: `MTT_musicnn` (trained on MagnaTagATune, the default) or
`MSD_musicnn` (the same network trained on the Million Song Dataset's last.fm tags; Pons & Serra
2019, "musicnn: pre-trained convolutional neural networks for music audio tagging").

  python -m instrax.models.musicnn_convert                  # → DEFAULT_OUTPUT (MTT_musicnn)
  python -m instrax.models.musicnn_convert --checkpoint=MSD_musicnn   # → output_path(MSD_musicnn)
  python -m instrax.models.musicnn_convert --wheel=musicnn-0.1.0-py3-none-any.whl --output=F

The wheel (29 MB; ISC licence, © Music Technology Group, Universitat Pompeu Fabra 2019) is
downloaded from PyPI unless `--wheel` gives it (`pip download musicnn==0.1.0 --no-deps`), checked
against its pinned SHA-256, and its TensorFlow checkpoint read with `tf_checkpoint`. Layers map by
creation order in `musicnn.models.build_musicnn` (conv2d … conv2d_7, batch_normalization … _10,
dense, dense_1); TensorFlow's HWIO kernels are Flax's layout, the mid-end's (7, C, 1, 64) kernels
become Conv1D (7, C, 64). musicnn's input is log10(10000·mel + 1) = 4 + log10(mel + 1e-4), our
frontend's log10(mel + 1e-4): the constant is folded into the input BatchNorm's mean (μ − 4).
The output is one msgpack file of {"params", "batch_stats"} (3.2 MB).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import zipfile
from typing import Any

import numpy as np
from flax import serialization, traverse_util

from instrax import download
from instrax.errors import ConfigError, DatasetError
from instrax.models import tf_checkpoint

WHEEL = "musicnn-0.1.0-py3-none-any.whl"
WHEEL_URL = ("https://files.pythonhosted.org/packages/1b/6f/38229e7d99c438e11114bbfa39c8c39185458c3"
             "98011d0b6d7d7c7401617/" + WHEEL)
WHEEL_SHA256 = "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"
CHECKPOINTS = ("MTT_musicnn", "MSD_musicnn")  # same network, 50 tags each; musicnn/<name>/ inside
CACHE_DIR = pathlib.Path("~/.cache/instrax/musicnn")  # converted weights: <checkpoint>.msgpack
LOG_SHIFT = 4.0  # log10(10000·x + 1) − log10(x + 1e-4)

_CONVS = {"timbral_38_conv": "conv2d", "timbral_67_conv": "conv2d_1",
          "temporal_128_conv": "conv2d_2", "temporal_64_conv": "conv2d_3",
          "temporal_32_conv": "conv2d_4", "midend_1_conv": "conv2d_5",
          "midend_2_conv": "conv2d_6", "midend_3_conv": "conv2d_7"}
_NORMS = {"input_norm": "batch_normalization", "timbral_38_norm": "batch_normalization_1",
          "timbral_67_norm": "batch_normalization_2", "temporal_128_norm": "batch_normalization_3",
          "temporal_64_norm": "batch_normalization_4", "temporal_32_norm": "batch_normalization_5",
          "midend_1_norm": "batch_normalization_6", "midend_2_norm": "batch_normalization_7",
          "midend_3_norm": "batch_normalization_8", "pool_norm": "batch_normalization_9",
          "penultimate_norm": "batch_normalization_10"}
_DENSES = {"penultimate": "dense", "head": "dense_1"}


def fetch_wheel(cache_dir: str | os.PathLike) -> pathlib.Path:
  """The musicnn wheel in `cache_dir`, downloaded from PyPI if absent. RuntimeError when the
  download fails or the file's SHA-256 is not the pinned one."""
  return download.fetch(WHEEL_URL, pathlib.Path(cache_dir).expanduser() / WHEEL, WHEEL_SHA256,
                        "sha256", "Fetch it by hand (`pip download musicnn==0.1.0 --no-deps`) "
                        "and pass --wheel=PATH")


def check_wheel(path: str | os.PathLike) -> None:
  """RuntimeError unless `path` is the pinned musicnn 0.1.0 wheel."""
  download.check(path, WHEEL_SHA256, "sha256")


def output_path(checkpoint: str = "MTT_musicnn") -> pathlib.Path:
  """Where the converted `checkpoint` goes by default: ~/.cache/instrax/musicnn/<name>.msgpack."""
  return CACHE_DIR / f"{checkpoint}.msgpack"


DEFAULT_OUTPUT = output_path()  # MTT_musicnn's


def read_wheel(path: str | os.PathLike, checkpoint: str = "MTT_musicnn") -> dict[str, np.ndarray]:
  """The tensors (by TensorFlow variable name) of `checkpoint` (one of CHECKPOINTS) from the
  wheel. ConfigError for another name; DatasetError when the wheel lacks it."""
  if checkpoint not in CHECKPOINTS:
    raise ConfigError(f"musicnn checkpoint {checkpoint!r}; choose one of {CHECKPOINTS}")
  prefix = f"musicnn/{checkpoint}/"
  with zipfile.ZipFile(path) as wheel, tempfile.TemporaryDirectory() as tmp:
    names = [n for n in wheel.namelist() if n.startswith(prefix) and "/." in n]
    if not names:
      raise DatasetError(f"{path}: no {prefix} checkpoint inside")
    for name in names:
      wheel.extract(name, tmp)  # only the checkpoint's own member names, under tmp
    return tf_checkpoint.load(os.path.join(tmp, prefix))


def convert(tensors: dict[str, np.ndarray]) -> dict[str, Any]:
  """{"params", "batch_stats"} of `Musicnn(num_classes=50)` from the checkpoint's tensors.
  DatasetError names a missing tensor."""
  def get(name: str) -> np.ndarray:
    if name not in tensors:
      raise DatasetError(f"musicnn checkpoint: tensor {name!r} missing")
    return np.asarray(tensors[name], np.float32)

  params: dict[str, Any] = {}
  stats: dict[str, Any] = {}
  for ours, theirs in _CONVS.items():
    kernel = get(f"{theirs}/kernel")
    if ours.startswith("midend"):
      kernel = kernel[:, :, 0, :]  # (7, C, 1, 64) over a (T, C, 1) map = Conv1D over (T, C)
    params[ours] = {"kernel": kernel, "bias": get(f"{theirs}/bias")}
  for ours, theirs in _NORMS.items():
    params[ours] = {"scale": get(f"{theirs}/gamma"), "bias": get(f"{theirs}/beta")}
    stats[ours] = {"mean": get(f"{theirs}/moving_mean"), "var": get(f"{theirs}/moving_variance")}
  stats["input_norm"]["mean"] = stats["input_norm"]["mean"] - LOG_SHIFT
  for ours, theirs in _DENSES.items():
    params[ours] = {"kernel": get(f"{theirs}/kernel"), "bias": get(f"{theirs}/bias")}
  return {"params": params, "batch_stats": stats}


def save(variables: dict[str, Any], output: str | os.PathLike) -> pathlib.Path:
  """Write `variables` as msgpack to `output` (atomically: a .partial file renamed)."""
  output = pathlib.Path(output).expanduser()
  output.parent.mkdir(parents=True, exist_ok=True)
  partial = output.with_suffix(".partial")
  partial.write_bytes(serialization.msgpack_serialize(variables))
  os.replace(partial, output)
  return output


def load_into(path: str | os.PathLike, variables: dict[str, Any]) -> dict[str, Any]:
  """`variables` ({"params", "batch_stats"} of a Musicnn) with the converted weights at `path`
  put in: every layer, and the output layer only when its shape fits (num_classes = 50).
  DatasetError when the file is missing or a layer's shape differs."""
  path = pathlib.Path(path).expanduser()
  if not path.is_file():
    raise DatasetError(f"{path}: no converted musicnn weights; run `python -m "
                       f"instrax.models.musicnn_convert --checkpoint=NAME --output={path}` with "
                       f"NAME one of {', '.join(CHECKPOINTS)} (or `make pretrained`)")
  weights = serialization.msgpack_restore(path.read_bytes())
  out = dict(variables)
  for collection in ("params", "batch_stats"):
    target = traverse_util.flatten_dict(dict(variables.get(collection, {})), sep="/")
    source = traverse_util.flatten_dict(weights.get(collection, {}), sep="/")
    for key, value in source.items():
      if key not in target:
        raise DatasetError(f"{path}: {collection} {key} has no place in the model")
      if tuple(target[key].shape) != tuple(value.shape):
        if key.startswith("head/"):
          continue  # another vocabulary: a fresh head
        raise DatasetError(f"{path}: {collection} {key} is {value.shape}, the model's "
                           f"{tuple(target[key].shape)}")
      target[key] = np.asarray(value, target[key].dtype)
    out[collection] = traverse_util.unflatten_dict(target, sep="/")
  return out


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--checkpoint", default="MTT_musicnn", choices=CHECKPOINTS,
                      help="MTT_musicnn (MagnaTagATune) or MSD_musicnn (Million Song Dataset)")
  parser.add_argument("--output", default=None, help="default ~/.cache/instrax/musicnn/"
                      "<checkpoint>.msgpack")
  parser.add_argument("--wheel", default=None, help="a local musicnn-0.1.0 wheel (else PyPI)")
  parser.add_argument("--cache_dir", default="~/.cache/instrax/pypi")
  parser.add_argument("--force", action="store_true", help="convert again over an existing file")
  args = parser.parse_args(argv)
  output = pathlib.Path(args.output or output_path(args.checkpoint)).expanduser()
  if output.exists() and not args.force:
    print(f"musicnn: {output} exists (--force converts again)")
    return 0
  try:
    wheel = pathlib.Path(args.wheel) if args.wheel else fetch_wheel(args.cache_dir)
    check_wheel(wheel)
    save(convert(read_wheel(wheel, args.checkpoint)), output)
  except (RuntimeError, DatasetError, OSError, zipfile.BadZipFile) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  print(f"musicnn: wrote {output} ({output.stat().st_size / 1e6:.1f} MB)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
