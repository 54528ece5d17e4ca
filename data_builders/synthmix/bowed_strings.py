"""BowedStrings: a SoundFont of modelled bowed-string notes (violin, viola, cello, double bass) —
a string in Helmholtz motion driving a resonant wooden body, as a close microphone in a dry room
hears it.

Why: the sampled banks' violins are darker than a real close-miked one (at B4 the 3rd-7th
harmonics of a real orchestral violin note lie 7 dB under the fundamental on average, those of
the six `rich` banks' notes 19 dB; bench/harmonic_profile.py, BENCHMARKS.md "More
timbres"), and a model trained on them names such bright sustained tones saxophone or trumpet.
These notes are computed (no recording, nothing downloaded), by a source-filter model of the
violin family:

- **String** (the source): a bowed string in Helmholtz motion pulls on the bridge with a
  sawtooth force, harmonic k of amplitude ∝ 1/k (Cremer 1984, "The Physics of the Violin", MIT
  Press); the slope is drawn per note, 1/k^s with s in SLOPE (more bow force is brighter),
  band-limited below MAX_HARMONIC_HZ. Vibrato of VIBRATO_HZ and VIBRATO_CENTS that
  sets in after the attack, a slow random pitch drift, and small bow-pressure fluctuations of
  the level. The attack is the Helmholtz motion building up over ATTACK_S (a raised cosine), with
  three times the bow noise.
- **Bow noise**: white noise ~30 dB under the string, through the body like the string.
- **Body** (the filter): a parallel bank of second-order resonators (the body's modes) plus a
  direct path. The violin's four signature modes A0, CBR, B1−, B1+ near 275, 405, 470 and 540 Hz
  (Woodhouse 2014, "The acoustics of the violin: a review", Rep. Prog. Phys. 77:115901), the
  broad "bridge hill" at 2-3 kHz (Jansson 1997, "Admittance measurements of 25 high quality
  violins", Acustica 83), and 20 higher modes at random frequencies (700 Hz-7 kHz, the dense
  modal region). Viola, cello and double bass scale every mode frequency by their
  `Instrument.body_scale` (0.85, 0.42, 0.27), as a geometrically scaled body would. Each preset
  is one instrument: one body drawn from the seed.

Programs 40-43 (violin, viola, cello, contrabass), notes every 3 semitones over each range, 4 s at
32 kHz (a bowed note is sustained: each fades over its last 0.5 s), RELEASE_S after note-off. The
parameters come from the physics and typical values above, never fitted to a recording instrax
is evaluated on.

  python -m data_builders.synthmix.bowed_strings            # `make soundfonts` runs this
  python -m data_builders.synthmix.bowed_strings --output=PATH --force
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import sys

import numpy as np
from scipy import signal

from data_builders.synthmix import built_bank, sf2

NAME = "BowedStrings"
RATE = 32000
NOTE_S = 4.0
FADE_S = 0.5
RELEASE_S = 0.2
MAX_HARMONIC_HZ = 11000.0
SLOPE = (0.85, 1.25)  # harmonic k at 1/k**s
ATTACK_S = (0.04, 0.15)
VIBRATO_HZ = (4.5, 7.0)
VIBRATO_CENTS = (8.0, 30.0)  # ± depth
VIBRATO_DELAY_S = (0.1, 0.4)
NOISE_DB = (-36.0, -26.0)  # bow noise under the string
SIGNATURE_HZ = (275.0, 405.0, 470.0, 540.0)  # violin A0, CBR, B1-, B1+
BRIDGE_HILL_HZ = (2000.0, 3000.0)
HIGH_MODES, HIGH_MODE_HZ = 20, (700.0, 7000.0)


@dataclasses.dataclass(frozen=True)
class Instrument:
  """One member of the family: GM `program`, playing range [low, high] (MIDI keys) and the
  factor on every body-mode frequency (1 = violin)."""

  name: str
  program: int
  low: int
  high: int
  body_scale: float

  def low_hz(self) -> float:
    """The lowest note's fundamental (Hz)."""
    return key_hz(self.low)


def key_hz(key: int) -> float:
  """The fundamental (Hz) of MIDI `key` in equal temperament, A4 = 440 Hz."""
  return 440.0 * 2 ** ((key - 69) / 12)


FAMILY = (Instrument("Violin", 40, 55, 100, 1.0), Instrument("Viola", 41, 48, 91, 0.85),
          Instrument("Cello", 42, 36, 84, 0.42), Instrument("Contrabass", 43, 28, 67, 0.27))


def body_modes(scale: float, rng: np.random.Generator) -> np.ndarray:
  """(M, 3) modes (frequency Hz, Q, gain) of one body: the four signature modes (±8 %), the bridge
  hill (Q 1.5-2.5) and HIGH_MODES random higher modes, every frequency × `scale`."""
  sig = [(f * rng.uniform(0.92, 1.08), rng.uniform(12, 30), rng.uniform(0.6, 1.5))
         for f in SIGNATURE_HZ]
  hill = [(rng.uniform(*BRIDGE_HILL_HZ), rng.uniform(1.5, 2.5), rng.uniform(1.0, 2.5))]
  high = [(float(np.exp(rng.uniform(*np.log(HIGH_MODE_HZ)))), rng.uniform(8, 30),
           rng.uniform(0.2, 1.0)) for _ in range(HIGH_MODES)]
  modes = np.array(sig + hill + high)
  modes[:, 0] *= scale
  return modes


def body_filter(x: np.ndarray, modes: np.ndarray, rate: int = RATE) -> np.ndarray:
  """`x` through the body: Σ gain · resonator(frequency, Q) + 0.1 · x (modes above 0.45 rate are
  left out)."""
  out = 0.1 * x
  for f, q, gain in modes:
    if f < 0.45 * rate:
      b, a = signal.iirpeak(f, q, fs=rate)
      out = out + gain * signal.lfilter(b, a, x)
  return out


def bridge_force(f0: float, length: int, rng: np.random.Generator,
                 rate: int = RATE) -> np.ndarray:
  """(length,) the string's force on the bridge: a band-limited 1/k**s sawtooth at `f0` Hz with
  vibrato (after a delay), a slow pitch drift, an attack and level fluctuations; peak ≈ 1."""
  t = np.arange(length) / rate
  delay = rng.uniform(*VIBRATO_DELAY_S)
  depth = np.clip((t - delay) / 0.3, 0.0, 1.0) * rng.uniform(*VIBRATO_CENTS)
  drift = np.interp(t, np.linspace(0, t[-1], 8), rng.normal(0, 3.0, 8))  # cents
  cents = depth * np.sin(2 * np.pi * rng.uniform(*VIBRATO_HZ) * t + rng.uniform(0, 2 * np.pi))
  freq = f0 * 2 ** ((cents + drift) / 1200)
  phase = 2 * np.pi * np.cumsum(freq) / rate
  slope = rng.uniform(*SLOPE)
  out = np.zeros(length)
  for k in range(1, int(min(MAX_HARMONIC_HZ, 0.45 * rate) / f0) + 1):
    out += np.sin(k * phase) / k ** slope
  level = np.interp(t, np.linspace(0, t[-1], 12), 10 ** (rng.normal(0, 1.0, 12) / 20))
  return out * level * attack_envelope(length, rng.uniform(*ATTACK_S), rate) / np.abs(out).max()


def attack_envelope(length: int, attack_s: float, rate: int = RATE) -> np.ndarray:
  """(length,) 0 → 1 over `attack_s` (a raised cosine), then 1."""
  n = min(length, max(1, round(attack_s * rate)))
  env = np.ones(length)
  env[:n] = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
  return env


def note(inst: Instrument, key: int, modes: np.ndarray, seed: int = 0) -> np.ndarray:
  """(NOTE_S · RATE,) float32 note of MIDI `key` through the body `modes`, peak 0.9, fading over
  its last FADE_S."""
  rng = np.random.default_rng([seed, inst.program, key])
  length = int(NOTE_S * RATE)
  string = bridge_force(key_hz(key), length, rng)
  attack = attack_envelope(length, ATTACK_S[1])
  noise = rng.standard_normal(length) * 10 ** (rng.uniform(*NOISE_DB) / 20) * (3 - 2 * attack)
  out = body_filter(string + noise, modes)
  out = signal.sosfilt(signal.butter(2, 0.6 * inst.low_hz(), "highpass", fs=RATE, output="sos"),
                       out)
  fade = int(FADE_S * RATE)
  out[-fade:] *= np.linspace(1.0, 0.0, fade)
  return (0.9 * out / np.abs(out).max()).astype(np.float32)


def root_keys(inst: Instrument) -> tuple[int, ...]:
  """Sampled keys: every 3 semitones from the lowest note, and the highest."""
  keys = list(range(inst.low, inst.high + 1, 3))
  return tuple(keys if keys[-1] == inst.high else [*keys, inst.high])


def presets(seed: int = 0) -> list[sf2.Preset]:
  """One preset per FAMILY member, one body each (drawn from `seed`), notes at root_keys."""
  out = []
  for inst in FAMILY:
    modes = body_modes(inst.body_scale, np.random.default_rng([seed, inst.program]))
    samples = tuple(sf2.Sample(f"{inst.program:03d} {k}", note(inst, k, modes, seed), RATE, k)
                    for k in root_keys(inst))
    out.append(sf2.Preset(inst.name, inst.program, samples, RELEASE_S))
  return out


def build(output: str | os.PathLike) -> pathlib.Path:
  """Writes the BowedStrings SoundFont to `output`."""
  return built_bank.write(output, presets(), NAME)


def main(argv: list[str] | None = None) -> int:
  return built_bank.run(NAME, built_bank.parser(NAME, __doc__).parse_args(argv), build)


if __name__ == "__main__":
  sys.exit(main())
