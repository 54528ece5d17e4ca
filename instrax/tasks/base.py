"""The task: what differs between task families (inputs, targets, loss, decoding, metrics, output).

Frontend and model are task-agnostic; a Task declares the model's inputs (`input_spec`), turns
dataset examples into training examples, scores model outputs (JAX, inside the jitted step) and
decodes per-example model outputs into predictions, statistics and metrics (numpy, on host).

Evaluation is streamed, one example at a time (`instrax/evaluate.py`):

    example → eval_inputs (chunks) → model → combine (voting / stitching / overlap-add)
            → example_stats (compact) ... → calibrate / metrics / summaries over the split

so host memory is bounded by one example plus the compact statistics of the others.

Batches are dicts holding every input of `input_spec()` (shape (B, ...)), `targets` (an array or a
dict of arrays) and optionally `mask` (partial labels). Model inputs: the inputs named in
`frontend_inputs` go through the audio frontend ((B, C, T) → (B, C, F, frames)); the model gets the
lone array when the task has one input, else the dict. Model outputs may be an array or a dict of
named heads.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import jax
import numpy as np

from instrax.errors import ConfigError
from instrax.registry import Registry

TASKS: Registry = Registry("task")

Example = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class FrontendInfo:
  """What a task may know about the audio frontend (set by the Experiment via `bind_frontend`).

  Attributes:
    sample_rate: Hz of the audio the frontend takes.
    hop_length: samples between frames (0 for frontends without frames).
    frame_rate: frames per second (sample_rate / hop_length; 0 without frames).
    num_frames: samples → the number of frames the frontend makes of them.
    stft: (..., T) audio → complex (..., frames, bins) STFT (None when the frontend has none).
    istft: (complex (..., frames, bins), length) → (..., length) audio (None likewise).
    features: (..., T) audio → (..., frames, bins) features, the frontend itself (None without
      one), for host-side statistics of whole files (e.g. `instrax.audio.file_db`).
    n_fft: STFT window in samples (0 without one).
  """

  sample_rate: int
  hop_length: int = 0
  frame_rate: float = 0.0
  num_frames: Callable[[int], int] | None = None
  stft: Callable[[jax.Array], jax.Array] | None = None
  istft: Callable[..., jax.Array] | None = None
  features: Callable[[jax.Array], jax.Array] | None = None
  n_fft: int = 0


class Task(abc.ABC):
  """Interface of a task family; one subclass per family, registered in TASKS by name."""

  #: names of the model's output classes, for tables and figures (may be empty).
  class_names: tuple[str, ...] = ()
  #: key of the lone model input (tasks with one input); "audio" goes through the frontend.
  input_key: str = "audio"
  #: train-time augmentations that make sense for this task's inputs/targets.
  allow_specaugment: bool = True
  allow_mixup: bool = True
  #: predict writes this task's results as files only (e.g. WAV stems): --output is required.
  needs_output_dir: bool = False
  #: set by the Experiment (`bind_frontend`); None until then.
  frontend: FrontendInfo | None = None

  @property
  def num_outputs(self) -> int:
    return len(self.class_names)

  def bind_frontend(self, info: FrontendInfo) -> None:
    """Called once by the Experiment: the task may then ask the frontend for rates and STFTs."""
    self.frontend = info

  # --- what the model sees -------------------------------------------------------------------
  @abc.abstractmethod
  def features(self) -> tuple[str, ...]:
    """The dataset features this task reads; only these are decoded."""

  def train_features(self) -> tuple[str, ...]:
    """The features a training example reads (default: `features()`); a task whose training
    augmentation needs more (e.g. stems to remix) adds them here."""
    return self.features()

  def input_shape(self) -> tuple[int, ...]:
    """Shape of the lone training input (without batch); tasks with several inputs override
    `input_spec` instead."""
    raise NotImplementedError(f"{type(self).__name__} declares no input shape")

  def input_spec(self) -> dict[str, jax.ShapeDtypeStruct]:
    """Model inputs of ONE training example (name → shape without batch, dtype)."""
    return {self.input_key: jax.ShapeDtypeStruct(tuple(self.input_shape()), np.float32)}

  @property
  def frontend_inputs(self) -> tuple[str, ...]:
    """Names of the inputs that go through the audio frontend."""
    return ("audio",) if "audio" in self.input_spec() else ()

  def model_kwargs(self) -> dict[str, Any]:
    """The model's construction arguments that the task decides (merged under config.model)."""
    return {"num_classes": self.num_outputs}

  def target_spec(self) -> Any:
    """Expected model output shapes for a batch of 1 (pytree of ShapeDtypeStruct), checked with
    `jax.eval_shape` when the Experiment is built; None skips the check."""
    return None

  # --- training ------------------------------------------------------------------------------
  #: how many extra random examples `train_example` receives (multi-example transforms, e.g.
  #: remixing sources of different songs); they come as `example["extra"]`, a list.
  extra_examples: int = 0

  @abc.abstractmethod
  def train_example(self, example: Example, rng: np.random.Generator) -> Example:
    """Host: a dataset example → one fixed-shape training example (inputs, targets, mask?)."""

  @abc.abstractmethod
  def loss(self, outputs: Any, batch: Example) -> tuple[jax.Array, dict[str, jax.Array]]:
    """JAX: scalar loss and named auxiliaries for a batch (outputs cast to float32 per leaf)."""

  # --- evaluation (streamed, one example at a time) --------------------------------------------
  @abc.abstractmethod
  def eval_inputs(self, example: Example) -> Any:
    """Host: the model inputs covering one whole example — an array (tasks with one input) or a
    dict of arrays, each with a leading chunk axis (n_chunks, *per-chunk shape); or, for an
    example too long to hold all its chunks at once, an iterator of such parts in order
    (`stack_chunks` joins them)."""

  def reference(self, example: Example) -> Any:
    """Host: the ground truth of one evaluation example (used by the default `example_stats`)."""
    raise NotImplementedError(f"{type(self).__name__} has no reference")

  def combine(self, outputs: Any, example: Example) -> Any:
    """Host: the model outputs of one example's chunks (leading n_chunks axis, float32) → the
    example's output (window voting input, stitched frames, overlap-added audio). Default: the
    chunk outputs unchanged."""
    del example
    return outputs

  def example_stats(self, combined: Any, example: Example) -> Any:
    """Host: COMPACT statistics of one example for calibrate/metrics/summaries. Default:
    (combined, reference) — fine when the combined output is small (clip tasks)."""
    return combined, self.reference(example)

  def calibrate(self, stats: list[Any]) -> dict[str, Any]:
    """Decoding parameters tuned on the validation split (e.g. thresholds); JSON-serialisable."""
    del stats
    return {}

  @abc.abstractmethod
  def metrics(self, stats: list[Any], calibration: dict[str, Any]) -> dict[str, float]:
    """Named numbers over a split from its per-example statistics."""

  def metric_names(self) -> tuple[str, ...] | None:
    """The names `metrics` reports (without split prefix), so a config's `train.best_metric` is
    checked before training; None = not declared (no check)."""
    return None

  def summaries(self, stats: list[Any], calibration: dict[str, Any]) -> dict[str, Any]:
    """Figures worth looking at (matplotlib figures by name)."""
    del stats, calibration
    return {}

  def audio_summaries(self, stats: list[Any], calibration: dict[str, Any]
                      ) -> dict[str, tuple[np.ndarray, int]]:
    """Audio worth listening to: name → ((T,) float32 in [-1, 1], sample rate)."""
    del stats, calibration
    return {}

  def pr_curves(self, stats: list[Any]) -> dict[str, tuple[np.ndarray, np.ndarray, Any]]:
    """Per-class data for TensorBoard's PR-curve dashboard: name → (labels bool (N,), scores in
    [0, 1] (N,), weights (N,) or None)."""
    del stats
    return {}

  def table(self, metrics: dict[str, float]) -> str:
    """A per-class text table from one split's `metrics` (without the split prefix)."""
    del metrics
    return ""

  # --- predict ---------------------------------------------------------------------------------
  def predict_inputs(self, path: str, sample_rate: int, channels: int,
                     segment_s: float) -> Iterator[tuple[float, Example]]:
    """Reads one user input as examples of at most `segment_s` seconds: (start_s, example).

    Default: one audio file, decoded in blocks (bounded memory), as {"audio": (T, C) float32}.
    Tasks reading other inputs (a folder of stems) override it.
    """
    from instrax.audio import io

    start = 0
    for block in io.stream(path, sample_rate, channels, segment_s):
      yield start / sample_rate, {"audio": block.T}
      start += block.shape[1]

  def predict(self, combined: Any, calibration: dict[str, Any]) -> dict[str, Any]:
    """Decodes one example's combined output into the user-facing prediction (JSON-able)."""
    raise NotImplementedError(f"{type(self).__name__} has no predict output yet")

  def merge_predictions(self, parts: list[tuple[float, Any]],
                        calibration: dict[str, Any]) -> dict[str, Any]:
    """The prediction of a whole input from its segments' combined outputs (start_s, combined).

    Default: the segments' combined outputs concatenated along their first axis (chunk outputs of
    window-voting tasks), then `predict`.
    """
    if len(parts) == 1:
      return self.predict(parts[0][1], calibration)
    merged = jax.tree.map(lambda *xs: np.concatenate(xs), *[c for _, c in parts])
    return self.predict(merged, calibration)

  def write_prediction(self, prediction: dict[str, Any], stem: str, output_dir: str) -> list[str]:
    """Writes task-specific files for one input under `output_dir` (MIDI, stems, timelines);
    returns their paths. Default: none (the CLI writes the table/JSON/CSV)."""
    del prediction, stem, output_dir
    return []


def check_probabilities(task: Any, *names: str) -> None:
  """ConfigError naming the first field of `task` among `names` that is not in [0, 1]."""
  for name in names:
    value = getattr(task, name)
    if not 0.0 <= value <= 1.0:
      raise ConfigError(f"task.{name}={value} must be a probability in [0, 1]")


def unzip_stats(stats: list[tuple[Any, Any]]) -> tuple[list[Any], list[Any]]:
  """[(output, reference), ...] → ([outputs], [references]) (the default `example_stats`)."""
  if not stats:
    return [], []
  outputs, references = zip(*stats)
  return list(outputs), list(references)


def stack_chunks(chunks: Any) -> Any:
  """A task's `eval_inputs` as one array/dict: an iterator of parts is concatenated along the
  chunk axis; anything else is returned as is. For tests and tools that want every chunk; the
  evaluation loop itself consumes the parts one by one."""
  if not isinstance(chunks, Iterator):
    return chunks
  parts = list(chunks)
  if isinstance(parts[0], dict):
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
  return np.concatenate(parts)
