"""A tiny fake MAPS tree in the original layout (for tests), plus copies of real re-encoded files.

Fake: pieces `p1` (on AkPnBcht and ENSTDkCl), `p2`, `p3`, `p4` (AkPnBcht), `p5` (ENSTDkCl); each
a 1.5 s 44.1 kHz stereo wav, its `.txt` (tab-separated, CRLF line ends) and a `.mid` holding the
same notes with velocities. `p1` on both pianos checks that a piece never spans two splits.
"""

from __future__ import annotations

import pathlib
import shutil

import numpy as np
import pretty_midi
import soundfile as sf

RATE = 44100
FAKE = {"p1": ("AkPnBcht", "ENSTDkCl"), "p2": ("AkPnBcht",), "p3": ("AkPnBcht",),
        "p4": ("AkPnBcht",), "p5": ("ENSTDkCl",)}


def fake_notes(seed: int) -> np.ndarray:
  """(4, 4) [onset_s, offset_s, pitch, velocity] of a fake piece (velocity differs per note)."""
  rng = np.random.default_rng(seed)
  onsets = np.round(np.sort(rng.uniform(0.1, 1.2, 4)), 3)
  pitches = rng.choice(np.arange(21, 109), 4, replace=False)
  return np.column_stack([onsets, onsets + 0.2, pitches, [30, 60, 90, 120]]).astype(np.float64)


def make_fake_maps(root: pathlib.Path) -> dict[str, np.ndarray]:
  """Writes the fake tree under `root`; returns the notes by file stem."""
  expected = {}
  for k, (piece, pianos) in enumerate(FAKE.items()):
    for piano in pianos:
      folder = root / piano / "MUS"
      folder.mkdir(parents=True, exist_ok=True)
      stem = f"MAPS_MUS-{piece}_{piano}"
      notes = fake_notes(k)
      t = np.arange(int(1.5 * RATE)) / RATE
      audio = 0.1 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 220 * t)], 1)
      sf.write(folder / f"{stem}.wav", audio, RATE, subtype="PCM_16")
      lines = ["OnsetTime\tOffsetTime\tMidiPitch"] + [
          f"{on:.6f}\t{off:.6f}\t{int(p)}" for on, off, p, _ in notes]
      (folder / f"{stem}.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
      midi = pretty_midi.PrettyMIDI()
      inst = pretty_midi.Instrument(0)
      inst.notes = [pretty_midi.Note(int(v), int(p), on, off) for on, off, p, v in notes]
      midi.instruments.append(inst)
      midi.write(str(folder / f"{stem}.mid"))
      expected[stem] = notes
  return expected


def copy_real(real: pathlib.Path, root: pathlib.Path, stems: list[str],
              seconds: float | None = None) -> None:
  """Copies real re-encoded files (flac + tsv) of `stems` into `root` in the same layout; with
  `seconds`, only their first `seconds` (audio cut, notes starting later dropped, offsets cut)."""
  for stem in stems:
    for sub in ("flac", "tsv"):
      (root / sub).mkdir(parents=True, exist_ok=True)
    flac, tsv = real / "flac" / f"{stem}.flac", real / "tsv" / f"{stem}.tsv"
    if seconds is None:
      shutil.copy(flac, root / "flac" / flac.name)
      shutil.copy(tsv, root / "tsv" / tsv.name)
      continue
    audio, rate = sf.read(flac, dtype="int16")
    sf.write(root / "flac" / flac.name, audio[:round(seconds * rate)], rate)
    notes = np.loadtxt(tsv, skiprows=1, ndmin=2)
    notes = notes[notes[:, 0] < seconds]
    notes[:, 1] = np.minimum(notes[:, 1], seconds)
    np.savetxt(root / "tsv" / tsv.name, notes, fmt=["%.6f", "%.6f", "%d", "%d"], delimiter="\t",
               header="onset,offset,note,velocity")
