"""Writing a SoundFont 2 bank from recorded one-note samples: one preset per General-MIDI
program, each key played by the nearest sampled pitch (the usual multisample layout).

Format: SoundFont 2.01 Technical Specification (E-mu Systems, 1998): a RIFF `sfbk` file with an
INFO list (version, engine, name), an `sdta` list holding 16-bit PCM (each sample followed by 46
zero points, §6.1) and a `pdta` list of nine fixed-size record tables (§7), each ending in a
terminal record. Only what a sampler needs is written: a key range, the sample, its root key and
pitch correction, an optional sustain loop, and the volume envelope's attack, decay, sustain and
release (§8.1.2 generators 43, 53, 54, 58, 34, 36, 37, 38).
"""

from __future__ import annotations

import dataclasses
import math
import os
import struct
from collections.abc import Sequence

import numpy as np

_PAD_POINTS = 46  # zero points after each sample (§6.1)
# Generator operators (§8.1.2).
_ATTACK_VOL_ENV, _DECAY_VOL_ENV, _SUSTAIN_VOL_ENV, _RELEASE_VOL_ENV = 34, 36, 37, 38
_INSTRUMENT, _KEY_RANGE, _SAMPLE_ID, _SAMPLE_MODES, _OVERRIDING_ROOT_KEY = 41, 43, 53, 54, 58
_MONO_SAMPLE = 1
_LOOP_CONTINUOUSLY = 1  # sampleModes value (§8.1.2, generator 54)
SILENT_CB = 1000  # sustain level of a decaying preset: 100 dB down, inaudible (§8.1.3)


@dataclasses.dataclass(frozen=True)
class Sample:
  """One recorded note: (T,) float audio in [-1, 1] at `sample_rate` Hz, MIDI pitch `root_key`
  played `pitch_correction` cents flat/sharp of it (−99..99: the sample sounds at root_key −
  correction/100). `loop`: (start, end) points of a segment repeated while the key is held (end
  exclusive), else the sample plays once."""

  name: str
  audio: np.ndarray
  sample_rate: int
  root_key: int
  loop: tuple[int, int] | None = None
  pitch_correction: int = 0


@dataclasses.dataclass(frozen=True)
class Preset:
  """GM `program` (0-127, bank 0) played from `samples`; note-off fades out over `release_s`.
  `decay_s`: a held note fades to silence (SILENT_CB) over this time, as a plucked or struck
  string does (None: it sustains, as a looped bowed or blown note does). Presets holding the same
  `samples` object (and envelope) share one instrument in the file."""

  name: str
  program: int
  samples: tuple[Sample, ...]
  release_s: float = 0.3
  attack_s: float = 0.0
  decay_s: float | None = None


def key_ranges(root_keys: Sequence[int]) -> list[tuple[int, int]]:
  """(lowest, highest) MIDI key each sample plays, in the order of `root_keys` (distinct): every
  key 0-127 goes to the nearest root (the lower one at a tie)."""
  roots = sorted(root_keys)
  if len(set(roots)) != len(roots):
    raise ValueError(f"root keys repeat: {sorted(root_keys)}")
  bounds = {}
  for i, r in enumerate(roots):
    lo = 0 if i == 0 else (roots[i - 1] + r) // 2 + 1
    hi = 127 if i == len(roots) - 1 else (r + roots[i + 1]) // 2
    bounds[r] = (lo, hi)
  return [bounds[r] for r in root_keys]


def _timecents(seconds: float) -> int:
  """Envelope time in timecents (1200·log2(s)), −12000 (1 ms) for 0 (§8.1.3)."""
  return -12000 if seconds <= 0.001 else round(1200 * math.log2(seconds))


def _name(text: str, size: int = 20) -> bytes:
  return text.encode("ascii", "replace")[:size - 1].ljust(size, b"\0")


def _chunk(tag: bytes, data: bytes) -> bytes:
  return tag + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _list(tag: bytes, chunks: Sequence[bytes]) -> bytes:
  return _chunk(b"LIST", tag + b"".join(chunks))


def _gen(oper: int, amount: int) -> bytes:
  return struct.pack("<Hh", oper, amount)


def _range_gen(lo: int, hi: int) -> bytes:
  return struct.pack("<HBB", _KEY_RANGE, lo, hi)


def write(path: str | os.PathLike, presets: Sequence[Preset], bank_name: str = "instrax") -> None:
  """Writes `presets` to a SoundFont 2 file at `path`. ValueError for a repeated program, a
  preset without samples, a sample that is empty, not mono or outside [-1, 1], or a loop that is
  not within the sample (at least 8 points long, §7.10)."""
  programs = [p.program for p in presets]
  if len(set(programs)) != len(programs):
    raise ValueError(f"programs repeat: {programs}")
  pcm, shdr = [], []
  phdr, pbag, pgen = [], [], []
  inst, ibag, igen = [], [], []
  offset = 0
  instruments: dict[tuple, int] = {}  # presets sharing samples (and envelope) share these
  for preset in presets:
    if not preset.samples:
      raise ValueError(f"preset {preset.name!r} has no samples")
    phdr.append(_name(preset.name) + struct.pack("<HHHIII", preset.program, 0, len(pbag), 0, 0, 0))
    pbag.append(struct.pack("<HH", len(pgen), 0))
    key = (id(preset.samples), preset.release_s, preset.attack_s, preset.decay_s)
    if key in instruments:
      pgen.append(_gen(_INSTRUMENT, instruments[key]))
      continue
    instruments[key] = len(inst)
    pgen.append(_gen(_INSTRUMENT, len(inst)))
    inst.append(_name(preset.name) + struct.pack("<H", len(ibag)))
    ranges = key_ranges([s.root_key for s in preset.samples])
    for sample, (lo, hi) in zip(preset.samples, ranges, strict=True):
      audio = np.asarray(sample.audio, np.float64)
      if audio.ndim != 1 or audio.size == 0 or np.abs(audio).max() > 1.0:
        raise ValueError(f"sample {sample.name!r}: need non-empty mono audio within [-1, 1]")
      loop = sample.loop or (0, audio.size)
      if sample.loop is not None and not 0 <= loop[0] <= loop[1] - 8 <= audio.size - 8:
        raise ValueError(f"sample {sample.name!r}: loop {loop} is not a segment of >= 8 points "
                         f"within its {audio.size} points")
      ints = np.round(audio * 32767).astype("<i2")
      start, end = offset, offset + ints.size
      pcm += [ints.tobytes(), bytes(2 * _PAD_POINTS)]
      offset = end + _PAD_POINTS
      shdr.append(_name(sample.name) + struct.pack(
          "<IIIIIBbHH", start, end, start + loop[0], start + loop[1], sample.sample_rate,
          sample.root_key, sample.pitch_correction, 0, _MONO_SAMPLE))
      ibag.append(struct.pack("<HH", len(igen), 0))
      envelope = [_gen(_ATTACK_VOL_ENV, _timecents(preset.attack_s))]
      if preset.decay_s is not None:
        envelope += [_gen(_DECAY_VOL_ENV, _timecents(preset.decay_s)),
                     _gen(_SUSTAIN_VOL_ENV, SILENT_CB)]
      modes = 0 if sample.loop is None else _LOOP_CONTINUOUSLY
      igen += [_range_gen(lo, hi), *envelope,
               _gen(_RELEASE_VOL_ENV, _timecents(preset.release_s)), _gen(_SAMPLE_MODES, modes),
               _gen(_OVERRIDING_ROOT_KEY, sample.root_key), _gen(_SAMPLE_ID, len(shdr) - 1)]
  # Terminal records (§7.2-7.10).
  phdr.append(_name("EOP") + struct.pack("<HHHIII", 0, 0, len(pbag), 0, 0, 0))
  pbag.append(struct.pack("<HH", len(pgen), 0))
  pgen.append(bytes(4))
  inst.append(_name("EOI") + struct.pack("<H", len(ibag)))
  ibag.append(struct.pack("<HH", len(igen), 0))
  igen.append(bytes(4))
  shdr.append(_name("EOS") + bytes(26))
  info = _list(b"INFO", [_chunk(b"ifil", struct.pack("<HH", 2, 1)),
                         _chunk(b"isng", b"EMU8000\0"), _chunk(b"INAM", _name(bank_name, 256))])
  sdta = _list(b"sdta", [_chunk(b"smpl", b"".join(pcm))])
  pdta = _list(b"pdta", [_chunk(b"phdr", b"".join(phdr)), _chunk(b"pbag", b"".join(pbag)),
                         _chunk(b"pmod", bytes(10)), _chunk(b"pgen", b"".join(pgen)),
                         _chunk(b"inst", b"".join(inst)), _chunk(b"ibag", b"".join(ibag)),
                         _chunk(b"imod", bytes(10)), _chunk(b"igen", b"".join(igen)),
                         _chunk(b"shdr", b"".join(shdr))])
  body = b"sfbk" + info + sdta + pdta
  tmp = f"{os.fspath(path)}.partial"
  with open(tmp, "wb") as f:
    f.write(b"RIFF" + struct.pack("<I", len(body)) + body)
  os.replace(tmp, path)
