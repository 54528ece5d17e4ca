"""The banks instrax builds on the user's machine (TonejsInstruments, FreePats, DIGuitar,
BowedStrings): where each goes, and the command line every bank builder shares (--output, --force;
keep or build; report)."""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
from collections.abc import Callable, Sequence

from data_builders.synthmix import render, sf2


def default_output(name: str) -> pathlib.Path:
  """The first of the places synthmix looks for the built bank `name` (render.STANDARD_PATHS,
  after /usr/share) whose folder this user can write or create: /usr/local/share/sounds/sf2
  (root), else ~/.local/share/sounds/sf2."""
  candidates = [pathlib.Path(p).expanduser() for p in render.STANDARD_PATHS[name][1:]]
  return next((p for p in candidates if _writable(p.parent)), candidates[-1])


def _writable(folder: pathlib.Path) -> bool:
  while not folder.exists():
    folder = folder.parent
  return os.access(folder, os.W_OK)


def parser(name: str, doc: str | None) -> argparse.ArgumentParser:
  """A bank builder's parser: its module docstring, --output (default: default_output) and
  --force; the builder adds its own options."""
  out = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
  out.add_argument("--output", default=None, help=f"default: {default_output(name)}")
  out.add_argument("--force", action="store_true", help="rebuild an existing bank")
  return out


def run(name: str, args: argparse.Namespace,
        build_to: Callable[[pathlib.Path], pathlib.Path]) -> int:
  """A bank-building command's outcome: keeps an existing output (args.output, else
  default_output) unless args.force, else runs `build_to(output)`; prints what it did; 0 on
  success, 1 (the error on stderr) on failure."""
  output = pathlib.Path(args.output).expanduser() if args.output else default_output(name)
  if output.exists() and not args.force:
    print(f"{name}: {output} exists (--force rebuilds it)")
    return 0
  try:
    path = build_to(output)
  except (OSError, RuntimeError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  print(f"{name}: wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
  return 0


def write(output: str | os.PathLike, presets: Sequence[sf2.Preset], name: str) -> pathlib.Path:
  """Writes `presets` as the SoundFont `name` to `output` (~ expanded, folders made); its path."""
  output = pathlib.Path(output).expanduser()
  output.parent.mkdir(parents=True, exist_ok=True)
  sf2.write(output, presets, name)
  return output
