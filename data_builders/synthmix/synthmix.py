"""synthmix: real music21-corpus scores rendered through General-MIDI SoundFonts (the Slakh2100
recipe), with mixes, stems, notes, instrument labels and frame-level lead-track labels.

Needs no download: the scores ship with music21 and the default SoundFont with pretty_midi. The
`rich` and `piano` configs also play through the large sampled banks `make soundfonts` installs
(FluidR3_GM, MuseScore_General), with the rendering variety of `variety.Variety` (docs/synthmix.md);
`rich` also through TonejsInstruments, real recorded instruments (sample_bank.py).

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
Configs with mode="piano" (`piano`) hold solo-piano renders instead, with only `id`, `audio` and
`notes` (track_index 0; offsets include sustain-pedal holds; see piano.py).
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import ClassVar

import numpy as np
import tensorflow_datasets as tfds

from data_builders.common import LocalBuild
from data_builders.synthmix import arrange, example, generate, instruments, render, variety
from instrax.data import vocabularies
from instrax.errors import DatasetError

SPLITS = ("train", "validation", "test")
BANKS = ("TimGM6mb", "FluidR3_GM", "MuseScore_General")  # the GM banks of `rich` and `piano`
SAMPLED_BANK = "TonejsInstruments"  # real recorded instruments, 16 programs (sample_bank.py)
#: The other banks of `rich` (1.4.0): csound's GM bank and the FreePats patches (freepats.py).
EXTRA_BANKS = ("sf_GMbank", "FreePats")
RICH_GM_BANKS = (*BANKS, *EXTRA_BANKS)  # `rich` without TonejsInstruments (`ablate_no_samples`)
RICH_BANKS = (*RICH_GM_BANKS, SAMPLED_BANK)
#: Equal chances: a track plays through any bank that has its program with the same chance.
#: (Weighting TonejsInstruments (1, 1, 1, 3), half the time, in 1.2.0, scored no better on real
#: recordings: BENCHMARKS.md.)
RICH_FONT_WEIGHTS: tuple[float, ...] = ()
RICH_TRAIN = 8000
#: The transfer ablation (issue #14, bench/ablate_transfer.py): `ablate_<name>` = `rich` at 1,500
#: train mixes with these variety fields off ("full": none off). `fonts` off = every track
#: through TimGM6mb, the demo's one small bank; "samples" (not a variety field) = without
#: SAMPLED_BANK.
ABLATIONS = {"full": (), "no_fonts": ("fonts",), "no_dynamics": ("dynamics", "register"),
             "no_room": ("eq", "reverb"), "no_noise": ("noise", "codec", "compression"),
             "no_gain": ("gain",), "no_performance": ("held", "vibrato", "ensemble"),
             "no_samples": ("samples",)}
#: Ablation variants that add banks to `rich` instead: `ablate_<name>` = `full` + these banks (a
#: bank waiting to join `rich` is measured here first: DIGuitar, di_guitar.py; OPL3_FM, the Debian
#: opl3-soundfont bank of FM-synthesis voices; BowedStrings, bowed_strings.py).
ADDITIONS = {"plus_diguitar": ("DIGuitar",), "plus_opl3": ("OPL3_FM",),
             "plus_bowed": ("BowedStrings",), "plus_modelled": ("DIGuitar", "BowedStrings")}
ABLATION_SIZES = (1500, 200, 100)  # train, validation, test mixes
#: Configs whose recipe changed carry their own version (tfds BuilderConfig.version), so a dataset
#: built under an older recipe is refused, never silently reused; the others (`demo`, `tiny`,
#: `irmas44k`, `piano`) render as in 1.0.0 and keep the builder's version.
RICH_VERSION = "1.4.0"
RICH_NOTES = {"1.0.0": "First release.",
              "1.1.0": "variety.ALL adds held notes, vibrato and ensemble sections.",
              "1.2.0": "Tracks also play through TonejsInstruments (real recorded instruments).",
              "1.3.0": "Each recording-chain effect (EQ, reverb, compression, codec, noise) "
                       "applies to an example with probability RICH_CHAIN_PROB, not always.",
              "1.4.0": "Tracks also play through sf_GMbank (csound-soundfont) and FreePats "
                       "(the freepats GUS patches, looped)."}
#: The chance that each recording-chain effect applies to a `rich` example (variety.CHAIN); the
#: rest are clean, dry, full-band renders, as real solo recordings often are.
RICH_CHAIN_PROB = 0.5


#: `rich` apart from its banks (also the `rich_plus_*` and, resized, the `ablate_*` configs').
_RICH = dict(num_train=RICH_TRAIN, num_validation=500, num_test=500, duration_s=(3.0, 6.0),
             num_scores=160, font_weights=RICH_FONT_WEIGHTS, bpm_range=(50.0, 180.0),
             chain_prob=RICH_CHAIN_PROB, variety=variety.ALL, version=RICH_VERSION,
             release_notes=RICH_NOTES)


def _ablated(off: tuple[str, ...], add: tuple[str, ...] = ()) -> dict:
  """The `rich` banks, weights and variety of an ablation with `off` switched off and the banks
  `add` added."""
  samples = "samples" not in off
  return dict(soundfonts=(*(RICH_BANKS if samples else RICH_GM_BANKS), *add),
              font_weights=RICH_FONT_WEIGHTS if samples else (), chain_prob=RICH_CHAIN_PROB,
              variety=dataclasses.replace(variety.ALL,
                                          **dict.fromkeys(set(off) - {"samples"}, False)))


@dataclasses.dataclass(eq=False)
class SynthmixConfig(tfds.core.BuilderConfig):
  """What to render.

  duration_s: example length in seconds, fixed or a (min, max) range drawn per example.
  soundfont: path to any .sf2/.sf3 General-MIDI SoundFont; None = pretty_midi's TimGM6mb.sf2.
  soundfonts: several SoundFonts (paths, or bank names found at their standard install paths:
    "TimGM6mb", "FluidR3_GM", "MuseScore_General", "TonejsInstruments"); replaces `soundfont`
    when not empty. Tracks play through the first that has their program unless `variety.fonts`
    draws one of those per track (piano: per example).
  num_scores: how many corpus pieces the material holds (split ~80/10/10 by piece).
  workers: render processes (output is identical for any value).
  palette: "all" (every GM program of each IRMAS class) or "canonical" (one distinct program each).
  bpm_range: tempo range (beats per minute) excerpts are played at.
  variety: which rendering variations are on (variety.Variety; all off by default).
  font_weights: relative chance of each of `soundfonts` when `variety.fonts` draws a track's bank
    among those that have its program; () = all equal.
  mode: "mix" (multitrack mixes) or "piano" (solo-piano renders: id, audio, notes).
  chain_prob: the chance that each recording-chain effect switched on in `variety` (EQ, reverb,
    compression, codec, noise: variety.CHAIN) applies to an example; 1 = always.
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
  soundfonts: tuple[str, ...] = ()
  bpm_range: tuple[float, float] = arrange.BPM_RANGE
  variety: variety.Variety = variety.NONE
  mode: str = "mix"
  font_weights: tuple[float, ...] = ()
  chain_prob: float = 1.0

  @property
  def params(self) -> example.Params:
    if self.palette not in instruments.PALETTES:
      raise DatasetError(f"synthmix palette {self.palette!r}: choose from "
                         f"{', '.join(instruments.PALETTES)}")
    if self.mode not in generate.MAKERS:
      raise DatasetError(f"synthmix mode {self.mode!r}: choose from {', '.join(generate.MAKERS)}")
    if self.mode == "piano" and self.channels != 1:
      raise DatasetError("synthmix mode 'piano' renders mono: set channels=1")
    lo, hi = (self.duration_s, self.duration_s) if np.isscalar(self.duration_s) else self.duration_s
    weights = tuple(map(float, self.font_weights))
    if weights and (len(weights) != len(self.soundfonts) or min(weights) <= 0):
      raise DatasetError(f"synthmix font_weights {weights}: give one positive weight per "
                         f"SoundFont of `soundfonts` ({len(self.soundfonts)})")
    if not 0.0 <= self.chain_prob <= 1.0:
      raise DatasetError(f"synthmix chain_prob {self.chain_prob}: give a probability in [0, 1]")
    return example.Params((float(lo), float(hi)), self.sample_rate, self.channels,
                          self.max_tracks, self.seed, float(self.lead_frame_rate), self.palette,
                          tuple(map(float, self.bpm_range)), self.variety, self.mode, weights,
                          float(self.chain_prob))

  @property
  def soundfont_list(self) -> list[str]:
    """The SoundFont files to render through (DatasetError naming the fix when one is missing)."""
    return [render.resolve_soundfont(s) for s in (self.soundfonts or (self.soundfont,))]

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
      SynthmixConfig(name="rich", description="For real-audio transfer: 16 kHz mono mixes of 3-6 s "
                     "through 5 GM banks (with FreePats' patches) and real recorded instruments "
                     "(needs `make soundfonts`), every GM program of each class, 50-180 BPM, "
                     "with every rendering variation (docs/synthmix.md; each recording-chain "
                     "effect on half the mixes).",
                     soundfonts=RICH_BANKS, **_RICH),
      SynthmixConfig(name="piano", description="Solo piano for transcription: 8-12 s, 16 kHz mono, "
                     "every GM piano preset of 3 banks (needs `make soundfonts`), 50-160 BPM, "
                     "phrase-shaped velocities, 4 pedalling styles; audio + notes.",
                     num_train=400, num_validation=40, num_test=40, duration_s=(8.0, 12.0),
                     num_scores=120, soundfonts=BANKS, bpm_range=(50.0, 160.0), mode="piano"),
  ]

  BUILDER_CONFIGS += [
      SynthmixConfig(name=f"ablate_{name}", description=f"rich at {ABLATION_SIZES[0]} train "
                     f"mixes {what} (the transfer ablation).",
                     **{**_RICH, **dict(zip(("num_train", "num_validation", "num_test"),
                                            ABLATION_SIZES, strict=True)),
                        **_ablated(off, add)})
      for name, off, add, what in (
          *((n, o, (), f"with {', '.join(o) or 'nothing'} off") for n, o in ABLATIONS.items()),
          *((n, (), a, f"with {', '.join(a)} added") for n, a in ADDITIONS.items()))]
  BUILDER_CONFIGS += [  # the full-size check of an addition: `rich` with its banks added
      SynthmixConfig(name=f"rich_{name}", description=f"rich with {', '.join(add)} added (the "
                     "full-size check of a bank before it may join rich).",
                     soundfonts=(*RICH_BANKS, *add), **_RICH)
      for name, add in ADDITIONS.items()]

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    f = tfds.features
    if cfg.mode == "piano":
      return self.dataset_info_from_configs(
          description=__doc__,
          features=f.FeaturesDict({
              "id": f.Text(),
              "audio": f.Tensor(shape=(None, 1), dtype=np.int16, encoding="bytes"),
              "notes": f.Tensor(shape=(None, 5), dtype=np.float32),
          }),
          metadata=tfds.core.MetadataDict(
              sample_rate=cfg.sample_rate, channels=1,
              notes_columns=["onset_s", "offset_s", "midi_pitch", "velocity", "track_index"]),
          homepage="https://web.mit.edu/music21/")
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
    soundfonts = cfg.soundfont_list
    params = cfg.params
    if cfg.workers > 1:  # (in-process, the Generator's own Renderer checks them)
      render.Renderer(soundfonts, cfg.sample_rate)  # a bad SoundFont fails here, before any work
    cache_dir = dl_manager.download_dir / "synthmix"
    cache_dir.mkdir(parents=True, exist_ok=True)
    self._generator = generate.Generator(params, soundfonts, cfg.num_scores, cache_dir,
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
