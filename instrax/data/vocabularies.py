"""Class vocabularies of the datasets, and how General-MIDI programs map onto them.

GM programs are 0-based (0 = Acoustic Grand Piano); 128 stands for the drum kit (channel 10).
"""

from __future__ import annotations

import numpy as np

IRMAS = ("cel", "cla", "flu", "gac", "gel", "org", "pia", "sax", "tru", "vio", "voi")
IRMAS_NAMES = ("cello", "clarinet", "flute", "acoustic guitar", "electric guitar", "organ", "piano",
               "saxophone", "trumpet", "violin", "voice")

OPENMIC = ("accordion", "banjo", "bass", "cello", "clarinet", "cymbals", "drums", "flute", "guitar",
           "mallet_percussion", "mandolin", "organ", "piano", "saxophone", "synthesizer",
           "trombone", "trumpet", "ukulele", "violin", "voice")

# MagnaTagATune top-50 tags in Won et al.'s `split/mtat/tags.npy` order (minzwon/
# sota-music-tagging-models; identical to musicnn's MTT_LABELS): the columns of `tags` targets.
MTAT = ("guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast",
        "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera",
        "male", "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman",
        "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir",
        "voice", "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello",
        "no voice", "weird", "country", "metal", "female voice", "choral")

# FMA's 16 top-level genres in MSSPT's index order (cgaroufis/MSSPT; seeds.md §3.6).
FMA = ("Electronic", "Instrumental", "Hip-Hop", "Country", "Spoken", "Old-Time / Historic",
       "Classical", "Blues", "International", "Pop", "Folk", "Jazz", "Experimental",
       "Easy Listening", "Rock", "Soul-RnB")

DRUMS = 128

# GM program -> IRMAS class (programs not listed have no IRMAS class).
GM_TO_IRMAS: dict[int, str] = {
    42: "cel", 71: "cla", 73: "flu", 24: "gac", 25: "gac", 26: "gel", 27: "gel", 29: "gel",
    30: "gel", 16: "org", 17: "org", 18: "org", 19: "org", 20: "org", 0: "pia", 1: "pia",
    2: "pia", 64: "sax", 65: "sax", 66: "sax", 67: "sax", 56: "tru", 40: "vio", 52: "voi",
    53: "voi",
}

# GM program -> OpenMIC class.
GM_TO_OPENMIC: dict[int, str] = {
    21: "accordion", 105: "banjo", **{p: "bass" for p in range(32, 40)}, 42: "cello",
    71: "clarinet", DRUMS: "drums", 73: "flute", **{p: "guitar" for p in range(24, 32)},
    **{p: "mallet_percussion" for p in (9, 11, 12, 13, 14)}, **{p: "organ" for p in range(16, 21)},
    **{p: "piano" for p in range(0, 6)}, **{p: "saxophone" for p in range(64, 68)},
    **{p: "synthesizer" for p in range(80, 96)}, 57: "trombone", 56: "trumpet", 40: "violin",
    52: "voice", 53: "voice", 54: "voice",
}

VOCABULARIES: dict[str, tuple[str, ...]] = {"irmas": IRMAS, "openmic": OPENMIC, "mtat": MTAT,
                                             "fma": FMA}
GM_MAPS: dict[str, dict[int, str]] = {"irmas": GM_TO_IRMAS, "openmic": GM_TO_OPENMIC}


def multi_hot(programs: list[int] | np.ndarray, vocabulary: str) -> np.ndarray:
  """Multi-hot float32 vector over `vocabulary` of the classes the GM `programs` map to."""
  classes = VOCABULARIES[vocabulary]
  mapping = GM_MAPS[vocabulary]
  out = np.zeros(len(classes), np.float32)
  for p in programs:
    name = mapping.get(int(p))
    if name is not None:
      out[classes.index(name)] = 1.0
  return out
