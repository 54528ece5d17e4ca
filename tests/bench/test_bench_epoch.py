"""bench/bench_epoch.py: both pipelines train one step on 4 clips of a built IRMAS-layout tree and
report positive throughput; without torch the PyTorch side is skipped and the report says so."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import bench_epoch

pytest.importorskip("librosa")


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
  """(instrax epoch, PyTorch epoch or None): a small CNN_RNN (n=4), batch 4, one DataLoader
  worker; the tree is the fixture generator's (61 training clips of 3 s)."""
  root = tmp_path_factory.mktemp("epoch")
  return bench_epoch.setup(root, 0, 3.0, batch=4, n=4, workers=1, threads=1)


@pytest.mark.slow
def test_instrax_one_step(sides):
  inst, _ = sides
  assert inst.steps == len(inst.source) // 4 > 0
  examples, wall = inst.run(max_steps=1)
  assert examples == 4 and wall > 0


@pytest.mark.slow
def test_pytorch_one_step(sides):
  pytest.importorskip("torch")
  _, twin = sides
  assert twin is not None
  before = [p.detach().clone() for p in twin.model.parameters()]
  examples, wall = twin.run(max_steps=1)
  assert examples == 4 and wall > 0
  assert any(not np.array_equal(a, b.detach()) for a, b in zip(before, twin.model.parameters()))


def test_torch_missing_is_skipped(monkeypatch):
  for name in ("torch", "torch_seed_pipeline", "torch_twins"):
    monkeypatch.setitem(sys.modules, name, None)  # `import name` raises ImportError
  paths, targets = [Path("a.wav")], np.eye(11, dtype=np.float32)[:1]
  assert bench_epoch.torch_epoch(paths, targets, batch=1, n=4, workers=0, threads=1) is None
  table = bench_epoch.report({"instrax": [10.0, 12.0, 11.0], "pytorch": []}, batch=4)
  assert "| instrax | 4 | 3 | 12.0 | 11.0 | – |" in table
  assert "pytorch" not in table and "PyTorch row skipped" in bench_epoch.TORCH_MISSING


def test_report_ratio_hand_computed():
  table = bench_epoch.report({"instrax": [30.0, 20.0, 40.0], "pytorch": [10.0, 20.0, 5.0]}, 32)
  assert "| instrax | 32 | 3 | 40.0 | 30.0 | **2.00×**, 3.00× |" in table  # 40/20, 30/10
  assert "| pytorch | 32 | 3 | 20.0 | 10.0 | – |" in table
