"""TFDS builder of MAESTRO v1/v2/v3 from the extracted zip: splits from the metadata.

Each example: `id` (the MIDI path stem), `audio` int16 (T, 1) at 16 kHz mono (resampled once,
soxr HQ), `notes` float32 (N, 4) [onset_s, offset_s, midi_pitch, velocity] from the MIDI through
`keyboard.midi_notes` (sustain-pedal extension), `composer`, `title`, `year`. Notes starting after
the end of the audio are dropped (counted in the log); redundant presses are counted per split.
`gain` is 1.0 unless the file had to be scaled to fit int16; `offset_s` is where the record starts
in its performance. Validation and test hold whole performances; TRAIN holds `train_segment_s`
segments every `train_segment_hop_s` (`common.piece_examples`): uniform sampling of records is
then sampling in proportion to length, and a 5 s crop reads 20 s, not a 20-minute performance.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import pathlib
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

from data_builders.common import SKIP, AudioReader, check_on_bad_audio, piece_examples
from data_builders.maestro import keyboard, metadata
from instrax.errors import ConfigError, DatasetError

SOURCE = "https://magenta.tensorflow.org/datasets/maestro"
SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(eq=False)
class MaestroConfig(tfds.core.BuilderConfig):
  """Dataset version, output rate, pedal handling and the bad-audio policy."""

  maestro_version: str = "3.0.0"
  sample_rate: int = 16000
  sustain_threshold: int = 7  # pedal value above it holds notes (seed: > 7)
  extend_sustain: bool = True
  repress: str = "split"  # or "ignore" (the seed)
  on_bad_audio: str = SKIP
  train_segment_s: float | None = 20.0  # None: whole performances in train too
  train_segment_hop_s: float = 15.0

  def __post_init__(self):
    if self.repress not in keyboard.REPRESS:
      raise ConfigError(f"repress must be one of {keyboard.REPRESS}, got {self.repress!r}")
    check_on_bad_audio(self.on_bad_audio)


class Maestro(tfds.core.GeneratorBasedBuilder):
  """MAESTRO piano performances (audio + notes)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES: ClassVar[dict[str, str]] = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      f"Download maestro-vX.0.0.zip from {SOURCE} and unzip it into the manual directory: "
      "<manual_dir>/maestro-vX.0.0/{maestro-vX.0.0.json or .csv, <year>/<name>.midi + .wav}.")
  BUILDER_CONFIGS: ClassVar[list[MaestroConfig]] = [
      MaestroConfig(name=f"v{v}", maestro_version=f"{v}.0.0", description=f"MAESTRO v{v}.0.0")
      for v in (3, 2, 1)]
  DEFAULT_CONFIG_NAME = "v3"

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    f = tfds.features
    return self.dataset_info_from_configs(
        description=__doc__,
        features=f.FeaturesDict({
            "id": f.Text(), "composer": f.Text(), "title": f.Text(),
            "year": f.Tensor(shape=(), dtype=np.int32),
            "audio": f.Tensor(shape=(None, 1), dtype=np.int16),
            "gain": f.Tensor(shape=(), dtype=np.float32),
            "notes": f.Tensor(shape=(None, 4), dtype=np.float32),
            "offset_s": f.Tensor(shape=(), dtype=np.float32),
        }),
        homepage=SOURCE,
        metadata=tfds.core.MetadataDict(
            sample_rate=cfg.sample_rate, channels=1,
            notes_columns=["onset_s", "offset_s", "midi_pitch", "velocity"]),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    try:
      manual_dir = pathlib.Path(dl_manager.manual_dir)
    except AssertionError as e:
      raise DatasetError(f"{str(e).split(' Create it')[0]} {self.MANUAL_DOWNLOAD_INSTRUCTIONS}"
                         ) from e
    path = metadata.find(manual_dir, self.builder_config.maestro_version)
    records = metadata.read(path)
    bad = sorted({r["split"] for r in records} - set(SPLITS))
    if bad:
      raise DatasetError(f"{path}: unknown split names {bad}; expected {SPLITS}")
    return {s: self._generate_examples(path.parent, [r for r in records if r["split"] == s], s)
            for s in SPLITS if any(r["split"] == s for r in records)}

  def _generate_examples(self, root: pathlib.Path, records: list[dict], split: str
                         ) -> Iterator[tuple[str, dict]]:
    cfg = self.builder_config
    reader = AudioReader(cfg.sample_rate, 1, cfg.on_bad_audio)
    counts: collections.Counter = collections.Counter()
    for rec in records:
      midi, wav = root / rec["midi_filename"], root / rec["audio_filename"]
      for p in (midi, wav):
        if not p.exists():
          raise DatasetError(f"{p} is listed in the metadata but missing; re-extract MAESTRO")
      stored = reader.read(wav)
      if stored is None:
        continue
      notes, c = keyboard.midi_notes(midi, cfg.sustain_threshold, cfg.extend_sustain,
                                     cfg.repress)
      keep = notes[:, 0] < len(stored.audio) / cfg.sample_rate
      counts.update(c)
      counts["notes_after_audio_end"] += int((~keep).sum())
      key = pathlib.PurePosixPath(rec["midi_filename"]).stem
      example = {"id": key, "composer": rec["canonical_composer"],
                 "title": rec["canonical_title"], "year": np.int32(rec["year"]),
                 "audio": stored.audio, "gain": np.float32(stored.gain), "notes": notes[keep]}
      yield from piece_examples(key, example, cfg.sample_rate,
                                cfg.train_segment_s if split == "train" else None,
                                cfg.train_segment_hop_s)
    reader.report(split)
    if counts:
      logging.info("maestro %s: %s", split, dict(counts))
