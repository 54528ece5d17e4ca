"""Refusing non-finite numbers before scoring: NaN/inf scores would otherwise sort somewhere and
give believable AP, ROC-AUC, LRAP and thresholds (scikit-learn raises on them too)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from instrax.errors import NonFiniteError


def _leaves(tree: Any, path: str = "") -> list[tuple[str, Any]]:
  """(key path, leaf) of a nest of dicts, lists and tuples, e.g. ("['onsets'][0]", array)."""
  if isinstance(tree, Mapping):
    return [kv for k in tree for kv in _leaves(tree[k], f"{path}[{k!r}]")]
  if isinstance(tree, (list, tuple)):
    return [kv for i, v in enumerate(tree) for kv in _leaves(v, f"{path}[{i}]")]
  return [(path, tree)]


def check_finite(values: Any, what: str) -> None:
  """Raises NonFiniteError unless every number in `values` is finite.

  Args:
    values: an array, a number, or a nest (dict / list / tuple) of them, e.g. one example's model
      outputs with named heads. Non-numeric leaves (strings, None) are ignored.
    what: names the values in the message, e.g. "model output for example 'a.wav'".

  The message gives the count, the first bad entry's key path and index, and its value.
  """
  for key, leaf in _leaves(values):
    x = np.asarray(leaf)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.complexfloating)):
      continue
    bad = ~np.isfinite(x)
    if bad.any():
      first = tuple(int(i) for i in np.argwhere(bad)[0])
      where = f"{key}{list(first) if first else ''}"
      raise NonFiniteError(
          f"{what}: {int(bad.sum())} of {x.size} value(s) are NaN or infinite (first at "
          f"{where or 'the value'}: {x[first]}); a diverged or broken model cannot be scored; "
          "check the training curves or use an earlier checkpoint")


def finite_scores(scores: Any, what: str = "scores") -> np.ndarray:
  """`scores` as float64 after `check_finite`."""
  s = np.asarray(scores, np.float64)
  check_finite(s, what)
  return s
