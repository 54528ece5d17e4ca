"""Generating examples in index order, in this process or in a pool of spawned workers that each
load the SoundFonts once and the parsed scores from their JSON cache."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Iterator, Sequence

from data_builders.synthmix import example, piano, scores
from data_builders.synthmix.render import Renderer

_WORKER: dict = {}  # per process: params, renderer
MAKERS = {"mix": example.make, "piano": piano.make}  # Params.mode -> example maker


def _init(params: example.Params, soundfonts: Sequence[str]) -> None:
  _WORKER.update(params=params, renderer=Renderer(soundfonts, params.sample_rate))


def _make(job: tuple[str, str, int]) -> dict:
  material, split, index = job
  params = _WORKER["params"]
  pieces = scores.split_scores(scores.read(material), split)
  return MAKERS[params.mode](params, pieces, split, index, _WORKER["renderer"])


class Generator:
  """Makes the examples of one dataset config; `workers` > 1 renders in a process pool.

  Call `material()` first: it parses the scores (in the pool) and writes the cache the workers read.
  """

  def __init__(self, params: example.Params, soundfonts: str | Sequence[str], num_scores: int,
               cache_dir: str | os.PathLike, workers: int = 1):
    self.num_scores = num_scores
    self.cache_dir = os.fspath(cache_dir)
    self.cache_file: str | None = None
    self.params = params
    self.executor = self.renderer = None
    if workers > 1:
      self.executor = concurrent.futures.ProcessPoolExecutor(
          workers, multiprocessing.get_context("spawn"), initializer=_init,
          initargs=(params, soundfonts))
    else:
      self.renderer = Renderer(soundfonts, params.sample_rate)

  def material(self) -> tuple[scores.Score, ...]:
    """All pieces (parsed now unless cached)."""
    map_fn = self.executor.map if self.executor is not None else map
    self.cache_file = os.fspath(scores.load(self.num_scores, self.cache_dir, map_fn))
    return scores.read(self.cache_file)

  def examples(self, split: str, n: int) -> Iterator[dict]:
    """Examples 0..n−1 of `split`, in order; the same whether made in a pool or not."""
    if self.cache_file is None:
      self.material()
    if self.executor is None:
      pieces = scores.split_scores(scores.read(self.cache_file), split)
      make = MAKERS[self.params.mode]
      return (make(self.params, pieces, split, i, self.renderer) for i in range(n))
    jobs = [(self.cache_file, split, i) for i in range(n)]
    return self.executor.map(_make, jobs, chunksize=4)

  def close(self) -> None:
    if self.executor is not None:
      self.executor.shutdown()
      self.executor = None
