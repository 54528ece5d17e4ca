"""A split larger than TFDS's in-memory shuffle buffer builds without TensorFlow, identically."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import data_builders
from tests.conftest import split_examples


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None,
                    reason="TensorFlow is installed: TFDS uses it")
def test_spilled_shuffle_builds_the_same_dataset(tmp_path, monkeypatch, synth_data_dir):
  from tensorflow_datasets.core import shuffle

  monkeypatch.setattr(shuffle, "MAX_MEM_BUFFER_SIZE", 64 << 10)  # 64 KB: every split spills
  spilled = data_builders.prepare("synthmix/tiny", str(tmp_path), None)
  in_memory = data_builders.prepare("synthmix/tiny", synth_data_dir, None)
  for split in ("train", "test"):
    a, b = split_examples(spilled, split), split_examples(in_memory, split)
    assert list(a) == list(b)  # same ids in the same (shuffled) order
    for key in a:
      np.testing.assert_array_equal(a[key]["audio"], b[key]["audio"])
