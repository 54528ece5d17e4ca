"""TonejsInstruments: a SoundFont of real recorded instruments for synthmix, built from the
one-note sample sets of the tonejs-instruments project (Nicholaus Brosowsky; npm packages
`tonejs-instrument-<name>-mp3`, recorded notes of real cello, violin, clarinet, flute, saxophone,
trumpet, guitars, piano, organ, harmonium and basses, gathered from public-domain sources; the
samples are CC BY 3.0, the code MIT, as the packages' READMEs state). The bank is built on the
user's machine; instrax ships none of the audio.

The GM banks sample each instrument too, but from few (and often synthetic-sounding) recordings;
these are other real instruments and rooms. Which GM programs each set plays is `CATALOGUE`.

  python -m data_builders.synthmix.sample_bank            # `make soundfonts` runs this
  python -m data_builders.synthmix.sample_bank --output=PATH --packages_dir=DIR

Fetches the pinned package versions from the npm registry (registry.npmjs.org, checked against
their SHA-1), decodes each note (soundfile), trims the decoder's lead-in silence, caps each note at
`MAX_NOTE_S` with a fade, and writes one preset per program (instrax's sf2 writer: each key played
by the nearest recorded pitch). Offline: put the .tgz files in --packages_dir first.
"""

from __future__ import annotations

import dataclasses
import io
import os
import pathlib
import re
import sys
import tarfile
from collections.abc import Sequence

import numpy as np

from data_builders.synthmix import built_bank, sf2
from instrax import download

NAME = "TonejsInstruments"
REGISTRY = "https://registry.npmjs.org"
MAX_NOTE_S = 8.0
FADE_S = 0.05
ONSET_DB = -40.0  # a note starts at its first sample within 40 dB of its peak ...
PRE_ROLL_S = 0.002  # ... less this much
_NOTE = re.compile(r"^([A-G])(s?)(-?\d)$")  # "As2" = A♯2; C4 = MIDI 60
_SEMITONES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclasses.dataclass(frozen=True)
class SampleSet:
  """One npm package of recorded notes and the GM programs it plays."""

  name: str  # tonejs-instrument-<name>-mp3
  version: str
  sha1: str  # the registry's dist.shasum of the tarball
  programs: tuple[int, ...]
  release_s: float  # fade after note-off

  @property
  def package(self) -> str:
    return f"tonejs-instrument-{self.name}-mp3"

  @property
  def tarball(self) -> str:
    return f"{self.package}-{self.version}.tgz"


CATALOGUE: tuple[SampleSet, ...] = (
    SampleSet("piano", "1.1.2", "3f4072fde6be8790ed16802411cebc6f037de346", (0, 1), 0.3),
    SampleSet("organ", "1.1.1", "7db291ccb71ca877d21e78fe78ded782de668a99", (19,), 0.15),
    SampleSet("harmonium", "1.1.1", "bc1769d809b65734027fd15e5e79834c682182f9", (20,), 0.15),
    SampleSet("guitar-nylon", "1.1.1", "0c3263bae8cd836998c3a66470c41fde5df3bbd1", (24,), 0.3),
    SampleSet("guitar-acoustic", "1.1.2", "c62d7ee9d77a13379a93086c15bc03080b6cc299", (25,), 0.3),
    SampleSet("guitar-electric", "1.1.1", "f039a478cceeb9990c4ec8050619dfe76bd35225", (26, 27),
              0.3),
    SampleSet("contrabass", "1.1.2", "ead51151ed8073c30330b5be4a6d26117b5f77cc", (32,), 0.2),
    SampleSet("bass-electric", "1.1.2", "79eadbeb4e9752b7b976acfcfc663a3173b6f946", (33, 34),
              0.2),
    SampleSet("violin", "1.1.1", "f8730c3699b90d7bdba6e9d982b344724d5f2fa7", (40,), 0.2),
    SampleSet("cello", "1.1.1", "246e801b80accdbe9481a9a9b1bb212aa9346d90", (42,), 0.2),
    SampleSet("trumpet", "1.1.2", "3a4734ca9dbf35e575a28395ae65fe934fb921ba", (56,), 0.15),
    SampleSet("saxophone", "1.1.2", "0b79ff7112e161f88ef5648de4f5ca3e95511727", (65, 66), 0.15),
    SampleSet("clarinet", "1.1.2", "f5900a1c8e7e7708fe2c154f8108ea1e9b044f53", (71,), 0.15),
    SampleSet("flute", "1.1.2", "232d9cb3757dfb935fb196dec6def6d8ce26ca80", (73,), 0.15),
)


def midi_pitch(note: str) -> int | None:
  """MIDI pitch of a tonejs note name ("C4" = 60, "As2" = A♯2 = 46); None for anything else
  (e.g. "F2 v2", a second take)."""
  m = _NOTE.match(note)
  if m is None:
    return None
  letter, sharp, octave = m.groups()
  return 12 * (int(octave) + 1) + _SEMITONES[letter] + (1 if sharp else 0)


def trim(audio: np.ndarray, sample_rate: int) -> np.ndarray:
  """(T,) note from its onset (first sample within ONSET_DB of the peak, less PRE_ROLL_S) for at
  most MAX_NOTE_S, faded out over FADE_S when cut. ValueError for silence."""
  peak = float(np.abs(audio).max()) if audio.size else 0.0
  if peak == 0.0:
    raise ValueError("the note is silent")
  first = int(np.argmax(np.abs(audio) >= peak * 10 ** (ONSET_DB / 20)))
  audio = audio[max(0, first - round(PRE_ROLL_S * sample_rate)):]
  limit = round(MAX_NOTE_S * sample_rate)
  if audio.size > limit:
    audio = audio[:limit].copy()
    fade = round(FADE_S * sample_rate)
    audio[-fade:] *= np.linspace(1.0, 0.0, fade)
  return audio


def fetch(sample_set: SampleSet, packages_dir: pathlib.Path) -> pathlib.Path:
  """The package's tarball in `packages_dir`, downloaded from the npm registry if absent.
  RuntimeError when its SHA-1 is not the pinned one, or the download fails."""
  return download.fetch(f"{REGISTRY}/{sample_set.package}/-/{sample_set.tarball}",
                        packages_dir / sample_set.tarball, sample_set.sha1, "sha1",
                        f"Download it by hand into {packages_dir} (e.g. `npm pack "
                        f"{sample_set.package}@{sample_set.version}`)", timeout_s=120)


def read_notes(tarball: pathlib.Path, prefix: str) -> list[sf2.Sample]:
  """The recorded notes of a package tarball, trimmed (see `trim`), lowest pitch first; names
  start with `prefix`."""
  import soundfile

  samples = []
  with tarfile.open(tarball) as tar:
    for member in tar.getmembers():
      stem = pathlib.PurePosixPath(member.name)
      pitch = midi_pitch(stem.stem) if stem.suffix == ".mp3" else None
      if pitch is None:
        continue
      audio, sr = soundfile.read(io.BytesIO(tar.extractfile(member).read()), dtype="float32",
                                 always_2d=True)
      note = trim(audio.mean(axis=1), sr)
      note = note * np.float32(min(1.0, 0.99 / float(np.abs(note).max())))
      samples.append(sf2.Sample(f"{prefix}{stem.stem}", note, sr, pitch))
  return sorted(samples, key=lambda s: s.root_key)


def build(output: str | os.PathLike, packages_dir: str | os.PathLike,
          catalogue: Sequence[SampleSet] = CATALOGUE) -> pathlib.Path:
  """Fetches (if needed) and converts `catalogue` into the SoundFont `output`; returns its path."""
  packages_dir = pathlib.Path(packages_dir).expanduser()
  presets = []
  for sample_set in catalogue:
    samples = tuple(read_notes(fetch(sample_set, packages_dir), sample_set.name[:12]))
    presets += [sf2.Preset(f"{sample_set.name} {p}", p, samples, sample_set.release_s)
                for p in sample_set.programs]
  return built_bank.write(output, sorted(presets, key=lambda p: p.program), NAME)


def main(argv: list[str] | None = None) -> int:
  parser = built_bank.parser(NAME, __doc__)
  parser.add_argument("--packages_dir", default="~/.cache/instrax/npm",
                      help="where the package tarballs are (or go)")
  args = parser.parse_args(argv)
  return built_bank.run(NAME, args, lambda out: build(out, args.packages_dir))


if __name__ == "__main__":
  sys.exit(main())
