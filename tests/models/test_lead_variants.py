"""The inst_cls lead models (FromMix, ByInst, InstEmb, ByChannel) and the multichannel CRNN
baseline: output shapes, a finite train step that updates every parameter, padding ignored."""

from __future__ import annotations

import functools

import jax
import numpy as np
import optax
import pytest

from instrax.errors import ConfigError
from instrax.models import build_model

jit = functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})
ENCODER = dict(enc_conv_dim=8, enc_hidden=16, enc_layers=1, enc_heads=2, enc_ffn=16,
               enc_pos_kernel=4, enc_pos_groups=2, attn_heads=2, num_instruments=5)
CRNN = dict(channels=4, rnn_features=4, hidden=4, n_mels=20)  # 20 / 5 / 2 / 2 = 1 mel band
T = 3520  # 3200 + 320 samples → 10 frames
CLASSES = 8
CASES = {
    "from_mix": ("lead_inst_cls", dict(ENCODER, variant="from_mix"), {"tracks", "head"}),
    "by_inst": ("lead_inst_cls", dict(ENCODER, variant="by_inst"), {"tracks", "head"}),
    "inst_emb": ("lead_inst_cls", dict(ENCODER, variant="inst_emb"),
                 {"tracks", "inst_emb", "head"}),
    "by_channel": ("lead_inst_cls", dict(ENCODER, variant="by_channel"),
                   {"tracks", "attention", "head"}),
    "crnn": ("lead_crnn", CRNN, {"conv_0", "bn_0", "conv_1", "bn_1", "conv_2", "bn_2", "gru_0",
                                 "gru_0_reverse", "gru_1", "gru_1_reverse", "fc", "head"}),
}


def _inputs(rng, b=2, n=4, real=(2, 4)):
  stems = rng.normal(size=(b, n, T)).astype(np.float32) * 0.1
  stems[np.arange(n)[None] >= np.array(real)[:, None]] = 0.0
  mask = np.arange(n)[None] < np.array(real)[:, None]
  return {"mix": stems.sum(1, keepdims=True), "stems": stems, "track_mask": mask,
          "inst_ids": rng.integers(1, 6, size=(b, n)).astype(np.int32)}


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.slow) if c in ("from_mix", "by_inst") else c
    for c in sorted(CASES)])  # from_mix and by_inst: the paths inst_emb/by_channel also take
def test_train_step_is_finite_and_updates_every_parameter(case):
  name, fields, modules = CASES[case]
  model = build_model(name, CLASSES, **fields)
  x = _inputs(np.random.default_rng(0))
  y = np.array([[2] * 5 + [0] * 5, [7] * 10])
  variables = jit(lambda x: model.init({"params": jax.random.key(0)}, x))(x)
  params, state = variables["params"], {k: v for k, v in variables.items() if k != "params"}
  assert set(params) == modules
  tx = optax.adam(1e-2)

  @jit
  def step(params, opt_state, x):
    def loss_fn(p):
      logits, _ = model.apply({"params": p, **state}, x, train=True,
                                      rngs={"dropout": jax.random.key(1)},
                                      mutable=["batch_stats"])
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits
    (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), loss, grads, logits

  new, loss, grads, logits = step(params, tx.init(params), x)
  assert logits.shape == (2, 10, CLASSES) and logits.dtype == np.float32
  assert np.isfinite(float(loss)) and all(np.isfinite(np.asarray(g)).all()
                                          for g in jax.tree.leaves(grads))
  unchanged = [jax.tree_util.keystr(p) for (p, a), b in
               zip(jax.tree_util.tree_leaves_with_path(params), jax.tree.leaves(new))
               if np.array_equal(np.asarray(a), np.asarray(b))]
  assert not unchanged, unchanged


@pytest.mark.parametrize("variant", ["by_inst", "inst_emb", "by_channel"])
def test_padded_stems_do_not_change_the_output(variant):
  model = build_model("lead_inst_cls", CLASSES, **ENCODER, variant=variant)
  x = _inputs(np.random.default_rng(1))
  apply = jit(lambda v, x: model.apply(v, x))
  variables = jit(lambda x: model.init({"params": jax.random.key(0)}, x))(x)
  out = np.asarray(apply(variables, x))
  garbage = {**x, "stems": x["stems"].copy(), "inst_ids": x["inst_ids"].copy()}
  garbage["stems"][0, 2:] = 5.0
  garbage["inst_ids"][0, 2:] = 3
  np.testing.assert_allclose(np.asarray(apply(variables, garbage)), out, atol=1e-5)


def test_unknown_variant_is_a_config_error():
  model = build_model("lead_inst_cls", CLASSES, **ENCODER, variant="by_magic")
  with pytest.raises(ConfigError, match="by_channel"):
    jax.eval_shape(lambda x: model.init(jax.random.key(0), x), _inputs(np.random.default_rng(0)))
