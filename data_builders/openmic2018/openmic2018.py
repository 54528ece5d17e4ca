"""OpenMIC-2018: 20,000 10-s FMA excerpts with partial relevance labels for 20 instruments.

Labels come from `openmic-2018.npz` (see layout.py for why, and for the CSV cross-check), with the
three documented errata applied. Audio is decoded and resampled once, here, at build time.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

from data_builders.common import (
    FAIL,
    SKIP,
    AudioReader,
    LocalBuild,
    log_os_metadata,
    warn_unofficial_counts,
)
from data_builders.openmic2018 import layout
from instrax.data.vocabularies import OPENMIC
from instrax.errors import AudioDecodeError, ConfigError, DatasetError

_CITATION = """@inproceedings{humphrey2018openmic,
  title={OpenMIC-2018: An open data-set for multiple instrument recognition},
  author={Humphrey, Eric J. and Durand, Simon and McFee, Brian},
  booktitle={ISMIR}, year={2018}}"""


@dataclasses.dataclass
class Openmic2018Config(tfds.core.BuilderConfig):
  """How the audio is stored, how validation is carved, and what to do with missing/bad audio.

  Attributes:
    sample_rate: audio rate in Hz (audio configs only).
    channels: 1 (mean downmix) or 2 (audio configs only).
    with_audio: False stores the npz's VGGish features and labels only (no audio/ folder needed).
    validation_fraction: fraction of split01_train moved to `validation`, by whole artists.
    on_missing_audio: "fail" (default) or "skip" keys whose .ogg is absent.
    on_bad_audio: "skip" (default) or "fail" on files that do not decode.
  """
  sample_rate: int | None = 32000
  channels: int | None = 1
  with_audio: bool = True
  validation_fraction: float = 0.1
  on_missing_audio: str = FAIL
  on_bad_audio: str = SKIP


def check_config(config: Openmic2018Config) -> None:
  """Raises ConfigError on values the builder cannot honour."""
  if config.on_missing_audio not in (FAIL, SKIP):
    raise ConfigError(f"on_missing_audio must be {FAIL!r} or {SKIP!r}, "
                      f"got {config.on_missing_audio!r}")
  if config.on_bad_audio not in (FAIL, SKIP):
    raise ConfigError(f"on_bad_audio must be {SKIP!r} or {FAIL!r}, got {config.on_bad_audio!r}")
  if not 0.0 <= config.validation_fraction < 1.0:
    raise ConfigError(f"validation_fraction must be in [0, 1), got {config.validation_fraction}")
  if config.with_audio and (config.channels not in (1, 2) or not config.sample_rate
                            or config.sample_rate <= 0):
    raise ConfigError(f"audio configs need sample_rate > 0 and channels 1 or 2, got "
                      f"{config.sample_rate} Hz, {config.channels} channel(s)")


class Openmic2018(LocalBuild, tfds.core.GeneratorBasedBuilder):
  """OpenMIC-2018 with split01 train/test and an artist-disjoint validation split."""

  VERSION = tfds.core.Version("1.1.0")
  RELEASE_NOTES: ClassVar[dict[str, str]] = {
      "1.0.0": "split01 train/validation/test; npz labels with the errata applied.",
      "1.1.0": "`gain` feature (audio beyond int16 is scaled, not clipped); files with no "
               "signal skipped; OS metadata files ignored."}
  BUILDER_CONFIGS: ClassVar[list[Openmic2018Config]] = [
      Openmic2018Config(name="audio32k", description="32 kHz mono audio (PaSST/EfficientAT "
                        "protocol), VGGish features and labels."),
      Openmic2018Config(name="audio44k", sample_rate=44100, channels=2,
                        description="44.1 kHz stereo audio as released, VGGish and labels."),
      Openmic2018Config(name="features", sample_rate=None, channels=None, with_audio=False,
                        description="VGGish features and labels from the npz only, no audio."),
  ]
  DEFAULT_CONFIG_NAME = "audio32k"
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
Download openmic-2018-v1.0.0.tgz (about 2.6 GB) from https://zenodo.org/record/1432913 and
extract it (`tar xzf openmic-2018-v1.0.0.tgz`). Pass the resulting `openmic-2018/` folder, or the
folder holding it, as the manual dir. Expected tree:

  openmic-2018/
    openmic-2018.npz  class-map.json  openmic-2018-aggregated-labels.csv
    openmic-2018-metadata.csv  (optional: artist ids for an artist-disjoint validation split)
    partitions/split01_train.csv  partitions/split01_test.csv
    audio/<key[:3]>/<key>.ogg      (not needed by the `features` config)
"""

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    n = len(OPENMIC)
    features = {
        "id": tfds.features.Text(),
        "vggish": tfds.features.Tensor(shape=(layout.FRAMES, layout.EMBEDDING), dtype=np.float32),
        "relevance": tfds.features.Tensor(shape=(n,), dtype=np.float32),
        "mask": tfds.features.Tensor(shape=(n,), dtype=np.bool_),
    }
    if config.with_audio:
      features["audio"] = tfds.features.Tensor(shape=(None, config.channels), dtype=np.int16)
      features["gain"] = tfds.features.Tensor(shape=(), dtype=np.float32)
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict(features),
        metadata=tfds.core.MetadataDict(sample_rate=config.sample_rate,
                                        channels=config.channels, classes=list(OPENMIC)),
        homepage="https://zenodo.org/record/1432913",
        citation=_CITATION,
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    config = self.builder_config
    check_config(config)
    try:
      manual_dir = dl_manager.manual_dir
    except (AssertionError, ValueError) as e:
      raise DatasetError(f"OpenMIC-2018 needs its extracted files in the manual dir: {e}") from e
    root = layout.find_root(manual_dir)
    log_os_metadata(root)
    data = layout.load_labelled(root)
    splits = layout.make_splits(root, data.keys, config.validation_fraction)
    if config.with_audio:
      splits = {name: self._with_audio_file(root, name, keys) for name, keys in splits.items()}
    warn_unofficial_counts("OpenMIC-2018", {
        "train+validation": len(splits.get("train", ())) + len(splits.get("validation", ())),
        "test": len(splits.get("test", ()))}, layout.OFFICIAL_COUNTS)
    return {name: self._generate_examples(root, data, keys, name)
            for name, keys in splits.items()}

  def _with_audio_file(self, root, split: str, keys: list[str]) -> list[str]:
    """`keys` whose .ogg exists; missing ones fail the build or are skipped and counted."""
    missing = [k for k in keys if not layout.audio_path(root, k).is_file()]
    if not missing:
      return keys
    if self.builder_config.on_missing_audio == FAIL:
      raise DatasetError(
          f"{split}: {len(missing)} key(s) have no audio file, e.g. {missing[0]} "
          f"({layout.audio_path(root, missing[0])}); use a config with on_missing_audio='skip' "
          "to build without them, or the `features` config")
    logging.warning("%s: skipped %d key(s) with no audio file, e.g. %s", split, len(missing),
                    missing[:5])
    gone = set(missing)
    return [k for k in keys if k not in gone]

  def _generate_examples(self, root, data: layout.Npz, keys: list[str], split: str):
    config = self.builder_config
    reader = (AudioReader(config.sample_rate, config.channels, config.on_bad_audio)
              if config.with_audio else None)
    row_of = data.index()
    for key in keys:
      i = row_of[key]
      example = {"id": key, "vggish": data.vggish[i], "relevance": data.relevance[i],
                 "mask": data.mask[i]}
      if reader is not None:
        try:
          stored = reader.read(layout.audio_path(root, key))
        except AudioDecodeError as e:
          raise DatasetError(f"{split}: bad audio for key {key}: {e}") from e
        if stored is None:
          continue
        example["audio"], example["gain"] = stored.audio, np.float32(stored.gain)
      yield key, example
    if reader is not None:
      reader.report(split)
