"""Safety: no pickles in checkpoints or built datasets; predict writes only into --output; no
builder extracts archives."""

from __future__ import annotations

import io
import json
import os
import pathlib
import pickle
import pickletools
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import soundfile as sf

from tests import reliability as rel
from tests.conftest import ROOT

NPY_MAGIC, ZIP_MAGIC = b"\x93NUMPY", b"PK\x03\x04"


def _is_pickle(data: bytes) -> bool:
  """A pickle of protocol 2-5: its header, then opcodes that parse up to STOP (never executed)."""
  if len(data) < 2 or data[0] != 0x80 or data[1] not in range(2, 6):
    return False
  try:
    ops = list(pickletools.genops(data))
  except Exception:
    return False
  return bool(ops) and ops[-1][0].name == "STOP"


def _pickles_in(data: bytes, name: str) -> list[str]:
  """Where `data` holds a pickle: itself, an object-dtype .npy, or a zip member (.npz)."""
  if _is_pickle(data):
    return [name]
  if data.startswith(NPY_MAGIC):
    try:
      np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as e:  # "Object arrays cannot be loaded when allow_pickle=False"
      if "allow_pickle" in str(e):
        return [name]
      raise
    return []
  if data.startswith(ZIP_MAGIC):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
      return [hit for member in z.namelist()
              for hit in _pickles_in(z.read(member), f"{name}!{member}")]
  return []


def _scan(folder: str) -> tuple[list[str], int]:
  """(files under `folder` holding a pickle, files scanned)."""
  hits, count = [], 0
  for base, _, files in os.walk(folder):
    for name in files:
      path = os.path.join(base, name)
      if os.path.islink(path):
        continue
      count += 1
      hits += _pickles_in(pathlib.Path(path).read_bytes(), os.path.relpath(path, folder))
  return hits, count


def test_the_pickle_scan_finds_pickles_and_only_pickles(tmp_path):
  bad = {f"p{p}.bin": pickle.dumps({"a": [1, 2]}, protocol=p) for p in range(2, 6)}
  buf = io.BytesIO()
  np.save(buf, np.array(["x", None], dtype=object), allow_pickle=True)
  bad["obj.npy"] = buf.getvalue()
  buf = io.BytesIO()
  np.savez(buf, ok=np.zeros(3), keys=np.array(["a", "b"], dtype=object))
  bad["obj.npz"] = buf.getvalue()
  good = {"header_only.bin": b"\x80\x03not a pickle at all", "proto1.bin": b"\x80\x01",
          "text.json": b'{"a": 1}'}
  buf = io.BytesIO()
  np.save(buf, np.arange(4.0))
  good["float.npy"] = buf.getvalue()
  for name, data in {**bad, **good}.items():
    (tmp_path / name).write_bytes(data)
  hits, count = _scan(str(tmp_path))
  assert count == len(bad) + len(good)
  assert sorted(hits) == sorted([*bad.keys() - {"obj.npz"}, "obj.npz!keys.npy"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, synth_data_dir) -> str:
  """A finished tiny run (train_and_eval): checkpoints, TensorBoard, plots, results."""
  workdir = str(tmp_path_factory.mktemp("run"))
  rel.run_ok(rel.launch_args(workdir, synth_data_dir, "--config.train.num_steps=12",
                             mode="train_and_eval"), rel.run_env())
  return workdir


def test_a_trained_workdir_holds_no_pickles(trained):
  hits, count = _scan(trained)
  assert count > 20 and rel.steps(trained)  # checkpoints (OCDBT, json), events, plots, results
  assert hits == []


def test_a_built_dataset_holds_no_pickles(synth_data_dir):
  hits, count = _scan(synth_data_dir)
  assert any(name.endswith(".array_record-00000-of-00001") for _, _, names in
             os.walk(synth_data_dir) for name in names)
  assert count >= 5 and hits == []


def _tree(folder: pathlib.Path) -> set[str]:
  return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_predict_writes_only_into_output(trained, tmp_path):
  """Inputs named with '../', absolute paths, missing, unreadable: only DIR/predictions.json is
  written, whatever the input names are."""
  root = tmp_path / "area"
  (root / "audio").mkdir(parents=True)
  (root / "cwd" / "out").mkdir(parents=True)
  t = np.arange(16000 * 5) / 16000
  sf.write(root / "audio" / "tone.wav", 0.3 * np.sin(2 * np.pi * 440 * t), 16000)
  (root / "audio" / "garbage.wav").write_bytes(b"RIFF\x00\x00\x00\x00not audio" * 10)
  (root / "audio" / "empty.flac").write_bytes(b"")
  files = ["../audio/tone.wav",  # relative, escaping the cwd
           str(root / "audio" / "tone.wav"),  # absolute
           "out/../../audio/../audio/tone.wav",
           "../../../../../../../../etc/../audio/garbage.wav", "../audio/empty.flac",
           "../audio/missing.ogg", "../audio"]  # missing file, a folder
  before = _tree(root)
  proc = subprocess.run(
      [sys.executable, "-m", "instrax.predict", f"--workdir={trained}", "--format=json",
       "--output=out", *files], cwd=root / "cwd", capture_output=True, text=True, timeout=600,
      env={**rel.run_env(), "PYTHONPATH": str(ROOT)})
  assert proc.returncode == 1, proc.stderr[-3000:]  # some inputs failed
  assert _tree(root) - before == {"cwd/out/predictions.json"}
  with open(root / "cwd" / "out" / "predictions.json") as f:
    written = json.load(f)
  assert written["run"]["workdir"] == trained and written["run"]["step"] > 0
  results = written["results"]
  assert [r["file"] for r in results] == files
  ok = [r for r in results if "prediction" in r]
  assert len(ok) == 3 and all(r == {**ok[0], "file": r["file"]} for r in ok)  # same audio
  assert all(r["status"] == "error" and r["error"] for r in results[3:])
  assert "3 of 7 input(s) predicted, 4 failed" in proc.stderr


# Writing archive members to disk is what path traversal needs; reading a member into memory (the
# OpenMIC npz is a zip of .npy arrays; sample_bank.py decodes the mp3 members of npm tarballs with
# `extractfile`) writes no path and is allowed.
_ARCHIVE_CALLS = re.compile(r"\b(shutil\.unpack_archive|extractall|"
                            r"download_and_extract|\.extract\(|gzip\.open|lzma\.open|bz2\.open)")


def test_no_builder_extracts_archives():
  """Users extract the original archives themselves; builders only read the extracted files."""
  sources = sorted((ROOT / "data_builders").rglob("*.py"))
  assert len(sources) > 10
  found = [f"{p.relative_to(ROOT)}:{i}" for p in sources
           for i, line in enumerate(p.read_text().splitlines(), 1) if _ARCHIVE_CALLS.search(line)]
  assert found == []
