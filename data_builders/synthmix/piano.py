"""One `synthmix/piano` example: a solo-piano rendering of a score excerpt (every part on one
piano, like a reduction) at a random tempo, with phrase-shaped velocities and sustain-pedal
pedalling, through one of the available piano presets; a pure function of (parameters, score
material, split, index).

Pedalling: tinysoundfont plays no sustain pedal (CC 64), so pedal-down spans are applied to the
notes themselves, as in MAESTRO's labels (Hawthorne et al. 2019, §3): a key released while the
pedal is down sounds on until the pedal is released (or the same key is struck again). The `notes`
offsets are these sounding offsets, and they are also the note-offs sent to the synthesiser.
"""

from __future__ import annotations

import numpy as np

from data_builders.synthmix import arrange, example, mix, variety
from data_builders.synthmix.render import Renderer
from data_builders.synthmix.scores import Score

PIANO_PROGRAMS = (0, 1, 2)  # GM acoustic grand, bright acoustic, electric grand
PIANO_RANGE = (21, 108)  # A0..C8
PEDALLING = ("none", "bar", "half_bar", "beat")  # how often the pedal is changed
PEDAL_DOWN_S = (0.03, 0.12)  # legato pedalling: pedal goes down this long after the change point
PEDAL_UP_S = (0.0, 0.04)  # ... and comes up this long before it
TOP_VOICE_DB = 8.0  # velocity lift of the highest part (melody voicing), in velocity steps


def presets(num_fonts: int) -> list[tuple[int, int]]:
  """Every (SoundFont index, GM program) piano preset of `num_fonts` General-MIDI banks."""
  return [(f, p) for f in range(num_fonts) for p in PIANO_PROGRAMS]


def pedal_spans(rng: np.random.Generator, style: str, change_times: np.ndarray,
                duration: float) -> np.ndarray:
  """(P, 2) [down_s, up_s] sustain-pedal spans: re-pedalled at each of `change_times` (the pedal
  comes up just before a change point and goes down just after it); none for style "none"."""
  if style == "none":
    return np.zeros((0, 2))
  edges = np.concatenate([[0.0], change_times[(change_times > 0) & (change_times < duration)],
                          [duration]])
  downs = edges[:-1] + rng.uniform(*PEDAL_DOWN_S, len(edges) - 1)
  ups = edges[1:] - rng.uniform(*PEDAL_UP_S, len(edges) - 1)
  ups[-1] = duration
  keep = ups > downs
  return np.stack([downs[keep], ups[keep]], axis=1)


def sustain(notes: np.ndarray, spans: np.ndarray) -> np.ndarray:
  """`notes` (N, ≥2) whose key-up (column 1) falls inside a pedal span [down, up) sounding until
  that span's `up`; then `arrange.clean` ends each note where the same key is struck again."""
  out = notes.copy()
  for down, up in spans:
    held = (out[:, 1] >= down) & (out[:, 1] < up)
    out[held, 1] = up
  return arrange.clean(out)


def change_times(style: str, bar_times: np.ndarray, beat_s: float, duration: float) -> np.ndarray:
  """Pedal change points of `style`: bar lines, bar lines and half-bars, or every beat."""
  if style == "beat":
    return np.arange(beat_s, duration, beat_s)
  if style == "half_bar" and len(bar_times) >= 2:
    bar_s = float(np.median(np.diff(bar_times)))
    first = float(bar_times[0]) % bar_s
    return np.arange(first, duration, bar_s / 2)
  return np.asarray(bar_times, np.float64)


def make(params: example.Params, scores: tuple[Score, ...], split: str, index: int,
         renderer: Renderer) -> dict[str, np.ndarray | str]:
  """{"id", "audio" int16 (T, 1), "notes" float32 (N, 5) [onset_s, offset_s, pitch, velocity, 0]}
  of example `index` of `split`."""
  rng = example.example_rng(params.seed, split, index)
  sr = params.sample_rate
  num_samples = round(rng.uniform(*params.duration_s) * sr)
  duration = num_samples / sr
  score, ex, beat_q, _ = arrange.pick_excerpt(rng, scores, duration, params.bpm_range)
  transpose = int(rng.integers(-5, 7))
  base = rng.uniform(40, 105)
  top = int(np.argmax([np.mean(p[:, 2]) if len(p) else -1 for p in ex.parts]))
  rows = []
  for k, part in enumerate(ex.parts):
    if len(part):
      lift = TOP_VOICE_DB if k == top else 0.0
      velocity = np.full(len(part), base + lift)
      rows.append(np.column_stack([part[:, :2], part[:, 2] + transpose, velocity]))
  notes = np.concatenate(rows)
  notes[:, 2] = np.clip(notes[:, 2], *PIANO_RANGE)
  notes = variety.velocity_curve(rng, notes, duration)
  style = PEDALLING[int(rng.integers(len(PEDALLING)))]
  points = change_times(style, ex.bar_times, ex.seconds_per_quarter * beat_q, duration)
  notes = sustain(arrange.clean(notes), pedal_spans(rng, style, points, duration))
  options = presets(len(renderer.fonts))
  font, program = options[int(rng.integers(len(options)))]
  stem = mix.level(renderer.render(program, notes, num_samples, font))
  _, audio = mix.mixdown(stem[None], np.zeros(1), 1)
  notes = np.column_stack([notes, np.zeros(len(notes))])
  notes = notes[np.lexsort((notes[:, 2], notes[:, 0]))].astype(np.float32)
  return {"id": f"{score.name} bars {ex.first_bar + 1}-{ex.last_bar + 1} piano:{font}/{program} "
                f"pedal:{style} #{index}",
          "audio": audio, "notes": notes}
