"""DIGuitar: a SoundFont of electric guitar notes as a direct-input (DI) recording hears them — the
string through its magnetic pickup straight into the desk, with no amplifier, cabinet or room.

The GM banks sample electric guitars through amplifiers; no installed bank holds a dry DI guitar,
a common way guitars are recorded. These notes are computed (no recording, nothing downloaded), by
a plucked-string model of the kind of Karjalainen, Välimäki & Tolonen (1998), "Plucked-string
models: from the Karplus-Strong algorithm to digital waveguides and beyond", Computer Music
Journal 22(3):

- **String**: a single delay loop of one period P = rate / f0 samples (Jaffe & Smith 1983,
  "Extensions of the Karplus-Strong plucked-string algorithm", CMJ 7(2)) with a one-pole loss
  filter g (1 + a) / (1 + a z⁻¹) set per note from the decay times at f0 and at 3 kHz (Välimäki et
  al. 1996, "Physical modeling of plucked string instruments", JAES 44(5)) and a first-order
  allpass for the fractional part of P. Two polarisations, 1.4 cents apart, the second decaying
  more slowly, sum with weights 0.75 / 0.25 (beating and a two-stage decay).
- **Pluck**: the loop starts from the triangular displacement of a string pulled at `pluck` of its
  length from the bridge (harmonics k with k·pluck whole vanish), plus 3 % noise (the pick).
- **Pickup**: the displacement at `pickup` of the length from the bridge (the comb
  1 − z^(−pickup·P)) — a humbucker averages two coils 18 mm apart — differentiated (a magnetic
  pickup's voltage follows the string's velocity), through the second-order resonant low-pass of
  the pickup's inductance with the cable's capacitance (`resonance_hz`, `q`), then a 30-Hz
  high-pass.

Programs (the pickup places are those of a 648-mm-scale guitar, resonances typical of loaded
pickups): 27 "Clean Electric Guitar" — single-coil middle pickup, bright round-wound strings;
26 "Jazz Guitar" — neck humbucker, duller strings. Notes every 3 semitones from E2 to E6, 5 s at
32 kHz, each fading over its last 0.5 s; every note fades over RELEASE_S after note-off. The
parameters come from the physics, not from any recording instrax is evaluated on.

  python -m data_builders.synthmix.di_guitar            # `make soundfonts` runs this (2 s)
  python -m data_builders.synthmix.di_guitar --output=PATH --force
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import sys

import numpy as np
from scipy import signal

from data_builders.synthmix import built_bank, sf2

NAME = "DIGuitar"
RATE = 32000
NOTE_S = 5.0
FADE_S = 0.5
RELEASE_S = 0.15
ROOT_KEYS = tuple(range(40, 89, 3))  # E2 .. E6
HF_HZ = 3000.0  # where the high-frequency decay time is set
_DETUNE = 2 ** (1.4 / 1200)  # the second polarisation, 1.4 cents sharp
_POLARISATIONS = ((1.0, 1.0, 0.75), (_DETUNE, 1.5, 0.25))  # (period ratio, T60 ratio, weight)
_COIL_GAP = 0.018 / 0.648  # a humbucker's two coils, as a fraction of the scale length


@dataclasses.dataclass(frozen=True)
class Guitar:
  """One DI guitar sound. pluck, pickup: distances from the bridge as fractions of the string
  length (0-0.5). t60_s: decay time (to −60 dB) of the fundamental at E2 (82.4 Hz), scaling as
  f0^−0.45 up the neck; hf_t60_s: decay time at HF_HZ (at most t60). resonance_hz, q: the loaded
  pickup's resonance. humbucker: two coils, at pickup and pickup + 18 mm."""

  program: int
  name: str
  pluck: float
  pickup: float
  t60_s: float
  hf_t60_s: float
  resonance_hz: float
  q: float
  humbucker: bool = False


GUITARS = (
    Guitar(26, "Jazz Guitar (DI)", pluck=0.25, pickup=0.24, t60_s=8.0, hf_t60_s=0.5,
           resonance_hz=2500.0, q=1.8, humbucker=True),
    Guitar(27, "Clean Electric Guitar (DI)", pluck=0.18, pickup=0.155, t60_s=10.0, hf_t60_s=1.2,
           resonance_hz=4000.0, q=2.5),
)


def loss_filter(f0: float, t60_s: float, hf_t60_s: float, rate: int = RATE) -> tuple[float, float]:
  """(g, a) of the one-pole loop filter g (1 + a) / (1 + a z⁻¹) whose gain per period of 1/f0
  gives a decay of t60_s seconds at f0 and of hf_t60_s at HF_HZ (a = 0, one decay time, when f0
  is not below HF_HZ). Where that would need a gain of 1 or more at DC (high notes), a is
  shrunk until it does not: the decay at HF_HZ is then slower than asked. ValueError unless
  0 < hf_t60_s <= t60_s."""
  if not 0 < hf_t60_s <= t60_s:
    raise ValueError(f"decay times must satisfy 0 < hf_t60_s <= t60_s, got {hf_t60_s}, {t60_s}")
  period = rate / f0
  gain_f0 = 10 ** (-3 * period / (rate * t60_s))
  r = 10 ** (-3 * period / rate * (1 / hf_t60_s - 1 / t60_s))  # wanted |H(HF)| / |H(f0)|
  c0 = np.cos(2 * np.pi * f0 / rate)
  c1 = np.cos(2 * np.pi * min(HF_HZ, 0.45 * rate) / rate)
  a = 0.0
  if r < 1.0 and f0 < HF_HZ:
    # |H(f0)|² / |H(HF)|² = (1 + 2a c1 + a²) / (1 + 2a c0 + a²) = 1 / r²: a² + 2aB + 1 = 0.
    b = (c0 - r * r * c1) / (1 - r * r)
    a = float(-b + np.sqrt(b * b - 1)) if b > 1 else 0.0
  g = gain_f0 * abs(1 + a * np.exp(-2j * np.pi * f0 / rate)) / (1 + a)
  while g >= 1.0:  # a loop gain of 1 or more at DC never dies away: give up some HF decay
    a *= 0.9
    g = gain_f0 * abs(1 + a * np.exp(-2j * np.pi * f0 / rate)) / (1 + a)
  return float(g), a


def string(excitation: np.ndarray, period: float, g: float, a: float, length: int) -> np.ndarray:
  """(length,) displacement of a single-delay-loop string of `period` samples (>= 4) started by
  `excitation`: y = x + z^−N A(z) H(z) y, H the loss filter (g, a), A the allpass of the
  fractional delay left after N and H's own phase delay at the fundamental."""
  w0 = 2 * np.pi / period
  h = g * (1 + a) / (1 + a * np.exp(-1j * w0))
  loss_delay = -np.angle(h) / w0
  n = int(np.floor(period - loss_delay - 0.1))
  d = period - loss_delay - n  # in [0.1, 1.1): the allpass's delay
  c = (1 - d) / (1 + d)
  den_fixed = np.convolve([1.0, a], [1.0, c])  # (1 + a z⁻¹)(1 + c z⁻¹)
  den = np.zeros(n + 2)
  den[:3] = den_fixed
  den[n:n + 2] -= g * (1 + a) * np.array([c, 1.0])
  x = np.zeros(length)
  x[:excitation.size] = excitation[:length]
  return signal.lfilter(den_fixed, den, x)


def pluck_shape(period: float, pluck: float, rng: np.random.Generator,
                noise: float = 0.03) -> np.ndarray:
  """(round(period),) starting content of the loop: a zero-mean triangle peaking at `pluck` of its
  length (peak-to-trough 1), plus `noise` × standard normal noise (the pick)."""
  size = round(period)
  pos = np.arange(size) / size
  tri = np.where(pos < pluck, pos / pluck, (1 - pos) / (1 - pluck))
  tri = tri - tri.mean()
  return tri + noise * rng.standard_normal(size)


def pickup_response(y: np.ndarray, period: float, guitar: Guitar) -> np.ndarray:
  """The pickup's signal from the loop output `y`: comb(s) at its place, d/dt, resonance, 30-Hz
  high-pass."""
  places = (guitar.pickup, guitar.pickup + _COIL_GAP) if guitar.humbucker else (guitar.pickup,)
  out = np.zeros_like(y)
  for p in places:
    lag = max(1, round(p * period))
    out[lag:] += (y[lag:] - y[:-lag]) / len(places)
    out[:lag] += y[:lag] / len(places)
  out = np.diff(out, prepend=0.0)
  b, a = _resonant_lowpass(guitar.resonance_hz, guitar.q, RATE)
  out = signal.lfilter(b, a, out)
  sos = signal.butter(2, 30.0, "highpass", fs=RATE, output="sos")
  return signal.sosfilt(sos, out)


def _resonant_lowpass(f: float, q: float, rate: int) -> tuple[np.ndarray, np.ndarray]:
  """Second-order low-pass with a resonance at f (Hz) of quality q (the RBJ Audio-EQ-Cookbook)."""
  w = 2 * np.pi * f / rate
  alpha = np.sin(w) / (2 * q)
  b = np.array([(1 - np.cos(w)) / 2, 1 - np.cos(w), (1 - np.cos(w)) / 2])
  a = np.array([1 + alpha, -2 * np.cos(w), 1 - alpha])
  return b / a[0], a / a[0]


def note(guitar: Guitar, key: int, seed: int = 0) -> np.ndarray:
  """(NOTE_S · RATE,) float32 note of MIDI `key`, peak 0.9, fading over its last FADE_S."""
  rng = np.random.default_rng([seed, guitar.program, key])
  f0 = 440.0 * 2 ** ((key - 69) / 12)
  t60 = guitar.t60_s * (f0 / 82.4) ** -0.45
  length = int(NOTE_S * RATE)
  y = np.zeros(length)
  for ratio, t60_ratio, weight in _POLARISATIONS:
    period = RATE / (f0 / ratio)
    g, a = loss_filter(f0 / ratio, t60 * t60_ratio, min(guitar.hf_t60_s, t60 * t60_ratio))
    y += weight * string(pluck_shape(period, guitar.pluck, rng), period, g, a, length)
  out = pickup_response(y, RATE / f0, guitar)
  fade = int(FADE_S * RATE)
  out[-fade:] *= np.linspace(1.0, 0.0, fade)
  return (0.9 * out / np.abs(out).max()).astype(np.float32)


def presets(seed: int = 0) -> list[sf2.Preset]:
  """One preset per GUITARS entry, notes at ROOT_KEYS."""
  return [sf2.Preset(g.name, g.program,
                     tuple(sf2.Sample(f"{g.program:03d} {k}", note(g, k, seed), RATE, k)
                           for k in ROOT_KEYS), RELEASE_S)
          for g in GUITARS]


def build(output: str | os.PathLike) -> pathlib.Path:
  """Writes the DIGuitar SoundFont to `output`."""
  bank = presets()
  output = pathlib.Path(output).expanduser()
  output.parent.mkdir(parents=True, exist_ok=True)
  sf2.write(output, bank, NAME)
  return output


def main(argv: list[str] | None = None) -> int:
  return built_bank.run(NAME, built_bank.parser(NAME, __doc__).parse_args(argv), build)


if __name__ == "__main__":
  sys.exit(main())
