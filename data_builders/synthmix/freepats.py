"""FreePats: a SoundFont for synthmix made from the FreePats General-MIDI patch set (Debian package
`freepats`, GPL-2+ with an exception for compositions that use it; sampled instruments in GUS
`.pat` format, one file per GM program: pianos, organs, nylon, steel, jazz, clean and overdriven
guitars, violin, cello, voice, trumpet, saxophones, clarinet, flute, basses and more).

It adds recordings that none of the other banks holds, with their sustain loops
(`gus_patch.read`). The bank is built on the user's machine from the installed package; instrax
ships none of the audio.

  python -m data_builders.synthmix.freepats            # `make soundfonts` runs this
  python -m data_builders.synthmix.freepats --patches_dir=DIR --output=PATH

Each `Tone_000/NNN_<name>.pat` becomes the preset of GM program NNN (72 programs in freepats
20060219). The GUS envelope is not carried over: a plucked or struck program (`DECAYING`: pianos,
chromatic percussion, guitars, basses, harp) fades to silence (100 dB down) over 8 s while held;
the others sustain on their loop; every note fades over 0.2 s after note-off. An existing bank is
kept unless --force (`make soundfonts` passes it: the build takes a second).
"""

from __future__ import annotations

import os
import pathlib
import re
import sys

from data_builders.synthmix import built_bank, gus_patch, sf2

NAME = "FreePats"
PATCH_DIRS = ("/usr/share/midi/freepats", "/usr/share/freepats", "/usr/share/timidity/freepats")
INSTALL_HINT = "install the `freepats` package (Debian/Ubuntu: `sudo apt-get install freepats`)"
#: GM programs whose notes die away on their own: chromatic percussion and pianos (0-15),
#: guitars and basses (24-39), pizzicato, harp, timpani (45-47), ethnic plucked (104-108).
DECAYING = frozenset((*range(0, 16), *range(24, 40), 45, 46, 47, *range(104, 109)))
DECAY_S = 8.0  # to SILENT_CB (100 dB down): about −60 dB after 5 s, as a guitar or piano note
RELEASE_S = 0.2
_PATCH = re.compile(r"^(\d{3})_(.+)\.pat$")


def presets(patches_dir: str | os.PathLike) -> list[sf2.Preset]:
  """One preset per `Tone_000/NNN_<name>.pat` of `patches_dir`, lowest program first.
  FileNotFoundError naming INSTALL_HINT when there is no such patch."""
  tone_dir = pathlib.Path(patches_dir).expanduser() / "Tone_000"
  found = sorted(tone_dir.glob("*.pat")) if tone_dir.is_dir() else []
  out = []
  for path in found:
    m = _PATCH.match(path.name)
    if m is None or int(m.group(1)) > 127:
      continue
    program, name = int(m.group(1)), m.group(2).replace("_", " ")
    samples = tuple(gus_patch.read(path, prefix=f"{program:03d} "))
    if samples:
      out.append(sf2.Preset(name, program, samples, RELEASE_S,
                            decay_s=DECAY_S if program in DECAYING else None))
  if not out:
    raise FileNotFoundError(f"no FreePats patches in {tone_dir}: {INSTALL_HINT}, or pass "
                            "--patches_dir")
  return out


def find_patches() -> pathlib.Path | None:
  """The first of PATCH_DIRS that exists, else None."""
  return next((pathlib.Path(d) for d in PATCH_DIRS if pathlib.Path(d, "Tone_000").is_dir()), None)


def build(output: str | os.PathLike, patches_dir: str | os.PathLike) -> pathlib.Path:
  """Writes the FreePats SoundFont to `output` from the patches in `patches_dir`."""
  bank = presets(patches_dir)  # every patch read before anything is written
  return built_bank.write(output, bank, NAME)


def main(argv: list[str] | None = None) -> int:
  parser = built_bank.parser(NAME, __doc__)
  parser.add_argument("--patches_dir", default=None,
                      help=f"the FreePats folder (holding Tone_000/); default: the first of "
                           f"{', '.join(PATCH_DIRS)}")
  args = parser.parse_args(argv)
  return built_bank.run(NAME, args, lambda out: build(out, args.patches_dir or _installed()))


def _installed() -> pathlib.Path:
  found = find_patches()
  if found is None:
    raise FileNotFoundError(f"FreePats not found at {', '.join(PATCH_DIRS)}: {INSTALL_HINT}, "
                            "or pass --patches_dir")
  return found


if __name__ == "__main__":
  sys.exit(main())
