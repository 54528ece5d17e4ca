"""Rendering variety, each part switched on by a `Variety` field (all off by default, so the
`demo` and `tiny` builds stay as they were): which SoundFont plays each track, velocity and
expression curves, register, held notes, vibrato, ensemble doubling, and the recording chain
(`effects`).

Every draw comes from the example's own *variety* generator (`variety_rng`), separate from the one
that arranges the example, so switching a field on changes the sound and never the arrangement
(the instruments and labels; only `held` changes the notes' timing, of the tracks it picks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from data_builders.synthmix import instruments, render
from instrax.errors import DatasetError

VELOCITY_SWING = (8.0, 30.0)  # ± depth of a track's phrase-level velocity curve
EXPRESSION_RANGE = (60, 127)  # CC 11 values an expression curve moves between
EXPRESSION_STEP_S = (0.4, 2.0)  # time between its breakpoints
OCTAVES = (-12, 0, 12)
GAIN_PEAK_DBFS = (-24.0, -1.0)  # mix peak level when `gain` is on (fixed −1 dBFS otherwise)
HELD_PROB = 0.35  # chance that a melodic track plays held notes instead of its part
HELD_NOTE_S = (0.6, 3.0)  # length of each held note
HELD_GAP_S = (0.0, 0.4)  # silence before each held note
VIBRATO_PROB = 0.6  # chance that a track of instruments.VIBRATO_PROGRAMS gets vibrato
VIBRATO_CENTS = (10.0, 45.0)  # ± pitch depth
VIBRATO_HZ = (4.5, 7.0)
VIBRATO_ONSET_S = (0.08, 0.4)  # each note's vibrato fades in over this time
ENSEMBLE_PROB = 0.35  # chance that a track of instruments.SECTION_PROGRAMS becomes a section
ENSEMBLE_PLAYERS = (2, 4)  # players (renderings) of a section, including the first
ENSEMBLE_DETUNE_CENTS = 15.0  # each extra player is detuned within ± this
ENSEMBLE_DELAY_S = (0.004, 0.035)  # and starts this much later (onset spread of a section)


@dataclasses.dataclass(frozen=True)
class Variety:
  """Which variations an example gets (see docs/synthmix.md).

  fonts: each track plays through a SoundFont drawn from the config's `soundfonts`.
  dynamics: per-track velocity curves (crescendo/diminuendo + jitter) and CC 11 expression curves.
  register: each pitched track moved by a random octave (−1, 0, +1) that keeps it in range.
  eq: per-stem microphone/EQ colouring. reverb: one synthesised room per mix, a wet share per stem.
  compression: mix-bus compressor. codec: codec-like low-pass. noise: background noise at a random
  SNR. gain: random mix level (peak −24 to −1 dBFS instead of −1).
  held: a melodic track (HELD_PROB) plays a few long notes drawn from its part's pitches, as a
  single sustained note or a slow line does in a real solo recording.
  vibrato: a bowed, wind, brass or vocal track (VIBRATO_PROB) gets periodic pitch modulation
  through the pitch wheel, fading in after each note onset.
  ensemble: a string, vocal or wind track (ENSEMBLE_PROB) is played by 2-4 detuned, slightly
  late renderings through random banks: a section (orchestral strings, a choir) instead of one
  sampled player.
  """

  fonts: bool = False
  dynamics: bool = False
  register: bool = False
  eq: bool = False
  reverb: bool = False
  compression: bool = False
  codec: bool = False
  noise: bool = False
  gain: bool = False
  held: bool = False
  vibrato: bool = False
  ensemble: bool = False


NONE = Variety()  # the default: no variation
ALL = Variety(**{f.name: True for f in dataclasses.fields(Variety)})
#: The recording-chain fields: what a microphone, a room and a delivery chain do to a recording,
#: as opposed to what the players do. `recording_chain` keeps each with a probability.
CHAIN = ("eq", "reverb", "compression", "codec", "noise")


def recording_chain(rng: np.random.Generator, v: Variety, prob: float) -> Variety:
  """`v` with each CHAIN field that is on kept with probability `prob` (one draw per CHAIN
  field, in CHAIN order, only when prob < 1: prob = 1 draws nothing and returns `v`). With
  prob < 1 some examples are clean, dry, full-band recordings, as real solo recordings often are.
  ValueError for prob outside [0, 1]."""
  if not 0.0 <= prob <= 1.0:
    raise ValueError(f"chain probability must be in [0, 1], got {prob}")
  if prob == 1.0:
    return v
  keep = {name: bool(getattr(v, name)) and bool(rng.random() < prob) for name in CHAIN}
  return dataclasses.replace(v, **keep)


def variety_rng(seed: int, split_code: int, index: int) -> np.random.Generator:
  """The variety generator of one example (independent of its arrangement generator)."""
  return np.random.default_rng([seed, split_code, index, 1])


def velocity_curve(rng: np.random.Generator, notes: np.ndarray, duration: float) -> np.ndarray:
  """`notes` (N, ≥4) with velocities (column 3) moved along a random phrase curve: a linear
  crescendo or diminuendo plus a slow swell, ± VELOCITY_SWING, plus per-note jitter; 1..127."""
  out = notes.copy()
  depth = rng.uniform(*VELOCITY_SWING)
  t = out[:, 0] / max(duration, 1e-6)
  ramp = rng.uniform(-1, 1) * (2 * t - 1)
  swell = np.sin(2 * np.pi * (rng.uniform(0.3, 1.5) * t + rng.uniform()))
  curve = depth * (0.6 * ramp + 0.4 * swell)
  out[:, 3] = np.clip(np.round(out[:, 3] + curve + rng.normal(0, 4, len(out))), 1, 127)
  return out


def expression_curve(rng: np.random.Generator, duration: float) -> np.ndarray:
  """(ceil(duration × CONTROL_RATE) + 1,) int CC 11 values: piecewise linear between random
  breakpoints every EXPRESSION_STEP_S seconds in EXPRESSION_RANGE."""
  n = int(np.ceil(duration * render.CONTROL_RATE)) + 1
  times = [0.0]
  while times[-1] < duration:
    times.append(times[-1] + rng.uniform(*EXPRESSION_STEP_S))
  values = rng.uniform(*EXPRESSION_RANGE, len(times))
  return np.round(np.interp(np.arange(n) / render.CONTROL_RATE, times, values)).astype(np.int64)


def register_shift(rng: np.random.Generator, notes: np.ndarray, program: int) -> np.ndarray:
  """`notes` moved by an octave from OCTAVES drawn among those keeping every pitch in the range
  of `program` (instruments.RANGES); drums and empty tracks are returned as they are."""
  if program == instruments.DRUMS or len(notes) == 0:
    return notes
  lo, hi = instruments.RANGES[program]
  fits = [s for s in OCTAVES if notes[:, 2].min() + s >= lo and notes[:, 2].max() + s <= hi]
  out = notes.copy()
  out[:, 2] += fits[int(rng.integers(len(fits)))] if fits else 0
  return out


def held_notes(rng: np.random.Generator, notes: np.ndarray, duration: float) -> np.ndarray:
  """(M, 4) held notes replacing a track's (N, ≥4) `notes`: from a random start in the first
  HELD_GAP_S, notes of HELD_NOTE_S seconds separated by HELD_GAP_S silences until `duration`,
  each on a pitch drawn from the part's pitches, at its mean velocity ± 6. An empty part is
  returned as it is."""
  if len(notes) == 0:
    return notes[:, :4]
  rows, t = [], float(rng.uniform(*HELD_GAP_S))
  velocity = float(np.mean(notes[:, 3]))
  while t < duration - 0.1:
    end = min(duration, t + float(rng.uniform(*HELD_NOTE_S)))
    rows.append([t, end, float(rng.choice(notes[:, 2])),
                 float(np.clip(round(velocity + rng.normal(0, 6)), 1, 127))])
    t = end + float(rng.uniform(*HELD_GAP_S))
  return np.array(rows, np.float64).reshape(-1, 4)


def vibrato_curve(rng: np.random.Generator, notes: np.ndarray, duration: float) -> np.ndarray:
  """(ceil(duration × render.PITCH_RATE) + 1,) float pitch offsets in cents at render.PITCH_RATE
  Hz: a sinusoid of VIBRATO_HZ (slowly wandering ±10 %) and depth VIBRATO_CENTS, whose depth
  restarts from 0 at each note onset and reaches full depth VIBRATO_ONSET_S later."""
  n = int(np.ceil(duration * render.PITCH_RATE)) + 1
  t = np.arange(n) / render.PITCH_RATE
  rate = rng.uniform(*VIBRATO_HZ) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t))
  phase = 2 * np.pi * np.cumsum(rate) / render.PITCH_RATE + rng.uniform(0, 2 * np.pi)
  onsets = np.sort(notes[:, 0])
  last = np.searchsorted(onsets, t, side="right") - 1  # the latest onset at or before t
  since = np.where(last >= 0, t - onsets[np.maximum(last, 0)], 0.0)
  fade = np.clip(since / rng.uniform(*VIBRATO_ONSET_S), 0.0, 1.0)
  return rng.uniform(*VIBRATO_CENTS) * fade * np.sin(phase)


def draw_font(rng: np.random.Generator, fonts: Sequence[int],
              weights: Sequence[float] | None = None) -> int:
  """One of `fonts`: uniform (one `integers` draw) or in proportion to `weights`."""
  if weights is None:
    return fonts[int(rng.integers(len(fonts)))]
  w = np.asarray(weights, np.float64)
  return fonts[int(rng.choice(len(fonts), p=w / w.sum()))]


@dataclasses.dataclass(frozen=True)
class Player:
  """One rendering of a track: a SoundFont, a detune (cents) and a delay (seconds)."""

  font: int
  detune_cents: float = 0.0
  delay_s: float = 0.0


@dataclasses.dataclass(frozen=True)
class Rendition:
  """How one track is rendered under a `Variety`: its notes, players (one unless `ensemble`),
  CC 11 expression curve and vibrato curve (cents), or None where off."""

  notes: np.ndarray
  players: tuple[Player, ...]
  expression: np.ndarray | None = None
  vibrato: np.ndarray | None = None


def vary_track(rng: np.random.Generator, v: Variety, program: int, notes: np.ndarray,
               duration: float, fonts: Sequence[int], melodic: bool = True,
               weights: Sequence[float] | None = None) -> Rendition:
  """The rendition of one track under `v` (draws only for the fields that are on). `fonts`: the
  indices of the SoundFonts that can play `program` (Renderer.fonts_with); the first plays it
  unless `v.fonts` draws one, uniformly or in proportion to `weights` (one per font)."""
  if not fonts:
    raise DatasetError(f"no SoundFont of the config has a preset for GM program {program}")
  font = draw_font(rng, fonts, weights) if v.fonts and len(fonts) > 1 else fonts[0]
  if v.held and melodic and rng.random() < HELD_PROB:
    notes = held_notes(rng, notes, duration)
  if v.register:
    notes = register_shift(rng, notes, program)
  expression = None
  if v.dynamics:
    notes = velocity_curve(rng, notes, duration)
    expression = expression_curve(rng, duration)
  vibrato = None
  if v.vibrato and program in instruments.VIBRATO_PROGRAMS and rng.random() < VIBRATO_PROB:
    vibrato = vibrato_curve(rng, notes, duration)
  players = [Player(font)]
  if v.ensemble and program in instruments.SECTION_PROGRAMS and rng.random() < ENSEMBLE_PROB:
    for _ in range(int(rng.integers(ENSEMBLE_PLAYERS[0], ENSEMBLE_PLAYERS[1] + 1)) - 1):
      players.append(Player(draw_font(rng, fonts, weights),
                            float(rng.uniform(-ENSEMBLE_DETUNE_CENTS, ENSEMBLE_DETUNE_CENTS)),
                            float(rng.uniform(*ENSEMBLE_DELAY_S))))
  return Rendition(notes, tuple(players), expression, vibrato)
