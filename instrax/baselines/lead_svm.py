"""The seed's SVM lead-track baseline (seed 000 §1.4 `svm_baseline/`), scored like the model.

Per track and frame (n_fft 2048, hop 1024 at the task's 24 kHz), the seed's 17 features: spectral
centroid, max |amplitude|, zero-crossing rate, MFCC 2-13, crest factor (peak / RMS) and spectral
flux (librosa). An `sklearn.svm.SVC()` with its defaults (RBF, C = 1) learns "is this track the
lead in this frame"; per frame the stem with the largest decision value leads when that value is
positive, else no stem does. Predictions are held over each hop and scored at 75 Hz by the
lead_detection task's own `example_stats` / `metrics` (per-segment macro-F1 over present classes,
on instruments, frame accuracy).

  python -m instrax.baselines.lead_svm --config=configs/lead.py:synth [--max_train=200]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import librosa
import numpy as np
from sklearn.svm import SVC

N_FFT, HOP = 2048, 1024
NUM_FEATURES = 17


def frame_features(audio: np.ndarray, sample_rate: int) -> np.ndarray:
  """(T,) audio → (frames, 17) float32 features (centred frames, librosa's conventions)."""
  y = np.asarray(audio, np.float32)
  mag = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
  n = mag.shape[1]
  frames = librosa.util.frame(np.pad(y, N_FFT // 2), frame_length=N_FFT, hop_length=HOP)[:, :n]
  peak = np.abs(frames).max(axis=0)
  rms = np.sqrt(np.mean(frames ** 2, axis=0))
  centroid = librosa.feature.spectral_centroid(S=mag, sr=sample_rate)[0]
  zcr = librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP)[0, :n]
  mfcc = librosa.feature.mfcc(S=librosa.power_to_db(
      librosa.feature.melspectrogram(S=mag ** 2, sr=sample_rate)), n_mfcc=13)[1:13]
  flux = np.concatenate([[0.0], np.sqrt(np.sum(np.diff(mag, axis=1) ** 2, axis=0))])
  crest = peak / np.maximum(rms, 1e-8)
  feats = np.column_stack([centroid / sample_rate, peak, zcr, mfcc.T, crest, flux])
  return feats.astype(np.float32)


def track_features(tracks: np.ndarray, sample_rate: int) -> np.ndarray:
  """(1 + K, T) mix + stems → (K, frames, 17) features of the stems."""
  return np.stack([frame_features(s, sample_rate) for s in tracks[1:]])


def _frame_labels(labels: np.ndarray, frames: int, frame_rate: float, sample_rate: int):
  """75 Hz labels (stem index or −1) sampled at each hop's centre → (frames,)."""
  idx = np.minimum((np.arange(frames) * HOP / sample_rate * frame_rate).astype(int),
                   max(len(labels) - 1, 0))
  return labels[idx] if len(labels) else np.full(frames, -1)


class LeadSVM:
  """Fits on (track, frame) feature rows; predicts per-frame class logits like the model."""

  def __init__(self, task: Any, max_frames_per_example: int = 400, seed: int = 0):
    if getattr(task, "formulation", "ch_cls") != "ch_cls":
      from instrax.errors import ConfigError

      raise ConfigError("the SVM baseline picks tracks (ch_cls); use a config with "
                        "task.formulation=ch_cls")
    self.task = task
    self.max_frames = max_frames_per_example
    self.rng = np.random.default_rng(seed)
    self.svm = SVC()
    self.mean = self.scale = None

  def _tracks(self, example: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from instrax.audio import io

    tracks, ids, labels = self.task._tracks(example)
    return io.resample(tracks, self.task.sample_rate, self.task.model_sample_rate), ids, labels

  def fit(self, examples: Iterable[dict[str, Any]]) -> LeadSVM:
    rows, targets = [], []
    for ex in examples:
      tracks, _, labels = self._tracks(ex)
      feats = track_features(tracks, self.task.model_sample_rate)  # (K, F, 17)
      lab = _frame_labels(labels, feats.shape[1], self.task.frame_rate,
                          self.task.model_sample_rate)
      keep = self.rng.permutation(feats.shape[1])[:self.max_frames]
      for k in range(feats.shape[0]):
        rows.append(feats[k, keep])
        targets.append(lab[keep] == k)
    x, y = np.concatenate(rows), np.concatenate(targets)
    self.mean, self.scale = x.mean(0), x.std(0) + 1e-8
    self.svm.fit((x - self.mean) / self.scale, y)
    return self

  def frame_classes(self, example: dict[str, Any]) -> np.ndarray:
    """(F,) predicted class per 75 Hz frame (0 = none, 1 + k = stem k)."""
    tracks, _, labels = self._tracks(example)
    feats = track_features(tracks, self.task.model_sample_rate)
    k, n = feats.shape[:2]
    score = self.svm.decision_function((feats.reshape(k * n, -1) - self.mean) / self.scale)
    score = score.reshape(k, n)
    best = score.argmax(0)
    hop_class = np.where(score.max(0) > 0, best + 2, 0)
    n75 = len(labels) if labels.size else int(
        tracks.shape[1] / self.task.hop_length)
    hop_of_frame = np.minimum((np.arange(n75) / self.task.frame_rate
                               * self.task.model_sample_rate / HOP + 0.5).astype(int), n - 1)
    return hop_class[hop_of_frame]

  def combined(self, example: dict[str, Any]) -> dict[str, Any]:
    """The task's `combine` output with one-hot log-probabilities from the SVM's decisions,
    so that the task's example_stats/metrics score it exactly like the model."""
    classes = self.frame_classes(example)
    seg = self.task._windows(len(classes))
    logp = np.where(np.eye(self.task.num_outputs, dtype=bool)[classes], 0.0, -1e9)
    segment_pred = np.zeros((len(seg), self.task.segment_frames), np.int16)
    for i, (a, b) in enumerate(seg):
      segment_pred[i, :b - a] = classes[a:b]
    song = self.task._song(example)  # stored audio, not converted again: the task's heatmap rows
    ids = song.ids
    return {"log_probs": logp.astype(np.float32), "segment_pred": segment_pred,
            "activity": self.task._activity(song),
            "track_names": ["mix", *(f"{i + 1}" for i in range(len(ids)))], "inst_ids": ids,
            "id": str(example.get("id", ""))}


def main(argv: list[str] | None = None) -> None:
  """Trains on the config's train split, prints the task's metrics on its test split."""
  import argparse
  import importlib.util

  from instrax.data import sources
  from instrax.tasks import TASKS

  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="configs/lead.py:synth")
  parser.add_argument("--data_dir", default="")
  parser.add_argument("--max_train", type=int, default=200)
  parser.add_argument("--max_test", type=int, default=0)
  args = parser.parse_args(argv)
  path, _, arg = args.config.partition(":")
  spec = importlib.util.spec_from_file_location("lead_config", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config(arg or None)
  data = sources.load(config.dataset.name, args.data_dir or config.data_dir or None)
  kwargs = {k: v for k, v in config.task.to_dict().items() if k != "name"}
  task = TASKS.get(config.task.name)(sample_rate=data.sample_rate, **kwargs)
  train = data.source(config.dataset.train_split, task.features())
  svm = LeadSVM(task).fit(train[i] for i in range(min(len(train), args.max_train)))
  test = data.source(config.dataset.test_split, task.features())
  n = len(test) if args.max_test <= 0 else min(len(test), args.max_test)
  stats = [task.example_stats(svm.combined(test[i]), test[i]) for i in range(n)]
  metrics = task.metrics(stats, {})
  print(task.table(metrics))
  for key, value in (config.get("reference_numbers") or {}).items():
    print(f"reference {key:<22} {value}")


if __name__ == "__main__":
  main()
