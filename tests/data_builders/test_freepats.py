"""GUS patches (gus_patch.py), the SoundFont writer's loops and decay (sf2.py), and FreePats, the
bank built from the `freepats` patch set (freepats.py): samples at the right pitch, loops that
sustain a held note, plucked programs that die away."""

import struct

import librosa
import numpy as np
import pytest

from data_builders.synthmix import freepats, gus_patch, render, sf2, synthmix
from instrax.data import vocabularies

SR = 16000


def _pat_sample(audio: np.ndarray, rate: int, hz: float, loop: tuple[int, int] | None = None,
                bits: int = 16, unsigned: bool = False, ping_pong: bool = False,
                reversed_: bool = False) -> bytes:
  """One GUS sample header (96 bytes) and its PCM, as the GF1 format lays them out."""
  if bits == 16:
    ints = np.round(audio * 32767).astype(np.int64) + (32768 if unsigned else 0)
    data = ints.astype("<u2" if unsigned else "<i2").tobytes()
  else:
    ints = np.round(audio * 127).astype(np.int64) + (128 if unsigned else 0)
    data = ints.astype(np.uint8 if unsigned else np.int8).tobytes()
  width = bits // 8
  modes = (1 if bits == 16 else 0) | (2 if unsigned else 0) | (4 if loop else 0) | (
      8 if ping_pong else 0) | (16 if reversed_ else 0)
  start, end = loop or (0, 0)
  header = struct.pack("<7sBIIIHIIIhB6s6s3s3sBHH36s", b"tone", 0, len(data), start * width,
                       end * width, rate, 20000, 20000000, round(hz * 1000), 0, 7, bytes(6),
                       bytes(6), bytes(3), bytes(3), modes, 60, 1024, bytes(36))
  assert len(header) == 96
  return header + data


def _write_pat(path, samples: list[bytes]) -> None:
  header = (b"GF1PATCH110\0" + b"ID#000002\0" + bytes(60) + bytes([1, 14, 0]) +
            struct.pack("<HHI", 1, 127, 0) + bytes(36))
  instrument = bytes(63)
  layer = bytes(6) + bytes([len(samples)]) + bytes(40)
  assert len(header) == 129 and len(layer) == 47
  path.write_bytes(header + instrument + layer + b"".join(samples))


def _tone(hz: float, seconds: float, sr: int) -> np.ndarray:
  t = np.arange(round(seconds * sr)) / sr
  return 0.5 * np.sin(2 * np.pi * hz * t)


def _pitch(x: np.ndarray, sr: int = SR) -> float:
  seg = x[sr // 10:sr]
  spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), 8 * len(seg)))
  return float(np.argmax(spectrum) * sr / (8 * len(seg)))


def _rms_db(x: np.ndarray) -> float:
  return float(20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-12))


def test_frequency_to_key_rounds_and_corrects_in_cents():
  assert gus_patch.frequency_to_key(440000) == (69, 0)
  assert gus_patch.frequency_to_key(261626) == (60, 0)
  key, cents = gus_patch.frequency_to_key(round(440000 * 2 ** (0.3 / 12)))  # 30 cents sharp
  assert (key, cents) == (69, -30)
  key, cents = gus_patch.frequency_to_key(round(440000 * 2 ** (-0.6 / 12)))  # 60 cents flat
  assert (key, cents) == (68, -40)


def test_read_decodes_each_sample_format_and_its_loop(tmp_path):
  rate = 22050
  tone = _tone(440.0, 0.2, rate)
  path = tmp_path / "x.pat"
  _write_pat(path, [_pat_sample(tone, rate, 440.0, loop=(1000, 3000)),
                    _pat_sample(tone, rate, 880.0, bits=8, unsigned=True),
                    _pat_sample(tone, rate, 220.0, loop=(1000, 2000), unsigned=True,
                                ping_pong=True),
                    _pat_sample(tone, rate, 441.0)])  # a second sample of key 69: dropped
  low, a4, a5 = gus_patch.read(path, prefix="p ")
  assert [s.root_key for s in (low, a4, a5)] == [57, 69, 81]
  assert a4.name == "p 0" and a4.sample_rate == rate and a4.loop == (1000, 3000)
  np.testing.assert_allclose(a4.audio, tone[:3000], atol=1e-4)  # nothing after the loop
  assert a5.loop is None
  np.testing.assert_allclose(a5.audio, tone, atol=1 / 127)
  # Ping-pong: the loop segment then itself reversed, looped forward.
  assert low.loop == (1000, 3000) and low.audio.size == 3000
  np.testing.assert_allclose(low.audio[2000:], tone[1000:2000][::-1], atol=1e-4)


def test_reversed_sample_plays_backwards_with_its_loop_mirrored(tmp_path):
  rate = 22050
  ramp = np.linspace(-0.5, 0.5, 4000)
  path = tmp_path / "r.pat"
  _write_pat(path, [_pat_sample(ramp, rate, 440.0, loop=(500, 1500), reversed_=True)])
  (sample,) = gus_patch.read(path)
  assert sample.loop == (2500, 3500)
  np.testing.assert_allclose(sample.audio, ramp[::-1][:3500], atol=1e-4)


def test_read_refuses_what_is_not_a_whole_patch(tmp_path):
  bad = tmp_path / "bad.pat"
  bad.write_bytes(b"RIFF" + bytes(400))
  with pytest.raises(ValueError, match="not a GUS patch"):
    gus_patch.read(bad)
  whole = tmp_path / "whole.pat"
  _write_pat(whole, [_pat_sample(_tone(440.0, 0.2, 22050), 22050, 440.0)])
  cut = tmp_path / "cut.pat"
  cut.write_bytes(whole.read_bytes()[:-100])
  with pytest.raises(ValueError, match="sample 0 needs"):
    gus_patch.read(cut)
  silent = tmp_path / "zero.pat"
  _write_pat(silent, [_pat_sample(_tone(440.0, 0.2, 22050), 22050, 0.0)])
  with pytest.raises(ValueError, match=r"zero\.pat: sample 0 has a zero .* root frequency"):
    gus_patch.read(silent)
  with pytest.raises(ValueError, match="not positive"):
    gus_patch.frequency_to_key(0)


def test_looped_sample_sustains_a_held_note_and_decay_fades_it(tmp_path):
  """A 0.25-s recording plays a 2-s note on its loop; without a loop it stops after 0.25 s; a
  decaying preset fades while the key is held."""
  rate = 22050
  tone = _tone(441.0, 0.25, rate)  # a period of exactly 50 points: a seamless loop of 40
  looped = sf2.Sample("a4", tone, rate, 69, loop=(rate // 10, rate // 10 + 40 * 50))
  once = sf2.Sample("a4", tone, rate, 69)
  path = tmp_path / "bank.sf2"
  sf2.write(path, [sf2.Preset("sustained", 40, (looped,), release_s=0.05),
                   sf2.Preset("plucked", 24, (looped,), release_s=0.05, decay_s=1.0),
                   sf2.Preset("once", 73, (once,), release_s=0.05)])
  renderer = render.Renderer(str(path), SR)
  note = np.array([[0.0, 2.0, 69, 100]])
  sustained, plucked, single = (renderer.render(p, note, 3 * SR) for p in (40, 24, 73))
  late = slice(int(1.5 * SR), int(1.9 * SR))
  assert _pitch(sustained) == pytest.approx(441.0, rel=0.01)
  assert _rms_db(sustained[late]) > _rms_db(sustained[: SR // 4]) - 1.0
  assert np.abs(single[late]).max() == 0.0
  assert _rms_db(plucked[late]) < _rms_db(plucked[: SR // 4]) - 60.0
  assert np.abs(sustained[int(2.3 * SR):]).max() == 0.0  # released after note-off


def test_pitch_correction_retunes_the_sample(tmp_path):
  rate = 22050
  sharp = _tone(440.0 * 2 ** (0.4 / 12), 1.0, rate)  # 40 cents sharp of A4
  path = tmp_path / "bank.sf2"
  sf2.write(path, [sf2.Preset("a", 40, (sf2.Sample("a4", sharp, rate, 69, pitch_correction=-40),)),
                   sf2.Preset("b", 41, (sf2.Sample("a4", sharp, rate, 69),))])
  renderer = render.Renderer(str(path), SR)
  note = np.array([[0.0, 1.0, 69, 100]])
  assert _pitch(renderer.render(40, note, SR)) == pytest.approx(440.0, rel=0.004)
  assert _pitch(renderer.render(41, note, SR)) == pytest.approx(440.0 * 2 ** (0.4 / 12),
                                                                rel=0.004)


def test_writer_rejects_a_loop_outside_the_sample(tmp_path):
  tone = _tone(440.0, 0.1, 22050)
  good = sf2.Preset("p", 40, (sf2.Sample("a", tone, 22050, 69, loop=(100, 1100)),))
  sf2.write(tmp_path / "x.sf2", [good])
  before = (tmp_path / "x.sf2").read_bytes()
  for loop in [(0, 4), (100, tone.size + 1), (-1, 100)]:
    sample = sf2.Sample("a", tone, 22050, 69, loop=loop)
    with pytest.raises(ValueError, match="loop"):
      sf2.write(tmp_path / "x.sf2", [good, sf2.Preset("q", 41, (sample,))])
    assert (tmp_path / "x.sf2").read_bytes() == before  # the bank already there is kept
    assert [p.name for p in tmp_path.iterdir()] == ["x.sf2"]


def test_presets_map_file_names_to_programs_and_envelopes(tmp_path):
  tone_dir = tmp_path / "Tone_000"
  tone_dir.mkdir()
  sample = [_pat_sample(_tone(440.0, 0.2, 22050), 22050, 440.0, loop=(100, 2000))]
  for name in ("040_Violin.pat", "027_Clean_Electric_Guitar.pat", "notes.txt", "9_bad.pat"):
    _write_pat(tone_dir / name, sample)
  presets = freepats.presets(tmp_path)
  assert [(p.program, p.name) for p in presets] == [(27, "Clean Electric Guitar"), (40, "Violin")]
  assert presets[0].decay_s == freepats.DECAY_S and presets[1].decay_s is None
  out = freepats.build(tmp_path / "out" / "FreePats.sf2", tmp_path)
  renderer = render.Renderer(str(out), SR)
  assert renderer.fonts_with(40) == renderer.fonts_with(27) == (0,)
  assert renderer.fonts_with(render.DRUMS) == ()


def test_missing_patches_are_a_clear_error_and_write_nothing(tmp_path, monkeypatch, capsys):
  with pytest.raises(FileNotFoundError, match="apt-get install freepats"):
    freepats.presets(tmp_path)
  monkeypatch.setattr(freepats, "PATCH_DIRS", (str(tmp_path / "none"),))
  assert freepats.main([f"--output={tmp_path / 'out' / 'bank.sf2'}"]) == 1
  assert "apt-get install freepats" in capsys.readouterr().err
  (tmp_path / "pats" / "Tone_000").mkdir(parents=True)
  (tmp_path / "pats" / "Tone_000" / "040_Violin.pat").write_bytes(b"GF1PATCH110\0" + bytes(10))
  assert freepats.main([f"--output={tmp_path / 'out' / 'bank.sf2'}",
                        f"--patches_dir={tmp_path / 'pats'}"]) == 1
  assert "040_Violin.pat: cut short" in capsys.readouterr().err
  assert not (tmp_path / "out").exists()  # nothing written, not even the folder


def test_freepats_from_the_installed_patches_plays_every_irmas_class_in_tune(tmp_path):
  """Built afresh from the `freepats` package (1 s), so this tests the code, not an old bank."""
  patches = freepats.find_patches()
  if patches is None:
    pytest.skip("the freepats package is not installed (make soundfonts)")
  renderer = render.Renderer(str(freepats.build(tmp_path / "FreePats.sf2", patches)), SR)
  classes = {c for p, c in vocabularies.GM_TO_IRMAS.items() if renderer.fonts_with(p)}
  assert classes == set(vocabularies.IRMAS)
  for program, key in [(40, 69), (71, 62), (73, 72), (66, 55), (27, 52)]:
    x = renderer.render(program, np.array([[0.0, 1.5, key, 100]]), 2 * SR)
    f0, _, _ = librosa.pyin(x[: SR], fmin=60.0, fmax=1200.0, sr=SR)
    assert librosa.hz_to_midi(np.nanmedian(f0)) == pytest.approx(key, abs=0.2), program
    late, early = _rms_db(x[int(1.2 * SR):int(1.4 * SR)]), _rms_db(x[: SR // 5])
    if program in freepats.DECAYING:
      assert late < early - 6.0, program  # a plucked note dies away
    else:
      assert late > early - 12.0, program  # a bowed or blown one sustains on its loop


def test_rich_banks_are_known_and_the_csound_bank_covers_every_irmas_program():
  """Every bank of `rich` is a known name; the csound bank covers every IRMAS class."""
  assert all(b in render.STANDARD_PATHS or b == render.DEFAULT_NAME for b in synthmix.RICH_BANKS)
  path = render.find_standard("sf_GMbank")
  if path is None:
    pytest.skip("csound-soundfont not installed (make soundfonts)")
  renderer = render.Renderer(path, SR)
  assert all(renderer.fonts_with(p) == (0,) for p in vocabularies.GM_TO_IRMAS)
