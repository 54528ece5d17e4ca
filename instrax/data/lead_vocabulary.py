"""Instrument-type vocabularies of the lead-track task (ids start at 1; 0 = unknown/padding).

"lead_cross": the seed's cross-dataset vocabulary (34 types, seed 000 §1.7; datasets.md §3), for
MedleyDB. "gm": General-MIDI programs 0..127 plus 128 = drum kit as ids 1..129, for synthmix.
"""

from __future__ import annotations

import re

import pretty_midi

from instrax.data.vocabularies import DRUMS
from instrax.errors import ConfigError

LEAD_CROSS = (
    "accordion", "acoustic_bass", "acoustic_guitar", "backing_track", "banjo", "brass", "cajon",
    "chimes", "claps", "dizi", "drum", "electric_bass", "electric_guitar", "erhu", "glockenspiel",
    "guzheng", "harmonica", "kantele", "keyboards", "lute", "mandolin", "melodica", "mix", "na",
    "organ", "sax", "shaker", "string", "synthesizer", "trumpet", "vibraphone", "vocal",
    "woodwind", "yangqin")
GM = (*tuple(pretty_midi.program_to_instrument_name(p) for p in range(128)), "Drums")
VOCABULARIES: dict[str, tuple[str, ...]] = {"lead_cross": LEAD_CROSS, "gm": GM}
assert len(GM) == DRUMS + 1


def names(vocabulary: str) -> tuple[str, ...]:
  """The instrument names of `vocabulary`; name i - 1 has id i."""
  if vocabulary not in VOCABULARIES:
    raise ConfigError(f"instrument vocabulary {vocabulary!r} unknown; choose from "
                      f"{', '.join(VOCABULARIES)}")
  return VOCABULARIES[vocabulary]


def _norm(text: str) -> str:
  return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def id_from_text(text: str, vocabulary: str) -> int:
  """The id of the vocabulary name found in `text` (a file name, say; longest match), else 0."""
  key = f"_{_norm(text)}_"
  hits = [(len(n), i + 1) for i, n in enumerate(names(vocabulary)) if f"_{_norm(n)}_" in key]
  return max(hits)[1] if hits else 0
