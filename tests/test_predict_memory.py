"""predict reads long inputs in segments: peak memory does not grow with the input's length
(issue #8 item 4, issue #15 item 7)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from instrax import main
from tests.conftest import ROOT, tiny_config
from tests.reliability import run_env

PEAK = ("import atexit, resource, runpy, sys; "
        "atexit.register(lambda: print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF)"
        ".ru_maxrss, file=sys.stderr)); "
        "sys.argv = ['instrax.predict'] + sys.argv[1:]; "
        "runpy.run_module('instrax.predict', run_name='__main__')")


def _peak_kb(workdir: str, path: str) -> int:
  proc = subprocess.run([sys.executable, "-c", PEAK, f"--workdir={workdir}", "--format=json",
                         path], cwd=ROOT, env=run_env(), capture_output=True, text=True,
                        timeout=1200)
  assert proc.returncode == 0, proc.stderr[-2000:]
  return int(proc.stderr.split("PEAK_KB")[-1].split()[0])


def _tone_file(path, minutes: float, rate: int = 16000) -> str:
  n = int(minutes * 60 * rate)
  with sf.SoundFile(path, "w", rate, 1, "PCM_16") as f:
    for start in range(0, n, rate * 60):  # written a minute at a time
      t = np.arange(start, min(n, start + rate * 60)) / rate
      f.write(0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(t)))
  return str(path)


@pytest.mark.slow
def test_a_long_file_needs_no_more_memory_than_a_short_one(tmp_path, synth_data_dir):
  workdir = str(tmp_path / "run")
  config = tiny_config(data_dir=synth_data_dir)
  config.predict.segment_s = 60.0
  main.run(config, workdir, "train")
  short = _peak_kb(workdir, _tone_file(tmp_path / "short.wav", 3))
  long = _peak_kb(workdir, _tone_file(tmp_path / "long.wav", 30))  # 10× longer
  # One-shot decoding would hold 30 min × 16 kHz × 4 B = 115 MB more; allow a quarter of it.
  assert long - short < 30_000, (short, long)
