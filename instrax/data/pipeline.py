"""grain input pipelines: deterministic, process-sharded, checkpointable.

Training: source → this process's shard → per-epoch shuffle (seeded) → repeat → random transform
(seeded per element) → batch. The iterator's state (`get_state`/`set_state`) goes into checkpoints,
so a resumed run reads exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grain
import numpy as np
from absl import flags

from instrax.errors import ConfigError

Example = dict[str, Any]


def local_batch_size(global_batch_size: int, process_count: int) -> int:
  if global_batch_size % process_count:
    raise ConfigError(f"train.batch_size={global_batch_size} must be divisible by the number of "
                      f"processes ({process_count}).")
  return global_batch_size // process_count


def train_dataset(source, transform: Callable[[Example, np.random.Generator], Example], *,
                  global_batch_size: int, seed: int, process_index: int = 0,
                  process_count: int = 1, extra_examples: int = 0) -> grain.MapDataset:
  """Infinite map dataset of this process's rows of each global batch.

  One global stream (shuffled per epoch, each element transformed with an rng derived from its
  global position) is cut into global batches; process i takes rows [i·b, (i+1)·b) of each. So
  the data of a run does not depend on how many processes or devices share it.

  `extra_examples` > 0: multi-example transforms (e.g. remixing sources of different songs) get
  that many more examples of the split, drawn uniformly with the element's own rng, as
  `example["extra"]` (a list); the draw is as deterministic as the rest of the stream.
  """
  local = local_batch_size(global_batch_size, process_count)
  if len(source) == 0:
    raise ConfigError("the training split has no examples.")
  stream = (grain.MapDataset.source(source).seed(seed).shuffle().repeat(None)
            .random_map(_RandomTransform(transform, source, extra_examples)))
  rows = _ProcessRows(stream, global_batch_size, process_index, process_count)
  return rows.batch(local, drop_remainder=True)


def train_iterator(ds: grain.MapDataset, *, read_threads: int = 2, num_workers: int = 0):
  """Checkpointable iterator over `ds` (threads, or worker processes when num_workers > 0)."""
  it_ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=read_threads, prefetch_buffer_size=4))
  if num_workers > 0:
    if not flags.FLAGS.is_parsed():  # grain's workers read absl flags; library use parses none
      flags.FLAGS.mark_as_parsed()
    it_ds = it_ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=num_workers))
  return iter(it_ds)


def eval_examples(source, max_examples: int = 0) -> Iterator[Example]:
  """Every example of `source` in order (all processes read all; each feeds its rows)."""
  n = len(source) if not max_examples else min(max_examples, len(source))
  for i in range(n):
    yield source[i]


class _ProcessRows(grain.MapDataset):
  """Element j of this process = its row j % b of global batch j // b (b = local batch)."""

  def __init__(self, parent: grain.MapDataset, global_batch: int, index: int, count: int):
    super().__init__(parent)
    self._global, self._local, self._index = global_batch, global_batch // count, index

  def __len__(self) -> int:
    return len(self._parent) // self._global * self._local

  def __getitem__(self, j):
    if isinstance(j, slice):
      return self.slice(j)
    step, row = divmod(j, self._local)
    return self._parent[step * self._global + self._index * self._local + row]


class _RandomTransform(grain.transforms.RandomMap):
  """Adapts `fn(example, rng)` to grain's seeded random map (with `extra` examples drawn from
  `source` when `extra` > 0)."""

  def __init__(self, fn: Callable[[Example, np.random.Generator], Example], source=None,
               extra: int = 0):
    self.fn, self.source, self.extra = fn, source, extra

  def random_map(self, element: Example, rng: np.random.Generator) -> Example:
    if self.extra:
      picks = rng.integers(0, len(self.source), self.extra)
      element = {**element, "extra": [self.source[int(i)] for i in picks]}
    return self.fn(element, rng)
