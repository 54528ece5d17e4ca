"""Multi-label instrument tagging with partial labels (OpenMIC-2018; PaSST/EfficientAT protocol).

Each clip has a relevance per class (crowd score in [0, 1]) and a mask of the observed entries;
unobserved entries hold 0.5 and carry no information. Protocol (peers.md): positive =
relevance > `positive_threshold` (0.5) among observed entries; masked sigmoid BCE (unobserved
(clip, class) pairs contribute nothing, the sum is divided by the number of observed entries);
per-class AP over observed entries (= scikit-learn with the mask as sample weight), macro mAP.

Inputs: `input="audio"` crops/pads a `window_s` window for training and covers the whole clip
with windows at evaluation (window probabilities pooled per class); `input="vggish"` feeds the
release's 10 × 128 VGGish frames (batch key "features", frontend "identity"), scaled per
`vggish_scale`. Decoding: per-class thresholds maximising F1 on the validation split
(`threshold_mode="tuned"`) or one fixed threshold.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from instrax import plots
from instrax.data import transforms, vocabularies
from instrax.errors import ConfigError
from instrax.metrics import classification, ranking, thresholds
from instrax.tasks import aggregation
from instrax.tasks.base import TASKS, Example, Task, unzip_stats

INPUTS = ("audio", "vggish")
POOLINGS = ("mean", "max")
THRESHOLD_MODES = ("tuned", "fixed")
VGGISH_SCALES = ("dequantize", "unit")


@TASKS.register("tagging")
@dataclasses.dataclass
class Tagging(Task):
  """Masked multi-label tagging over a named vocabulary.

  Attributes:
    sample_rate, channels: the audio format (filled in from the dataset metadata).
    vocabulary: class list name in `vocabularies.VOCABULARIES`.
    relevance_key: per-class relevance (C,) in [0, 1] (0/1 multi-hot works too).
    mask_key: per-class bool mask of observed entries; "" = every entry observed.
    input: "audio" (through the frontend) or "vggish" (precomputed (10, 128) frames).
    vggish_key: dataset key of the VGGish frames (uint8-valued floats 0-255).
    vggish_scale: "dequantize" (x/255·4 − 2: VGGish's PCA-whitened, clipped embedding before
      its 8-bit quantisation, roughly zero-mean unit-variance) or "unit" (x/255 in [0, 1]).
    window_s: training crop (padded when the clip is shorter) and evaluation window, seconds.
    eval_overlap: overlap of evaluation windows in [0, 1); the last window ends at the clip's end.
    window_pooling: "mean" or "max" of window probabilities → clip probabilities.
    peak_normalize: divide audio by its peak |sample| (per crop in training, per clip in eval).
    positive_threshold: relevance > this is a positive (0.5, the OpenMIC convention).
    soft_targets: train on the relevance itself instead of the binarised labels.
    threshold_mode: "tuned" (per class, max F1 on validation) or "fixed" (`fixed_threshold`).
    fixed_threshold: the threshold of "fixed" mode, and of classes that cannot be tuned.
  """

  sample_rate: int
  channels: int
  vocabulary: str = "openmic"
  relevance_key: str = "relevance"
  mask_key: str = "mask"
  input: str = "audio"
  vggish_key: str = "vggish"
  vggish_scale: str = "dequantize"
  window_s: float = 10.0
  eval_overlap: float = 0.0
  window_pooling: str = "mean"
  peak_normalize: bool = False
  positive_threshold: float = 0.5
  soft_targets: bool = False
  threshold_mode: str = "tuned"
  fixed_threshold: float = 0.5

  def __post_init__(self):
    for field, value, valid in (("vocabulary", self.vocabulary, tuple(vocabularies.VOCABULARIES)),
                                ("input", self.input, INPUTS),
                                ("vggish_scale", self.vggish_scale, VGGISH_SCALES),
                                ("window_pooling", self.window_pooling, POOLINGS),
                                ("threshold_mode", self.threshold_mode, THRESHOLD_MODES)):
      if value not in valid:
        raise ConfigError(f"task.{field} {value!r} unknown; valid: {', '.join(valid)}")
    if self.input == "audio" and (not self.sample_rate or not self.channels):
      raise ConfigError("task.input='audio' but the dataset has no audio (sample_rate/channels "
                        "unknown); use input='vggish' (configs/openmic.py:features) or an audio "
                        "build of the dataset")
    if self.input == "audio" and self.window < 1:
      raise ConfigError(f"task.window_s={self.window_s} is shorter than one sample")
    if not 0.0 <= self.eval_overlap < 1.0:
      raise ConfigError(f"task.eval_overlap must be in [0, 1), got {self.eval_overlap}")
    self.class_names = vocabularies.VOCABULARIES[self.vocabulary]
    self.input_key = "audio" if self.input == "audio" else "features"

  # --- inputs ------------------------------------------------------------------------------
  @property
  def window(self) -> int:
    return round(self.window_s * (self.sample_rate or 0))

  def features(self) -> tuple[str, ...]:
    inputs = (self.vggish_key,) if self.input == "vggish" else ("audio",)
    return (*inputs, self.relevance_key, *((self.mask_key,) if self.mask_key else ()))

  def input_shape(self) -> tuple[int, ...]:
    if self.input == "vggish":
      return (10, 128)
    return (self.channels, self.window)

  def _audio(self, example: Example) -> np.ndarray:
    return transforms.example_audio(example, self.channels)

  def _features(self, example: Example) -> np.ndarray:
    x = np.asarray(example[self.vggish_key], np.float32) / 255.0
    return x * 4.0 - 2.0 if self.vggish_scale == "dequantize" else x

  def _labels(self, example: Example) -> tuple[np.ndarray, np.ndarray]:
    """(relevance float32 (C,), observed bool (C,))."""
    relevance = np.asarray(example[self.relevance_key], np.float32)
    if relevance.shape != (self.num_outputs,):
      raise ConfigError(f"task.relevance_key={self.relevance_key!r} has shape {relevance.shape}, "
                        f"expected ({self.num_outputs},) for vocabulary {self.vocabulary!r}")
    if not self.mask_key:
      return relevance, np.ones(relevance.shape, bool)
    return relevance, np.asarray(example[self.mask_key], bool)

  def train_example(self, example: Example, rng: np.random.Generator) -> Example:
    relevance, mask = self._labels(example)
    targets = relevance if self.soft_targets else relevance > self.positive_threshold
    out = {"targets": np.asarray(targets, np.float32), "mask": mask}
    if self.input == "vggish":
      return {**out, "features": self._features(example)}
    audio = transforms.random_crop(self._audio(example), self.window, rng)
    if self.peak_normalize:
      audio = transforms.peak_normalize(audio)
    return {**out, "audio": np.ascontiguousarray(audio, np.float32)}

  def eval_inputs(self, example: Example) -> np.ndarray:
    if self.input == "vggish":
      if self.vggish_key not in example:
        raise ConfigError(f"this model reads precomputed VGGish frames ({self.vggish_key!r}), "
                          "not audio; predicting on audio files needs an audio model "
                          "(configs/openmic.py without `features`)")
      return self._features(example)[None]
    audio = self._audio(example)
    if self.peak_normalize:
      audio = transforms.peak_normalize(audio)
    return aggregation.frame(audio, self.window, self.eval_overlap)

  def reference(self, example: Example) -> dict[str, np.ndarray]:
    relevance, mask = self._labels(example)
    return {"labels": relevance > self.positive_threshold, "mask": mask}

  # --- training ----------------------------------------------------------------------------
  def loss(self, outputs: jax.Array, batch: Example) -> tuple[jax.Array, dict[str, jax.Array]]:
    return masked_bce(outputs, batch["targets"], batch.get("mask"))

  # --- decoding and scoring ----------------------------------------------------------------
  def probabilities(self, outputs: np.ndarray) -> np.ndarray:
    """(n_windows, C) logits of one clip → (C,) clip probabilities."""
    p = aggregation.sigmoid(np.asarray(outputs, np.float64).reshape(-1, self.num_outputs))
    return p.mean(0) if self.window_pooling == "mean" else p.max(0)

  def target_spec(self) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct((1, self.num_outputs), jnp.float32)

  def _scores(self, stats: list[Any]):
    """(labels (N, C) bool, mask (N, C) bool, probabilities (N, C))."""
    outputs, references = unzip_stats(stats)
    if not outputs:
      raise ValueError("no clips to score")
    labels = np.stack([r["labels"] for r in references])
    mask = np.stack([r["mask"] for r in references])
    return labels, mask, np.stack([self.probabilities(o) for o in outputs])

  def decision_thresholds(self, calibration: dict[str, Any]) -> np.ndarray:
    """(C,) decision thresholds: tuned per class when calibrated, else the fixed one."""
    tuned = calibration.get("thresholds") if self.threshold_mode == "tuned" else None
    if not tuned:
      return np.full(self.num_outputs, self.fixed_threshold)
    return np.asarray([tuned.get(n, self.fixed_threshold) for n in self.class_names])

  def calibrate(self, stats: list[Any]) -> dict[str, Any]:
    if self.threshold_mode == "fixed":
      return {}
    labels, mask, scores = self._scores(stats)
    tuned = thresholds.tune_thresholds(labels, scores, mask)
    untuned = ~np.any(labels & mask, axis=0)  # no observed positive: nothing to tune on
    tuned[untuned] = self.fixed_threshold
    return {"thresholds": {n: float(t) for n, t in zip(self.class_names, tuned)},
            "untuned": [n for n, u in zip(self.class_names, untuned) if u]}

  def metric_names(self) -> tuple[str, ...]:
    return ("map", "map_classes", "roc_auc", "lrap", "observed_fraction", "macro_f1_at_0.5",
            *(f"{a}_{k}" for a in ("macro", "micro") for k in ("f1", "precision", "recall")))

  def metrics(self, stats: list[Any], calibration: dict[str, Any]) -> dict[str, float]:
    labels, mask, scores = self._scores(stats)
    map_, ap = _observed_classes(ranking.mean_average_precision, labels, scores, mask)
    out = {"map": map_, "map_classes": float(np.isfinite(ap).sum()),
           "roc_auc": _observed_classes(ranking.roc_auc, labels, scores, mask)[0],
           "lrap": ranking.lrap(labels, scores, mask, only_with_positive=True),
           "observed_fraction": float(mask.mean())}
    cols = np.flatnonzero(mask.any(0))  # macro P/R/F1 over the classes annotated in the split
    predicted = scores >= self.decision_thresholds(calibration)
    prf = classification.multilabel_prf(labels[:, cols], predicted[:, cols], mask[:, cols])
    for avg in ("macro", "micro"):
      for k in ("f1", "precision", "recall"):
        out[f"{avg}_{k}"] = prf[f"{avg}_{k}"] if cols.size else float("nan")
    for c, f1 in zip(cols, prf["f1"]):
      out[f"f1/{self.class_names[c]}"] = f1
    # The OpenMIC baseline's convention, for comparison with it: one fixed threshold of 0.5.
    fixed = classification.multilabel_prf(labels[:, cols], scores[:, cols] >= 0.5, mask[:, cols])
    out["macro_f1_at_0.5"] = fixed["macro_f1"] if cols.size else float("nan")
    for name, a in zip(self.class_names, ap):
      if np.isfinite(a):  # classes without an observed positive have no AP (left out of `map`)
        out[f"ap/{name}"] = a
    return {k: float(v) for k, v in out.items()}

  def summaries(self, stats: list[Any], calibration: dict[str, Any]) -> dict[str, Any]:
    labels, mask, scores = self._scores(stats)
    _, ap = _observed_classes(ranking.mean_average_precision, labels, scores, mask)
    cols = np.flatnonzero(mask.any(0))  # the classes annotated in this split, as in `metrics`
    curves = [(np.ones(1), np.zeros(1), np.zeros(0))] * self.num_outputs  # unobserved: no curve
    for c, curve in zip(cols, ranking.precision_recall_curve(labels[:, cols], scores[:, cols],
                                                             mask[:, cols])):
      curves[c] = curve
    y_pred = scores >= self.decision_thresholds(calibration)
    return {"pr_curves": plots.pr_curves_figure(curves, self.class_names, ap,
                                                "precision-recall (observed entries)"),
            "per_class_prf": plots.prf_bars_figure(labels, y_pred, self.class_names, mask,
                                                   "test split, observed entries"),
            "confusion": plots.error_confusion_figure(labels, y_pred, self.class_names, mask)}

  def pr_curves(self, stats: list[Any]) -> dict[str, tuple[np.ndarray, np.ndarray, Any]]:
    labels, mask, scores = self._scores(stats)
    return {n: (labels[:, c], scores[:, c], mask[:, c].astype(np.float64))
            for c, n in enumerate(self.class_names) if mask[:, c].any()}

  def table(self, metrics: dict[str, float]) -> str:
    """Per-class F1 (tuned thresholds) and AP over the observed labels of one split."""
    rows = [f"{'class':<18} {'F1':>6} {'AP':>6}"]
    for name in self.class_names:
      f1, ap = metrics.get(f"f1/{name}"), metrics.get(f"ap/{name}")
      if f1 is None and ap is None:
        continue  # not annotated in this split
      cells = [f"{v:6.3f}" if v is not None else f"{'-':>6}" for v in (f1, ap)]
      rows.append(f"{name:<18} {cells[0]} {cells[1]}")
    rows.append(f"{'macro / mAP':<18} {metrics.get('macro_f1', float('nan')):6.3f} "
                f"{metrics.get('map', float('nan')):6.3f}")
    return "\n".join(rows)

  def predict(self, outputs: np.ndarray, calibration: dict[str, Any]) -> dict[str, Any]:
    """Instruments passing their threshold (most probable first), every class's probability
    (`scores`), the thresholds used and the number of windows."""
    probs = self.probabilities(outputs)
    cut = self.decision_thresholds(calibration)
    order = np.argsort(-probs, kind="stable")
    return {"instruments": [self.class_names[i] for i in order if probs[i] >= cut[i]],
            "scores": {self.class_names[i]: float(probs[i]) for i in order},
            "thresholds": {n: float(t) for n, t in zip(self.class_names, cut)},
            "windows": int(np.asarray(outputs).reshape(-1, self.num_outputs).shape[0])}


def _observed_classes(metric, labels: np.ndarray, scores: np.ndarray,
                      mask: np.ndarray) -> tuple[float, np.ndarray]:
  """A `ranking.ClassAverage` metric over the classes with ≥ 1 observed entry: (macro mean,
  (C,) per class, nan where undefined). Classes observed nowhere in a split (small splits) are
  skipped here because `ranking` cannot score an empty class."""
  per_class = np.full(labels.shape[1], np.nan)
  cols = mask.any(0)
  if not cols.any():
    return float("nan"), per_class
  result = metric(labels[:, cols], scores[:, cols], mask[:, cols])
  per_class[cols] = result.per_class
  return result.mean, per_class


def masked_bce(logits: jax.Array, targets: jax.Array,
               mask: jax.Array | None = None) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Sigmoid BCE summed over observed entries / their number (0 when none is observed)."""
  per_entry = optax.sigmoid_binary_cross_entropy(logits, targets)
  weight = jnp.ones_like(per_entry) if mask is None else mask.astype(per_entry.dtype)
  observed = weight.sum()
  loss = jnp.sum(per_entry * weight) / jnp.maximum(observed, 1.0)
  return loss, {"observed_fraction": observed / weight.size}

