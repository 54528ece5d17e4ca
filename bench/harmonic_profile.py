"""How bright is a real note next to each bank's note of the same instrument and pitch? A
diagnostic for real-audio transfer (issue #14): the level of each harmonic of a real one-note
recording beside those of every bank's rendering of that note.

  python bench/harmonic_profile.py FILE.wav --program=40 [--banks=FluidR3_GM,BowedStrings]
      [--harmonics=8] [--start=0] [--seconds=1]

The file's pitch is the median pYIN f0 (librosa.pyin, 60-2000 Hz) of the analysed span
(`--start`, `--seconds`); each bank (default: synthmix `rich`'s installed banks) renders that
MIDI key (rounded) on GM `--program`, held 3 s, dry, at the file's rate capped at 32 kHz, and its
middle second is analysed. A harmonic's level is the Hann-windowed power within ±3 % of k·f0
(so vibrato keeps its energy in the band), in dB relative to the fundamental. The table: one row
per source (the file first), one column per harmonic.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MAX_RATE = 32000
HOLD_S = 3.0


def harmonic_levels(x: np.ndarray, f0: float, rate: int, count: int) -> np.ndarray:
  """(count,) dB of harmonics 1..count of f0 Hz in x, relative to harmonic 1 (power within ±3 %
  of k·f0 of the Hann-windowed spectrum); harmonics at or above Nyquist are NaN. ValueError for
  an f0 outside (0, rate/2) or an x of under 2 periods."""
  if not 0 < f0 < rate / 2 or x.size < 2 * rate / f0:
    raise ValueError(f"f0={f0} Hz needs 0 < f0 < {rate / 2} and at least two periods of audio "
                     f"({x.size} samples at {rate} Hz)")
  power = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
  freqs = np.fft.rfftfreq(x.size, 1 / rate)
  out = np.full(count, np.nan)
  for k in range(1, count + 1):
    if 1.03 * k * f0 < rate / 2:
      out[k - 1] = 10 * np.log10(power[(freqs > 0.97 * k * f0) & (freqs < 1.03 * k * f0)].sum()
                                 + 1e-30)
  return out - out[0]


def median_f0(x: np.ndarray, rate: int) -> float:
  """Median pYIN f0 (Hz) of the voiced frames of x. ValueError when none is voiced."""
  import librosa

  f0, voiced, _ = librosa.pyin(x, fmin=60.0, fmax=2000.0, sr=rate, frame_length=2048)
  if not np.any(voiced):
    raise ValueError("no pitched frame in the analysed span: give --start/--seconds of one note")
  return float(np.nanmedian(f0[voiced]))


def profile_rows(audio: np.ndarray, rate: int, program: int, banks: list[str],
                 count: int) -> tuple[int, list[tuple[str, np.ndarray]]]:
  """(MIDI key, [(source, levels)]): the file's harmonic levels, then each bank's (banks without
  `program` are left out). ValueError when no bank has `program`."""
  import librosa

  from data_builders.synthmix import render

  f0 = median_f0(audio, rate)
  key = round(float(librosa.hz_to_midi(f0)))
  rows = [("file", harmonic_levels(audio, f0, rate, count))]
  renderer = render.Renderer(banks, rate)
  note_f0 = float(librosa.midi_to_hz(key))
  if not renderer.fonts_with(program):
    raise ValueError(f"none of the banks {', '.join(banks)} has GM program {program}")
  for font in renderer.fonts_with(program):
    x = renderer.render(program, np.array([[0.05, HOLD_S - 0.05, key, 90]], float),
                        round(HOLD_S * rate), font=font)
    rows.append((banks[font], harmonic_levels(x[rate:2 * rate], note_f0, rate, count)))
  return key, rows


def table(key: int, rows: list[tuple[str, np.ndarray]]) -> str:
  """Markdown: one row per source, harmonic levels in dB (— where above Nyquist)."""
  count = len(rows[0][1])
  lines = [f"| MIDI {key} | " + " | ".join(f"h{k}" for k in range(1, count + 1)) + " |",
           "|---|" + "---:|" * count]
  for name, levels in rows:
    lines.append(f"| {name} | " + " | ".join("—" if np.isnan(v) else f"{v:.0f}" for v in levels)
                 + " |")
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("file")
  parser.add_argument("--program", type=int, required=True, help="GM program of the instrument")
  parser.add_argument("--banks", default=None, help="comma-separated (default: rich's)")
  parser.add_argument("--harmonics", type=int, default=8)
  parser.add_argument("--start", type=float, default=0.0, help="seconds")
  parser.add_argument("--seconds", type=float, default=1.0)
  args = parser.parse_args(argv)
  if not 0 <= args.program <= 127 or args.harmonics < 1 or args.seconds <= 0:
    parser.error(f"--program is a GM program 0-127 (got {args.program}), --harmonics >= 1, "
                 "--seconds > 0")
  import soundfile as sf

  from bench.probe_banks import default_banks
  from instrax.errors import UserError

  try:
    audio, rate = sf.read(args.file, dtype="float64", always_2d=True)
  except (OSError, RuntimeError) as e:
    print(f"error: cannot read {args.file}: {e}", file=sys.stderr)
    return 1
  audio = audio.mean(axis=1)
  if rate > MAX_RATE:
    import librosa

    audio, rate = librosa.resample(audio, orig_sr=rate, target_sr=MAX_RATE), MAX_RATE
  audio = audio[round(args.start * rate):round((args.start + args.seconds) * rate)]
  banks = args.banks.split(",") if args.banks else default_banks()
  try:
    key, rows = profile_rows(audio, rate, args.program, banks, args.harmonics)
  except (ValueError, UserError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  print(table(key, rows))
  return 0


if __name__ == "__main__":
  sys.exit(main())
