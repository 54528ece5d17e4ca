"""The whole file's dB reference computed block by block equals the whole-file computation."""

from __future__ import annotations

import numpy as np
import pytest

from instrax.audio.file_db import MaxDb, file_max_db
from instrax.audio.frontend import make_frontend


@pytest.mark.parametrize("pieces", [1, 7])
def test_blockwise_max_equals_whole_file(pieces):
  frontend = make_frontend("onsets_velocities", top_db=None)
  rng = np.random.default_rng(0)
  n = 16000 * 6 + 123
  audio = (rng.normal(size=n) * np.linspace(0.01, 0.2, n)).astype(np.float32)
  audio[-300:] *= 40  # the loudest frames at the very end: the reflect padding matters
  whole = np.asarray(frontend(audio[None]))[0]
  acc = MaxDb(frontend, frontend.hop_length, frontend.n_fft, block_frames=32)
  for part in np.array_split(audio, pieces):
    acc.add(part)
  assert acc.result() == pytest.approx(float(whole.max()), abs=1e-3)
  # the frames at the end change the answer (so the test can fail)
  assert float(np.asarray(frontend(audio[None, :-2000]))[0].max()) < whole.max() - 1


def test_loudest_frame_at_the_start_and_an_empty_file():
  frontend = make_frontend("onsets_velocities", top_db=None)
  audio = np.random.default_rng(1).normal(size=40000).astype(np.float32) * 0.01
  audio[:200] = 0.9
  whole = float(np.asarray(frontend(audio[None])).max())
  assert file_max_db(frontend, audio, 384, 2048, block_frames=16) == pytest.approx(whole, abs=1e-3)
  assert MaxDb(frontend, 384, 2048).result() == -np.inf
