"""Clip-level instrument recognition with window voting (IRMAS, Han et al. 2016; seed 004).

Training: a random `window_s` crop of each example against its multi-hot (or one-hot) labels,
sigmoid BCE or softmax CE. Evaluation: sliding windows with `eval_overlap` over the whole excerpt,
window logits aggregated into a clip prediction (majority / S1 / S2 / softmax), multi-label
micro and macro P/R/F1 over the vocabulary, and top-1 `accuracy` (the clip's highest-scoring class
is one of its labels: plain accuracy for single-label data such as FMA's top-level genres, seed
003's "WA", with softmax CE and the `softmax` aggregation: mean window probabilities).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from instrax import plots
from instrax.audio import io
from instrax.data import spectral_tilt, stem_remix, transforms, vocabularies
from instrax.errors import ConfigError
from instrax.metrics import classification, ranking, thresholds
from instrax.tasks import aggregation
from instrax.tasks.base import TASKS, Example, Task, check_probabilities, unzip_stats

THRESHOLD_GRID = tuple(np.round(np.arange(0.05, 0.951, 0.025), 3))


@TASKS.register("clip_classification")
@dataclasses.dataclass
class ClipClassification(Task):
  """Multi-label clip classification over a named vocabulary, evaluated by window voting."""

  sample_rate: int
  channels: int
  vocabulary: str = "irmas"
  labels_key: str = "labels"
  window_s: float = 3.0
  eval_overlap: float = 0.25
  loss_type: str = "bce"  # "bce" (sigmoid, as seed 004) or "softmax_ce"
  aggregation: str = "s1"  # a name in aggregation.AGGREGATIONS
  threshold: float = -1.0  # < 0: tuned on the validation split (best micro F1)
  compare_aggregations: tuple[str, ...] = ("majority", "s1", "s2")  # also reported, prefixed
  peak_normalize: bool = True  # divide by peak |sample| (per crop in training, per file in eval)
  # Training-time augmentations (instrax.data.stem_remix), all off by default:
  remix_prob: float = 0.0  # a crop is rebuilt from the example's sounding `stems` (needs stems)
  solo_prob: float = 0.0  # of a remix: one labelled stem alone
  short_prob: float = 0.0  # a crop is cut to a random length ≥ short_min_s and zero-padded
  short_min_s: float = 0.5
  # Each crop's stems (or the stored mix, when not remixed) get a random spectral tilt of slope
  # U(-tilt_db, +tilt_db) dB/octave about 1 kHz (instrax.data.spectral_tilt); 0 = off.
  tilt_db: float = 0.0

  def __post_init__(self):
    if self.vocabulary not in vocabularies.VOCABULARIES:
      raise ConfigError(f"task.vocabulary {self.vocabulary!r} unknown; valid: "
                        f"{', '.join(vocabularies.VOCABULARIES)}")
    if self.loss_type not in ("bce", "softmax_ce"):
      raise ConfigError(f"task.loss_type must be 'bce' or 'softmax_ce', got {self.loss_type!r}")
    for name in (self.aggregation, *self.compare_aggregations):
      aggregation.AGGREGATIONS.get(name)
      if self.loss_type == "softmax_ce" and name in aggregation.SIGMOID_BASED:
        raise ConfigError(
            f"task.aggregation/compare_aggregations {name!r} thresholds sigmoids of the logits, "
            "which a softmax_ce model defines only up to a per-window shift; use 'softmax' or "
            "'majority' (configs/irmas.py:loss=softmax_ce does)")
    check_probabilities(self, "remix_prob", "solo_prob", "short_prob")
    if self.remix_prob > 0 and self.channels != 1:
      raise ConfigError("task.remix_prob > 0 remixes mono stems: it needs channels=1")
    if self.remix_prob > 0 and self.vocabulary not in vocabularies.GM_MAPS:
      raise ConfigError(f"task.remix_prob > 0 labels stems by GM program, which vocabulary "
                        f"{self.vocabulary!r} has no map for (those with one: "
                        f"{', '.join(vocabularies.GM_MAPS)})")
    if not 0.0 <= self.tilt_db <= spectral_tilt.MAX_DB:
      raise ConfigError(f"task.tilt_db={self.tilt_db} must be a slope in [0, "
                        f"{spectral_tilt.MAX_DB:g}] dB/octave (0 = off)")
    if not 0.0 < self.short_min_s <= self.window_s:
      raise ConfigError(f"task.short_min_s={self.short_min_s} must be in (0, window_s="
                        f"{self.window_s}]")
    self.class_names = vocabularies.VOCABULARIES[self.vocabulary]

  @property
  def window(self) -> int:
    return round(self.window_s * self.sample_rate)

  def features(self) -> tuple[str, ...]:
    return ("audio", self.labels_key)

  def train_features(self) -> tuple[str, ...]:
    """What a training example needs: the eval features, plus stems and programs to remix."""
    return self.features() + (("stems", "programs") if self.remix_prob > 0 else ())

  def input_shape(self) -> tuple[int, ...]:
    return (self.channels, self.window)

  def train_example(self, example: Example, rng: np.random.Generator) -> Example:
    """A random `window_s` crop and its labels; with `remix_prob` the crop is a remix of the
    example's stems (labels of the stems kept), with `tilt_db` each stem (or the crop) has its
    own spectral tilt, with `short_prob` it is shortened and padded."""
    audio = transforms.example_audio(example, self.channels)
    targets = np.asarray(example[self.labels_key], np.float32)
    start = transforms.random_start(audio.shape[1], self.window, rng)
    audio = transforms.random_crop(audio, self.window, rng, start)
    mixed = None
    if self.remix_prob > 0 and rng.random() < self.remix_prob:
      stems = io.from_pcm16(np.asarray(example["stems"])[:, start:start + self.window])
      tilt = (functools.partial(spectral_tilt.random_tilt, sample_rate=self.sample_rate,
                                rng=rng, max_slope_db=self.tilt_db)  # each kept stem its own slope
              if self.tilt_db > 0 else None)
      mixed = stem_remix.remix(stems, example["programs"], rng, self.vocabulary, self.solo_prob,
                               shape=tilt)
      if mixed is not None:
        audio = np.pad(mixed[0], (0, self.window - len(mixed[0])))[None]
        targets = mixed[1]
    if mixed is None:  # the stored mix: one tilt for the whole crop
      audio = spectral_tilt.random_tilt(audio, self.sample_rate, rng, self.tilt_db, shared=True)
    if self.short_prob > 0 and rng.random() < self.short_prob:
      audio = stem_remix.shorten(audio, rng, round(self.short_min_s * self.sample_rate))
    if self.peak_normalize:
      audio = transforms.peak_normalize(audio)
    return {"audio": np.ascontiguousarray(audio, np.float32), "targets": targets}

  def loss(self, outputs: jax.Array, batch: Example) -> tuple[jax.Array, dict[str, jax.Array]]:
    targets = batch["targets"]
    if self.loss_type == "bce":
      loss = optax.sigmoid_binary_cross_entropy(outputs, targets).mean()
    else:
      dist = targets / jnp.maximum(targets.sum(-1, keepdims=True), 1e-6)
      loss = optax.softmax_cross_entropy(outputs, dist).mean()
    return loss, {}

  def eval_inputs(self, example: Example) -> np.ndarray:
    audio = transforms.example_audio(example, self.channels)
    if self.peak_normalize:
      audio = transforms.peak_normalize(audio)
    return aggregation.frame(audio, self.window, self.eval_overlap)

  def reference(self, example: Example) -> np.ndarray:
    return np.asarray(example[self.labels_key], np.float32) > 0.5

  def _aggregate(self, outputs: list[np.ndarray], name: str, threshold: float | None):
    return aggregation.aggregate(name, outputs, threshold)

  def _threshold(self, name: str, calibration: dict[str, Any]) -> float | None:
    """Fixed threshold, else the one tuned for strategy `name`, else the strategy's default."""
    if name in aggregation.VOTES:
      return None
    if self.threshold >= 0 and name == self.aggregation:
      return self.threshold
    return calibration.get(f"threshold/{name}")

  def target_spec(self) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct((1, self.num_outputs), jnp.float32)

  def calibrate(self, stats: list[Any]) -> dict[str, Any]:
    """Per strategy with a score threshold: the one with the best validation micro F1."""
    outputs, references = unzip_stats(stats)
    y_true = np.stack(references)
    calibration: dict[str, Any] = {}
    for name in dict.fromkeys((self.aggregation, *self.compare_aggregations)):
      if name in aggregation.VOTES:
        continue
      _, scores = self._aggregate(outputs, name, None)
      best, table = thresholds.sweep_global_threshold(y_true, scores, THRESHOLD_GRID,
                                                      metric="micro_f1")
      calibration[f"threshold/{name}"] = float(best)
      calibration[f"sweep/{name}"] = [[float(row["threshold"]), float(row["micro_f1"])]
                                      for row in table]
    return calibration

  def _scores(self, name: str, y_true: np.ndarray, outputs: list[np.ndarray],
              calibration: dict[str, Any]) -> dict[str, float]:
    threshold = self._threshold(name, calibration)
    y_pred, scores = self._aggregate(outputs, name, threshold)
    prf = classification.multilabel_prf(y_true, y_pred)
    out = {k: float(prf[k]) for k in ("micro_precision", "micro_recall", "micro_f1",
                                      "macro_precision", "macro_recall", "macro_f1")}
    out["lrap"] = float(ranking.lrap(y_true, scores))
    out["accuracy"] = top1_accuracy(y_true, scores)
    if threshold is not None:
      out["threshold"] = float(threshold)
    return out | {f"{k}/{n}": float(v) for k in ("precision", "recall", "f1")
                  for n, v in zip(self.class_names, prf[k])}

  def metric_names(self) -> tuple[str, ...]:
    base = ("micro_precision", "micro_recall", "micro_f1", "macro_precision", "macro_recall",
            "macro_f1", "lrap", "accuracy")
    return base + tuple(f"{n}/{k}" for n in self.compare_aggregations if n != self.aggregation
                        for k in ("micro_f1", "macro_f1"))

  def metrics(self, stats: list[Any], calibration: dict[str, Any]) -> dict[str, float]:
    """Headline metrics of `aggregation`, then the compared strategies prefixed by name."""
    outputs, references = unzip_stats(stats)
    y_true = np.stack(references)
    out = self._scores(self.aggregation, y_true, outputs, calibration)
    for name in self.compare_aggregations:
      if name != self.aggregation:
        scores = self._scores(name, y_true, outputs, calibration)
        out |= {f"{name}/{k}": scores[k] for k in ("micro_f1", "macro_f1")}
    return out

  def pr_curves(self, stats: list[Any]) -> dict[str, tuple[np.ndarray, np.ndarray, Any]]:
    """Clip scores of the headline strategy (sigmoid-based strategies give [0, 1] scores)."""
    if self.aggregation in aggregation.VOTES:
      return {}
    outputs, references = unzip_stats(stats)
    _, scores = self._aggregate(outputs, self.aggregation, None)
    y_true = np.stack(references)
    scores = np.clip(scores, 0.0, 1.0)
    return {n: (y_true[:, c], scores[:, c], None) for c, n in enumerate(self.class_names)}

  def table(self, metrics: dict[str, float]) -> str:
    """Per-class precision/recall/F1 of the headline strategy."""
    per = {k: np.array([metrics[f"{k}/{n}"] for n in self.class_names])
           for k in ("precision", "recall", "f1")}
    names = self.full_names()
    rows = [f"{'class':<18} {'P':>6} {'R':>6} {'F1':>6}"]
    rows += [f"{n:<18} {p:6.3f} {r:6.3f} {f:6.3f}"
             for n, p, r, f in zip(names, per["precision"], per["recall"], per["f1"])]
    rows.append(f"{'micro':<18} {metrics['micro_precision']:6.3f} {metrics['micro_recall']:6.3f} "
                f"{metrics['micro_f1']:6.3f}")
    rows.append(f"{'macro':<18} {metrics['macro_precision']:6.3f} {metrics['macro_recall']:6.3f} "
                f"{metrics['macro_f1']:6.3f}")
    if "accuracy" in metrics:
      rows.append(f"{'accuracy (top-1)':<18} {metrics['accuracy']:6.3f}")
    return "\n".join(rows)

  def summaries(self, stats: list[Any], calibration: dict[str, Any]) -> dict[str, Any]:
    outputs, references = unzip_stats(stats)
    y_true = np.stack(references)
    y_pred, _ = self._aggregate(outputs, self.aggregation,
                                self._threshold(self.aggregation, calibration))
    names = list(self.class_names)
    return {"per_class_prf": plots.prf_bars_figure(y_true, y_pred, names, title="test split"),
            "confusion": plots.error_confusion_figure(y_true, y_pred, names)}

  def predict(self, outputs: np.ndarray, calibration: dict[str, Any]) -> dict[str, Any]:
    fn = aggregation.AGGREGATIONS.get(self.aggregation)
    pred, score = fn(outputs, self._threshold(self.aggregation, calibration))
    threshold = self._threshold(self.aggregation, calibration)
    return {"instruments": [n for n, p in zip(self.class_names, pred) if p],
            "names": dict(zip(self.class_names, self.full_names())),
            "scores": {n: float(s) for n, s in zip(self.class_names, score)},
            "aggregation": self.aggregation,
            "threshold": None if threshold is None else float(threshold),
            "windows": int(outputs.shape[0])}

  def full_names(self) -> list[str]:
    """Readable class names (IRMAS codes → instrument names; other vocabularies as they are)."""
    if self.vocabulary == "irmas":
      return [vocabularies.IRMAS_NAMES[vocabularies.IRMAS.index(n)] for n in self.class_names]
    return list(self.class_names)


def top1_accuracy(y_true: np.ndarray, scores: np.ndarray) -> float:
  """Fraction of clips whose highest-scoring class is one of their labels: (N, C) bool labels,
  (N, C) scores. For single-label data (FMA genres) this is plain accuracy of the argmax, as
  `sklearn.metrics.accuracy_score(labels.argmax(1), scores.argmax(1))` (MSSPT's "WA")."""
  y_true, scores = np.asarray(y_true, bool), np.asarray(scores)
  if y_true.shape != scores.shape or y_true.ndim != 2:
    raise ValueError(f"labels {y_true.shape} and scores {scores.shape} must both be (N, C)")
  if not len(y_true):
    return float("nan")
  return float(y_true[np.arange(len(y_true)), scores.argmax(1)].mean())
