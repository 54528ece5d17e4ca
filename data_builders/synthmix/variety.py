"""Rendering variety, each part switched on by a `Variety` field (all off by default, so the
`demo` and `tiny` builds stay as they were): which SoundFont plays each track, velocity and
expression curves, register, and the recording chain (`effects`).

Every draw comes from the example's own *variety* generator (`variety_rng`), separate from the one
that arranges the example, so switching a field on changes the sound and never the arrangement
(the instruments, notes' timing and labels).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data_builders.synthmix import instruments, render

VELOCITY_SWING = (8.0, 30.0)  # ± depth of a track's phrase-level velocity curve
EXPRESSION_RANGE = (60, 127)  # CC 11 values an expression curve moves between
EXPRESSION_STEP_S = (0.4, 2.0)  # time between its breakpoints
OCTAVES = (-12, 0, 12)
GAIN_PEAK_DBFS = (-24.0, -1.0)  # mix peak level when `gain` is on (fixed −1 dBFS otherwise)


@dataclasses.dataclass(frozen=True)
class Variety:
  """Which variations an example gets (see docs/synthmix.md).

  fonts: each track plays through a SoundFont drawn from the config's `soundfonts`.
  dynamics: per-track velocity curves (crescendo/diminuendo + jitter) and CC 11 expression curves.
  register: each pitched track moved by a random octave (−1, 0, +1) that keeps it in range.
  eq: per-stem microphone/EQ colouring. reverb: one synthesised room per mix, a wet share per stem.
  compression: mix-bus compressor. codec: codec-like low-pass. noise: background noise at a random
  SNR. gain: random mix level (peak −24 to −1 dBFS instead of −1).
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


NONE = Variety()  # the default: no variation
ALL = Variety(**{f.name: True for f in dataclasses.fields(Variety)})


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


def vary_track(rng: np.random.Generator, v: Variety, program: int, notes: np.ndarray,
               duration: float, num_fonts: int) -> tuple[np.ndarray, int, np.ndarray | None]:
  """(notes, font index, expression curve or None) of one track under `v`."""
  font = int(rng.integers(num_fonts)) if v.fonts and num_fonts > 1 else 0
  if v.register:
    notes = register_shift(rng, notes, program)
  expression = None
  if v.dynamics:
    notes = velocity_curve(rng, notes, duration)
    expression = expression_curve(rng, duration)
  return notes, font, expression
