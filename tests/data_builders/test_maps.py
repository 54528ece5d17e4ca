"""MAPS builder: names, piece-level splits, and builds of a fake original tree and real files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import data_builders
from data_builders.maps import fixtures, layout
from instrax.errors import DatasetError
from tests.conftest import split_examples

REAL_STEMS = ["MAPS_MUS-bach_847_AkPnBcht", "MAPS_MUS-bach_847_SptkBGCl",
              "MAPS_MUS-alb_esp2_SptkBGCl", "MAPS_MUS-chpn-p1_AkPnBcht"]


def test_parse_name():
  assert layout.parse_name("MAPS_MUS-chpn_op25_e3_ENSTDkAm") == ("chpn_op25_e3", "ENSTDkAm")
  with pytest.raises(DatasetError, match="MAPS MUS name"):
    layout.parse_name("MAPS_MUS-chpn_op25_e3_Steinway")


def _items(pairs):
  return [layout.Item(f"MAPS_MUS-{p}_{k}", p, k, None, None) for p, k in pairs]


def test_split_pieces_standard_protocol_holds_out_test_pieces():
  items = _items([("a", "AkPnBcht"), ("a", "ENSTDkCl"), ("b", "AkPnBcht"), ("c", "SptkBGCl"),
                  ("d", "AkPnBcht"), ("e", "ENSTDkAm"), ("f", "StbgTGd2")])
  splits = layout.split_pieces(items, layout.SYNTH_PIANOS, layout.REAL_PIANOS, 0.0, 0.25)
  assert {it.piano for it in splits["test"]} == {"ENSTDkCl", "ENSTDkAm"}
  assert "a" not in {it.piece for it in splits["train"] + splits["validation"]}
  assert len({it.piece for it in splits["validation"]}) == 1  # round(0.25 · 4 pieces)
  pieces = [{it.piece for it in s} for s in splits.values()]
  assert not (pieces[0] & pieces[1] or pieces[0] & pieces[2] or pieces[1] & pieces[2])


def test_split_pieces_by_fraction_never_splits_a_piece():
  items = _items([(p, k) for p in "abcdefghij" for k in ("AkPnBcht", "SptkBGCl")])
  splits = layout.split_pieces(items, (), (), 0.2, 0.25)
  sizes = {name: len({it.piece for it in s}) for name, s in splits.items()}
  assert sizes == {"train": 6, "validation": 2, "test": 2}
  for s in splits.values():
    for it in s:  # both recordings of a piece are on the same side
      assert sum(o.piece == it.piece for o in s) == 2


def test_build_fake_original_layout(tmp_path):
  expected = fixtures.make_fake_maps(tmp_path / "manual")
  builder = data_builders.prepare("maps/standard", str(tmp_path / "data"), tmp_path / "manual")
  test = split_examples(builder, "test")
  assert set(test) == {"MAPS_MUS-p1_ENSTDkCl", "MAPS_MUS-p5_ENSTDkCl"}
  rest = {**split_examples(builder, "train")}
  if "validation" in builder.info.splits:
    rest |= split_examples(builder, "validation")
  assert set(rest) == {"MAPS_MUS-p2_AkPnBcht", "MAPS_MUS-p3_AkPnBcht", "MAPS_MUS-p4_AkPnBcht"}
  ex = test["MAPS_MUS-p1_ENSTDkCl"]
  assert ex["audio"].shape == (24000, 1) and ex["audio"].dtype == np.int16  # 1.5 s at 16 kHz
  notes = expected["MAPS_MUS-p1_ENSTDkCl"]
  notes = notes[np.argsort(notes[:, 0])]
  np.testing.assert_allclose(ex["notes"], notes, atol=2e-3)  # velocities from the .mid
  assert ex["piece"].decode() == "p1" and ex["piano"].decode() == "ENSTDkCl"


def test_missing_mid_is_a_clear_error(tmp_path):
  fixtures.make_fake_maps(tmp_path / "manual")
  (tmp_path / "manual/AkPnBcht/MUS/MAPS_MUS-p2_AkPnBcht.mid").unlink()
  with pytest.raises(DatasetError, match=r"no MAPS_MUS-p2_AkPnBcht\.mid"):
    layout.find_items(tmp_path / "manual")


def test_build_real_reencoded_files(tmp_path, real_fixtures):
  real = real_fixtures / "maps"
  fixtures.copy_real(real, tmp_path / "manual", REAL_STEMS)
  builder = data_builders.prepare("maps/pieces", str(tmp_path / "data"), tmp_path / "manual")
  records = {s: [builder.as_data_source(s)[i] for i in range(len(builder.as_data_source(s)))]
             for s in builder.info.splits}
  found = {ex["id"].decode(): s for s, exs in records.items() for ex in exs}
  assert set(found) == set(REAL_STEMS)
  assert found[REAL_STEMS[0]] == found[REAL_STEMS[1]]  # bach_847: one split
  for stem in REAL_STEMS:
    audio, rate = sf.read(real / "flac" / f"{stem}.flac", dtype="int16")
    tsv = np.loadtxt(real / "tsv" / f"{stem}.tsv", skiprows=1, ndmin=2)
    tsv = tsv[np.lexsort((tsv[:, 2], tsv[:, 0]))]
    mine = [ex for ex in records[found[stem]] if ex["id"].decode() == stem]
    if found[stem] != "train":  # validation / test: the whole recording
      (ex,) = mine
      assert ex["audio"].shape == (len(audio), 1) and ex["offset_s"] == 0 and rate == 16000
      np.testing.assert_allclose(ex["notes"], tsv, rtol=1e-6)
      continue
    # train: 20 s segments every 15 s, in proportion to the length, with their notes
    assert len(mine) == 1 + int(np.ceil((len(audio) / rate - 20) / 15))
    for ex in mine:
      start = round(float(ex["offset_s"]) * rate)
      np.testing.assert_array_equal(ex["audio"][:, 0], audio[start:start + len(ex["audio"])])
      inside = tsv[(tsv[:, 0] < start / rate + 20) & (tsv[:, 1] > start / rate)]
      np.testing.assert_allclose(ex["notes"][:, 0] + ex["offset_s"], inside[:, 0], atol=1e-4)
