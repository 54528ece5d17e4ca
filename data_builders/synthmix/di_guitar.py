"""DIGuitar: a SoundFont of electric guitar notes as a direct-input (DI) recording hears them — the
string through its magnetic pickup straight into the desk, with no amplifier, cabinet or room.

The GM banks sample electric guitars through amplifiers; no installed bank holds a dry DI guitar,
a common way guitars are recorded. These notes are computed (no recording, nothing downloaded), by
a plucked-string model of the kind of Karjalainen, Välimäki & Tolonen (1998), "Plucked-string
models: from the Karplus-Strong algorithm to digital waveguides and beyond", Computer Music
Journal 22(3):

- **String**: a single delay loop of one period P = rate / f0 samples (Karplus & Strong 1983,
  "Digital synthesis of plucked-string and drum timbres", and Jaffe & Smith 1983, "Extensions of
  the Karplus-Strong plucked-string algorithm", both CMJ 7(2)) with a one-pole loss filter
  g (1 + a) / (1 + a z⁻¹) (the filter form of Välimäki et al. 1996, "Physical modeling of plucked
  string instruments with application to real-time sound synthesis", JAES 44(5), who fit it to
  measured decays; here it is solved per note from two decay times, at f0 and at 3 kHz) and a
  first-order allpass for the fractional part of P (Jaffe & Smith). Two polarisations, the second
  1.4 cents sharp and decaying more slowly, sum with weights 0.75 / 0.25 (beating and a
  two-stage decay).
- **Pluck**: the loop starts from the triangular displacement of a string pulled at `pluck` of its
  length from the bridge (harmonics k with k·pluck whole vanish), plus 3 % noise (the pick).
- **Pickup**: the displacement at `pickup` of the length from the bridge (the comb
  1 − z^(−pickup·P), the fractional delay read by linear interpolation) — a humbucker averages
  two coils 18 mm apart — differentiated (a magnetic
  pickup's voltage follows the string's velocity), through the second-order resonant low-pass of
  the pickup's inductance with the cable's capacitance (`resonance_hz`, `q`), then a 30-Hz
  high-pass.

Programs (the pickup places are those of a 648-mm-scale guitar, resonances typical of loaded
pickups): 27 "Clean Electric Guitar" — single-coil middle pickup, bright round-wound strings;
26 "Jazz Guitar" — neck humbucker, duller strings. Notes every 3 semitones from E2 to E6, 5 s at
32 kHz, each fading over its last 0.5 s; every note fades over RELEASE_S after note-off. The
parameters are set by hand from the physics and typical values (pickup places, decay times,
pickup resonances), never fitted to a recording instrax is evaluated on.

  python -m data_builders.synthmix.di_guitar            # `make soundfonts` runs this (a few s)
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
#: (frequency ratio to f0, T60 ratio, weight) of each polarisation.
POLARISATIONS = ((1.0, 1.0, 0.75), (_DETUNE, 1.5, 0.25))
MAX_DC_T60_RATIO = 2.0  # the loop's DC decay time is at most this × the fundamental's
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

  def __post_init__(self):
    last = self.pickup + (_COIL_GAP if self.humbucker else 0.0)
    if not (0 < self.pluck < 1 and self.pickup > 0 and last < 1):
      raise ValueError(f"{self.name}: pluck and pickup (+ coil gap) must lie in (0, 1) of the "
                       f"string from the bridge, got pluck={self.pluck}, pickup={self.pickup}")


GUITARS = (
    Guitar(26, "Jazz Guitar (DI)", pluck=0.25, pickup=0.24, t60_s=8.0, hf_t60_s=0.5,
           resonance_hz=2500.0, q=1.8, humbucker=True),
    Guitar(27, "Clean Electric Guitar (DI)", pluck=0.18, pickup=0.155, t60_s=10.0, hf_t60_s=1.2,
           resonance_hz=4000.0, q=2.5),
)


def loss_filter(f0: float, t60_s: float, hf_t60_s: float, rate: int = RATE) -> tuple[float, float]:
  """(g, a) of the one-pole loop filter g (1 + a) / (1 + a z⁻¹) whose gain per period of 1/f0
  gives a decay of t60_s seconds at f0 and of hf_t60_s at HF_HZ (capped at 0.45 · rate).

  Exact at f0 always. At HF_HZ, within what a stable one-pole filter can do: a is kept where the
  loop's DC gain g gives a DC decay of at most MAX_DC_T60_RATIO × t60_s (high notes; the HF decay
  is then slower than asked), and a request beyond any one-pole filter's reach (more damping than
  a → −1 gives) gets that limit. a = 0 (one decay time) when f0 is not below HF_HZ. ValueError
  unless 0 < hf_t60_s <= t60_s."""
  if not 0 < hf_t60_s <= t60_s:
    raise ValueError(f"decay times must satisfy 0 < hf_t60_s <= t60_s, got {hf_t60_s}, {t60_s}")
  period = rate / f0
  gain_f0 = 10 ** (-3 * period / (rate * t60_s))
  c0 = np.cos(2 * np.pi * f0 / rate)
  c1 = np.cos(2 * np.pi * min(HF_HZ, 0.45 * rate) / rate)
  if f0 >= HF_HZ:
    return float(gain_f0), 0.0
  # |H(HF)|² / |H(f0)|² = (1 + 2a c0 + a²) / (1 + 2a c1 + a²) = r²  <=>  a² + 2ab + 1 = 0.
  r = 10 ** (-3 * period / rate * (1 / hf_t60_s - 1 / t60_s))
  a = _root_in_unit_interval((c0 - r * r * c1) / (1 - r * r)) if r < 1.0 else 0.0
  # g(a) = gain_f0 |1 + a e^(−jω0)| / (1 + a) grows as a falls; g(a) = k·gain_f0, with k the
  # DC cap, is the same kind of quadratic: a ≥ that root.
  k = gain_f0 ** (1 / MAX_DC_T60_RATIO - 1)
  a = max(a, _root_in_unit_interval((k * k - c0) / (k * k - 1)))
  return float(gain_f0 * abs(1 + a * np.exp(-2j * np.pi * f0 / rate)) / (1 + a)), a


def _root_in_unit_interval(b: float) -> float:
  """The root of a² + 2ab + 1 = 0 in (−1, 0] (b ≥ 1); −1 (the limit) when b < 1."""
  return float(-b + np.sqrt(b * b - 1)) if b >= 1 else -1.0


def loop_filter(period: float, g: float, a: float) -> tuple[np.ndarray, np.ndarray]:
  """(numerator, denominator) in z⁻¹ of the string of `period` samples (>= 4) with the loss filter
  (g, a): Y/X = 1 / (1 − z^−N A(z) H(z)), H = g (1 + a) / (1 + a z⁻¹), A the first-order allpass
  (c + z⁻¹) / (1 + c z⁻¹) whose delay d ∈ [0.1, 1.1) makes N + d + H's own phase delay at the
  fundamental equal the period (Jaffe & Smith 1983). ValueError for a period under 4 samples."""
  if period < 4:
    raise ValueError(f"a string period of {period:.2f} samples is too short (at least 4)")
  w0 = 2 * np.pi / period
  loss_delay = -np.angle(g * (1 + a) / (1 + a * np.exp(-1j * w0))) / w0
  n = int(np.floor(period - loss_delay - 0.1))
  d = period - loss_delay - n
  c = (1 - d) / (1 + d)
  num = np.convolve([1.0, a], [1.0, c])  # (1 + a z⁻¹)(1 + c z⁻¹)
  den = np.zeros(n + 2)
  den[:3] = num
  den[n:n + 2] -= g * (1 + a) * np.array([c, 1.0])
  return num, den


def string(excitation: np.ndarray, period: float, g: float, a: float, length: int) -> np.ndarray:
  """(length,) displacement of the string `loop_filter(period, g, a)` started by `excitation`
  (the loop's first contents). ValueError for a period under 4 samples."""
  num, den = loop_filter(period, g, a)
  x = np.zeros(length)
  x[:excitation.size] = excitation[:length]
  return signal.lfilter(num, den, x)


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
  out = sum(y - delayed(y, p * period) for p in places) / len(places)
  out = np.diff(out, prepend=0.0)
  b, a = _resonant_lowpass(guitar.resonance_hz, guitar.q, RATE)
  out = signal.lfilter(b, a, out)
  sos = signal.butter(2, 30.0, "highpass", fs=RATE, output="sos")
  return signal.sosfilt(sos, out)


def delayed(x: np.ndarray, lag: float) -> np.ndarray:
  """x delayed by `lag` >= 0 samples (a fraction read by linear interpolation), zeros before."""
  whole, frac = int(np.floor(lag)), lag - np.floor(lag)
  padded = np.concatenate([np.zeros(whole + 1), x])
  return ((1 - frac) * padded[1:x.size + 1] + frac * padded[:x.size])


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
  for ratio, t60_ratio, weight in POLARISATIONS:
    period = RATE / (f0 * ratio)
    g, a = loss_filter(f0 * ratio, t60 * t60_ratio, min(guitar.hf_t60_s, t60 * t60_ratio))
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
  return built_bank.write(output, presets(), NAME)


def main(argv: list[str] | None = None) -> int:
  return built_bank.run(NAME, built_bank.parser(NAME, __doc__).parse_args(argv), build)


if __name__ == "__main__":
  sys.exit(main())
