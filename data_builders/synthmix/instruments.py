"""The General-MIDI instruments synthmix plays: which programs, their playable ranges, and fitting
a part into a range by octave transposition."""

from __future__ import annotations

import numpy as np

from instrax.data import vocabularies

DRUMS = vocabularies.DRUMS
BASS_PROGRAMS = tuple(range(32, 40))

# IRMAS class -> the GM programs that render it (vocabularies.GM_TO_IRMAS inverted).
IRMAS_PROGRAMS: dict[str, tuple[int, ...]] = {
    c: tuple(sorted(p for p, k in vocabularies.GM_TO_IRMAS.items() if k == c))
    for c in vocabularies.IRMAS
}

# One clearly distinct program per IRMAS class: the "canonical" palette (configs choose
# "all" — every program of the class, realistic and harder — or this one).
CANONICAL_PROGRAMS: dict[str, tuple[int, ...]] = {
    "cel": (42,), "cla": (71,), "flu": (73,), "gac": (24,), "gel": (30,), "org": (19,),
    "pia": (0,), "sax": (65,), "tru": (56,), "vio": (40,), "voi": (52,),
}
PALETTES = {"all": IRMAS_PROGRAMS, "canonical": CANONICAL_PROGRAMS}

# Instruments played with vibrato (bowed strings, winds, brass, voices), and those often heard as
# a section (strings, voices, winds): the `vibrato` and `ensemble` variations (variety.py).
VIBRATO_PROGRAMS = frozenset({40, 42, 52, 53, 56, 64, 65, 66, 67, 71, 73})
SECTION_PROGRAMS = frozenset({40, 42, 52, 53, 71, 73})

# Practical sounding range (lowest, highest MIDI pitch) of each program synthmix plays.
_RANGES: dict[tuple[int, ...], tuple[int, int]] = {
    (0, 1, 2): (33, 96),          # pianos
    (16, 17, 18, 19, 20): (36, 96),  # organs
    (24, 25): (40, 84),           # nylon / steel guitar
    (26, 27, 29, 30): (40, 88),   # jazz / clean / overdrive / distortion guitar
    (40,): (55, 96),              # violin
    (42,): (36, 76),              # cello
    (52, 53): (48, 81),           # choir aahs / voice oohs
    (56,): (54, 82),              # trumpet
    (64,): (56, 87),              # soprano sax
    (65,): (49, 81),              # alto sax
    (66,): (44, 76),              # tenor sax
    (67,): (36, 69),              # baritone sax
    (71,): (50, 91),              # clarinet
    (73,): (60, 96),              # flute
    BASS_PROGRAMS: (28, 55),      # basses
}
RANGES: dict[int, tuple[int, int]] = {p: r for ps, r in _RANGES.items() for p in ps}


def fit_range(pitches: np.ndarray, program: int) -> np.ndarray:
  """`pitches` shifted by the whole octaves that keep most notes in `program`'s range; notes still
  outside are folded in by octaves one by one."""
  lo, hi = RANGES[program]
  pitches = np.asarray(pitches, np.int64)
  if pitches.size == 0:
    return pitches
  shifts = 12 * np.arange(-5, 6)
  shifted = pitches[None, :] + shifts[:, None]
  inside = np.mean((shifted >= lo) & (shifted <= hi), axis=1)
  off_center = np.abs(np.median(pitches) + shifts - (lo + hi) / 2)
  # Most notes inside; among ties, the shift that centres the part best.
  out = shifted[np.lexsort((off_center, -inside))[0]]
  while np.any(out < lo):
    out = np.where(out < lo, out + 12, out)
  while np.any(out > hi):
    out = np.where(out > hi, out - 12, out)
  return out
