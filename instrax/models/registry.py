"""The model registry: `MODELS` maps a name to a Flax module class; `build_model` makes one."""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from instrax.errors import ConfigError
from instrax.registry import Registry, build

MODELS: Registry[type[nn.Module]] = Registry("model")

_FLAX_FIELDS = ("parent", "name")


def model_fields(name: str) -> dict[str, Any]:
  """The configurable fields of model `name` with their defaults (num_classes has none)."""
  cls = MODELS.get(name)
  return {
      f.name: (f.default if f.default is not dataclasses.MISSING else None)
      for f in dataclasses.fields(cls) if f.name not in _FLAX_FIELDS
  }


def _normalise(name: str, key: str, value: Any) -> Any:
  """Config values → module field values: lists become tuples, dtype strings become dtypes."""
  if isinstance(value, list):
    return tuple(tuple(v) if isinstance(v, list) else v for v in value)
  if key == "dtype" and isinstance(value, str):
    try:
      return jnp.dtype(value)
    except TypeError as e:
      raise ConfigError(f"model {name!r}: unknown dtype {value!r}") from e
  return value


def build_model(name: str, num_classes: int | None = None, **kwargs: Any) -> nn.Module:
  """Builds registered model `name` from its fields (the task's `model_kwargs` and config.model;
  `num_classes` for classifiers); an unknown keyword is a ConfigError listing the valid ones."""
  if num_classes is not None:
    kwargs["num_classes"] = num_classes
  accepted = model_fields(name)
  unknown = sorted(set(kwargs) - set(accepted))
  if unknown:
    raise ConfigError(
        f"model {name!r} does not accept {', '.join(unknown)}; "
        f"its fields are: {', '.join(k for k in accepted if k != 'num_classes')}.")
  fields = {k: _normalise(name, k, v) for k, v in kwargs.items()}
  return build(MODELS, name, **fields)
