"""configs/tagging.py builds for every dataset/model; MTAT's metrics (window-averaged clip
probabilities, macro ROC-AUC and PR-AUC over 50 tags) match scikit-learn."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as skm

from configs import tagging
from instrax.audio.frontend import make_frontend
from instrax.data.vocabularies import MTAT
from instrax.errors import ConfigError
from instrax.models import build_model
from instrax.tasks import TASKS
from instrax.tasks.tagging import Tagging


@pytest.mark.parametrize("arg", ["tiny", "fma,tiny", "synth,tiny", "synth,tiny,model=tune_tail",
                                 "tiny,multisource,skips=2", "tiny,init=/x,freeze"])
def test_config_builds_task_and_model(arg):
  c = tagging.get_config(arg)
  task_kw = {k: v for k, v in c.task.to_dict().items() if k != "name"}
  task = TASKS.get(c.task.name)(sample_rate=16000, channels=1, **task_kw)
  frontend = make_frontend(c.frontend.name)
  model_kw = {k: v for k, v in c.model.to_dict().items() if k != "name"}
  model = build_model(c.model.name, task.num_outputs, **model_kw)
  x = jnp.zeros((1, 1, 256, frontend.num_frames(task.window)))
  out = jax.eval_shape(lambda: model.apply(model.init(jax.random.key(0), x, train=False), x,
                                           train=False))
  assert out.shape == task.target_spec().shape
  assert c.train.best_metric in task.metric_names()


def test_full_size_windows_follow_the_seed():
  c = tagging.get_config("")
  task = Tagging(sample_rate=16000, channels=1, **{k: v for k, v in c.task.to_dict().items()
                                                   if k != "name"})
  assert task.window == 61_792 and make_frontend("msspt_stft").num_frames(task.window) == 384
  hop = round((1 - c.task.eval_overlap) * task.window)
  assert hop == 192 * 160  # MSSPT: 384-frame windows, hop 192 frames
  assert c.dataset.name == "mtat" and c.task.vocabulary == "mtat" and c.task.mask_key == ""
  assert "0.913" in c.reference_numbers.roc_auc and "0.461" in c.reference_numbers.map


def test_init_and_freeze_arguments():
  c = tagging.get_config("init=/runs/sep,freeze")
  assert c.init.workdir == "/runs/sep" and c.init.map == [["unet/", "unet/"]]
  assert c.optimizer.param_groups == [["unet/", 0.0]] and c.model.freeze_unet
  assert tagging.get_config("fma").task.vocabulary == "fma"
  for bad in ("freeze", "model=tune_tail,init=/x", "fma,synth", "model=resnet"):
    with pytest.raises(ConfigError):
      tagging.get_config(bad)


@pytest.mark.parametrize("seed", [0, 1])
def test_mtat_metrics_match_sklearn(seed):
  rng = np.random.default_rng(seed)
  task = Tagging(sample_rate=16000, channels=1, vocabulary="mtat", relevance_key="tags",
                 mask_key="", window_pooling="mean")
  n = 60
  labels = rng.random((n, len(MTAT))) < 0.2
  labels[0], labels[1] = True, False  # every tag has a positive and a negative
  windows = [rng.normal(size=(int(rng.integers(1, 8)), len(MTAT))) + 1.5 * labels[i]
             for i in range(n)]
  stats = [(w, task.reference({"tags": labels[i].astype(np.float32)}))
           for i, w in enumerate(windows)]
  got = task.metrics(stats, task.calibrate(stats))
  clip = np.stack([(1 / (1 + np.exp(-w))).mean(0) for w in windows])  # mean window probability
  assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(labels, clip, average="macro"))
  assert got["map"] == pytest.approx(skm.average_precision_score(labels, clip, average="macro"))
