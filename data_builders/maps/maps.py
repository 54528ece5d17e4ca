"""TFDS builder of the MAPS MUS pieces (piano transcription), from either on-disk layout.

Each example: `id` (file stem), `piece`, `piano`, `audio` int16 (T, 1) at 16 kHz mono (resampled
once with soxr HQ), `gain` (1.0 unless the file had to be scaled to fit int16), `notes` float32
(N, 4) [onset_s, offset_s, midi_pitch, velocity], `offset_s` (where the record starts in its
recording). Splits hold out whole pieces (`layout.split_pieces`). Validation and test hold whole
recordings; TRAIN holds `train_segment_s` segments every `train_segment_hop_s`
(`common.piece_examples`), so uniform sampling of records is sampling in proportion to length and
a 5 s crop never reads more than 20 s (every crop up to segment − hop = 5 s fits in a segment).
Configs:
- `standard`: train on the 7 synthesised pianos, test on the Disklavier pianos ENSTDkAm/ENSTDkCl,
  pieces of the test set removed from training (the usual MAPS protocol, e.g. Onsets & Frames).
- `pieces`: every piano; 15 % of the pieces held out for test, 15 % of the rest for validation.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

from data_builders.common import SKIP, AudioReader, check_on_bad_audio, piece_examples
from data_builders.maps import layout
from instrax.errors import ConfigError, DatasetError

SOURCE = "https://adasp.telecom-paris.fr/resources/2010-07-08-maps-database/"
_TREE = """\
  <manual_dir>/<piano>/MUS/MAPS_MUS-<piece>_<piano>.{wav,mid,txt}     (the MAPS zips, extracted)
  or <manual_dir>/flac/MAPS_MUS-<piece>_<piano>.flac + tsv/[matched/]MAPS_MUS-<...>.tsv"""


@dataclasses.dataclass(eq=False)
class MapsConfig(tfds.core.BuilderConfig):
  """Pianos per split (empty train_pianos: all but the test pianos), held-out fractions."""

  train_pianos: tuple[str, ...] = ()
  test_pianos: tuple[str, ...] = ()
  test_fraction: float = 0.15  # of the pieces, when test_pianos is empty
  validation_fraction: float = 0.15
  sample_rate: int = 16000
  on_bad_audio: str = SKIP
  train_segment_s: float | None = 20.0  # None: whole recordings in train too
  train_segment_hop_s: float = 15.0

  def __post_init__(self):
    unknown = sorted(set(self.train_pianos + self.test_pianos) - set(layout.PIANOS))
    if unknown:
      raise ConfigError(f"unknown MAPS pianos {unknown}; valid: {', '.join(layout.PIANOS)}")
    for name in ("test_fraction", "validation_fraction"):
      if not 0.0 <= getattr(self, name) < 1.0:
        raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
    check_on_bad_audio(self.on_bad_audio)


class Maps(tfds.core.GeneratorBasedBuilder):
  """MAPS MUS: 16 kHz mono piano recordings with note annotations."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES: ClassVar[dict[str, str]] = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"Extract MAPS ({SOURCE}) into the manual directory:\n{_TREE}"
  BUILDER_CONFIGS: ClassVar[list[MapsConfig]] = [
      MapsConfig(name="standard", train_pianos=layout.SYNTH_PIANOS,
                 test_pianos=layout.REAL_PIANOS,
                 description="Train on the synthesised pianos, test on ENSTDkAm/ENSTDkCl."),
      MapsConfig(name="pieces", description="All pianos; whole pieces held out for val/test."),
  ]
  DEFAULT_CONFIG_NAME = "standard"

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    return self.dataset_info_from_configs(
        description=__doc__,
        features=tfds.features.FeaturesDict({
            "id": tfds.features.Text(),
            "piece": tfds.features.Text(),
            "piano": tfds.features.Text(),
            "audio": tfds.features.Tensor(shape=(None, 1), dtype=np.int16),
            "gain": tfds.features.Tensor(shape=(), dtype=np.float32),
            "notes": tfds.features.Tensor(shape=(None, 4), dtype=np.float32),
            "offset_s": tfds.features.Tensor(shape=(), dtype=np.float32),
        }),
        homepage=SOURCE,
        metadata=tfds.core.MetadataDict(
            sample_rate=cfg.sample_rate, channels=1,
            notes_columns=["onset_s", "offset_s", "midi_pitch", "velocity"]),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    try:
      manual_dir = pathlib.Path(dl_manager.manual_dir)
    except AssertionError as e:  # TFDS's "does not exist or is empty"
      problem = str(e).split(" Create it")[0]
      raise DatasetError(f"{problem} Extract MAPS there as:\n{_TREE}") from e
    cfg = self.builder_config
    splits = layout.split_pieces(layout.find_items(manual_dir), cfg.train_pianos,
                                 cfg.test_pianos, cfg.test_fraction, cfg.validation_fraction)
    if not splits["train"]:
      raise DatasetError(f"MAPS/{cfg.name}: no training pieces under {manual_dir} (pianos "
                         f"{cfg.train_pianos or 'any'}, test pianos {cfg.test_pianos or 'none'})")
    return {name: self._generate_examples(items, name) for name, items in splits.items() if items}

  def _generate_examples(self, items: list[layout.Item], split: str
                         ) -> Iterator[tuple[str, dict]]:
    cfg = self.builder_config
    reader = AudioReader(cfg.sample_rate, 1, cfg.on_bad_audio)
    segment_s = cfg.train_segment_s if split == "train" else None
    for item in items:
      stored = reader.read(item.audio)
      if stored is None:
        continue
      example = {"id": item.name, "piece": item.piece, "piano": item.piano,
                 "audio": stored.audio, "gain": np.float32(stored.gain),
                 "notes": layout.read_notes(item)}
      yield from piece_examples(item.name, example, cfg.sample_rate, segment_s,
                                cfg.train_segment_hop_s)
    reader.report(split)
