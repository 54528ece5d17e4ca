"""TFDS dataset builders, one folder per dataset; `python -m data_builders NAME` builds one.

Every builder writes `array_record` shards without TensorFlow (Tensor/ClassLabel/Text features
only), so grain can read them through `builder.as_data_source()`.
"""

from __future__ import annotations

import importlib
import os
import pathlib

from data_builders import tfds_compat
from instrax.errors import DatasetError

_HERE = pathlib.Path(__file__).parent
tfds_compat.install()  # splits over 1 GB spill to disk without TensorFlow


def names() -> list[str]:
  """Datasets that have a builder: the folders under data_builders/."""
  return sorted(p.name for p in _HERE.iterdir()
                if p.is_dir() and (p / "__init__.py").exists() and not p.name.startswith("_"))


def builder_class(name: str):
  """The TFDS builder class of dataset `name` (its folder name)."""
  if name not in names():
    raise DatasetError(f"Unknown dataset {name!r}. Builders: {', '.join(names())}.")
  module = importlib.import_module(f"data_builders.{name}")
  return module.Builder


def default_data_dir() -> str:
  """$INSTRAX_DATA_DIR, else ~/tensorflow_datasets."""
  return os.environ.get("INSTRAX_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets")


def get_builder(spec: str, data_dir: str | None = None, **kwargs):
  """Builder for `spec` = "name" or "name/config", reading/writing under `data_dir`."""
  name, _, config = spec.partition("/")
  cls = builder_class(name)
  if config:
    valid = [c.name for c in (cls.BUILDER_CONFIGS or [])]
    if config not in valid:
      raise DatasetError(f"Dataset {name!r} has no config {config!r}. Configs: {', '.join(valid)}.")
    kwargs["config"] = config
  return cls(data_dir=data_dir or default_data_dir(), file_format="array_record", **kwargs)


def prepare(spec: str, data_dir: str | None = None, manual_dir: str | os.PathLike | None = None,
            overwrite: bool = False, **kwargs):
  """Builds dataset `spec` under `data_dir` from the original files in `manual_dir`; returns the
  builder (an already built dataset is reused unless `overwrite`)."""
  import tensorflow_datasets as tfds

  builder = get_builder(spec, data_dir, **kwargs)
  mode = (tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS if overwrite
          else tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=None if manual_dir is None else os.fspath(manual_dir), download_mode=mode))
  return builder
