"""TFDS builder of IRMAS (predominant instruments, 11 classes) from the user's extracted zips.

Splits: `train` and `validation` (held out from IRMAS-TrainingData by recording: every excerpt
numbered NNNN, in any instrument folder, lands on the same side; see `layout.is_validation`), and
`test` (the three testing parts, multi-label). The validation split is left out when empty.
Bad audio files are skipped and counted (or fatal, `on_bad_audio="fail"`); bad label files are
always fatal, as they mean a broken extraction. Files with no signal (`instrax.audio.level`) are
skipped and counted; float files beyond full scale are stored scaled to fit int16, the scaling
kept in the `gain` feature; OS metadata files (`._x.wav`, `.DS_Store`, `__MACOSX/`) are ignored and
counted in the log.
"""

from __future__ import annotations

import collections
import dataclasses
import pathlib
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

from data_builders.common import (
  SKIP,
  AudioReader,
  LocalBuild,
  check_on_bad_audio,
  log_os_metadata,
  warn_unofficial_counts,
)
from data_builders.irmas import layout
from instrax.data.vocabularies import IRMAS
from instrax.errors import ConfigError, DatasetError

_TREE = f"""\
  <manual_dir>/
    {layout.TRAIN_DIR}/<inst>/<file>.wav        inst = {" ".join(IRMAS)}
    IRMAS-TestingData-Part1/Part1/<name>.wav + <name>.txt
    IRMAS-TestingData-Part2/IRTestingData-Part2/<name>.wav + <name>.txt
    IRMAS-TestingData-Part3/Part3/<name>.wav + <name>.txt"""

INSTRUCTIONS = f"""\
Download from Zenodo record 1290750 ({layout.SOURCE}) the four zips IRMAS-TrainingData.zip,
IRMAS-TestingData-Part1.zip, IRMAS-TestingData-Part2.zip and IRMAS-TestingData-Part3.zip, and
unzip each into the manual directory (`unzip -d <manual_dir> <zip>`), which gives:
{_TREE}
The test parts' inner folders (Part1, IRTestingData-Part2, Part3) may also lie directly in
<manual_dir> or together in <manual_dir>/IRMAS-TestingData/.
"""


@dataclasses.dataclass(eq=False)
class IrmasConfig(tfds.core.BuilderConfig):
  """Output rate and channels, validation share, and what to do with unreadable audio."""

  sample_rate: int = 44100
  channels: int = 2
  validation_fraction: float = 0.15
  on_bad_audio: str = SKIP

  def __post_init__(self):
    if not 0.0 <= self.validation_fraction < 1.0:
      raise ConfigError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")
    check_on_bad_audio(self.on_bad_audio)


class Irmas(LocalBuild, tfds.core.GeneratorBasedBuilder):
  """IRMAS: 3-s single-label training excerpts and multi-label test excerpts."""

  VERSION = tfds.core.Version("1.1.0")
  RELEASE_NOTES: ClassVar[dict[str, str]] = {
      "1.0.0": "Initial release.",
      "1.1.0": "`gain` feature (audio beyond int16 is scaled, not clipped); files with no "
               "signal skipped; OS metadata files ignored."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS
  BUILDER_CONFIGS: ClassVar[list[IrmasConfig]] = [
      IrmasConfig(name="default", description="44.1 kHz stereo, as the original."),
      IrmasConfig(name="mono22k", sample_rate=22050, channels=1,
                  description="22.05 kHz mono (downmixed, resampled with soxr HQ)."),
  ]
  DEFAULT_CONFIG_NAME = "default"

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    return self.dataset_info_from_configs(
        description=__doc__,
        features=tfds.features.FeaturesDict({
            "id": tfds.features.Text(),
            "audio": tfds.features.Tensor(shape=(None, cfg.channels), dtype=np.int16),
            "gain": tfds.features.Tensor(shape=(), dtype=np.float32),
            "labels": tfds.features.Tensor(shape=(len(IRMAS),), dtype=np.float32),
            "genre": tfds.features.ClassLabel(names=[*layout.GENRES, layout.UNKNOWN]),
            "drums": tfds.features.ClassLabel(names=[*layout.DRUMS, layout.UNKNOWN]),
            "part": tfds.features.Tensor(shape=(), dtype=np.int32),
        }),
        supervised_keys=("audio", "labels"),
        homepage=layout.SOURCE,
        metadata=tfds.core.MetadataDict(sample_rate=cfg.sample_rate, channels=cfg.channels,
                                        classes=list(IRMAS)),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    try:
      manual_dir = pathlib.Path(dl_manager.manual_dir)
    except AssertionError as e:  # TFDS's "does not exist or is empty"
      problem = str(e).split(" Create it")[0]
      raise DatasetError(f"{problem} Extract IRMAS there (from {layout.SOURCE}) as:\n{_TREE}"
                         ) from e
    log_os_metadata(manual_dir)
    training = layout.training_items(layout.find_train_dir(manual_dir))
    test = [it for part, folder in layout.find_test_parts(manual_dir).items()
            for it in layout.part_items(part, folder)]
    counts = collections.Counter(f"test Part{it.part}" for it in test)
    warn_unofficial_counts("IRMAS", {**counts, "train+validation": len(training),
                                     "test": len(test)}, layout.OFFICIAL_COUNTS)
    train, validation = layout.split_train(training, self.builder_config.validation_fraction)
    splits = {"train": train, "validation": validation, "test": test}
    return {name: self._generate_examples(items, name) for name, items in splits.items() if items}

  def _generate_examples(self, items: list[layout.Item], split: str) -> Iterator[tuple[str, dict]]:
    cfg = self.builder_config
    reader = AudioReader(cfg.sample_rate, cfg.channels, cfg.on_bad_audio)
    for item in items:
      stored = reader.read(item.path)
      if stored is None:
        continue
      yield item.id, {
          "id": item.id,
          "audio": stored.audio,
          "gain": np.float32(stored.gain),
          "labels": multi_hot(item.labels),
          "genre": item.genre,
          "drums": item.drums,
          "part": np.int32(item.part),
      }
    reader.report(split)


def multi_hot(codes: tuple[str, ...]) -> np.ndarray:
  """float32 (11,) vector with 1 at the IRMAS index of each code."""
  out = np.zeros(len(IRMAS), np.float32)
  out[[IRMAS.index(c) for c in codes]] = 1.0
  return out
