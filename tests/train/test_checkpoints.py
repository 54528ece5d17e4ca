"""Checkpointer round trip: every leaf of the state (EMA included), the data position and meta."""

from __future__ import annotations

import grain
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from instrax.errors import CheckpointError
from instrax.train import checkpoints
from instrax.train.state import TrainState


def _state() -> TrainState:
  """A state whose every leaf is distinct: EMA ≠ params, a non-zero optimizer state."""
  params = {"dense": {"kernel": jnp.arange(6.0).reshape(2, 3), "bias": jnp.array([0.5, -1.0, 2.0])}}
  tx = optax.adam(1e-3)
  opt_state = tx.update(jax.tree.map(jnp.ones_like, params), tx.init(params), params)[1]
  return TrainState(
      step=jnp.array(7, jnp.int32), params=params,
      batch_stats={"bn": {"mean": jnp.array([0.25, 0.75])}}, opt_state=opt_state,
      rng=jax.random.key_data(jax.random.key(42)),
      ema_params=jax.tree.map(lambda p: 0.5 * p + 3.0, params),
      nonfinite=jnp.array(2, jnp.int32))


def _iterator():
  return iter(grain.MapDataset.range(10).to_iter_dataset())


def _abstract(state):
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), state)


def _zeros_like(state):
  return jax.tree.map(jnp.zeros_like, state)


def test_restore_returns_the_saved_state_leaf_by_leaf(tmp_path):
  state = _state()
  saved_it = _iterator()
  assert [next(saved_it) for _ in range(3)] == [0, 1, 2]
  writer = checkpoints.Checkpointer(str(tmp_path / "ckpt"), async_save=False, writable=True,
                                    best_metric="f1")
  assert writer.save(7, state, saved_it, {"model": "m"}, {"f1": 0.5})
  assert not writer.save(7, _zeros_like(state), saved_it, {})  # a step is never overwritten
  writer.close()

  reader = checkpoints.Checkpointer(str(tmp_path / "ckpt"), best_metric="f1")
  assert reader.steps() == [7] and reader.resolve("best") == 7
  meta = reader.meta(7)
  assert meta["model"] == "m" and meta["step"] == 7 and meta["metrics"] == {"f1": 0.5}
  it = _iterator()
  restored = reader.restore(7, _abstract(state), it)
  reader.close()
  assert next(it) == 3  # the data position came back
  flat, tree = jax.tree_util.tree_flatten_with_path(restored)
  flat_saved, tree_saved = jax.tree_util.tree_flatten_with_path(state)
  assert tree == tree_saved
  for (path, got), (_, want) in zip(flat, flat_saved):
    assert np.array_equal(np.asarray(got), np.asarray(want)), jax.tree_util.keystr(path)
    assert np.asarray(got).dtype == np.asarray(want).dtype
  # The EMA came back as itself, not as a copy of the params.
  np.testing.assert_array_equal(restored.ema_params["dense"]["kernel"],
                                [[3.0, 3.5, 4.0], [4.5, 5.0, 5.5]])
  assert restored.eval_params() is restored.ema_params


def test_resolve_names_what_exists(tmp_path):
  reader = checkpoints.Checkpointer(str(tmp_path / "none"))
  with pytest.raises(CheckpointError, match="No checkpoint in"):
    reader.resolve("latest")
  writer = checkpoints.Checkpointer(str(tmp_path / "c"), async_save=False, writable=True,
                                    best_metric="f1", keep_last=5)
  for step, f1 in ((1, 0.2), (2, 0.9), (3, 0.4)):
    writer.save(step, _state(), _iterator(), {}, {"f1": f1})
  writer.close()
  reader = checkpoints.Checkpointer(str(tmp_path / "c"), best_metric="f1")
  assert reader.resolve("latest") == 3 and reader.resolve("best") == 2
  assert reader.resolve(1) == 1
  with pytest.raises(CheckpointError, match=r"No checkpoint at step 4 .*\[1, 2, 3\]"):
    reader.resolve(4)
  low = checkpoints.Checkpointer(str(tmp_path / "c"), best_metric="f1", best_mode="min")
  assert low.resolve("best") == 1


def test_param_shapes_names_every_leaf():
  assert checkpoints.param_shapes({"a": {"k": jnp.zeros((2, 3))}, "b": jnp.zeros(())}) == {
      "['a']['k']": [2, 3], "['b']": []}


@pytest.mark.parametrize("mode, kept", [("max", [1, 4]), ("min", [2, 4])])
def test_keeps_the_last_and_the_best(tmp_path, mode, kept):
  writer = checkpoints.Checkpointer(str(tmp_path / "c"), async_save=False, writable=True,
                                    keep_last=1, keep_best=1, best_metric="f1", best_mode=mode)
  for step, f1 in ((1, 0.9), (2, 0.1), (3, 0.5)):
    writer.save(step, _state(), _iterator(), {}, {"f1": f1})
  writer.save(4, _state(), _iterator(), {})  # no metric: kept only as the latest
  writer.close()
  reader = checkpoints.Checkpointer(str(tmp_path / "c"), best_metric="f1", best_mode=mode)
  assert reader.steps() == kept and reader.resolve("best") == kept[0]
  assert reader.meta(kept[0])["metrics"] == {"f1": 0.9 if mode == "max" else 0.1}


def test_a_reader_creates_and_deletes_nothing(tmp_path):
  checkpoints.Checkpointer(str(tmp_path / "absent")).close()
  assert not (tmp_path / "absent").exists()
  writer = checkpoints.Checkpointer(str(tmp_path / "c"), async_save=False, writable=True)
  writer.save(1, _state(), _iterator(), {})
  writer.close()
  leftover = tmp_path / "c" / "2.orbax-checkpoint-tmp-123"
  leftover.mkdir()
  checkpoints.Checkpointer(str(tmp_path / "c")).close()
  assert leftover.exists()  # only a training (writable) Checkpointer cleans up
  checkpoints.Checkpointer(str(tmp_path / "c"), writable=True).close()
  assert not leftover.exists()
