"""Learning-rate schedules and optimizer assembly."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from instrax.errors import ConfigError
from instrax.train import optim


def _lr(name, steps, **kw):
  fn = optim.SCHEDULES.get(name)(num_steps=1000, **kw)
  return np.array([float(fn(s)) for s in steps])


def test_warmup_cosine():
  lr = _lr("warmup_cosine", [0, 50, 100, 550, 1000], learning_rate=1.0, warmup_steps=100)
  np.testing.assert_allclose(lr, [0.0, 0.5, 1.0, 0.5, 0.0], atol=1e-6)


def test_cyclic_cosine_is_seed_002s_adamwr():
  lr = _lr("cyclic_cosine", [0, 250, 500, 500 + 999, 1500, 2500], learning_rate=0.008,
           warmup_steps=500, period=1000, decay=0.975)
  expected = [0.0, 0.004, 0.008, 0.008 * math.cos(math.pi / 2), 0.008 * 0.975,
              0.008 * 0.975**2]
  np.testing.assert_allclose(lr, expected, atol=1e-7)


def test_step_decay_and_constant_with_warmup():
  np.testing.assert_allclose(_lr("step_decay", [0, 14999, 15000, 30000], learning_rate=1.0),
                             [1.0, 1.0, 0.9, 0.81], rtol=1e-6)
  np.testing.assert_allclose(_lr("constant", [0, 5, 10, 500], learning_rate=2.0,
                                 warmup_steps=10), [0.0, 1.0, 2.0, 2.0], rtol=1e-6)


def test_make_clips_and_decays_kernels_only():
  tx, lr = optim.make({"name": "adamw", "weight_decay": 0.5, "grad_clip_norm": 1.0},
                      {"name": "constant", "learning_rate": 0.1}, 100)
  params = {"kernel": jnp.ones((2, 2)), "bias": jnp.ones((2,))}
  state = tx.init(params)
  zero = {"kernel": jnp.zeros((2, 2)), "bias": jnp.zeros((2,))}
  updates, _ = tx.update(zero, state, params, value=jnp.array(1.0))
  new = optax.apply_updates(params, updates)
  assert float(new["kernel"][0, 0]) < 1.0  # decayed
  assert float(new["bias"][0]) == 1.0  # not decayed
  sgd, _ = optim.make({"name": "sgd", "momentum": 0.0, "grad_clip_norm": 1.0},
                      {"name": "constant", "learning_rate": 1.0}, 10)
  huge = {"kernel": jnp.full((2, 2), 1e6), "bias": jnp.zeros((2,))}
  updates, _ = sgd.update(huge, sgd.init(params), params)
  assert float(optax.global_norm(updates)) == pytest.approx(1.0, rel=1e-5)
  assert float(lr(3)) == pytest.approx(0.1)


def test_reduce_on_plateau_scales_down_when_the_loss_stalls():
  tx, _ = optim.make({"name": "sgd", "momentum": 0.0, "plateau_patience": 2,
                      "plateau_factor": 0.5},
                     {"name": "reduce_on_plateau", "learning_rate": 1.0}, 100)
  params = {"w": jnp.ones(())}
  state = tx.init(params)
  seen = []
  for _ in range(6):  # the loss never improves after the first step
    updates, state = tx.update({"w": jnp.ones(())}, state, params, value=jnp.array(1.0))
    seen.append(float(updates["w"]))
  assert seen == pytest.approx([-1.0, -1.0, -0.5, -0.5, -0.25, -0.25])


def test_unknown_names_and_arguments_are_config_errors():
  with pytest.raises(ConfigError, match="Valid names"):
    optim.make({"name": "adamax"}, {"name": "constant", "learning_rate": 1.0}, 10)
  with pytest.raises(ConfigError, match="schedule 'constant'"):
    optim.make({"name": "adam"}, {"name": "constant", "learning_rate": 1.0, "gamma": 2}, 10)


def test_make_passes_the_number_of_steps_to_the_schedule():
  _, lr = optim.make({"name": "adam"}, {"name": "warmup_cosine", "learning_rate": 1.0,
                                        "warmup_steps": 10}, 110)
  np.testing.assert_allclose([float(lr(s)) for s in (0, 10, 60, 110)], [0.0, 1.0, 0.5, 0.0],
                             atol=1e-6)  # cosine from 10 to 110: halfway at 60
