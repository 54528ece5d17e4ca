"""synthmix rendering variety: each Variety field changes the audio and keeps the labels; the
recording-chain effects checked against hand-derived expectations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import signal

from data_builders.synthmix import effects, example, mix, render, scores, variety
from instrax.errors import DatasetError

SR = 16000
LABELS = ("programs", "irmas_labels", "openmic_labels", "openmic_mask", "lead")
FIELDS = [f.name for f in dataclasses.fields(variety.Variety)]


@pytest.fixture(scope="module")
def material(tmp_path_factory):
  cache = scores.load(6, tmp_path_factory.mktemp("scores"))
  return scores.split_scores(scores.read(cache), "train")


@pytest.fixture(scope="module")
def renderer():
  banks = [None] + (["FluidR3_GM"] if render.find_standard("FluidR3_GM") else [])
  return render.Renderer(banks, SR)


def _make(material, renderer, index: int, **on) -> dict:
  params = example.Params((2.0, 2.0), SR, 1, 4, 3, 75.0, variety=variety.Variety(**on))
  return example.make(params, material, "train", index, renderer)


def _track(notes: np.ndarray, k: float) -> np.ndarray:
  mine = notes[notes[:, 4] == k]
  return mine[np.lexsort((mine[:, 2], mine[:, 0]))]


@pytest.mark.parametrize("field", FIELDS)
def test_each_variation_changes_audio_and_keeps_labels(material, renderer, field):
  if field == "fonts" and len(renderer.fonts) < 2:
    pytest.skip("needs a second SoundFont (make soundfonts)")
  changed = 0
  for index in range(3):
    plain, varied = _make(material, renderer, index), _make(material, renderer, index, **{field: 1})
    changed += not np.array_equal(plain["audio"], varied["audio"])
    assert plain["id"] == varied["id"]
    for key in LABELS:
      if field == "held" and key == "lead":
        continue  # held notes sound at other times: the lead track's frames follow them
      np.testing.assert_array_equal(plain[key], varied[key], err_msg=f"{field}: {key}")
    if field == "held":
      continue  # its notes are checked in test_held_notes_are_long_and_from_the_part
    for k in np.unique(plain["notes"][:, 4]):  # per track, in (onset, pitch) order
      a, b = (_track(ex["notes"], k) for ex in (plain, varied))
      np.testing.assert_array_equal(a[:, :2], b[:, :2])  # timing
      shift = np.unique(b[:, 2] - a[:, 2])
      assert shift.tolist() == [0] or (field == "register" and shift.tolist() in ([-12], [12]))
      if field != "dynamics":
        np.testing.assert_array_equal(a[:, 3], b[:, 3])
  # Mix-level effects change every example; a register or font draw, or a per-track variation
  # drawn with a probability, can leave one as it was.
  per_track = ("register", "fonts", "held", "vibrato", "ensemble")
  assert changed == 3 if field not in per_track else changed >= 1


def test_everything_on_is_deterministic_and_stems_still_sum_to_the_mix(material, renderer):
  on = {f: True for f in FIELDS if f != "noise"}
  a, b = _make(material, renderer, 5, **on), _make(material, renderer, 5, **on)
  for key in a:
    np.testing.assert_array_equal(a[key], b[key])
  residual = a["stems"].astype(np.int32).sum(axis=0) - a["audio"][:, 0]
  assert np.abs(residual).max() <= len(a["programs"])


def test_noise_is_added_to_the_mix_at_the_drawn_snr(material, renderer):
  ex = _make(material, renderer, 1, noise=True)
  clean = ex["stems"].astype(np.float64).sum(axis=0)
  added = ex["audio"][:, 0] - clean
  snr = 20 * np.log10(mix.active_rms(clean) / np.sqrt(np.mean(added ** 2)))
  assert effects.SNR_DB[0] - 1 <= snr <= effects.SNR_DB[1] + 3  # active vs plain RMS of noise


def test_room_impulse_decays_by_60_db_in_rt60():
  rt60 = 0.8
  ir = effects.room_impulse(np.random.default_rng(0), SR, rt60)[1:].astype(np.float64)
  # Schroeder backward integration; slope between −5 and −25 dB, extrapolated to −60 dB (T20).
  edc = 10 * np.log10(np.cumsum(ir[::-1] ** 2)[::-1] / np.sum(ir ** 2))
  t = np.arange(len(edc)) / SR
  fit = (edc <= -5) & (edc >= -25)
  slope = np.polyfit(t[fit], edc[fit], 1)[0]
  assert -60 / slope == pytest.approx(rt60, rel=0.25)


def test_reverb_wet_share():
  ir = effects.room_impulse(np.random.default_rng(1), SR, 0.3)
  x = np.zeros(SR, np.float32)
  x[100] = 1.0
  np.testing.assert_allclose(effects.reverb(x, ir, 0.0), x)
  wet = effects.reverb(x, ir, 1.0)
  assert abs(wet[100]) < 1e-6
  np.testing.assert_allclose(wet[101:100 + len(ir)], ir[1:], atol=1e-6)


def test_peaking_and_shelf_gains_at_their_frequencies():
  sos = effects._peaking(1000.0, 6.0, 1.0, SR)
  _, h = signal.sosfreqz(sos, [0.0, 1000.0, 7900.0], fs=SR)
  np.testing.assert_allclose(20 * np.log10(np.abs(h)), [0.0, 6.0, 0.0], atol=0.1)
  _, h = signal.sosfreqz(effects._high_shelf(2000.0, -5.0, SR), [0.0, 7999.0], fs=SR)
  np.testing.assert_allclose(20 * np.log10(np.abs(h)), [0.0, -5.0], atol=0.1)


def test_compressor_only_turns_loud_passages_down():
  rng = np.random.default_rng(2)
  x = np.concatenate([0.01 * rng.standard_normal(SR), rng.standard_normal(SR)]).astype(np.float32)
  g = effects.compressor_gain(np.random.default_rng(3), x, SR)
  assert np.all(g <= 1.0) and np.all(g > 0)
  assert np.all(g[: SR // 2] == 1.0)  # 40 dB under the peak: below any threshold
  assert np.median(g[SR + SR // 10:]) < 10 ** (-1 / 20)  # ≥ 1 dB of gain reduction


def test_band_limit_removes_the_top_band():
  rng = np.random.default_rng(4)
  sos = effects.band_limit_sos(rng, SR)
  y = effects.equalize(np.random.default_rng(5).standard_normal(4 * SR).astype(np.float32), sos)
  f, p = signal.welch(y, SR, nperseg=1024)
  below, above = p[f < 2000].mean(), p[f > 7600].mean()
  assert 10 * np.log10(below / above) > 40


def test_noise_has_its_rms_and_spectral_slope():
  for seed in range(6):
    n = effects.noise(np.random.default_rng(seed), 4 * SR, SR, 0.05)
    assert np.sqrt(np.mean(n.astype(np.float64) ** 2)) == pytest.approx(0.05, rel=1e-4)


def test_expression_turns_a_track_down(renderer):
  notes = np.array([[0.1, 0.9, 60, 100]])
  plain = renderer.render(40, notes, SR)
  full = renderer.render(40, notes, SR, expression=np.full(51, 127))
  half = renderer.render(40, notes, SR, expression=np.full(51, 64))
  np.testing.assert_allclose(full, plain, atol=1e-6)  # CC 11 starts at 127
  assert 0.05 < np.abs(half).max() / np.abs(plain).max() < 0.7


def test_held_notes_are_long_and_from_the_part():
  part = np.array([[0.0, 0.3, 62, 80], [0.3, 0.5, 65, 90], [0.5, 1.0, 69, 100]], np.float64)
  for seed in range(10):
    held = variety.held_notes(np.random.default_rng(seed), part, 5.0)
    assert len(held) >= 1 and set(held[:, 2]) <= {62, 65, 69}
    lengths = held[:, 1] - held[:, 0]
    assert np.all(lengths[:-1] >= variety.HELD_NOTE_S[0] - 1e-9)
    assert np.all(lengths <= variety.HELD_NOTE_S[1] + 1e-9) and held[-1, 1] <= 5.0
    assert np.all(held[1:, 0] >= held[:-1, 1])  # one note at a time
    assert np.all(np.abs(held[:, 3] - 90) <= 40)


def test_vibrato_modulates_the_pitch_and_detune_shifts_it(renderer):
  librosa = pytest.importorskip("librosa")
  notes = np.array([[0.1, 1.9, 69, 100.0]])
  vibrato = variety.vibrato_curve(np.random.default_rng(1), notes, 2.0)
  assert np.all(vibrato[:int(0.1 * render.PITCH_RATE)] == 0)  # nothing before the onset
  assert 0.5 * variety.VIBRATO_CENTS[0] < np.abs(vibrato).max() <= variety.VIBRATO_CENTS[1]

  def cents(x):
    f0, _, _ = librosa.pyin(x, fmin=200, fmax=1000, sr=SR)
    return 1200 * np.log2(f0[30:90] / 440)

  plain = cents(renderer.render(73, notes, 2 * SR))
  bent = cents(renderer.render(73, notes, 2 * SR, vibrato=vibrato))
  detuned = cents(renderer.render(73, notes, 2 * SR, detune_cents=50))
  again = cents(renderer.render(73, notes, 2 * SR))  # the bend and tuning were reset
  assert np.nanstd(bent) > 1.5 * np.nanstd(plain)
  assert np.nanmean(detuned) - np.nanmean(plain) == pytest.approx(50, abs=6)
  np.testing.assert_allclose(again, plain, atol=1e-6)


def test_ensemble_players_are_detuned_and_late():
  v = variety.Variety(ensemble=True)
  notes = np.array([[0.0, 1.0, 60, 90.0]])
  sections = [variety.vary_track(np.random.default_rng(s), v, 40, notes, 2.0, range(3)).players
              for s in range(40)]
  assert all(p[0] == variety.Player(p[0].font) for p in sections)  # the first as written
  many = [p for p in sections if len(p) > 1]
  assert 0.15 * 40 < len(many) < 0.6 * 40  # ENSEMBLE_PROB
  for players in many:
    assert len(players) <= variety.ENSEMBLE_PLAYERS[1]
    for p in players[1:]:
      assert abs(p.detune_cents) <= variety.ENSEMBLE_DETUNE_CENTS
      assert variety.ENSEMBLE_DELAY_S[0] <= p.delay_s <= variety.ENSEMBLE_DELAY_S[1]
  piano = variety.vary_track(np.random.default_rng(0), v, 0, notes, 2.0, range(3))
  assert len(piano.players) == 1  # not a section instrument


def test_register_shift_stays_in_range():
  notes = np.array([[0, 1, 60, 90], [1, 2, 95, 90]], np.float64)  # flute 60..96: no octave fits
  np.testing.assert_array_equal(variety.register_shift(np.random.default_rng(0), notes, 73), notes)
  for seed in range(5):
    out = variety.register_shift(np.random.default_rng(seed), notes[:1], 0)  # piano 33..96
    assert out[0, 2] in (48, 60, 72)


def test_named_bank_missing_says_how_to_install(monkeypatch):
  monkeypatch.setitem(render.STANDARD_PATHS, "FluidR3_GM", ("/nonexistent/FluidR3_GM.sf2",))
  with pytest.raises(DatasetError, match="make soundfonts"):
    render.resolve_soundfont("FluidR3_GM")
  assert render.resolve_soundfont("TimGM6mb") == render.default_soundfont()
  assert "FluidR3_GM" not in render.available()


@pytest.mark.slow
def test_rich_recipe_builds_in_a_pool(tmp_path):
  """The `rich` recipe (3 banks, every variation) at a few examples, rendered by 2 workers."""
  from data_builders.synthmix import Synthmix

  rich = next(c for c in Synthmix.BUILDER_CONFIGS if c.name == "rich")
  missing = [b for b in rich.soundfonts if render.find_standard(b) is None]
  if missing:
    pytest.skip(f"SoundFonts {missing} not installed (make soundfonts)")
  config = dataclasses.replace(rich, name="rich_small", num_train=6, num_validation=2,
                               num_test=2, num_scores=6)
  builder = Synthmix(config=config, data_dir=str(tmp_path), file_format="array_record")
  builder.download_and_prepare()
  train = builder.as_data_source("train")
  assert len(train) == 6
  for i in range(6):
    ex = train[i]
    assert ex["audio"].shape[1] == 1 and ex["irmas_labels"].sum() >= 1


def test_recording_chain_keeps_each_effect_with_its_probability():
  rng = np.random.default_rng(0)
  state = rng.bit_generator.state
  assert variety.recording_chain(rng, variety.ALL, 1.0) is variety.ALL
  assert rng.bit_generator.state == state  # prob 1 draws nothing: older recipes render as before
  off = variety.recording_chain(rng, variety.ALL, 0.0)
  assert not any(getattr(off, name) for name in variety.CHAIN)
  assert all(getattr(off, f) for f in FIELDS if f not in variety.CHAIN)  # the players' stay on
  kept = np.array([[getattr(variety.recording_chain(rng, variety.ALL, 0.5), name)
                    for name in variety.CHAIN] for _ in range(2000)])
  np.testing.assert_allclose(kept.mean(axis=0), 0.5, atol=0.04)
  assert abs(np.corrcoef(kept[:, 0], kept[:, 4])[0, 1]) < 0.1  # drawn independently
  never = variety.recording_chain(rng, variety.Variety(noise=True), 0.5)
  assert not never.reverb  # an effect that is off stays off
  with pytest.raises(ValueError, match=r"in \[0, 1\]"):
    variety.recording_chain(rng, variety.ALL, 1.5)


def test_chain_prob_zero_renders_without_the_recording_chain(material, renderer):
  """chain_prob 0 with every field on = the players' variations only: the same labels, and the
  mix is the sum of its stems (no noise added)."""
  def make(prob: float) -> dict:
    params = example.Params((2.0, 2.0), SR, 1, 4, 3, 75.0, variety=variety.ALL, chain_prob=prob)
    return example.make(params, material, "train", 2, renderer)

  clean, full = make(0.0), make(1.0)
  for key in LABELS:
    np.testing.assert_array_equal(clean[key], full[key])
  residual = clean["stems"].astype(np.int32).sum(axis=0) - clean["audio"][:, 0]
  assert np.abs(residual).max() <= len(clean["programs"])
  assert not np.array_equal(clean["audio"], full["audio"])
