"""The ch_cls lead-track model: padding mask, chunked encoding, a train step, bf16."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from instrax.errors import ConfigError
from instrax.models import build_model
from instrax.models.lead import NEG

jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})
TINY = dict(enc_conv_dim=8, enc_hidden=16, enc_layers=1, enc_heads=2, enc_ffn=16,
            enc_pos_kernel=4, enc_pos_groups=2, attn_heads=2, num_instruments=5,
            enc_n_mels=16, enc_conv_layers=1)
ENCODERS = pytest.mark.parametrize("encoder", ["mel", "conv"])
T = 3520  # 3200 + 320 samples → 10 frames


def _inputs(rng, b=2, n=4, real=(2, 4)):
  stems = rng.normal(size=(b, n, T)).astype(np.float32) * 0.1
  mask = np.arange(n)[None] < np.array(real)[:, None]
  return {"mix": stems.sum(1, keepdims=True), "stems": stems, "track_mask": mask,
          "inst_ids": rng.integers(1, 6, size=(b, n)).astype(np.int32)}


def _init(model, x):
  return jit(lambda x: model.init({"params": jax.random.key(0)}, x))(x)


@ENCODERS
def test_padded_tracks_are_neither_attended_nor_predicted(encoder):
  model = build_model("lead_ch_cls", 8, **TINY, encoder=encoder)
  x = _inputs(np.random.default_rng(0))
  variables = _init(model, x)
  apply = jit(lambda v, x: model.apply(v, x))
  out = np.asarray(apply(variables, x))
  assert out.shape == (2, 10, 8) and out.dtype == np.float32
  # example 0 has 2 real stems: classes 4, 5 (padded stems) and 6, 7 (no such track) are masked
  np.testing.assert_array_equal(out[0, :, 4:], NEG)
  np.testing.assert_array_equal(out[1, :, 6:], NEG)
  assert (out[:, :, :4] > NEG / 2).all()
  # whatever the padded stems hold, the outputs are the same
  garbage = {**x, "stems": x["stems"].copy(), "inst_ids": x["inst_ids"].copy()}
  garbage["stems"][0, 2:] = 5.0
  garbage["inst_ids"][0, 2:] = 3
  np.testing.assert_allclose(np.asarray(apply(variables, garbage)), out, atol=1e-5)
  # ... and equal those of the same example without the padding
  short = {k: v[:1, :2] if k != "mix" else v[:1] for k, v in x.items()}
  np.testing.assert_allclose(np.asarray(apply(variables, short))[0, :, :4], out[0, :, :4],
                             atol=1e-5)


@ENCODERS
def test_chunked_encoding_equals_encoding_all_tracks_at_once(encoder):
  x = _inputs(np.random.default_rng(1), b=1, n=3, real=(3,))
  chunked = build_model("lead_ch_cls", 6, **TINY, encoder=encoder, track_chunk=1, remat=True)
  whole = build_model("lead_ch_cls", 6, **TINY, encoder=encoder, track_chunk=0, remat=False)
  variables = _init(chunked, x)
  np.testing.assert_allclose(np.asarray(jit(lambda v, x: chunked.apply(v, x))(variables, x)),
                             np.asarray(jit(lambda v, x: whole.apply(v, x))(variables, x)),
                             atol=1e-5)


@ENCODERS
def test_train_step_updates_every_parameter_and_bf16_agrees(encoder):
  model = build_model("lead_ch_cls", 8, **TINY, encoder=encoder)
  x = _inputs(np.random.default_rng(2))
  y = np.array([[2] * 5 + [0] * 5, [5] * 10])
  params = _init(model, x)["params"]
  tx = optax.adam(1e-2)

  @jit
  def step(params, opt_state, x):
    def loss_fn(p):
      logits = model.apply({"params": p}, x, train=True, rngs={"dropout": jax.random.key(1)})
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), loss, grads

  new, loss, grads = step(params, tx.init(params), x)
  assert np.isfinite(float(loss)) and all(np.isfinite(np.asarray(g)).all()
                                          for g in jax.tree.leaves(grads))
  unchanged = [jax.tree_util.keystr(p) for (p, a), b in
               zip(jax.tree_util.tree_leaves_with_path(params), jax.tree.leaves(new))
               if np.array_equal(np.asarray(a), np.asarray(b))]
  assert not unchanged, unchanged
  assert {"tracks", "attention", "inst_emb", "ch_emb", "norm", "head"} == set(params)
  low = model.clone(dtype=jnp.bfloat16)
  f32, bf16 = jit(lambda p, x: (model.apply({"params": p}, x), low.apply({"params": p}, x)))(
      new, x)
  assert bf16.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(bf16)[:, :, :4], np.asarray(f32)[:, :, :4], atol=0.5)


def test_bad_inputs_are_config_errors():
  model = build_model("lead_ch_cls", 4, **TINY)
  with pytest.raises(ConfigError, match="num_classes"):
    jax.eval_shape(lambda x: model.init(jax.random.key(0), x), _inputs(np.random.default_rng(0)))
  with pytest.raises(ConfigError, match="encoder_checkpoint"):
    build_model("lead_ch_cls", 4, encoder="hubert").encoder_config()
  with pytest.raises(ConfigError, match="choose from"):
    build_model("lead_ch_cls", 4, encoder="mert").encoder_config()
