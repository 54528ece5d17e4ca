"""Tagging task: masked BCE, OpenMIC metrics against scikit-learn, validation-only thresholds."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as skm

from instrax.audio import io
from instrax.data.vocabularies import OPENMIC
from instrax.errors import ConfigError
from instrax.metrics import thresholds
from instrax.tasks import TASKS
from instrax.tasks.tagging import masked_bce

C = len(OPENMIC)


def make_task(**kwargs):
  return TASKS.get("tagging")(sample_rate=1000, channels=1, **kwargs)


def clips(n: int, seed: int, observed: float = 0.4):
  """Random OpenMIC-like (relevance, mask) and window logits that carry some signal."""
  rng = np.random.default_rng(seed)
  mask = rng.random((n, C)) < observed
  relevance = np.where(mask, rng.choice([0.0, 0.17, 0.6, 0.85, 1.0], (n, C)), 0.5)
  relevance = relevance.astype(np.float32)
  logits = 2.0 * (relevance > 0.5) - 1.0 + rng.normal(0, 1.5, (n, C))
  outputs = [logits[i:i + 1] + rng.normal(0, 0.3, (int(rng.integers(1, 4)), C))
             for i in range(n)]
  return relevance, mask, outputs


def references(task, relevance, mask):
  return [task.reference({"relevance": r, "mask": m}) for r, m in zip(relevance, mask)]


def np_bce(logits, targets, mask):
  p = 1 / (1 + np.exp(-logits.astype(np.float64)))
  per = -(targets * np.log(p) + (1 - targets) * np.log(1 - p))
  return float((per * mask).sum() / mask.sum())


# --- loss ------------------------------------------------------------------------------------

def test_masked_bce_equals_numpy():
  rng = np.random.default_rng(0)
  logits = rng.normal(0, 2, (6, C)).astype(np.float32)
  targets = (rng.random((6, C)) < 0.3).astype(np.float32)
  mask = rng.random((6, C)) < 0.25
  loss, aux = make_task().loss(jnp.asarray(logits), {"targets": targets, "mask": mask})
  assert float(loss) == pytest.approx(np_bce(logits, targets, mask), rel=1e-5)
  assert float(aux["observed_fraction"]) == pytest.approx(mask.mean())
  unmasked, _ = masked_bce(jnp.asarray(logits), targets)
  assert float(unmasked) == pytest.approx(np_bce(logits, targets, np.ones_like(mask)), rel=1e-5)


def test_unobserved_targets_change_neither_loss_nor_gradient():
  rng = np.random.default_rng(1)
  logits = jnp.asarray(rng.normal(0, 2, (5, C)), jnp.float32)
  targets = (rng.random((5, C)) < 0.3).astype(np.float32)
  mask = rng.random((5, C)) < 0.3
  flipped = np.where(mask, targets, 1.0 - targets)  # every unobserved target changed
  task = make_task()
  value_and_grad = jax.value_and_grad(lambda x, t: task.loss(x, {"targets": t, "mask": mask})[0])
  (l1, g1), (l2, g2) = value_and_grad(logits, targets), value_and_grad(logits, flipped)
  assert float(l1) == float(l2)
  np.testing.assert_array_equal(np.asarray(g1), np.asarray(g2))
  assert np.all(np.asarray(g1)[~mask] == 0) and np.any(np.asarray(g1)[mask] != 0)


def test_loss_with_nothing_observed_is_zero_not_nan():
  loss, _ = make_task().loss(jnp.ones((2, C)), {"targets": np.ones((2, C), np.float32),
                                                "mask": np.zeros((2, C), bool)})
  assert float(loss) == 0.0


# --- examples --------------------------------------------------------------------------------

def test_train_example_binarises_relevance_and_keeps_the_mask():
  relevance = np.full(C, 0.5, np.float32)
  relevance[[0, 1, 2, 3]] = [1.0, 0.6, 0.17, 0.0]
  mask = np.zeros(C, bool)
  mask[:4] = True
  audio = io.to_pcm16(np.sin(np.arange(2500) / 7.0)[:, None] * 0.5)
  ex = {"audio": audio, "relevance": relevance, "mask": mask}
  out = make_task(window_s=2.0).train_example(ex, np.random.default_rng(0))
  assert out["audio"].shape == (1, 2000) and out["audio"].dtype == np.float32
  np.testing.assert_array_equal(out["targets"][:5], [1, 1, 0, 0, 0])  # unobserved 0.5 → 0
  np.testing.assert_array_equal(out["mask"], mask)
  soft = make_task(window_s=2.0, soft_targets=True).train_example(ex, np.random.default_rng(0))
  np.testing.assert_array_equal(soft["targets"], relevance)
  padded = make_task(window_s=3.0).train_example(ex, np.random.default_rng(0))["audio"]
  assert padded.shape == (1, 3000) and np.all(padded[:, 2500:] == 0)


def test_vggish_input_scales_and_shapes():
  frames = np.arange(1280, dtype=np.float32).reshape(10, 128) % 256
  ex = {"vggish": frames, "relevance": np.zeros(C, np.float32), "mask": np.ones(C, bool)}
  task = TASKS.get("tagging")(sample_rate=0, channels=0, input="vggish")
  assert task.input_key == "features" and task.input_shape() == (10, 128)
  x = task.train_example(ex, np.random.default_rng(0))["features"]
  np.testing.assert_allclose(x, frames / 255 * 4 - 2, rtol=1e-6)
  unit = TASKS.get("tagging")(sample_rate=0, channels=0, input="vggish", vggish_scale="unit")
  assert unit.eval_inputs(ex).shape == (1, 10, 128)
  assert unit.eval_inputs(ex).min() == 0.0 and unit.eval_inputs(ex).max() == 1.0
  with pytest.raises(ConfigError, match="needs an audio model"):
    unit.eval_inputs({"audio": np.zeros((100, 1), np.int16)})


def test_audio_input_without_audio_is_a_config_error():
  with pytest.raises(ConfigError, match="input='vggish'"):
    TASKS.get("tagging")(sample_rate=0, channels=0)
  with pytest.raises(ConfigError, match="valid: mean, max"):
    make_task(window_pooling="median")


# --- metrics ---------------------------------------------------------------------------------

def test_metrics_equal_sklearn_with_the_mask_as_sample_weight():
  relevance, mask, outputs = clips(60, seed=2)
  task = make_task()
  refs = references(task, relevance, mask)
  calibration = task.calibrate(list(zip(outputs, refs)))
  got = task.metrics(list(zip(outputs, refs)), calibration)
  y = relevance > 0.5
  scores = np.stack([(1 / (1 + np.exp(-o))).mean(0) for o in outputs])
  aps, aucs = [], []
  for c, name in enumerate(OPENMIC):
    if not (y[:, c] & mask[:, c]).any():
      assert f"ap/{name}" not in got
      continue
    ap = skm.average_precision_score(y[:, c], scores[:, c], sample_weight=mask[:, c])
    assert got[f"ap/{name}"] == pytest.approx(ap, abs=1e-9)
    aps.append(ap)
    if (~y[:, c] & mask[:, c]).any():
      aucs.append(skm.roc_auc_score(y[:, c], scores[:, c], sample_weight=mask[:, c]))
  assert got["map"] == pytest.approx(np.mean(aps), abs=1e-9)
  assert got["map_classes"] == len(aps)
  assert got["roc_auc"] == pytest.approx(np.mean(aucs), abs=1e-9)
  cut = np.asarray([calibration["thresholds"][n] for n in OPENMIC])
  pred = scores >= cut
  obs_true, obs_pred = y[mask], pred[mask]  # micro over observed entries only
  assert got["micro_f1"] == pytest.approx(skm.f1_score(obs_true, obs_pred), abs=1e-9)
  f1 = [skm.f1_score(y[mask[:, c], c], pred[mask[:, c], c], zero_division=0) for c in range(C)]
  assert got["macro_f1"] == pytest.approx(np.mean(f1), abs=1e-9)
  assert 0.5 < got["map"] < 1.0  # the logits carry signal: better than chance


def test_thresholds_come_from_validation_only():
  val_rel, val_mask, val_out = clips(50, seed=3)
  test_rel, test_mask, test_out = clips(40, seed=4)
  task = make_task()
  val_refs = references(task, val_rel, val_mask)
  calibration = task.calibrate(list(zip(val_out, val_refs)))
  val_scores = np.stack([task.probabilities(o) for o in val_out])
  expected = thresholds.tune_thresholds(val_rel > 0.5, val_scores, val_mask)
  got = np.asarray([calibration["thresholds"][n] for n in OPENMIC])
  untuned = ~np.any((val_rel > 0.5) & val_mask, axis=0)
  np.testing.assert_allclose(got[~untuned], expected[~untuned])
  assert calibration["untuned"] == [n for n, u in zip(OPENMIC, untuned) if u]
  # the test split is scored with the validation thresholds, not re-tuned on itself
  test_refs = references(task, test_rel, test_mask)
  scored = task.metrics(list(zip(test_out, test_refs)), calibration)
  test_stats = list(zip(test_out, test_refs))
  retuned = task.metrics(test_stats, task.calibrate(test_stats))
  test_scores = np.stack([task.probabilities(o) for o in test_out])
  y, m = test_rel > 0.5, test_mask
  pred = test_scores >= got
  tp, fp, fn = (y & pred & m).sum(), (~y & pred & m).sum(), (y & ~pred & m).sum()
  assert scored["micro_f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
  assert retuned["micro_f1"] > scored["micro_f1"]  # tuning on test would flatter it
  assert json_safe(calibration)


def json_safe(obj) -> bool:
  import json
  return bool(json.loads(json.dumps(obj, allow_nan=False)))


def test_fixed_mode_uses_the_fixed_threshold():
  relevance, mask, outputs = clips(30, seed=5)
  task = make_task(threshold_mode="fixed", fixed_threshold=0.7)
  refs = references(task, relevance, mask)
  assert task.calibrate(list(zip(outputs, refs))) == {}
  scores = np.stack([task.probabilities(o) for o in outputs])
  y, pred = relevance > 0.5, scores >= 0.7
  got = task.metrics(list(zip(outputs, refs)), {})
  assert got["micro_f1"] == pytest.approx(skm.f1_score(y[mask], pred[mask]), abs=1e-9)


def test_max_pooling_takes_the_most_confident_window():
  task = make_task(window_pooling="max")
  logits = np.zeros((3, C))
  logits[1, 4] = 3.0
  assert task.probabilities(logits)[4] == pytest.approx(1 / (1 + np.exp(-3.0)))
  assert make_task().probabilities(logits)[4] == pytest.approx((2 * 0.5 + 1 / (1 + np.exp(-3))) / 3)


def test_predict_lists_instruments_over_their_thresholds():
  task = make_task()
  logits = np.full((4, C), -4.0)
  logits[:, OPENMIC.index("piano")] = 2.0
  logits[:, OPENMIC.index("voice")] = 0.5
  calibration = {"thresholds": {**{n: 0.5 for n in OPENMIC}, "voice": 0.7}}
  out = task.predict(logits, calibration)
  assert out["instruments"] == ["piano"]  # voice (p 0.62) is under its tuned threshold 0.7
  assert list(out["scores"])[:2] == ["piano", "voice"]
  assert out["scores"]["piano"] == pytest.approx(1 / (1 + np.exp(-2.0)))
  assert len(out["scores"]) == C and out["windows"] == 4
  assert out["thresholds"]["voice"] == 0.7
  assert task.predict(logits, {})["instruments"] == ["piano", "voice"]  # uncalibrated: 0.5


def test_summaries_draw_pr_curves_and_table_lists_every_class():
  relevance, mask, outputs = clips(20, seed=6)
  task = make_task()
  refs = references(task, relevance, mask)
  calibration = task.calibrate(list(zip(outputs, refs)))
  figs = task.summaries(list(zip(outputs, refs)), calibration)
  assert set(figs) == {"pr_curves", "per_class_prf", "confusion"}
  assert len(figs["pr_curves"].axes[0].lines) == C
  metrics = task.metrics(list(zip(outputs, refs)), calibration)
  table = task.table(metrics)
  assert all(name in table for name in OPENMIC) and "mAP" in table
  assert f"{metrics['map']:6.3f}" in table.splitlines()[-1]


def test_classes_observed_nowhere_are_left_out_not_crashing():
  relevance, mask, outputs = clips(6, seed=7, observed=0.3)
  mask[:, :5] = False  # five classes unannotated in the whole split (a small validation split)
  relevance[:, :5] = 0.5
  task = make_task()
  refs = references(task, relevance, mask)
  calibration = task.calibrate(list(zip(outputs, refs)))
  got = task.metrics(list(zip(outputs, refs)), calibration)
  assert not any(f"ap/{n}" in got for n in OPENMIC[:5])
  assert set(OPENMIC[:5]) <= set(calibration["untuned"])
  assert got["map_classes"] <= C - 5 and np.isfinite(got["map"])
  assert len(task.summaries(list(zip(outputs, refs)), calibration)["pr_curves"].axes[0].lines) == C
  observed = [n for n in OPENMIC[5:] if f"f1/{n}" in got]
  assert observed and not any(f"f1/{n}" in got for n in OPENMIC[:5])
  assert got["macro_f1"] == pytest.approx(np.mean([got[f"f1/{n}"] for n in observed]))
