"""TFDS builder of musdb18 (`.stem.mp4`) or musdb18-hq (wav folders) from the extracted release.

Splits: train (86 tracks), validation (the 14 of `layout.VALIDATION`), test (50). Features: the
mixture as `audio` and each source (drums, bass, other, vocals) as int16 (T, C) at the config's
rate and channels (default 16 kHz mono, MSSPT's setup). musdb18's AAC mixture is not exactly the
sum of its stems. A track that cannot be decoded is skipped and counted (or fatal with
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

from data_builders.common import FAIL, SKIP, AudioReader, check_on_bad_audio
from data_builders.musdb18 import decode, layout
from instrax.audio import io
from instrax.errors import AudioDecodeError, DatasetError

_TREE = """\
  <manual_dir>/{train,test}/<Artist - Title>.stem.mp4              (musdb18)
  <manual_dir>/{train,test}/<Artist - Title>/{mixture,drums,bass,other,vocals}.wav   (musdb18-hq)
  (or the same under <manual_dir>/musdb18/ or <manual_dir>/musdb18hq/)"""

INSTRUCTIONS = f"""\
Download musdb18 or musdb18-hq ({layout.SOURCE}) and unzip it into the manual directory:
{_TREE}
"""


@dataclasses.dataclass(eq=False)
class Musdb18Config(tfds.core.BuilderConfig):
  """Output rate and channels, and what to do with undecodable tracks."""

  sample_rate: int = 16000
  channels: int = 1
  on_bad_audio: str = SKIP

  def __post_init__(self):
    check_on_bad_audio(self.on_bad_audio)


class Musdb18(tfds.core.GeneratorBasedBuilder):
  """musdb18 / musdb18-hq: mixtures with their drums, bass, other and vocals."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES: ClassVar[dict[str, str]] = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS
  BUILDER_CONFIGS: ClassVar[list[Musdb18Config]] = [
      Musdb18Config(name="default", description="16 kHz mono (MSSPT), soxr HQ resampling."),
      Musdb18Config(name="stereo44k", sample_rate=44100, channels=2,
                    description="44.1 kHz stereo, as the original."),
  ]
  DEFAULT_CONFIG_NAME = "default"

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    audio = {k: tfds.features.Tensor(shape=(None, cfg.channels), dtype=np.int16, encoding="zlib")
             for k in ("audio", *layout.SOURCES)}
    return self.dataset_info_from_configs(
        description=__doc__,
        features=tfds.features.FeaturesDict({"id": tfds.features.Text(), **audio}),
        homepage=layout.SOURCE,
        metadata=tfds.core.MetadataDict(sample_rate=cfg.sample_rate, channels=cfg.channels,
                                        sources=list(layout.SOURCES)),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    try:
      manual_dir = pathlib.Path(dl_manager.manual_dir)
    except AssertionError as e:  # TFDS's "does not exist or is empty"
      raise DatasetError(f"{str(e).split(' Create it')[0]} Extract musdb18 there as:\n{_TREE}"
                         ) from e
    tracks = layout.tracks(layout.find_root(manual_dir))
    splits = {s: [t for t in tracks if t.split == s] for s in ("train", "validation", "test")}
    return {s: self._generate_examples(items, s) for s, items in splits.items() if items}

  def _generate_examples(self, tracks: list[layout.Track], split: str
                         ) -> Iterator[tuple[str, dict]]:
    cfg = self.builder_config
    reader = AudioReader(cfg.sample_rate, cfg.channels, cfg.on_bad_audio)
    for track in tracks:
      stems = self._read(track, reader)
      if stems is None:
        continue
      n = min(s.shape[0] for s in stems.values())
      yield track.name, {"id": track.name, **{k: v[:n] for k, v in stems.items()}}
    reader.report(split)

  def _read(self, track: layout.Track, reader: AudioReader) -> dict[str, np.ndarray] | None:
    """{"audio", *sources}: int16 (T, C) each, or None for a skipped bad track."""
    if track.hq:
      out = {}
      for key, name in zip(("audio", *layout.SOURCES), ("mixture", *layout.SOURCES)):
        stored = reader.read(track.path / f"{name}.wav")
        if stored is None:
          return None
        out[key] = stored.audio  # 16-bit wavs: never scaled (gain 1)
      return out
    try:
      stems = decode.load_stems(track.path, reader.sample_rate, reader.channels)
    except AudioDecodeError as e:
      if reader.on_bad_audio == FAIL:
        raise
      reader.skipped["undecodable stem file"] += 1
      reader.examples.append(str(e))
      logging.warning("skipping bad track: %s", e)
      return None
    keys = ("audio", *layout.STEM_STREAMS[1:])
    return {k: io.to_pcm16(a).T.copy() for k, a in zip(keys, stems)}
