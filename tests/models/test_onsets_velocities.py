"""OnsetVelocityNet (seeds.md §2.2): parameter count, output shapes, BN momentum, bf16."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from instrax.models import build_model

T = 12


@pytest.fixture(scope="module")
def model_and_vars():
  model = build_model("onsets_velocities", 88)
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 1, 229, T)) * 10 - 40, jnp.float32)
  variables = jax.jit(lambda x: model.init(jax.random.PRNGKey(0), x, train=False))(x)
  return model, variables, x


def test_parameter_count_is_the_seeds():
  model = build_model("onsets_velocities", 88)
  shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0),
                                             jnp.zeros((1, 1, 229, 8)), train=False))
  count = lambda tree: sum(int(np.prod(a.shape)) for a in jax.tree.leaves(tree))
  assert count(shapes["params"]) == 3_127_168
  # the derived breakdown of seeds.md §2.2
  assert count(shapes["params"]["specnorm"]) == 916
  assert count(shapes["params"]["onsets_0"]) == 698_516
  assert count(shapes["params"]["velocity"]) == 694_504
  assert count(shapes["params"]["mel_to_key"]) == 322_432


def test_outputs_have_t_minus_one_frames(model_and_vars):
  model, variables, x = model_and_vars
  out = model.apply(variables, x, train=False)
  assert out["onsets"].shape == (2, 3, T - 1, 88) and out["onsets"].dtype == jnp.float32
  assert out["velocity"].shape == (2, T - 1, 88)
  assert np.isfinite(np.asarray(out["onsets"])).all()


def test_batchnorm_momentum_is_converted_from_pytorch(model_and_vars):
  """PyTorch m = 0.95: running = 0.05·old + 0.95·batch; the first specnorm BN sees the stacked
  [x[..., 1:], Δx] per (mel bin, channel) — hand-computed here with numpy."""
  model, variables, x = model_and_vars
  _, updates = model.apply(variables, x, train=True, mutable=["batch_stats"],
                           rngs={"dropout": jax.random.PRNGKey(1)})
  mel = np.asarray(x)[:, 0]
  stacked = np.stack([mel[..., 1:], np.diff(mel, axis=-1)], axis=-1)  # (B, F, T−1, 2)
  expected = 0.95 * stacked.mean(axis=(0, 2))  # initial running mean is 0
  got = np.asarray(updates["batch_stats"]["specnorm"]["mean"])
  np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_bfloat16_forward_is_finite_and_close(model_and_vars):
  """bf16 compute against float32, in training mode (batch statistics keep activations O(1))."""
  model, variables, x = model_and_vars
  rngs = {"dropout": jax.random.PRNGKey(1)}
  ref, _ = model.apply(variables, x, train=True, mutable=["batch_stats"], rngs=rngs)
  bf16 = build_model("onsets_velocities", 88, dtype="bfloat16")
  out, _ = bf16.apply(variables, x, train=True, mutable=["batch_stats"], rngs=rngs)
  for key in ("onsets", "velocity"):
    assert out[key].dtype == jnp.float32 and np.isfinite(np.asarray(out[key])).all()
    err = np.abs(np.asarray(out[key]) - np.asarray(ref[key]))
    scale = np.asarray(ref[key]).std()
    assert err.mean() < 0.08 * scale and err.max() < 0.5 * scale  # measured 0.04 / 0.3


def test_rejects_wrong_input_shape():
  model = build_model("onsets_velocities", 88)
  with pytest.raises(ValueError, match="229"):
    jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), jnp.zeros((1, 1, 128, 8)),
                                      train=False))


def test_ref_db_input_floors_at_the_file_max_minus_80(model_and_vars):
  """{"audio", "ref_db"}: the model sees max(x, ref_db − 80), the seed's whole-file floor."""
  model, variables, x = model_and_vars
  ref = jnp.array([-20.0, 10.0])
  got = model.apply(variables, {"audio": x, "ref_db": ref}, train=False)
  floored = jnp.maximum(x, ref[:, None, None, None] - 80.0)
  want = model.apply(variables, floored, train=False)
  np.testing.assert_allclose(np.asarray(got["onsets"]), np.asarray(want["onsets"]), atol=1e-5)
  # the floor changes the output (x spans about −70..−10 dB: ref 10 floors most of it at −70)
  plain = model.apply(variables, x, train=False)
  assert not np.allclose(np.asarray(got["onsets"][1]), np.asarray(plain["onsets"][1]), atol=1e-3)
