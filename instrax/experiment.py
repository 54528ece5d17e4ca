"""Assembles a run from its config: task, frontend, model, optimizer, mesh and jitted steps.

Training, evaluation and `predict` all build the same Experiment, so the three always agree on
features, model and decoding. It needs only the config and the audio format of the data
(`DataFormat`), not the dataset itself: `predict` rebuilds it from a workdir's config.json.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

import instrax.tasks  # noqa: F401  (registers the tasks)
from instrax.audio.frontend import FRONTENDS, PRESETS
from instrax.errors import ConfigError
from instrax.models import build_model
from instrax.registry import build
from instrax.tasks.base import TASKS, FrontendInfo, Task
from instrax.train import optim, sharding
from instrax.train import state as state_lib
from instrax.train import step as step_lib

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


@dataclasses.dataclass(frozen=True)
class DataFormat:
  """What the model input looks like on disk: sample rate and channels of the audio."""

  sample_rate: int
  channels: int

  @classmethod
  def from_dataset(cls, dataset) -> DataFormat:
    return cls(int(dataset.sample_rate or 0), int(dataset.channels or 0))


def _block(cfg: ml_collections.ConfigDict) -> tuple[str, dict[str, Any]]:
  """A registry block → (name, kwargs)."""
  d = cfg.to_dict()
  return d.pop("name"), d


def _make_frontend(cfg: ml_collections.ConfigDict, sample_rate: int
                   ) -> tuple[Callable[[jax.Array], jax.Array], FrontendInfo]:
  """(audio (B, C, T) → model input (B, C, F, T), what the task may know about the frontend).

  "identity" passes precomputed features through.
  """
  name, kwargs = _block(cfg)
  if name == "identity":
    return (lambda x: x), FrontendInfo(sample_rate=sample_rate)
  frames = slice(*kwargs.pop("frame_slice", None) or (None,))  # e.g. IRMAS keeps [1, 257)
  preset_rate = PRESETS.get(name, {}).get("sample_rate")
  rate = kwargs.setdefault("sample_rate", preset_rate or sample_rate)
  if rate != sample_rate:
    raise ConfigError(
        f"frontend {name!r} is set for {rate} Hz but the data is at {sample_rate} Hz. Rebuild the "
        f"data at {rate} Hz, or set --config.frontend.sample_rate={sample_rate} to use the "
        "preset's other settings at the data's rate.")
  frontend = build(FRONTENDS, name, **kwargs)
  info = FrontendInfo(sample_rate=rate, hop_length=frontend.hop_length,
                      frame_rate=frontend.frame_rate, num_frames=frontend.num_frames,
                      stft=frontend.stft, istft=frontend.istft, features=frontend,
                      n_fft=frontend.n_fft)
  # Frontends give (..., frames, bins); models take (..., F, T).
  return (lambda audio: jnp.swapaxes(frontend(audio)[..., frames, :], -1, -2)), info


def _describe(tree: Any) -> str:
  return str(jax.tree.map(lambda s: tuple(s.shape), tree))


class Experiment:
  """Everything a run computes with, built once from the config."""

  def __init__(self, config: ml_collections.ConfigDict, data_format: DataFormat):
    self.config = config
    self.data_format = data_format
    self.mesh = sharding.make_mesh()
    if config.train.compute_dtype not in DTYPES:
      raise ConfigError(f"train.compute_dtype must be one of {list(DTYPES)}")
    self.compute_dtype = DTYPES[config.train.compute_dtype]

    task_name, task_kwargs = _block(config.task)
    task_kwargs.setdefault("sample_rate", data_format.sample_rate)
    task_kwargs.setdefault("channels", data_format.channels)
    self.task: Task = build(TASKS, task_name, **task_kwargs)

    self.frontend, frontend_info = _make_frontend(config.frontend, task_kwargs["sample_rate"])
    self.task.bind_frontend(frontend_info)
    self.input_spec = dict(self.task.input_spec())

    model_name, model_kwargs = _block(config.model)
    self.model_name = model_name
    self.model = build_model(model_name, **{**self.task.model_kwargs(), **model_kwargs},
                             dtype=self.compute_dtype)
    self.tx, self.lr_fn = optim.make(config.optimizer.to_dict(), config.schedule.to_dict(),
                                     config.train.num_steps)
    self.frozen = optim.frozen_predicate(config.optimizer.get("param_groups", ()))
    self._check_augment()
    self._check_output_shapes()

  # --- model inputs and outputs ------------------------------------------------------------------
  def model_inputs(self, batch: dict[str, Any]) -> Any:
    """A batch's model inputs: frontend applied to the task's frontend inputs; the lone array when
    the task has one input, else the dict of inputs."""
    names = tuple(self.input_spec)
    inputs = {k: self.frontend(batch[k]) if k in self.task.frontend_inputs else batch[k]
              for k in names}
    return inputs[names[0]] if len(names) == 1 else inputs

  def dummy_inputs(self, batch: int = 1) -> dict[str, jax.Array]:
    """Zero inputs of the declared spec with a batch axis."""
    return {k: jnp.zeros((batch, *s.shape), s.dtype) for k, s in self.input_spec.items()}

  def _apply_init(self, rng: jax.Array) -> Any:
    inputs = step_lib.cast_floating(self.model_inputs(self.dummy_inputs()), jnp.float32)
    return self.model.init({"params": rng, "dropout": rng}, inputs, train=False)

  def _check_augment(self) -> None:
    """Augmentations the task does not allow are a config error, never silently skipped."""
    aug = self.config.augment
    if aug.get("specaugment") and not self.task.allow_specaugment:
      raise ConfigError(f"task {type(self.task).__name__} does not use SpecAugment; set "
                        "--config.augment.specaugment=False")
    if aug.get("mixup_alpha", 0.0) > 0 and (not self.task.allow_mixup
                                             or len(self.input_spec) != 1):
      raise ConfigError(f"task {type(self.task).__name__} does not use mixup; set "
                        "--config.augment.mixup_alpha=0")

  def _check_output_shapes(self) -> None:
    """The model's output shapes must equal the task's `target_spec` (one-line error if not)."""
    expected = self.task.target_spec()
    if expected is None:
      return
    variables = jax.eval_shape(self._apply_init, jax.random.key(0))

    def apply(v):
      return self.model.apply(v, step_lib.cast_floating(self.model_inputs(self.dummy_inputs()),
                                             self.compute_dtype), train=False)

    got = jax.eval_shape(apply, variables)
    got_shapes = jax.tree.map(lambda s: tuple(s.shape), got)
    want_shapes = jax.tree.map(lambda s: tuple(s.shape), expected)
    if got_shapes != want_shapes:
      raise ConfigError(
          f"model {self.model_name!r} outputs {_describe(got)} for one example but task "
          f"{type(self.task).__name__} expects {_describe(expected)}; check the model's fields "
          "(e.g. classes, frames, hop) against the task and frontend.")

  # --- state -------------------------------------------------------------------------------
  def _init(self, rng: jax.Array) -> state_lib.TrainState:
    init_rng, state_rng = jax.random.split(rng)
    variables = self._apply_init(init_rng)
    return state_lib.create(dict(variables), self.tx, state_rng,
                            ema=self.config.train.ema_decay > 0)

  def init_state(self) -> state_lib.TrainState:
    rng = jax.random.key(self.config.seed)
    # Runs once: compiling it unoptimised saves seconds to minutes of XLA time on CPU.
    init = jax.jit(self._init, out_shardings=sharding.replicated(self.mesh),
                   compiler_options={"xla_backend_optimization_level": 0})
    return self._load_pretrained(init(rng))

  def _load_pretrained(self, state: state_lib.TrainState) -> state_lib.TrainState:
    """A model with `load_pretrained(variables) → variables` (variables = {"params",
    "batch_stats"}; e.g. a HuBERT encoder or musicnn read from disk) puts its pretrained weights
    and batch statistics into the fresh state, outside jit; EMA starts from them too."""
    load = getattr(self.model, "load_pretrained", None)
    if load is None:
      return state
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    loaded = load(variables)
    if loaded is variables:
      return state
    params, stats = loaded["params"], loaded.get("batch_stats", state.batch_stats)
    ema = jax.tree.map(jnp.copy, params) if state.ema_params else state.ema_params
    params, stats, ema = jax.device_put((params, stats, ema), sharding.replicated(self.mesh))
    return state.replace(params=params, batch_stats=stats, ema_params=ema)

  def abstract_state(self) -> Any:
    """Shapes/dtypes/shardings of the state, for restoring onto this mesh."""
    shapes = jax.eval_shape(self._init, jax.random.key(0))
    rep = sharding.replicated(self.mesh)
    return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=rep), shapes)

  # --- steps -------------------------------------------------------------------------------
  @functools.cached_property
  def train_step(self):
    fn = step_lib.make_train_step(
        self.model, self.model_inputs, self.task, self.tx,
        augment_cfg=self.config.augment.to_dict(), compute_dtype=self.compute_dtype,
        ema_decay=self.config.train.ema_decay, frozen=self.frozen)
    rep, data = sharding.replicated(self.mesh), sharding.batch_sharded(self.mesh)
    return jax.jit(fn, in_shardings=(rep, data), out_shardings=(rep, rep), donate_argnums=0)

  @functools.cached_property
  def predict_step(self):
    fn = step_lib.make_predict_step(self.model, self.model_inputs, self.compute_dtype)
    rep, data = sharding.replicated(self.mesh), sharding.batch_sharded(self.mesh)
    return jax.jit(fn, in_shardings=(rep, data), out_shardings=rep)

