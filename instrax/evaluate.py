"""Streamed evaluation: chunks of one example → model → task.combine → per-example statistics →
calibration, metrics and figures over the split.

Chunks of consecutive examples are packed into fixed-size batches (one compiled shape); every
process reads every example and feeds its rows of each global batch, and outputs come back
replicated, so all processes compute identical metrics (process 0 writes them). Host memory is
bounded by the examples whose chunks are in flight plus the tasks' compact statistics.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator
from typing import Any

import jax
import numpy as np

from instrax.data import pipeline
from instrax.errors import UserError
from instrax.experiment import Experiment
from instrax.train import progress, sharding


class NonFiniteOutputError(UserError):
  """The model produced NaN/Inf for an evaluation example."""


def as_inputs(exp: Experiment, chunks: Any) -> dict[str, np.ndarray]:
  """A task's chunk inputs (lone array or dict) → dict by input name, in the declared dtypes."""
  spec = exp.input_spec
  if not isinstance(chunks, dict):
    if len(spec) != 1:
      raise ValueError(f"eval_inputs gave one array but the task declares inputs {list(spec)}")
    chunks = {next(iter(spec)): chunks}
  missing = set(spec) - set(chunks)
  if missing:
    raise ValueError(f"eval_inputs is missing model inputs {sorted(missing)}")
  return {k: np.asarray(chunks[k], spec[k].dtype) for k in spec}


def _leading(tree: Any) -> int:
  return int(jax.tree.leaves(tree)[0].shape[0])


def _concat(trees: list[Any]) -> Any:
  return trees[0] if len(trees) == 1 else jax.tree.map(lambda *xs: np.concatenate(xs), *trees)


def _slice(tree: Any, start: int, stop: int | None) -> Any:
  return jax.tree.map(lambda x: x[start:stop], tree)


def padded_size(n: int, batch_size: int, devices: int) -> int:
  """The batch `n` chunks are padded to: the smallest batch_size / 2^k, still a multiple of
  `devices`, that holds them (batch_size when none smaller does)."""
  size = batch_size
  while size % 2 == 0 and (size // 2) % devices == 0 and size // 2 >= n:
    size //= 2
  return size


def chunk_outputs(exp: Experiment, state, items: Iterable[Any], batch_size: int,
                  total: int | None = None, desc: str = "eval") -> Iterator[Any]:
  """Yields the model outputs (pytree, leading n_chunks axis, float32) of each item of `items`.

  Each item is a task's `eval_inputs`: an array or dict with a leading n_chunks axis ≥ 1, or an
  iterator of such parts (a long example read part by part: only the parts of one batch are held
  at once; their outputs are concatenated in order). Chunks of
  consecutive items are packed into full batches of `batch_size`; the last one is zero-padded to
  the smallest of batch_size / 2^k (k ≥ 0, a multiple of the device count) that holds it, in one
  process (one file of a few windows costs a few windows' compute, not a whole batch's), else
  to batch_size. The predict step compiles once per size used, at most log2(batch_size) + 1.
  """
  batch_size = max(batch_size - batch_size % exp.mesh.size, exp.mesh.size)
  counts: collections.deque[int] = collections.deque()  # chunks of items not yet yielded
  waiting: list[dict[str, np.ndarray]] = []  # chunks not yet run
  buffered = 0
  results: list[Any] = []  # outputs not yet yielded
  available = 0
  bar = progress.bar(total, desc=desc, unit="ex")

  def run(chunks: dict[str, np.ndarray]) -> Any:
    n = _leading(chunks)
    size = padded_size(n, batch_size, exp.mesh.size) if jax.process_count() == 1 else batch_size
    padded = jax.tree.map(
        lambda x: np.concatenate([x, np.zeros((size - n, *x.shape[1:]), x.dtype)]), chunks)
    rows = sharding.process_rows(size)  # this process's rows of the global batch
    local = _slice(padded, rows.start, rows.stop)
    out = exp.predict_step(state, sharding.to_global(local, exp.mesh))
    return jax.tree.map(lambda x: np.asarray(x)[:n], out)

  def run_full_batches(final: bool) -> None:
    nonlocal waiting, buffered, available
    if buffered < batch_size and not (final and buffered):
      return
    stack = _concat(waiting)
    while _leading(stack) >= batch_size or (final and _leading(stack)):
      results.append(run(_slice(stack, 0, batch_size)))
      available += _leading(results[-1])
      stack = _slice(stack, batch_size, None)
    left = _leading(stack)
    waiting, buffered = ([stack] if left else []), left

  def emit() -> Iterator[Any]:
    nonlocal results, available
    while counts and available >= counts[0]:
      merged, n = _concat(results), counts.popleft()
      results, available = [_slice(merged, n, None)], available - n
      bar.update(1)
      yield _slice(merged, 0, n)

  for item in items:
    n = 0
    for part in (item if isinstance(item, Iterator) else (item,)):
      chunks = as_inputs(exp, part)
      n += _leading(chunks)
      waiting.append(chunks)
      buffered += _leading(chunks)
      run_full_batches(final=False)  # a long example's parts run as they come
      yield from emit()  # earlier examples only: this one is not counted yet
    if n < 1:
      raise ValueError("eval_inputs gave no chunks for an example")
    counts.append(n)
    yield from emit()
  run_full_batches(final=True)
  yield from emit()
  bar.close()


def check_finite(outputs: Any, example: dict[str, Any]) -> None:
  """Raises NonFiniteOutputError naming the example when any model output is NaN/Inf."""
  for leaf in jax.tree.leaves(outputs):
    if not np.all(np.isfinite(leaf)):
      name = example.get("id", b"?")
      name = name.decode() if isinstance(name, bytes) else str(name)
      raise NonFiniteOutputError(
          f"the model's output for example {name!r} is not finite (NaN/Inf); its metrics would "
          "be meaningless. Check the checkpoint (train.on_nonfinite), the input audio and "
          "train.compute_dtype.")


def example_results(exp: Experiment, state, examples: Iterable[dict[str, Any]],
                    total: int | None = None, desc: str = "eval"
                    ) -> Iterator[tuple[dict[str, Any], Any]]:
  """Yields (example, combined output) for each example, streaming: only the examples whose
  chunks are in flight are held."""
  pending: collections.deque[dict[str, Any]] = collections.deque()

  def inputs():
    for example in examples:
      pending.append(example)
      yield exp.task.eval_inputs(example)

  for outputs in chunk_outputs(exp, state, inputs(), exp.config.eval.batch_size, total, desc):
    example = pending.popleft()
    check_finite(outputs, example)
    yield example, exp.task.combine(outputs, example)


def has_signal(exp: Experiment, example: dict[str, Any]) -> bool:
  """False for an example whose audio has no usable signal (`instrax.audio.level`); examples
  without an "audio" feature count as having one."""
  if "audio" not in example or not exp.data_format.sample_rate:
    return True
  from instrax.audio import level
  from instrax.data import transforms

  audio = transforms.example_audio(example, exp.data_format.channels or 1)
  return level.has_signal(audio, exp.data_format.sample_rate)


def signal_examples(exp: Experiment, source, max_examples: int = 0,
                    silent: list[int] | None = None) -> Iterator[dict[str, Any]]:
  """The first `max_examples` (0 = all) examples of a split, in order, without those that have no
  usable signal (`has_signal`); the index of each one left out is appended to `silent`."""
  for i, example in enumerate(pipeline.eval_examples(source, max_examples)):
    if has_signal(exp, example):
      yield example
    elif silent is not None:
      silent.append(i)


def split_stats(exp: Experiment, state, source, max_examples: int = 0,
                desc: str = "eval") -> tuple[list[Any], int]:
  """The task's per-example statistics of every example of a split with a signal, in order, and
  the number of examples left out for having none (they are counted, not scored as music)."""
  n = len(source) if not max_examples else min(max_examples, len(source))
  silent: list[int] = []
  examples = signal_examples(exp, source, max_examples, silent)
  stats = [exp.task.example_stats(combined, example)
           for example, combined in example_results(exp, state, examples, n, desc)]
  return stats, len(silent)


def score(exp: Experiment, stats: list[Any], calibration: dict[str, Any],
          split: str) -> dict[str, float]:
  """A split's metrics as flat "split/name" numbers."""
  return {f"{split}/{k}": v for k, v in exp.task.metrics(stats, calibration).items()}


def evaluate(exp: Experiment, state, dataset, *, calibration: dict[str, Any] | None = None,
             splits: tuple[str, str] | None = None, oracle: bool = False
             ) -> tuple[dict[str, float], dict[str, Any], dict[str, Any]]:
  """Calibrates on the eval split (unless `calibration` is given), scores eval and test splits.

  With `oracle`, the test split is also scored with decoding parameters tuned on the test split
  itself ("test/oracle/…"), as papers that pick thresholds on the test set report; never the
  headline. Returns (flat metrics "split/name", calibration, outputs for `report`: figures and
  audio of the test split).
  """
  cfg = exp.config
  eval_split, test_split = splits or (cfg.dataset.eval_split, cfg.dataset.test_split)
  results: dict[str, float] = {}
  extras: dict[str, Any] = {"figures": {}, "audio": {}, "pr_curves": {}}
  val, silent = split_stats(exp, state, dataset.source(eval_split, exp.task.features()),
                            cfg.eval.max_examples, desc=eval_split)
  if calibration is None:
    calibration = exp.task.calibrate(val)
  results |= score(exp, val, calibration, eval_split)
  results[f"{eval_split}/no_signal_examples"] = float(silent)
  del val
  if test_split:
    test, silent = split_stats(exp, state, dataset.source(test_split, exp.task.features()),
                               cfg.eval.max_examples, desc=test_split)
    results |= score(exp, test, calibration, test_split)
    results[f"{test_split}/no_signal_examples"] = float(silent)
    if oracle:
      oracle_cal = exp.task.calibrate(test)
      if oracle_cal:
        results |= score(exp, test, oracle_cal, f"{test_split}/oracle")
    extras["figures"] = exp.task.summaries(test, calibration)
    extras["audio"] = exp.task.audio_summaries(test, calibration)
    extras["pr_curves"] = exp.task.pr_curves(test)
  return results, calibration, extras
