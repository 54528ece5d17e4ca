"""TFDS builder of MedleyDB with the seed's lead-instrument annotations (seed 000, datasets.md §3).

One example per annotated song, the whole song (the lead task crops 5-s training segments and
evaluates on 5-s windows every 2.5 s itself):
  id           the MedleyDB track name
  audio        int16 (T, 1)  the mix at `sample_rate` (24 kHz), mono
  stems        int16 (K, T)  the stems (METADATA.yaml order), mono, cut to the mix's length
  instruments  int32 (K,)    lead_cross instrument id per stem (instrax/data/lead_vocabulary.py;
                             0 = a label the seed's table does not fold)
  stem_numbers int32 (K,)    MedleyDB stem numbers (S08 → 8)
  lead         int32 (F,)    the lead stem per 75 Hz frame as an index into `stems`, −1 = none
                             (later spans overwrite earlier ones, as the seed)
Splits: train/validation/test by song — from a split file (split.json or the seed's
v1_segmented/metadata.json) when present, else a seeded shuffle in the seed's 77/16/16
proportions. A song whose annotation names a stem it lacks, or with a missing or unreadable
stem or mix, is reported and skipped (counted in the build log), never mislabelled.
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

from data_builders.common import SKIP, AudioReader, check_on_bad_audio, log_os_metadata
from data_builders.medleydb_lead import annotations, layout
from instrax.data import lead_vocabulary
from instrax.errors import DatasetError

INSTRUCTIONS = f"""\
Download MedleyDB v1 (and v2 if you have it) from {layout.SOURCE} and the seed's lead annotations
(Sonata165/LeadInstrumentDetection: datasets/MedleyDB/metadata_song.json, and/or per-song
Audition Markers.csv exports) into the manual directory. {layout.__doc__}"""


@dataclasses.dataclass(eq=False)
class MedleyDBLeadConfig(tfds.core.BuilderConfig):
  """Output rate, label rate, split and bad-file policy."""

  sample_rate: int = 24000
  lead_frame_rate: float = 75.0
  split_file: str = ""  # "" = split.json / v1_segmented/metadata.json in manual_dir, else seeded
  split_seed: int = 0
  on_bad_audio: str = SKIP

  def __post_init__(self):
    check_on_bad_audio(self.on_bad_audio)


class MedleyDBLead(tfds.core.GeneratorBasedBuilder):
  """MedleyDB multitracks with per-frame lead-stem labels."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES: ClassVar[dict[str, str]] = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS
  BUILDER_CONFIGS: ClassVar[list[MedleyDBLeadConfig]] = [
      MedleyDBLeadConfig(name="default", description="24 kHz mono, 75 Hz labels (the seed's)."),
  ]
  DEFAULT_CONFIG_NAME = "default"

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    f = tfds.features
    return self.dataset_info_from_configs(
        description=__doc__,
        features=f.FeaturesDict({
            "id": f.Text(),
            "audio": f.Tensor(shape=(None, 1), dtype=np.int16, encoding="zlib"),
            "stems": f.Tensor(shape=(None, None), dtype=np.int16, encoding="zlib"),
            "instruments": f.Tensor(shape=(None,), dtype=np.int32),
            "stem_numbers": f.Tensor(shape=(None,), dtype=np.int32),
            "lead": f.Tensor(shape=(None,), dtype=np.int32),
        }),
        homepage=layout.SOURCE,
        metadata=tfds.core.MetadataDict(
            sample_rate=cfg.sample_rate, channels=1, lead_frame_rate=cfg.lead_frame_rate,
            instrument_vocabulary=list(lead_vocabulary.LEAD_CROSS)),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    cfg = self.builder_config
    try:
      manual_dir = pathlib.Path(dl_manager.manual_dir)
    except AssertionError as e:  # TFDS's "does not exist or is empty"
      raise DatasetError(f"{str(e).split(' Create it')[0]}\n{INSTRUCTIONS}") from e
    log_os_metadata(manual_dir)
    tracks = layout.find_tracks(manual_dir)
    spans = layout.lead_spans(manual_dir, tracks)
    annotated = [t for t in tracks if t.name in spans]
    logging.info("medleydb_lead: %d track folders, %d with lead annotations", len(tracks),
                 len(annotated))
    problems = {t.name: why for t in annotated if (why := layout.problem(t, spans[t.name]))}
    for name, why in problems.items():
      logging.warning("skipping song %s: %s", name, why)
    if problems:
      kinds = collections.Counter(w.split(":")[0].split(",")[0] for w in problems.values())
      logging.warning("medleydb_lead: skipped %d annotated song(s): %s", len(problems),
                      dict(kinds))
    annotated = [t for t in annotated if t.name not in problems]
    split_path = layout.find_split_file(manual_dir, cfg.split_file)
    if split_path is not None:
      split_of = layout.read_split_file(split_path)
      missing = [t.name for t in annotated if t.name not in split_of]
      if missing:
        logging.warning("medleydb_lead: %d annotated song(s) not in %s are left out, e.g. %s",
                        len(missing), split_path, missing[:3])
    else:
      split_of = annotations.split_songs([t.name for t in annotated], cfg.split_seed)
    by_split = collections.defaultdict(list)
    for track in annotated:
      if track.name in split_of:
        by_split[split_of[track.name]].append(track)
    return {s: self._generate_examples(by_split[s], spans, s)
            for s in ("train", "validation", "test") if by_split[s]}

  def _generate_examples(self, tracks: list[layout.Track],
                         spans: dict[str, list[annotations.Span]], split: str
                         ) -> Iterator[tuple[str, dict]]:
    cfg = self.builder_config
    reader = AudioReader(cfg.sample_rate, 1, cfg.on_bad_audio)
    skipped: collections.Counter[str] = collections.Counter()
    for track in tracks:
      example, why = self._example(track, spans[track.name], reader)
      if example is None:
        skipped[why] += 1
        logging.warning("%s: skipping song %s: %s", split, track.name, why)
        continue
      yield track.name, example
    reader.report(split)
    if skipped:
      logging.warning("%s: skipped %d song(s): %s", split, sum(skipped.values()),
                      dict(collections.Counter(w.split(":")[0] for w in skipped.elements())))

  def _example(self, track: layout.Track, spans: list[annotations.Span], reader: AudioReader
               ) -> tuple[dict | None, str]:
    """(example, "") or (None, why it is skipped): files that pass `layout.problem` may still
    fail to decode or hold no signal."""
    cfg = self.builder_config
    numbers = [s.number for s in track.stems]
    mix = reader.read(track.mix)
    if mix is None:
      return None, f"unreadable mix: {track.mix.name}"
    stems = []
    for s in track.stems:
      stored = reader.read(s.path)
      if stored is None:
        return None, f"unreadable stem: {s.path.name}"
      stems.append(stored.audio[:, 0])
    t = min(mix.audio.shape[0], *(len(x) for x in stems))
    frames = int(t * cfg.lead_frame_rate // cfg.sample_rate)
    try:
      lead = annotations.frame_labels(spans, numbers, frames, cfg.lead_frame_rate)
    except DatasetError as e:
      return None, str(e)
    return {
        "id": track.name, "audio": mix.audio[:t],
        "stems": np.stack([x[:t] for x in stems]),
        "instruments": np.array([lead_vocabulary.medleydb_id(s.instrument) for s in track.stems],
                                np.int32),
        "stem_numbers": np.array(numbers, np.int32), "lead": lead,
    }, ""
