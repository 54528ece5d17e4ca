"""Packing chunks of many examples into fixed-size predict batches (arrays and pytrees)."""

from __future__ import annotations

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from instrax import evaluate
from instrax.errors import UserError
from instrax.train import sharding


def _exp(predict_step, spec):
  return SimpleNamespace(mesh=sharding.make_mesh(), predict_step=predict_step, input_spec=spec)


@pytest.mark.parametrize("batch_size", [1, 4, 7, 64])
def test_chunk_outputs_come_back_per_item_in_order(batch_size):
  calls = []

  def predict_step(state, x):
    calls.append(x["audio"].shape[0])
    return jnp.asarray(x["audio"]).sum(axis=(1, 2))[:, None]

  spec = {"audio": jax.ShapeDtypeStruct((1, 3), np.float32)}
  rng = np.random.default_rng(0)
  items = [rng.normal(size=(int(rng.integers(1, 9)), 1, 3)).astype(np.float32)
           for _ in range(25)]
  outs = list(evaluate.chunk_outputs(_exp(predict_step, spec), None, items, batch_size))
  assert len(outs) == len(items)
  for out, item in zip(outs, items):
    np.testing.assert_allclose(out[:, 0], item.sum(axis=(1, 2)), rtol=1e-5)
  total = sum(len(i) for i in items)
  assert len(calls) == -(-total // batch_size)
  assert set(calls[:-1]) <= {batch_size}  # full batches, then the rest padded to a bucket
  assert calls[-1] == evaluate.padded_size(total - batch_size * (len(calls) - 1), batch_size, 1)


@pytest.mark.parametrize("n, batch_size, devices, want", [
    (1, 32, 1, 1), (3, 32, 1, 4), (9, 32, 1, 16), (32, 32, 1, 32), (1, 32, 2, 2),
    (3, 24, 1, 3), (13, 24, 1, 24), (1, 7, 1, 7), (5, 64, 8, 8)])
def test_the_last_batch_is_padded_to_the_smallest_bucket_that_holds_it(n, batch_size, devices,
                                                                        want):
  assert evaluate.padded_size(n, batch_size, devices) == want


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_items_given_in_parts_give_the_outputs_of_the_whole_items(batch_size):
  """An item may be an iterator of parts (a long example read part by part): its outputs are
  the same as when given whole, in order, and parts are consumed as batches fill — only when
  an item's last part has run is it yielded."""
  def predict_step(state, x):
    return jnp.asarray(x["audio"]).sum(axis=(1, 2))[:, None]

  spec = {"audio": jax.ShapeDtypeStruct((1, 3), np.float32)}
  rng = np.random.default_rng(1)
  whole = [rng.normal(size=(int(rng.integers(1, 12)), 1, 3)).astype(np.float32)
           for _ in range(9)]
  consumed = []

  def parts(item, i):
    for a in range(0, len(item), 2):
      consumed.append(i)
      yield {"audio": item[a:a + 2]}

  given = [parts(w, i) if i % 2 else w for i, w in enumerate(whole)]
  exp = _exp(predict_step, spec)
  outs = list(evaluate.chunk_outputs(exp, None, given, batch_size))
  want = list(evaluate.chunk_outputs(exp, None, whole, batch_size))
  assert len(outs) == len(whole)
  for out, ref in zip(outs, want):
    np.testing.assert_allclose(out, ref, rtol=1e-6)
  assert consumed == sorted(consumed) and set(consumed) == {1, 3, 5, 7}


def test_pytree_inputs_keep_their_dtypes_and_dict_outputs_are_split_per_item():
  seen = []

  def predict_step(state, x):
    seen.append({k: v.dtype for k, v in x.items()})
    return {"sum": jnp.asarray(x["audio"]).sum(axis=(1, 2)),
            "ids": jnp.asarray(x["ids"], jnp.float32) * 2.0}

  spec = {"audio": jax.ShapeDtypeStruct((1, 3), np.float32),
          "ids": jax.ShapeDtypeStruct((2,), np.int32)}
  items = [{"audio": np.full((n, 1, 3), n, np.float32),
            "ids": np.full((n, 2), n, np.int64)} for n in (1, 3, 2)]
  outs = list(evaluate.chunk_outputs(_exp(predict_step, spec), None, items, 4))
  assert all(d == {"audio": np.float32, "ids": np.int32} for d in seen)
  for out, n in zip(outs, (1, 3, 2)):
    np.testing.assert_array_equal(out["sum"], np.full(n, 3.0 * n))
    np.testing.assert_array_equal(out["ids"], np.full((n, 2), 2.0 * n))


def test_missing_inputs_and_non_finite_outputs_are_clear_errors():
  spec = {"audio": jax.ShapeDtypeStruct((1, 3), np.float32),
          "ids": jax.ShapeDtypeStruct((2,), np.int32)}
  with pytest.raises(ValueError, match="missing model inputs"):
    evaluate.as_inputs(_exp(None, spec), {"audio": np.zeros((1, 1, 3))})
  with pytest.raises(UserError, match=r"example 'song_7'.*not finite"):
    evaluate.check_finite({"a": np.array([0.0, np.nan])}, {"id": b"song_7"})
  evaluate.check_finite({"a": np.array([0.0, 1.0])}, {"id": b"song_7"})


def test_examples_without_signal_are_counted_not_scored(synth_data_dir):
  from instrax.data import sources
  from instrax.experiment import DataFormat, Experiment
  from tests.conftest import tiny_config

  dataset = sources.load("synthmix/tiny", synth_data_dir)
  exp = Experiment(tiny_config(data_dir=synth_data_dir), DataFormat.from_dataset(dataset))
  source = dataset.source("test", exp.task.features())
  examples = [dict(source[i]) for i in range(3)]
  examples[1]["audio"] = np.zeros_like(examples[1]["audio"])  # digital silence
  stats, silent = evaluate.split_stats(exp, exp.init_state(), examples)
  assert silent == 1 and len(stats) == 2
  np.testing.assert_array_equal(stats[1][1], exp.task.reference(examples[2]))
  left_out: list[int] = []
  kept = list(evaluate.signal_examples(exp, examples, 0, left_out))
  assert left_out == [1] and [e["id"] for e in kept] == [examples[0]["id"], examples[2]["id"]]
  assert len(list(evaluate.signal_examples(exp, examples, max_examples=1))) == 1
