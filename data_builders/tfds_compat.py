"""Builds larger than 1 GB per split without TensorFlow.

TFDS shuffles a split's examples in memory up to `shuffle.MAX_MEM_BUFFER_SIZE` (1 GB) and then
spills them to temporary bucket files through `tf.io.gfile` — the one place a TFDS build still
needs TensorFlow (IRMAS at 44.1 kHz stereo is 3.5 GB; without this, such a build stops with
"No module named 'tensorflow'" after an hour of decoding). `install()` gives TFDS's shuffler a
local-filesystem stand-in for the three `tf.io.gfile` calls and the one `tf.errors` class it
uses, when TensorFlow is not installed. Bucket files live under the build's own temporary
folder on local disk, which plain `open` serves.
"""

from __future__ import annotations

import importlib.util
import os
import types


def _gfile() -> types.SimpleNamespace:
  return types.SimpleNamespace(GFile=open, exists=os.path.exists, remove=os.remove)


class _ResourceExhaustedError(OSError):
  """Never raised by `open`; TFDS only catches it."""

  message = ""


STAND_IN = types.SimpleNamespace(io=types.SimpleNamespace(gfile=_gfile()),
                                 errors=types.SimpleNamespace(
                                     ResourceExhaustedError=_ResourceExhaustedError))


def install() -> bool:
  """Points TFDS's shuffler at the stand-in when TensorFlow is absent; True if it did."""
  if importlib.util.find_spec("tensorflow") is not None:
    return False
  from tensorflow_datasets.core import shuffle

  shuffle.tf = STAND_IN
  return True
