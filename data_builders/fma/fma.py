"""TFDS builder of FMA (Free Music Archive) for top-level genre classification.

Configs: small, medium, large (FMA's nested subsets, audio from `fma_<size>/`) and
medium_minus_small (MSSPT's evaluation set: medium's tracks not in small, audio from
`fma_medium/`). Splits: FMA's own (set, split): train / validation / test (artist-disjoint).
Features: `id` (6-digit track id), `audio` int16 (T, C) at the config's rate (16 kHz mono as
MSSPT), `genre` int64 index into `instrax.data.vocabularies.FMA` (MSSPT's order), `labels`
float32 (16,) one-hot of it. Tracks without a single top-level genre are skipped and counted;
FMA holds corrupt / very short mp3s: they are skipped and counted (or fatal with
`on_bad_audio="fail"`).
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
from data_builders.fma import layout
from instrax.data.vocabularies import FMA
from instrax.errors import DatasetError

_TREE = """\
  <manual_dir>/fma_metadata/tracks.csv
  <manual_dir>/fma_<small|medium|large>/<tid[:3]>/<tid>.mp3"""

INSTRUCTIONS = f"""\
Download fma_metadata.zip and fma_<size>.zip ({layout.SOURCE}) and unzip them into the manual
directory:
{_TREE}
"""
# Tracks per subset (mdeff/fma README; medium_minus_small = 25,000 − 8,000).
OFFICIAL_COUNTS = {"small": 8000, "medium": 25000, "medium_minus_small": 17000,
                   "large": 106574}


@dataclasses.dataclass(eq=False)
class FmaConfig(tfds.core.BuilderConfig):
  """Which subset, the output rate/channels and the bad-file policy."""

  subset: str = "medium"
  sample_rate: int = 16000
  channels: int = 1
  on_bad_audio: str = SKIP

  def __post_init__(self):
    check_on_bad_audio(self.on_bad_audio)


class Fma(LocalBuild, tfds.core.GeneratorBasedBuilder):
  """FMA tracks with their top-level genre."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES: ClassVar[dict[str, str]] = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS
  BUILDER_CONFIGS: ClassVar[list[FmaConfig]] = [
      FmaConfig(name=s, subset=s, description=d) for s, d in (
          ("medium", "fma_medium: 25,000 tracks, 16 genres."),
          ("small", "fma_small: 8,000 tracks, 8 balanced genres."),
          ("medium_minus_small", "MSSPT's set: fma_medium's tracks not in fma_small."),
          ("large", "fma_large: 106,574 tracks."))]
  DEFAULT_CONFIG_NAME = "medium"

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    f = tfds.features
    return self.dataset_info_from_configs(
        description=__doc__,
        features=f.FeaturesDict({
            "id": f.Text(),
            "audio": f.Tensor(shape=(None, cfg.channels), dtype=np.int16, encoding="zlib"),
            "genre": f.Tensor(shape=(), dtype=np.int64),
            "labels": f.Tensor(shape=(len(FMA),), dtype=np.float32),
        }),
        homepage=layout.SOURCE,
        metadata=tfds.core.MetadataDict(sample_rate=cfg.sample_rate, channels=cfg.channels,
                                        genres=list(FMA)),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    cfg = self.builder_config
    try:
      manual_dir = pathlib.Path(dl_manager.manual_dir)
    except AssertionError as e:  # TFDS's "does not exist or is empty"
      raise DatasetError(f"{str(e).split(' Create it')[0]} Put FMA there as:\n{_TREE}") from e
    root = layout.find_root(manual_dir)
    folder = layout.audio_folder(cfg.subset)
    if not (root / folder).is_dir():
      raise DatasetError(f"no {root / folder}: unzip fma_{folder[4:]}.zip into {root}")
    tracks = layout.select(layout.read_tracks(root / layout.TRACKS), cfg.subset)
    warn_unofficial_counts("fma", {cfg.subset: len(tracks)},
                           {cfg.subset: OFFICIAL_COUNTS[cfg.subset]})
    splits = {s: [t for t in tracks if t.split == s] for s in ("train", "validation", "test")}
    return {s: self._generate_examples(root, folder, items, s)
            for s, items in splits.items() if items}

  def _generate_examples(self, root: pathlib.Path, folder: str, tracks: list[layout.Track],
                         split: str) -> Iterator[tuple[str, dict]]:
    cfg = self.builder_config
    reader = AudioReader(cfg.sample_rate, cfg.channels, cfg.on_bad_audio)
    no_genre = 0
    for track in tracks:
      if not track.genre_top:
        no_genre += 1
        continue
      path = layout.audio_path(root, folder, track)
      if not path.is_file():
        reader.skipped["missing file"] += 1
        continue
      stored = reader.read(path)
      if stored is None:
        continue
      genre = FMA.index(track.genre_top)
      yield track.tid, {"id": track.tid, "audio": stored.audio, "genre": genre,
                        "labels": np.eye(len(FMA), dtype=np.float32)[genre]}
    reader.report(split)
    if no_genre:
      logging.warning("%s: skipped %d track(s) without a single top-level genre", split, no_genre)
