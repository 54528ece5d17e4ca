"""configs/separation.py: every argument builds a config whose task and model construct."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from configs import separation
from instrax.audio.frontend import make_frontend
from instrax.errors import ConfigError
from instrax.models import build_model
from instrax.tasks import TASKS


@pytest.mark.parametrize("arg", ["", "source=multisource", "synth", "synth,tiny",
                                 "synth,tiny,source=multisource"])
def test_config_builds_task_and_model(arg):
  c = separation.get_config(arg)
  task_kw = {k: v for k, v in c.task.to_dict().items() if k != "name"}
  task = TASKS.get(c.task.name)(sample_rate=16000, channels=1, **task_kw)
  task.frontend = make_frontend(c.frontend.name)
  model_kw = {k: v for k, v in c.model.to_dict().items() if k != "name"}
  model = build_model(c.model.name, len(task.sources), **model_kw)
  x = jax.ShapeDtypeStruct((1, 1, 256, task.frontend.num_frames(task.segment_samples)),
                           jnp.float32)
  out = jax.eval_shape(lambda: model.apply(model.init(jax.random.key(0), jnp.zeros(x.shape),
                                                      train=False), jnp.zeros(x.shape),
                                           train=False))
  assert out.shape == task.target_spec().shape
  assert c.train.best_metric in task.metric_names()


def test_learning_rates_and_pooling_follow_the_seed():
  assert separation.get_config("source=bass").schedule.learning_rate == 1e-4
  multi = separation.get_config("source=multisource")
  assert multi.model.pool == "avg" and len(multi.task.sources) == 4
  with pytest.raises(ConfigError, match="source="):
    separation.get_config("source=piano")
