"""A toy task and model with the shapes the new families need: two inputs (one through the
frontend, one int32), a dict of two heads (clip and frames), chunked evaluation with stitching.

Registered as "toy_pair" in TASKS and MODELS when this module is imported (tests only).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from instrax.data import transforms
from instrax.models.registry import MODELS
from instrax.tasks.base import TASKS, Task

NAME = "toy_pair"
CHUNK = 3200  # samples (0.2 s at 16 kHz)


@MODELS.register(NAME)
class ToyPairModel(nn.Module):
  """{"audio": (B, 1, F, T) features, "weights": (B, 3) int32} → {"clip": (B, K),
  "frames": (B, T, K)}; `drop_frames` cuts frames off (to test the shape check)."""

  num_classes: int = 2
  drop_frames: int = 0
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool = False):
    if x["weights"].dtype != jnp.int32:
      raise TypeError(f"weights arrived as {x['weights'].dtype}, not int32")
    h = x["audio"].mean(axis=(1, 2))[..., None]  # (B, T, 1)
    body = nn.Dense(8, name="body")(h)
    body = nn.BatchNorm(use_running_average=not train, name="body_bn")(body)
    emb = nn.Embed(4, 8, name="emb")(x["weights"]).sum(1)  # (B, 8)
    frames = nn.Dense(self.num_classes, name="frame_head")(body + emb[:, None])
    clip = nn.Dense(self.num_classes, name="clip_head")(body.mean(1) + emb)
    if self.drop_frames:
      frames = frames[:, :-self.drop_frames]
    return {"clip": clip, "frames": frames}


@TASKS.register(NAME)
@dataclasses.dataclass
class ToyPairTask(Task):
  """Predicts the first two IRMAS labels of a synthmix mix, per clip and per frame."""

  sample_rate: int
  channels: int
  allow_mixup = False

  def __post_init__(self):
    self.class_names = ("cel", "cla")

  def features(self) -> tuple[str, ...]:
    return ("audio", "irmas_labels")

  def input_spec(self) -> dict[str, jax.ShapeDtypeStruct]:
    return {"audio": jax.ShapeDtypeStruct((1, CHUNK), np.float32),
            "weights": jax.ShapeDtypeStruct((3,), np.int32)}

  def frames(self) -> int:
    return self.frontend.num_frames(CHUNK)

  def target_spec(self) -> dict[str, jax.ShapeDtypeStruct]:
    return {"clip": jax.ShapeDtypeStruct((1, 2), jnp.float32),
            "frames": jax.ShapeDtypeStruct((1, self.frames(), 2), jnp.float32)}

  def _labels(self, example) -> np.ndarray:
    return np.asarray(example["irmas_labels"][:2], np.float32)

  def train_example(self, example, rng):
    audio = transforms.random_crop(transforms.example_audio(example, 1), CHUNK, rng)
    labels = self._labels(example)
    return {"audio": audio.astype(np.float32), "weights": np.arange(3, dtype=np.int32),
            "targets": {"clip": labels, "frames": np.tile(labels, (self.frames(), 1))}}

  def loss(self, outputs, batch):
    clip = optax.sigmoid_binary_cross_entropy(outputs["clip"], batch["targets"]["clip"]).mean()
    frames = optax.sigmoid_binary_cross_entropy(outputs["frames"],
                                                batch["targets"]["frames"]).mean()
    return clip + frames, {"clip_loss": clip}

  def eval_inputs(self, example):
    audio = transforms.example_audio(example, 1)
    n = -(-audio.shape[1] // CHUNK)
    audio = np.pad(audio, ((0, 0), (0, n * CHUNK - audio.shape[1])))
    chunks = audio.reshape(1, n, CHUNK).transpose(1, 0, 2)
    return {"audio": chunks, "weights": np.tile(np.arange(3, dtype=np.int32), (n, 1))}

  def combine(self, outputs, example):
    del example
    return {"clip": outputs["clip"].mean(0), "frames": outputs["frames"].reshape(-1, 2)}

  def example_stats(self, combined, example):
    return {"correct": float(np.mean((combined["clip"] > 0) == (self._labels(example) > 0.5))),
            "frames": combined["frames"].shape[0]}

  def metric_names(self) -> tuple[str, ...]:
    return ("accuracy", "frames")

  def metrics(self, stats, calibration):
    return {"accuracy": float(np.mean([s["correct"] for s in stats])),
            "frames": float(np.mean([s["frames"] for s in stats]))}

  def predict(self, combined, calibration):
    return {"labels": [n for n, z in zip(self.class_names, combined["clip"]) if z > 0],
            "scores": {n: float(z) for n, z in zip(self.class_names, combined["clip"])}}


def config(data_dir: str, **train) -> ml_collections.ConfigDict:
  """configs/demo.py:tiny with the toy task and model; `train` overrides train.* fields."""
  from tests.conftest import tiny_config

  c = tiny_config(data_dir=data_dir)
  c.task = ml_collections.ConfigDict({"name": NAME})
  c.model = ml_collections.ConfigDict({"name": NAME})
  c.train.best_metric = "accuracy"
  c.schedule = ml_collections.ConfigDict({"name": "constant", "learning_rate": 0.01})
  for k, v in train.items():
    c.train[k] = v
  return c
