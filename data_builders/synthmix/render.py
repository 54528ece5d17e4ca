"""Offline rendering of note lists to mono stems through SoundFonts (tinysoundfont, no audio
device), and finding the SoundFonts: a path, or a known bank's name looked up at its standard
install paths (`make soundfonts` installs them)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from instrax.errors import DatasetError

DRUMS = 128
_DRUM_CHANNEL = 9  # MIDI channel 10
_CHANNEL = 0
_EXPRESSION_CC = 11  # MIDI CC 11 (expression): a channel gain, (value / 127)² in tinysoundfont
CONTROL_RATE = 50.0  # Hz at which an expression curve is sent
PITCH_RATE = 200.0  # Hz at which a vibrato (pitch-wheel) curve is sent
_WHEEL_CENTRE, _WHEEL_RANGE_CENTS = 8192, 200.0  # GM default bend range: ±2 semitones

# Sampled General-MIDI banks by name -> where distributions install them (Debian/Ubuntu packages
# fluid-soundfont-gm, musescore-general-soundfont and csound-soundfont first, then Fedora/Arch).
STANDARD_PATHS: dict[str, tuple[str, ...]] = {
    "FluidR3_GM": ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2",
                   "/usr/share/soundfonts/fluid-soundfont-gm/FluidR3_GM.sf2"),
    "MuseScore_General": ("/usr/share/sounds/sf3/MuseScore_General.sf3",
                          "/usr/share/sounds/sf3/MuseScore_General_Full.sf3",
                          "/usr/share/soundfonts/MuseScore_General.sf3",
                          "/usr/share/sounds/sf2/MuseScore_General.sf2"),
    "sf_GMbank": ("/usr/share/sounds/sf2/sf_GMbank.sf2",),  # Debian csound-soundfont (4 MB)
    # Debian opl3-soundfont (135 MB): a GM bank of sampled OPL-3 FM-synthesis voices, not of
    # recorded instruments (the transfer ablation's `plus_opl3`).
    "OPL3_FM": ("/usr/share/sounds/sf2/OPL-3_FM_128M.sf2",),
    # Banks `make soundfonts` builds where the user can write: real recorded instruments
    # (data_builders/synthmix/sample_bank.py, not a full GM bank), the FreePats patches
    # (data_builders/synthmix/freepats.py), modelled DI electric guitars (di_guitar.py) and
    # modelled bowed strings (bowed_strings.py).
    **{name: (f"/usr/share/sounds/sf2/{name}.sf2", f"/usr/local/share/sounds/sf2/{name}.sf2",
              f"~/.local/share/sounds/sf2/{name}.sf2")
       for name in ("TonejsInstruments", "FreePats", "DIGuitar", "BowedStrings")},
}
DEFAULT_NAME = "TimGM6mb"  # pretty_midi's bundled bank (6 MB)
INSTALL_HINT = ("run `make soundfonts` (Debian/Ubuntu: `sudo apt-get install fluid-soundfont-gm "
                "musescore-general-soundfont csound-soundfont freepats opl3-soundfont`; `python -m "
                "data_builders.synthmix.sample_bank` builds TonejsInstruments, `python -m "
                "data_builders.synthmix.freepats` builds FreePats, `python -m "
                "data_builders.synthmix.di_guitar` builds DIGuitar, `python -m "
                "data_builders.synthmix.bowed_strings` builds BowedStrings)")


def default_soundfont() -> str:
  """pretty_midi's bundled General-MIDI SoundFont (TimGM6mb.sf2)."""
  import pretty_midi

  return os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2")


def find_standard(name: str) -> str | None:
  """The first existing standard path of the bank called `name` (STANDARD_PATHS), else None."""
  if name == DEFAULT_NAME:
    return default_soundfont()
  paths = (os.path.expanduser(p) for p in STANDARD_PATHS.get(name, ()))
  return next((p for p in paths if os.path.isfile(p)), None)


def available() -> tuple[str, ...]:
  """The names of the known banks installed on this machine (TimGM6mb always)."""
  return (DEFAULT_NAME, *(n for n in STANDARD_PATHS if find_standard(n)))


def resolve_soundfont(path: str | os.PathLike | None) -> str:
  """The file of `path`: None = TimGM6mb; a known bank name ("FluidR3_GM", "MuseScore_General",
  "TimGM6mb") = its standard install path; anything else = a .sf2/.sf3 path. DatasetError when
  the file is not there."""
  if path is None:
    return default_soundfont()
  text = os.fspath(path)
  if text == DEFAULT_NAME or text in STANDARD_PATHS:
    found = find_standard(text)
    if found is None:
      raise DatasetError(f"SoundFont {text} not found at {', '.join(STANDARD_PATHS[text])}: "
                         f"{INSTALL_HINT}, or name another .sf2/.sf3 file in the config.")
    return found
  resolved = os.path.abspath(os.path.expanduser(text))
  if not os.path.isfile(resolved):
    raise DatasetError(f"SoundFont not found: {resolved}. Set the synthmix config's `soundfont` to "
                       "an existing .sf2/.sf3 file, or to None for pretty_midi's TimGM6mb.sf2.")
  return resolved


class Renderer:
  """Renders one track at a time with one or more SoundFonts, each loaded once.

  Uses tinysoundfont's `Synth` to load the files and select presets, and drives the SoundFont
  objects it holds directly (mono output, note on/off, expression, render into numpy buffers) to
  keep per-event Python overhead low. `soundfonts`: one path/name (see `resolve_soundfont`) or a
  sequence of them; `render(..., font=i)` plays through the i-th.
  """

  def __init__(self, soundfonts: str | os.PathLike | Sequence[str] | None, sample_rate: int):
    import tinysoundfont
    from tinysoundfont import _tinysoundfont as _tsf

    if soundfonts is None or isinstance(soundfonts, str | os.PathLike):
      soundfonts = [soundfonts]
    self.paths = [resolve_soundfont(s) for s in soundfonts]
    self.sample_rate = sample_rate
    self.synth = tinysoundfont.Synth(samplerate=sample_rate)
    self.sfids, self.fonts = [], []
    for path in self.paths:
      try:
        sfid = self.synth.sfload(path)
      except Exception as e:
        raise DatasetError(f"cannot load SoundFont {path}: {type(e).__name__}: {e}") from e
      font = self.synth.soundfonts[sfid]
      font.set_output(_tsf.OutputMode.Mono, sample_rate, 0.0)
      self.sfids.append(sfid)
      self.fonts.append(font)
    self.sfid, self.soundfont = self.sfids[0], self.fonts[0]
    self._flush = np.zeros(sample_rate // 10, np.float32)

  def fonts_with(self, program: int) -> tuple[int, ...]:
    """The indices of the SoundFonts that have a preset for GM `program` (128 = drum kit)."""
    bank, preset = (128, 0) if program == DRUMS else (0, program)
    return tuple(i for i, f in enumerate(self.fonts) if f.get_preset_index(bank, preset) >= 0)

  def _silence(self, font) -> None:
    """Ends every voice: `reset` only starts a quick release, so render past it."""
    font.reset()
    font.render(memoryview(self._flush).cast("B"), False)

  def render(self, program: int, notes: np.ndarray, num_samples: int, font: int = 0,
             expression: np.ndarray | None = None, vibrato: np.ndarray | None = None,
             detune_cents: float = 0.0) -> np.ndarray:
    """(T,) float32 mono stem of `notes` rows [onset_s, offset_s, pitch, velocity, ...] played by
    GM `program` (128 = drum kit on channel 10, bank 128) of SoundFont number `font`.

    expression: optional MIDI CC 11 values (0-127) at CONTROL_RATE Hz from t = 0.
    vibrato: optional pitch offsets in cents (within ±200, the GM bend range) at PITCH_RATE Hz
      from t = 0, sent as pitch-wheel positions.
    detune_cents: the channel's tuning for the whole track.
    """
    drums = program == DRUMS
    channel = _DRUM_CHANNEL if drums else _CHANNEL
    sf = self.fonts[font]
    self._silence(sf)
    try:
      self.synth.program_select(channel, self.sfids[font], 128 if drums else 0,
                                0 if drums else program, is_drums=drums)
    except RuntimeError as e:
      raise DatasetError(f"SoundFont {self.paths[font]} has no preset for GM program {program}: "
                         f"{e}") from e
    # (sample, kind, key, value): kind 0 = note off, 1 = note on, 2 = expression; note-offs first
    # at equal times.
    events = []
    for onset, offset, pitch, velocity in notes[:, :4]:
      events.append((round(onset * self.sample_rate), 1, int(pitch), int(velocity)))
      events.append((round(offset * self.sample_rate), 0, int(pitch), 0))
    if expression is not None:
      step = self.sample_rate / CONTROL_RATE
      events += [(round(i * step), -1, _EXPRESSION_CC, int(v)) for i, v in enumerate(expression)]
    if vibrato is not None:
      step = self.sample_rate / PITCH_RATE
      wheel = np.clip(np.round(_WHEEL_CENTRE * (1 + np.asarray(vibrato) / _WHEEL_RANGE_CENTS)),
                      0, 16383).astype(int)
      events += [(round(i * step), -2, 0, int(v)) for i, v in enumerate(wheel)]
    if detune_cents:
      sf.channel_set_tuning(channel, detune_cents / 100.0)
    events.sort()
    out = np.zeros(num_samples, np.float32)
    buffer = memoryview(out).cast("B")
    position = 0
    for sample, kind, key, value in events:
      sample = min(sample, num_samples)
      if sample > position:
        sf.render(buffer[4 * position:4 * sample], False)
        position = sample
      if kind == 1:
        sf.channel_note_on(channel, key, value / 127.0)
      elif kind == 0:
        sf.channel_note_off(channel, key)
      elif kind == -2:
        sf.channel_set_pitch_wheel(channel, value)
      else:
        sf.channel_midi_control(channel, key, value)
    if position < num_samples:
      sf.render(buffer[4 * position:], False)
    if expression is not None:
      sf.channel_midi_control(channel, 121, 0)  # reset controllers for the next track
    if vibrato is not None:
      sf.channel_set_pitch_wheel(channel, _WHEEL_CENTRE)
    if detune_cents:
      sf.channel_set_tuning(channel, 0.0)
    return out
