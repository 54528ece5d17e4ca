"""A tiny fake MedleyDB tree in the real layout (for tests), with the seed's lead annotations.

    Audio/AClassicEducation_NightOwl/   the real METADATA.yaml (13 stems) when `real_dir` is given,
                                        annotated in metadata_song.json (S08 then S03)
    Audio/Fake_Markers/                 2 stems, annotated by Markers/Fake_Markers/Markers.csv
    Audio/Fake_Json/                    2 stems, annotated in metadata_song.json
    Audio/Fake_MissingStem/             annotation names S05, which its METADATA.yaml lacks: skipped
    Audio/Fake_BadStem/                 an undecodable stem file: skipped
    Audio/Fake_Unannotated/             no annotation: not in the dataset
plus macOS `._*` twins (garbage) that must be ignored. Audio: 2 s, 44.1 kHz stereo PCM-16 sines.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil

import numpy as np
import soundfile as sf
import yaml

RATE = 44100
SECONDS = 2.0
REAL_TRACK = "AClassicEducation_NightOwl"
MARKERS = ("Name\tStart\tDuration\tTime Format\tType\tDescription\n"
           "Marker 01\t0:00.500\t0:01.000\tdecimal\tCue\t2\n"
           "Marker 02\t0:01.800\t0:00.100\tdecimal\tCue\t\n")


@dataclasses.dataclass
class FakeMedleyDB:
  root: pathlib.Path  # the manual_dir
  good: list[str]  # songs that must be built
  skipped: list[str]  # annotated songs that must be skipped


def _metadata(track: str, instruments: list[str]) -> dict:
  """A METADATA.yaml in the real schema (datasets.md §3)."""
  return {
      "album": "Fake", "artist": "Fake", "composer": ["Fake"], "excerpt": "no", "genre": "Rock",
      "has_bleed": "no", "instrumental": "no", "mix_filename": f"{track}_MIX.wav",
      "origin": "Independent Artist", "producer": ["Fake"], "raw_dir": f"{track}_RAW",
      "stem_dir": f"{track}_STEMS", "title": "Fake", "version": 1.2, "website": [],
      "stems": {f"S{i:02d}": {"component": "", "filename": f"{track}_STEM_{i:02d}.wav",
                              "instrument": inst, "raw": {}}
                for i, inst in enumerate(instruments, start=1)}}


def _write_audio(folder: pathlib.Path, meta: dict, seed: int) -> None:
  """The mix and every stem of `meta` as 2-s stereo sines (the mix = their sum)."""
  t = np.arange(round(SECONDS * RATE)) / RATE
  stems_dir = folder / meta["stem_dir"]
  stems_dir.mkdir(parents=True, exist_ok=True)
  total = 0.0
  n = len(meta["stems"])
  for i, entry in enumerate(meta["stems"].values()):
    x = 0.5 / n * np.sin(2 * np.pi * (110 + 55 * i + seed) * t)
    stereo = np.stack([x, 0.5 * x], axis=1)
    sf.write(stems_dir / entry["filename"], stereo, RATE, subtype="PCM_16")
    total = total + stereo
  sf.write(folder / meta["mix_filename"], total, RATE, subtype="PCM_16")


def _track(audio: pathlib.Path, track: str, instruments: list[str], seed: int) -> dict:
  folder = audio / track
  folder.mkdir(parents=True)
  meta = _metadata(track, instruments)
  (folder / f"{track}_METADATA.yaml").write_text(yaml.safe_dump(meta))
  _write_audio(folder, meta, seed)
  return meta


def make_fake_medleydb(root: pathlib.Path, real_dir: pathlib.Path | None = None
                       ) -> FakeMedleyDB:
  """Writes the fake tree under `root` (the manual_dir); `real_dir` = the real-fixture medleydb
  folder holding Audio/AClassicEducation_NightOwl/..._METADATA.yaml."""
  audio = root / "Audio"
  audio.mkdir(parents=True)
  fake = FakeMedleyDB(root, [], [])
  song_json: dict[str, list[dict]] = {}
  if real_dir is not None:
    folder = audio / REAL_TRACK
    folder.mkdir()
    src = real_dir / "Audio" / REAL_TRACK / f"{REAL_TRACK}_METADATA.yaml"
    shutil.copyfile(src, folder / src.name)
    _write_audio(folder, yaml.safe_load(src.read_text()), seed=0)
    song_json[REAL_TRACK] = [
        {"lead_start": "0:00.200", "lead_end": "0:01.400", "lead_inst": "8#male_singer"},
        {"lead_start": "0:01.000", "lead_end": "0:01.200",
         "lead_inst": "3#distorted_electric_guitar"}]
    fake.good.append(REAL_TRACK)
  _track(audio, "Fake_Markers", ["electric bass", "flute"], seed=1)
  (root / "Markers" / "Fake_Markers").mkdir(parents=True)
  (root / "Markers" / "Fake_Markers" / "Markers.csv").write_text(MARKERS)
  _track(audio, "Fake_Json", ["female singer", "piano"], seed=2)
  song_json["Fake_Json"] = [{"lead_start": "0:00.000", "lead_end": "0:02.000",
                             "lead_inst": "1#female_singer"}]
  _track(audio, "Fake_MissingStem", ["violin", "cello"], seed=3)
  song_json["Fake_MissingStem"] = [{"lead_start": "0:00.000", "lead_end": "0:01.000",
                                    "lead_inst": "5#trumpet"}]
  meta = _track(audio, "Fake_BadStem", ["trumpet", "tuba"], seed=4)
  (audio / "Fake_BadStem" / meta["stem_dir"] / meta["stems"]["S02"]["filename"]).write_bytes(
      b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(range(64)))
  song_json["Fake_BadStem"] = [{"lead_start": "0:00.000", "lead_end": "0:01.000",
                                "lead_inst": "1#trumpet"}]
  _track(audio, "Fake_Unannotated", ["banjo"], seed=5)
  fake.good += ["Fake_Markers", "Fake_Json"]
  fake.skipped += ["Fake_MissingStem", "Fake_BadStem"]
  (root / "metadata_song.json").write_text(json.dumps(song_json, indent=1))
  for twin in (audio / "._Fake_Json", audio / "Fake_Json" / "._Fake_Json_METADATA.yaml",
               audio / "Fake_Json" / "._Fake_Json_MIX.wav"):
    twin.write_bytes(b"\x00\x05\x16\x07Mac OS X garbage: {[")
  return fake
