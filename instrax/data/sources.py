"""Finding a built TFDS dataset (building embedded ones on first use) and opening its splits."""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any

import tensorflow_datasets as tfds

import data_builders
from instrax.errors import DatasetError

# Datasets rendered from material shipped with the code: built automatically when missing.
EMBEDDED = ("synthmix",)


#: features decoded whenever the dataset has them and the task reads "audio": `gain`, the factor
#: a builder scaled a louder-than-full-scale file by to store it as int16 (divided back out by
#: `transforms.example_audio`).
OPTIONAL_FEATURES = ("gain",)


@dataclasses.dataclass(frozen=True)
class Dataset:
  """A built dataset: its builder, per-split random-access sources and its audio metadata."""

  builder: Any
  spec: str

  @property
  def metadata(self) -> dict[str, Any]:
    return dict(self.builder.info.metadata or {})

  @property
  def sample_rate(self) -> int | None:
    return self.metadata.get("sample_rate")

  @property
  def channels(self) -> int | None:
    return self.metadata.get("channels")

  def source(self, split: str, features: tuple[str, ...] | None = None):
    """grain-readable random-access source of `split`, decoding only `features` (None: all).

    An empty or unknown split, or a feature the dataset lacks, is an error.
    """
    splits = self.builder.info.splits
    if split not in splits:
      raise DatasetError(f"{self.spec} has no split {split!r}; splits: {', '.join(splits)}.")
    if splits[split].num_examples == 0:
      raise DatasetError(f"Split {split!r} of {self.spec} is empty; rebuild the dataset or "
                         "choose another split.")
    if features is None:
      return self.builder.as_data_source(split=split)
    available = list(self.builder.info.features)
    # Read with the audio whenever a dataset has them (see `OPTIONAL_FEATURES`).
    features = (*features, *(f for f in OPTIONAL_FEATURES
                             if f in available and f not in features and "audio" in features))
    missing = [f for f in features if f not in available]
    if missing:
      raise DatasetError(f"{self.spec} has no feature(s) {missing} (check the task's *_key "
                         "fields, or turn off the training augmentation that reads them, e.g. "
                         f"task.remix_prob needs stems); its features: {', '.join(available)}.")
    skip = {f: tfds.decode.SkipDecoding() for f in available if f not in features}
    return self.builder.as_data_source(split=split, decoders=skip)


def load(spec: str, data_dir: str | None = None, build_if_missing: bool | None = None) -> Dataset:
  """Opens dataset `spec` ("name[/config]") under `data_dir`.

  Embedded datasets are built on first use; a missing external one is an error that says where it
  was looked for and how to build it.
  """
  data_dir = data_dir or data_builders.default_data_dir()
  name = spec.partition("/")[0]
  builder = data_builders.get_builder(spec, data_dir)
  if _is_prepared(builder):
    return Dataset(builder, spec)
  other = _other_versions(builder)
  if other:
    raise DatasetError(
        f"{spec}: found version(s) {', '.join(other)} under {os.path.dirname(builder.data_dir)}, "
        f"but this code reads version {builder.version}. Rebuild it: python -m data_builders "
        f"{spec} --data_dir={data_dir} (add --manual_dir=... for datasets you downloaded).")
  if build_if_missing is None:
    build_if_missing = name in EMBEDDED
  if not build_if_missing:
    raise DatasetError(
        f"Dataset {spec} is not built: nothing at {builder.data_dir}.\n"
        f"Build it with: python -m data_builders {spec} --data_dir={data_dir} "
        f"--manual_dir=<folder where you extracted {name}>\n"
        f"(or set --config.data_dir / $INSTRAX_DATA_DIR to where it is built).")
  logging.info("Building embedded dataset %s in %s (first use)", spec, data_dir)
  builder.download_and_prepare()
  return Dataset(builder, spec)


def _is_prepared(builder) -> bool:
  return os.path.exists(os.path.join(builder.data_dir, "dataset_info.json"))


def _other_versions(builder) -> list[str]:
  parent = os.path.dirname(builder.data_dir)
  if not os.path.isdir(parent):
    return []
  return sorted(v for v in os.listdir(parent)
                if v != str(builder.version) and os.path.exists(
                    os.path.join(parent, v, "dataset_info.json")))
