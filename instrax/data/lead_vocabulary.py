"""Instrument-type vocabularies of the lead-track task (ids start at 1; 0 = unknown/padding).

"lead_cross": the seed's cross-dataset vocabulary (34 types, seed 000 §1.7; datasets.md §3), for
MedleyDB, whose instrument labels fold into it by `MEDLEYDB_TO_CROSS` (the seed's table,
`inst_utils_cross_dataset.stem_inst_map`). "gm": General-MIDI programs 0..127 plus 128 = drum kit
as ids 1..129, for synthmix.
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
# MedleyDB instrument label (METADATA.yaml `stems.Sxx.instrument`) → lead_cross type, as the seed.
MEDLEYDB_TO_CROSS: dict[str, str] = {
    "male singer": "vocal", "female singer": "vocal", "vocalists": "vocal", "male speaker": "vocal",
    "male rapper": "vocal", "scratches": "vocal",
    "distorted electric guitar": "electric_guitar", "clean electric guitar": "electric_guitar",
    "lap steel guitar": "electric_guitar", "acoustic guitar": "acoustic_guitar",
    "drum set": "drum", "auxiliary percussion": "drum", "drum machine": "drum", "tabla": "drum",
    "tambourine": "drum", "kick drum": "drum", "timpani": "drum", "snare drum": "drum",
    "cymbal": "drum", "darbuka": "drum", "doumbek": "drum", "gu": "drum", "toms": "drum",
    "piano": "keyboards", "tack piano": "keyboards", "electric piano": "keyboards",
    "clarinet": "woodwind", "flute": "woodwind", "bassoon": "woodwind", "oboe": "woodwind",
    "bass clarinet": "woodwind", "piccolo": "woodwind",
    "brass section": "brass", "horn section": "brass", "trumpet section": "brass",
    "trombone": "brass", "french horn": "brass", "french horn section": "brass", "tuba": "brass",
    "string section": "string", "violin": "string", "violin section": "string", "cello": "string",
    "viola": "string", "viola section": "string",
    "tenor saxophone": "sax", "alto saxophone": "sax", "soprano saxophone": "sax",
    "baritone saxophone": "sax",
    "oud": "lute", "liuqin": "lute", "zhongruan": "lute",
    "sampler": "backing_track", "fx/processed sound": "backing_track",
    "Main System": "backing_track",
    "double bass": "acoustic_bass", "electric bass": "electric_bass", "banjo": "banjo",
    "synthesizer": "synthesizer", "mandolin": "mandolin", "harmonica": "harmonica",
    "melodica": "melodica", "yangqin": "yangqin", "guzheng": "guzheng", "dizi": "dizi",
    "erhu": "erhu", "vibraphone": "vibraphone", "accordion": "accordion",
    "glockenspiel": "glockenspiel", "claps": "claps", "shaker": "shaker", "chimes": "chimes",
}
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


def medleydb_id(label: str) -> int:
  """The lead_cross id of a MedleyDB instrument label (e.g. "male singer" → vocal = 32); 0 for a
  label the seed's table does not fold (the seed's 109 songs use none of those)."""
  kind = MEDLEYDB_TO_CROSS.get(label.strip())
  return LEAD_CROSS.index(kind) + 1 if kind else 0


def instrument_id(name: str, vocabulary: str) -> int:
  """The id of an instrument named by a user or a file: a MedleyDB label (lead_cross), else the
  vocabulary name found in `name` (`id_from_text`), else 0 = unknown."""
  if vocabulary == "lead_cross" and (found := medleydb_id(name)):
    return found
  return id_from_text(name, vocabulary)
