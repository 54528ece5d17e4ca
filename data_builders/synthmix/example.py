"""One synthmix example, a pure function of (parameters, score material, split, index)."""

from __future__ import annotations

import dataclasses

import numpy as np

from data_builders.synthmix import arrange, effects, lead, mix, variety
from data_builders.synthmix.render import Renderer
from data_builders.synthmix.scores import Score
from instrax.data import vocabularies

SPLIT_CODES = {"train": 0, "validation": 1, "test": 2}
LEAD_BOOST_DB = 6.0
GAIN_DB = {arrange.MELODIC: (-4.0, 0.0), arrange.BASS: (-7.0, -3.0), arrange.DRUM_KIT: (-9.0, -4.0)}
PAN = {arrange.MELODIC: 0.7, arrange.BASS: 0.15, arrange.DRUM_KIT: 0.15}
OBSERVE_PROB = 0.3  # chance that an OpenMIC class is annotated (observed) in an example


@dataclasses.dataclass(frozen=True)
class Params:
  """What an example depends on besides the material and the SoundFont."""

  duration_s: tuple[float, float]
  sample_rate: int
  channels: int
  max_tracks: int
  seed: int
  lead_frame_rate: float
  palette: str = "all"
  bpm_range: tuple[float, float] = arrange.BPM_RANGE
  variety: variety.Variety = variety.NONE
  mode: str = "mix"  # "mix" (this module) or "piano" (piano.make)
  font_weights: tuple[float, ...] = ()  # relative draw weight per SoundFont; () = uniform
  chain_prob: float = 1.0  # chance that each recording-chain effect on applies to an example


def example_rng(seed: int, split: str, index: int) -> np.random.Generator:
  """The generator of one example, independent of every other example (parallel-safe)."""
  return np.random.default_rng([seed, SPLIT_CODES[split], index])


def partial_labels(rng: np.random.Generator, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(relevance, mask) in OpenMIC's convention: a random subset of classes is observed, always at
  least one positive and one negative; relevance = label where observed, 0.5 elsewhere."""
  mask = rng.random(len(labels)) < OBSERVE_PROB
  for value in (1.0, 0.0):
    candidates = np.flatnonzero(labels == value)
    if len(candidates) and not np.any(mask[candidates]):
      mask[rng.choice(candidates)] = True
  relevance = np.where(mask, labels, 0.5).astype(np.float32)
  return relevance, mask


def _perform(renderer: Renderer, program: int, rendition: variety.Rendition,
             num_samples: int) -> np.ndarray:
  """(T,) float32: the track rendered by each of its players (a section when more than one: each
  detuned and delayed), summed."""
  out = np.zeros(num_samples, np.float32)
  sr = renderer.sample_rate
  for player in rendition.players:
    delay = round(player.delay_s * sr)
    stem = renderer.render(program, rendition.notes, num_samples - delay, player.font,
                           rendition.expression, rendition.vibrato, player.detune_cents)
    out[delay:] += stem
  return out


def _colour(vrng: np.random.Generator, v: variety.Variety, stem: np.ndarray,
            room: np.ndarray | None, sr: int) -> np.ndarray:
  """One stem through its microphone/EQ colouring and its place in the room (when switched on)."""
  if v.eq:
    stem = effects.equalize(stem, effects.microphone_eq(vrng, sr))
  if room is not None:
    stem = effects.reverb(stem, room, vrng.uniform(*effects.WET))
  return stem


def _bus(vrng: np.random.Generator, v: variety.Variety, stems: np.ndarray,
         sr: int) -> tuple[np.ndarray, np.ndarray | None, float]:
  """Mix-bus processing (when switched on): (stems after compression and band limit — both
  applied to every stem, so Σ stems stays the mix —, background noise for the mix or None, the mix
  peak level in dBFS)."""
  if v.compression:
    stems = stems * effects.compressor_gain(vrng, stems.sum(axis=0), sr)[None, :]
  if v.codec:
    stems = effects.equalize(stems, effects.band_limit_sos(vrng, sr))
  noise = None
  if v.noise:
    rms = mix.active_rms(stems.sum(axis=0)) * mix.db(-vrng.uniform(*effects.SNR_DB))
    noise = effects.noise(vrng, stems.shape[1], sr, rms)
  peak = vrng.uniform(*variety.GAIN_PEAK_DBFS) if v.gain else mix.PEAK_DBFS
  return stems.astype(np.float32), noise, float(peak)


def make(params: Params, scores: tuple[Score, ...], split: str, index: int,
         renderer: Renderer) -> dict[str, np.ndarray | str]:
  """The features of example `index` of `split` (see the builder's feature spec)."""
  rng = example_rng(params.seed, split, index)
  sr = params.sample_rate
  num_samples = round(rng.uniform(*params.duration_s) * sr)
  duration = num_samples / sr
  arrangement = arrange.arrange(rng, scores, duration, params.max_tracks,
                                params.palette, params.bpm_range)
  vrng = variety.variety_rng(params.seed, SPLIT_CODES[split], index)
  v = variety.recording_chain(vrng, params.variety, params.chain_prob)
  varied = []
  for t in arrangement.tracks:
    fonts = renderer.fonts_with(t.program)
    weights = [params.font_weights[f] for f in fonts] if params.font_weights else None
    varied.append(variety.vary_track(vrng, v, t.program, t.notes, duration, fonts,
                                     melodic=t.role == arrange.MELODIC, weights=weights))
  tracks = [dataclasses.replace(t, notes=r.notes)
            for t, r in zip(arrangement.tracks, varied, strict=True)]
  melodic = [k for k, t in enumerate(tracks) if t.role == arrange.MELODIC]
  spans = lead.spans(rng, arrangement.bar_times, duration, melodic)
  room = effects.room_impulse(vrng, sr, vrng.uniform(*effects.RT60_S)) if v.reverb else None

  stems, pans = [], []
  for k, (track, rendition) in enumerate(zip(tracks, varied, strict=True)):
    stem = mix.level(_perform(renderer, track.program, rendition, num_samples))
    stem *= np.float32(mix.db(rng.uniform(*GAIN_DB[track.role])))
    if track.role == arrange.MELODIC:
      stem *= lead.gain(spans, k, num_samples, sr, mix.db(LEAD_BOOST_DB))
    stems.append(_colour(vrng, v, stem, room, sr))
    pans.append(rng.uniform(-PAN[track.role], PAN[track.role]))
  stems, noise, peak_dbfs = _bus(vrng, v, np.stack(stems), sr)
  stems_pcm, audio = mix.mixdown(stems, np.array(pans), params.channels, noise, peak_dbfs)

  programs = np.array([t.program for t in tracks], np.int32)
  openmic = vocabularies.multi_hot(programs, "openmic")
  relevance, mask = partial_labels(rng, openmic)
  notes = np.concatenate([np.column_stack([t.notes, np.full(len(t.notes), k)])
                          for k, t in enumerate(tracks)])
  notes = notes[np.lexsort((notes[:, 4], notes[:, 2], notes[:, 0]))].astype(np.float32)
  return {
      "id": f"{arrangement.name} #{index}",
      "audio": audio,
      "stems": stems_pcm,
      "programs": programs,
      "irmas_labels": vocabularies.multi_hot(programs, "irmas"),
      "openmic_labels": openmic,
      "openmic_relevance": relevance,
      "openmic_mask": mask,
      "notes": notes,
      "lead": lead.frame_labels(spans, [t.notes for t in tracks], duration,
                                params.lead_frame_rate),
  }
