"""The SoundFont writer (data_builders/synthmix/sf2.py) and TonejsInstruments, the bank of real
recorded notes built from npm sample sets (sample_bank.py): files tinysoundfont plays at the right
pitch, fetched packages checked against their pinned hashes."""

import hashlib
import io
import tarfile

import numpy as np
import pytest
import soundfile

from data_builders.synthmix import render, sample_bank, sf2, variety
from instrax.data import vocabularies
from instrax.errors import DatasetError

SR = 16000


def _tone(midi: float, seconds: float = 1.0, sr: int = 22050) -> np.ndarray:
  t = np.arange(round(seconds * sr)) / sr
  return 0.5 * np.sin(2 * np.pi * 440 * 2 ** ((midi - 69) / 12) * t)


def _pitch(x: np.ndarray) -> float:
  """Frequency (Hz) of the strongest FFT bin of a 0.9-s stretch."""
  seg = x[SR // 10:SR]
  spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), 8 * len(seg)))
  return float(np.argmax(spectrum) * SR / (8 * len(seg)))


def test_key_ranges_give_every_key_to_the_nearest_root():
  assert sf2.key_ranges([60, 72]) == [(0, 66), (67, 127)]
  assert sf2.key_ranges([72, 48, 60]) == [(67, 127), (0, 54), (55, 66)]
  ranges = sf2.key_ranges([40, 47, 52, 59, 64])
  keys = [k for lo, hi in ranges for k in range(lo, hi + 1)]
  assert keys == list(range(128))
  with pytest.raises(ValueError, match="repeat"):
    sf2.key_ranges([60, 60])


def test_written_bank_plays_each_program_at_the_keys_pitch(tmp_path):
  path = tmp_path / "bank.sf2"
  notes = (sf2.Sample("c4", _tone(60), 22050, 60), sf2.Sample("c5", _tone(72), 22050, 72))
  sf2.write(path, [sf2.Preset("low", 42, notes, release_s=0.1),
                   sf2.Preset("alias", 43, notes, release_s=0.1),
                   sf2.Preset("flute", 73, (sf2.Sample("a4", _tone(69), 22050, 69),))])
  renderer = render.Renderer([render.default_soundfont(), str(path)], SR)
  assert renderer.fonts_with(42) == (0, 1) and renderer.fonts_with(40) == (0,)
  assert renderer.fonts_with(render.DRUMS) == (0,)
  for program, key in [(42, 60), (42, 65), (42, 67), (43, 79), (73, 81), (73, 50)]:
    x = renderer.render(program, np.array([[0.0, 1.2, key, 100]]), 2 * SR, font=1)
    assert _pitch(x) == pytest.approx(440 * 2 ** ((key - 69) / 12), rel=0.01), (program, key)
    assert np.abs(x[int(1.5 * SR):]).max() == 0.0  # released (0.1 s) well before 1.5 s
  # Presets sharing their samples share them in the file: about 3 s of 16-bit audio, not 5.
  assert path.stat().st_size < 2 * 22050 * 3.5


def test_writer_rejects_bad_presets(tmp_path):
  note = sf2.Sample("a", _tone(60), 22050, 60)
  with pytest.raises(ValueError, match="programs repeat"):
    sf2.write(tmp_path / "x.sf2", [sf2.Preset("a", 1, (note,)), sf2.Preset("b", 1, (note,))])
  with pytest.raises(ValueError, match="no samples"):
    sf2.write(tmp_path / "x.sf2", [sf2.Preset("a", 1, ())])
  loud = sf2.Sample("loud", 3 * _tone(60), 22050, 60)
  with pytest.raises(ValueError, match="within"):
    sf2.write(tmp_path / "x.sf2", [sf2.Preset("a", 1, (loud,))])
  assert not list(tmp_path.iterdir())  # nothing half-written


def test_note_names_and_trimming():
  assert [sample_bank.midi_pitch(n) for n in ("C4", "A4", "As2", "B1", "Cs-1")] == [60, 69, 46,
                                                                                     35, 1]
  assert sample_bank.midi_pitch("F2 v2") is None and sample_bank.midi_pitch("H2") is None
  sr = 1000
  audio = np.concatenate([np.zeros(30), 0.001 * np.ones(5), np.ones(20 * sr)])
  out = sample_bank.trim(audio, sr)
  assert out[round(sample_bank.PRE_ROLL_S * sr)] == 1.0  # the onset, less the pre-roll
  assert len(out) == sample_bank.MAX_NOTE_S * sr and out[-1] == 0.0 and out[-60] > 0.0
  with pytest.raises(ValueError, match="silent"):
    sample_bank.trim(np.zeros(100), sr)


def _package(tmp_path, name: str, notes: dict[str, float]) -> tuple[bytes, str]:
  """A tonejs-instrument-style tarball of mp3 notes {"A4": midi pitch heard, ...}."""
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
    for note, midi in notes.items():
      mp3 = io.BytesIO()
      soundfile.write(mp3, np.concatenate([np.zeros(1000), _tone(midi, 1.5, 44100)]), 44100,
                      format="MP3")
      info = tarfile.TarInfo(f"package/{note}.mp3")
      info.size = len(mp3.getvalue())
      tar.addfile(info, io.BytesIO(mp3.getvalue()))
    readme = tarfile.TarInfo("package/README.md")
    tar.addfile(readme, io.BytesIO(b""))
  data = buffer.getvalue()
  return data, hashlib.sha1(data).hexdigest()


def test_build_from_packages_plays_their_notes(tmp_path):
  data, sha1 = _package(tmp_path, "cello", {"C3": 48, "G3": 55, "C3 v2": 30})
  entry = sample_bank.SampleSet("cello", "9.9.9", sha1, (42, 43), 0.1)
  packages = tmp_path / "npm"
  packages.mkdir()
  (packages / entry.tarball).write_bytes(data)
  bank = sample_bank.build(tmp_path / "out" / "bank.sf2", packages, [entry])
  renderer = render.Renderer(str(bank), SR)
  assert renderer.fonts_with(42) == renderer.fonts_with(43) == (0,)
  assert renderer.fonts_with(0) == ()
  for key in (48, 50, 55, 57):  # played from the nearest of C3 and G3 ("C3 v2" is left out)
    x = renderer.render(42, np.array([[0.0, 1.2, key, 100]]), 2 * SR)
    assert _pitch(x) == pytest.approx(440 * 2 ** ((key - 69) / 12), rel=0.01), key
    assert np.abs(x[:SR // 50]).max() > 0.05  # the mp3 lead-in silence was trimmed

  (packages / entry.tarball).write_bytes(data + b"x")
  with pytest.raises(RuntimeError, match=r"SHA-1 .* delete it"):
    sample_bank.build(tmp_path / "again.sf2", packages, [entry])
  assert not (tmp_path / "again.sf2").exists()


def test_catalogue_is_pinned_and_covers_the_irmas_classes_but_voice():
  programs = [p for s in sample_bank.CATALOGUE for p in s.programs]
  assert len(programs) == len(set(programs))
  assert all(len(s.sha1) == 40 and s.version.count(".") == 2 for s in sample_bank.CATALOGUE)
  covered = {vocabularies.GM_TO_IRMAS[p] for p in programs if p in vocabularies.GM_TO_IRMAS}
  assert covered == set(vocabularies.IRMAS) - {"voi"}


def test_tracks_draw_only_banks_that_have_their_program():
  v = variety.Variety(fonts=True, ensemble=True)
  notes = np.array([[0.0, 1.0, 60, 90.0]])
  fonts = {p.font for s in range(60)
           for p in variety.vary_track(np.random.default_rng(s), v, 40, notes, 2.0, (1, 3)).players}
  assert fonts == {1, 3}
  heavy = [variety.vary_track(np.random.default_rng(s), v, 40, notes, 2.0, (1, 3),
                              weights=(1.0, 99.0)).players[0].font for s in range(60)]
  assert heavy.count(3) > 50
  off = variety.vary_track(np.random.default_rng(0), variety.NONE, 40, notes, 2.0, (2, 3))
  assert off.players[0].font == 2
  with pytest.raises(DatasetError, match=r"no SoundFont .* program 40"):
    variety.vary_track(np.random.default_rng(0), v, 40, notes, 2.0, ())


def test_installed_bank_holds_the_catalogue():
  path = render.find_standard(sample_bank.NAME)
  if path is None:
    pytest.skip("TonejsInstruments not built (make soundfonts)")
  renderer = render.Renderer(path, SR)
  for entry in sample_bank.CATALOGUE:
    for program in entry.programs:
      assert renderer.fonts_with(program) == (0,), (entry.name, program)
  assert renderer.fonts_with(52) == renderer.fonts_with(render.DRUMS) == ()


def test_font_weights_set_each_banks_share():
  rng = np.random.default_rng(0)
  draws = [variety.draw_font(rng, (0, 2, 3), (1.0, 1.0, 2.0)) for _ in range(4000)]
  shares = [draws.count(f) / len(draws) for f in (0, 2, 3)]
  np.testing.assert_allclose(shares, [0.25, 0.25, 0.5], atol=0.03)
  uniform = [variety.draw_font(np.random.default_rng(s), (4, 5)) for s in range(10)]
  assert uniform == [(4, 5)[int(np.random.default_rng(s).integers(2))] for s in range(10)]


def test_font_weights_must_match_the_banks():
  import dataclasses

  from data_builders.synthmix.synthmix import Synthmix

  rich = next(c for c in Synthmix.BUILDER_CONFIGS if c.name == "rich")
  assert rich.params.font_weights == ()  # equal chances
  weights = (1,) * (len(rich.soundfonts) - 1) + (3,)
  assert dataclasses.replace(rich, font_weights=weights).params.font_weights == weights
  for bad in [(1.0, 2.0), (1.0,) * (len(rich.soundfonts) - 1) + (0.0,)]:
    with pytest.raises(DatasetError, match="one positive weight per SoundFont"):
      _ = dataclasses.replace(rich, font_weights=bad).params


def test_failed_download_says_how_to_fetch_by_hand(tmp_path, monkeypatch):
  monkeypatch.setattr(sample_bank, "REGISTRY", (tmp_path / "no-registry").as_uri())
  entry = sample_bank.CATALOGUE[0]
  with pytest.raises(RuntimeError, match=f"npm pack {entry.package}@{entry.version}"):
    sample_bank.fetch(entry, tmp_path / "npm")
  assert not (tmp_path / "npm").exists()  # nothing half-written
  assert sample_bank.main([f"--output={tmp_path / 'bank.sf2'}",
                           f"--packages_dir={tmp_path / 'npm'}"]) == 1
  assert not (tmp_path / "bank.sf2").exists()
