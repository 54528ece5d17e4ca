"""TFDS builder of MagnaTagATune with Won et al.'s top-50 tags and split.

Splits: train (shards 0–b minus nothing; clips with ≥ 1 top-50 tag), validation (Won et al.'s
1,529 clips of shard c), test (their 4,332 of d–f); see `layout`. Features: `id` (the mp3 path,
e.g. "f/american_bach_soloists-…-30-59.mp3"), `clip_id`, `audio` int16 (T, C) at the config's
rate (16 kHz mono: MTAT's own format, MSSPT's and Won et al.'s input), `tags` float32 (50,)
multi-hot in `instrax.data.vocabularies.MTAT` order. MP3s are decoded by libsndfile
(`instrax.audio.io`). MTAT holds a few empty / undecodable mp3s: they are skipped and counted
(or fatal with `on_bad_audio="fail"`). Train clips shorter than `min_seconds` (Won et al. drop
those under 29.1 s) are skipped and counted; validation/test are Won et al.'s lists as given.
"""

from __future__ import annotations

import dataclasses
import logging
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
  warn_unofficial_counts,
)
from data_builders.mtat import layout
from instrax.data.vocabularies import MTAT
from instrax.errors import DatasetError

_TREE = f"""\
  <manual_dir>/{layout.ANNOTATIONS}                 (tab-separated, 25,863 rows)
  <manual_dir>/<0-9,a-f>/<clip>.mp3                  (cat mp3.zip.00* > mp3.zip; unzip)
  <manual_dir>/split/{{valid,test}}.npy              (Won et al., split/mtat/)"""

INSTRUCTIONS = f"""\
Download MagnaTagATune and Won et al.'s split ({layout.SOURCE}) into the manual directory:
{_TREE}
"""


@dataclasses.dataclass(eq=False)
class MtatConfig(tfds.core.BuilderConfig):
  """Output rate/channels, the train length floor and the bad-file policy."""

  sample_rate: int = 16000
  channels: int = 1
  min_seconds: float = 29.1
  on_bad_audio: str = SKIP

  def __post_init__(self):
    check_on_bad_audio(self.on_bad_audio)


class Mtat(LocalBuild, tfds.core.GeneratorBasedBuilder):
  """MagnaTagATune: 29-s clips with the top-50 tags, Won et al.'s split."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES: ClassVar[dict[str, str]] = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS
  BUILDER_CONFIGS: ClassVar[list[MtatConfig]] = [
      MtatConfig(name="default", description="16 kHz mono, Won et al.'s top-50 split."),
  ]
  DEFAULT_CONFIG_NAME = "default"

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    f = tfds.features
    return self.dataset_info_from_configs(
        description=__doc__,
        features=f.FeaturesDict({
            "id": f.Text(),
            "clip_id": f.Tensor(shape=(), dtype=np.int64),
            "audio": f.Tensor(shape=(None, cfg.channels), dtype=np.int16, encoding="zlib"),
            "tags": f.Tensor(shape=(len(MTAT),), dtype=np.float32),
        }),
        homepage=layout.SOURCE,
        metadata=tfds.core.MetadataDict(sample_rate=cfg.sample_rate, channels=cfg.channels,
                                        tags=list(MTAT)),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    try:
      manual_dir = pathlib.Path(dl_manager.manual_dir)
    except AssertionError as e:  # TFDS's "does not exist or is empty"
      raise DatasetError(f"{str(e).split(' Create it')[0]} Put MTAT there as:\n{_TREE}") from e
    root = layout.find_root(manual_dir)
    split_dir = next((d for d in (root / "split", root / "split" / "mtat", root)
                      if all((d / n).is_file() for n in layout.SPLIT_FILES.values())), None)
    if split_dir is None:
      raise DatasetError(f"Won et al.'s valid.npy and test.npy not found in {root}/split/; "
                         f"get them from {layout.SOURCE}")
    clips = layout.read_annotations(root / layout.ANNOTATIONS)
    splits = layout.assign_splits(clips, {s: layout.read_split(split_dir / n)
                                          for s, n in layout.SPLIT_FILES.items()})
    warn_unofficial_counts("mtat", {s: len(v) for s, v in splits.items()},
                           layout.OFFICIAL_COUNTS)
    return {s: self._generate_examples(root, items, s) for s, items in splits.items() if items}

  def _generate_examples(self, root: pathlib.Path, clips: list[layout.Clip], split: str
                         ) -> Iterator[tuple[str, dict]]:
    cfg = self.builder_config
    reader = AudioReader(cfg.sample_rate, cfg.channels, cfg.on_bad_audio)
    short = 0
    for clip in clips:
      path = layout.audio_path(root, clip.mp3_path)
      if not path.is_file():
        reader.skipped["missing file"] += 1
        continue
      stored = reader.read(path)
      if stored is None:
        continue
      if split == "train" and stored.audio.shape[0] < cfg.min_seconds * cfg.sample_rate:
        short += 1
        continue
      yield clip.mp3_path, {"id": clip.mp3_path, "clip_id": clip.clip_id, "audio": stored.audio,
                            "tags": clip.tags}
    reader.report(split)
    if short:
      logging.warning("%s: skipped %d clip(s) shorter than %.1f s (Won et al.)", split, short,
                      cfg.min_seconds)
