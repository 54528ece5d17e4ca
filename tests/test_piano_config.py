"""configs/piano.py arguments of the shipped recipe: size, augment, grid."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from configs import piano
from instrax.errors import ConfigError
from instrax.models import build_model


def test_small_size_is_consistent_between_model_and_task():
  c = piano.get_config("maps,maps_config=pieces,size=small,augment=0.5,grid=wide")
  assert c.task.onset_stages == c.model.num_onset_stages == 2
  assert c.task.room_augment == 0.5
  thresholds = c.task.thresholds
  assert thresholds[0] == 0.3 and thresholds[-1] == 0.8 and len(thresholds) == 26
  fields = {k: v for k, v in c.model.items() if k != "name"}
  model = build_model("onsets_velocities", 88, **fields)
  out = jax.eval_shape(lambda: model.init_with_output(
      jax.random.PRNGKey(0), jnp.zeros((1, 1, 229, 9)), train=False)[0])
  assert out["onsets"].shape == (1, 2, 8, 88) and out["velocity"].shape == (1, 8, 88)


def test_seed_defaults_are_unchanged():
  c = piano.get_config("maps")
  assert "stem_channels" not in c.model and c.task.room_augment == 0.0
  assert c.task.thresholds == tuple(round(0.70 + 0.01 * i, 2) for i in range(11))


@pytest.mark.parametrize("arg", ["maps,size=huge", "maps,grid=narrow"])
def test_unknown_values_are_refused(arg):
  with pytest.raises(ConfigError):
    piano.get_config(arg)
