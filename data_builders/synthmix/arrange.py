"""Arranging a score excerpt for a band: melodic tracks on instruments of distinct IRMAS classes,
optional bass on the lowest voice and optional procedural drums."""

from __future__ import annotations

import dataclasses

import numpy as np

from data_builders.synthmix import drums, instruments
from data_builders.synthmix.scores import Excerpt, Score, excerpt

MELODIC, BASS, DRUM_KIT = "melodic", "bass", "drums"
MAX_MELODIC = 3
P_BASS, P_DRUMS = 0.5, 0.4
BPM_RANGE = (72.0, 144.0)
MIN_ACTIVE = 0.3  # a voice must sound for this fraction of the excerpt to become a track


@dataclasses.dataclass(frozen=True)
class Track:
  role: str
  program: int
  notes: np.ndarray  # (N, 4) rows [onset_s, offset_s, midi_pitch, velocity]


@dataclasses.dataclass(frozen=True)
class Arrangement:
  name: str  # e.g. "bach/bwv66.6 bars 3-7"
  duration: float
  bar_times: np.ndarray  # bar lines inside (0, duration), seconds
  tracks: tuple[Track, ...]


def _velocities(rng: np.random.Generator, n: int) -> np.ndarray:
  base = rng.integers(70, 111)
  return np.clip(np.round(base + rng.normal(0.0, 8.0, n)), 1, 127)


def clean(notes: np.ndarray, min_length: float = 0.02) -> np.ndarray:
  """Notes sorted by onset with unisons merged: a note ends where the next one of the same pitch
  starts (so note-offs never cut a later note), and notes shorter than `min_length` are dropped."""
  order = np.lexsort((notes[:, 0], notes[:, 2]))
  notes = notes[order].copy()
  same = notes[1:, 2] == notes[:-1, 2]
  notes[:-1, 1] = np.where(same, np.minimum(notes[:-1, 1], notes[1:, 0]), notes[:-1, 1])
  notes = notes[notes[:, 1] - notes[:, 0] >= min_length]
  return notes[np.lexsort((notes[:, 2], notes[:, 0]))]


def _voice(rng: np.random.Generator, part: np.ndarray, program: int, transpose: int) -> np.ndarray:
  pitches = instruments.fit_range(part[:, 2] + transpose, program)
  notes = np.column_stack([part[:, 0], part[:, 1], pitches, _velocities(rng, len(part))])
  return clean(notes)


def pick_excerpt(rng: np.random.Generator, scores: tuple[Score, ...], duration: float,
                 bpm_range: tuple[float, float]) -> tuple[Score, Excerpt, float, list[int]]:
  """(score, excerpt, beat in quarters, indices of its parts active ≥ MIN_ACTIVE of the time) of a
  random `duration`-second excerpt at a random tempo (beats per minute in `bpm_range`; the beat is
  a half note when the piece moves mostly in half notes)."""
  for _ in range(50):
    score = scores[int(rng.integers(len(scores)))]
    beat_q = 2.0 if score.median_duration_q >= 2 else 1.0
    seconds_per_quarter = 60.0 / rng.uniform(*bpm_range) / beat_q
    length_q = duration / seconds_per_quarter
    fits = np.flatnonzero(score.bars[:-1] + length_q <= score.bars[-1])
    first = int(rng.choice(fits)) if len(fits) else 0
    ex = excerpt(score, first, duration, seconds_per_quarter)
    eligible = [i for i, p in enumerate(ex.parts)
                if len(p) >= 2 and np.sum(p[:, 1] - p[:, 0]) >= MIN_ACTIVE * duration]
    if eligible:
      return score, ex, beat_q, eligible
  raise RuntimeError(f"no playable excerpt in {len(scores)} scores")


def arrange(rng: np.random.Generator, scores: tuple[Score, ...], duration: float,
            max_tracks: int, palette: str = "all",
            bpm_range: tuple[float, float] = BPM_RANGE) -> Arrangement:
  """A random `duration`-second arrangement of a random excerpt of one of `scores`, its melodic
  programs drawn from `palette` (instruments.PALETTES), at a tempo drawn from `bpm_range`."""
  class_programs = list(instruments.PALETTES[palette].values())
  score, ex, beat_q, eligible = pick_excerpt(rng, scores, duration, bpm_range)
  seconds_per_quarter = ex.seconds_per_quarter

  n_melodic = int(rng.integers(1, min(MAX_MELODIC, max_tracks) + 1))
  room = max_tracks - n_melodic
  with_bass = room >= 1 and len(eligible) >= 2 and rng.random() < P_BASS
  room -= with_bass
  with_drums = room >= 1 and rng.random() < P_DRUMS
  bass_part = min(eligible, key=lambda i: np.mean(ex.parts[i][:, 2])) if with_bass else None
  pool = [i for i in eligible if i != bass_part]
  parts = rng.choice(pool, min(n_melodic, len(pool)), replace=False)
  classes = rng.choice(len(class_programs), len(parts), replace=False)
  transpose = int(rng.integers(-5, 7))

  tracks = []
  for part, cls in zip(parts, classes):
    program = int(rng.choice(class_programs[cls]))
    tracks.append(Track(MELODIC, program, _voice(rng, ex.parts[part], program, transpose)))
  if with_bass:
    program = int(rng.choice(instruments.BASS_PROGRAMS))
    tracks.append(Track(BASS, program, _voice(rng, ex.parts[bass_part], program, transpose)))
  if with_drums:
    beats_per_bar = round(float(np.median(np.diff(score.bars))) / beat_q)
    downbeat = float(ex.bar_times[0]) if len(ex.bar_times) else 0.0
    pattern = drums.pattern(rng, duration, downbeat, seconds_per_quarter * beat_q, beats_per_bar)
    tracks.append(Track(DRUM_KIT, instruments.DRUMS, pattern))
  order = rng.permutation(len(tracks))
  return Arrangement(f"{score.name} bars {ex.first_bar + 1}-{ex.last_bar + 1}", duration,
                     ex.bar_times, tuple(tracks[i] for i in order))
