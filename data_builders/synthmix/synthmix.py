"""synthmix: real music21-corpus scores rendered through a General-MIDI SoundFont (the Slakh2100
recipe), with mixes, stems, notes, instrument labels and frame-level lead-track labels.

Needs no download: the scores ship with music21 and the default SoundFont with pretty_midi.

Each example is an excerpt (random start bar, tempo and transposition) of one piece, played by
1-3 melodic tracks on GM programs of distinct IRMAS classes (ranges respected by octave moves),
plus optional bass (lowest voice, GM 32-39) and drums (procedural, program 128). Features:
  id                 Text, e.g. "bach/bwv66.6 bars 3-7 #12" (reads back as bytes)
  audio              int16 (T, channels) mix, peak −1 dBFS
  stems              int16 (K, T) mono stems with their mix gains (Σ stems = mix when mono)
  programs           int32 (K,) GM program per track, 128 = drums
  irmas_labels       float32 (11,) multi-hot of the IRMAS classes present
  openmic_labels     float32 (20,) multi-hot of the OpenMIC classes present
  openmic_relevance  float32 (20,) label where observed, 0.5 where not (OpenMIC convention)
  openmic_mask       bool (20,) observed classes (≥ 1 positive and ≥ 1 negative)
  notes              float32 (N, 5) [onset_s, offset_s, midi_pitch, velocity, track_index]
  lead               int32 (F,) leading track per frame at lead_frame_rate Hz, −1 = none
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

from data_builders.common import LocalBuild
from data_builders.synthmix import example, generate, instruments, render
from instrax.data import vocabularies
from instrax.errors import DatasetError

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(eq=False)
class SynthmixConfig(tfds.core.BuilderConfig):
  """What to render.

  duration_s: example length in seconds, fixed or a (min, max) range drawn per example.
  soundfont: path to any .sf2/.sf3 General-MIDI SoundFont; None = pretty_midi's TimGM6mb.sf2.
  num_scores: how many corpus pieces the material holds (split ~80/10/10 by piece).
  workers: render processes (output is identical for any value).
  palette: "all" (every GM program of each IRMAS class) or "canonical" (one distinct program each).
  """

  num_train: int = 800
  num_validation: int = 100
  num_test: int = 200
  duration_s: float | tuple[float, float] = (4.0, 6.0)
  sample_rate: int = 16000
  channels: int = 1
  max_tracks: int = 5
  seed: int = 0
  soundfont: str | None = None
  lead_frame_rate: float = 75.0
  num_scores: int = 40
  workers: int = 2
  palette: str = "all"

  @property
  def params(self) -> example.Params:
    if self.palette not in instruments.PALETTES:
      raise DatasetError(f"synthmix palette {self.palette!r}: choose from "
                         f"{', '.join(instruments.PALETTES)}")
    lo, hi = (self.duration_s, self.duration_s) if np.isscalar(self.duration_s) else self.duration_s
    return example.Params((float(lo), float(hi)), self.sample_rate, self.channels,
                          self.max_tracks, self.seed, float(self.lead_frame_rate), self.palette)

  @property
  def num_examples(self) -> dict[str, int]:
    return {"train": self.num_train, "validation": self.num_validation, "test": self.num_test}


class Synthmix(LocalBuild, tfds.core.GeneratorBasedBuilder):
  """Synthetic multitrack mixes of real scores (see the module docstring)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES: ClassVar[dict[str, str]] = {"1.0.0": "First release."}
  BUILDER_CONFIGS: ClassVar[list[SynthmixConfig]] = [
      SynthmixConfig(name="demo", description="~1 min build: 1200/150/200 mixes of 4-6 s, 16 kHz "
                     "mono, one distinct GM program per IRMAS class, for the instrument-"
                     "recognition demo.", num_train=1200, num_validation=150, num_test=200,
                     palette="canonical"),
      SynthmixConfig(name="tiny", description="For tests: 24/8/8 mixes of 4 s, 16 kHz mono.",
                     num_train=24, num_validation=8, num_test=8, duration_s=4.0, max_tracks=4,
                     num_scores=6, workers=1),
      SynthmixConfig(name="irmas44k", description="IRMAS feature settings: 44.1 kHz stereo mixes "
                     "of 3-6 s.", num_train=600, num_validation=100, num_test=100,
                     duration_s=(3.0, 6.0), sample_rate=44100, channels=2, num_scores=64),
  ]

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    f = tfds.features
    return self.dataset_info_from_configs(
        description=__doc__,
        features=f.FeaturesDict({
            "id": f.Text(),
            "audio": f.Tensor(shape=(None, cfg.channels), dtype=np.int16, encoding="bytes"),
            "stems": f.Tensor(shape=(None, None), dtype=np.int16, encoding="zlib"),
            "programs": f.Tensor(shape=(None,), dtype=np.int32),
            "irmas_labels": f.Tensor(shape=(len(vocabularies.IRMAS),), dtype=np.float32),
            "openmic_labels": f.Tensor(shape=(len(vocabularies.OPENMIC),), dtype=np.float32),
            "openmic_relevance": f.Tensor(shape=(len(vocabularies.OPENMIC),), dtype=np.float32),
            "openmic_mask": f.Tensor(shape=(len(vocabularies.OPENMIC),), dtype=np.bool_),
            "notes": f.Tensor(shape=(None, 5), dtype=np.float32),
            "lead": f.Tensor(shape=(None,), dtype=np.int32),
        }),
        metadata=tfds.core.MetadataDict(
            sample_rate=cfg.sample_rate, channels=cfg.channels,
            lead_frame_rate=cfg.lead_frame_rate,
            vocabularies={k: list(v) for k, v in vocabularies.VOCABULARIES.items()},
            notes_columns=["onset_s", "offset_s", "midi_pitch", "velocity", "track_index"],
            drums_program=vocabularies.DRUMS),
        homepage="https://web.mit.edu/music21/",
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    cfg = self.builder_config
    soundfont = render.resolve_soundfont(cfg.soundfont)
    render.Renderer(soundfont, cfg.sample_rate)  # a bad SoundFont fails here, before any work
    cache_dir = dl_manager.download_dir / "synthmix"
    cache_dir.mkdir(parents=True, exist_ok=True)
    self._generator = generate.Generator(cfg.params, soundfont, cfg.num_scores, cache_dir,
                                         cfg.workers)
    weakref.finalize(self, self._generator.close)
    self._generator.material()
    self._pending = set(SPLITS)
    return {split: self._generate_examples(split, cfg.num_examples[split]) for split in SPLITS}

  def _generate_examples(self, split: str, n: int):
    for i, ex in enumerate(self._generator.examples(split, n)):
      yield f"{split}_{i:06d}", ex
    self._pending.discard(split)
    if not self._pending:
      self._generator.close()
