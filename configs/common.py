"""Config pieces shared by several experiment files."""

from __future__ import annotations

from typing import Any

import ml_collections

from instrax.errors import ConfigError

# Per model: fields that make it tiny (a forward pass in milliseconds on CPU), for `tiny` runs.
TINY_MODELS: dict[str, dict[str, Any]] = {
    "crnn": dict(channels=(4, 8), pools=((2, 2), (2, 2)), rnn_features=8),
    "short_chunk_res": dict(channels=(4, 8, 8)),
    "short_chunk": dict(channels=(4, 8, 8)),
    "patchout": dict(embed_dim=16, depth=1, heads=2, patchout_freq=1, patchout_time=1),
    "han2016": dict(channels=(4, 8), hidden=16),
    "coatnet0": dict(num_blocks=(1, 1, 1, 1, 1), channels=(8, 8, 16, 16, 16), heads=1,
                     dim_head=8),
    "simple_cnn": dict(n=4, hidden=8),
    "cnn_rnn": dict(n=4, hidden=8),
    "vggish_mlp": dict(hidden=16),
}


def model_block(name: str, valid: list[str] | None = None, source: str = "config",
                **fields: Any) -> ml_collections.ConfigDict:
  """`config.model` for the config argument `model=<name>`: the name and `fields` only, so every
  other field takes the model's own default (none is left over from another model).

  `valid`: the names this config offers (default: every registered model). Raises ConfigError
  naming the valid ones for any other name.
  """
  if valid is None:
    import instrax.models  # noqa: F401  (registers the models)
    from instrax.models.registry import MODELS

    valid = MODELS.names()
  if name not in valid:
    raise ConfigError(f"{source}: model={name!r} unknown; valid: {', '.join(valid)}")
  return ml_collections.ConfigDict(dict(name=name, **fields))


def apply_tiny(c: ml_collections.ConfigDict) -> None:
  """Shrinks a config to run in seconds on CPU: tiny data, tiny model, a few steps."""
  if c.dataset.name.startswith("synthmix"):
    c.dataset.name = "synthmix/tiny"
  c.dataset.read_threads = 1
  c.train.num_steps = 6
  c.train.batch_size = 8
  c.train.log_every = 2
  c.train.eval_every = 3
  c.train.checkpoint_every = 3
  c.train.async_checkpoints = False
  c.schedule.warmup_steps = 2
  c.eval.batch_size = 16
  c.eval.max_examples = 8
  c.model.update(TINY_MODELS.get(c.model.name, {}))


def narrow(filters: tuple[int, ...] | int, div: int) -> tuple[int, ...] | int:
  """Filter counts ÷ `div` (at least 1 each): the `width_div=N` config argument, a narrower copy of
  a seed's architecture for CPU comparisons (bench/tune_comparison.py); div=1 keeps them."""
  if div < 1:
    raise ConfigError(f"width_div={div}: give a positive divisor of the filter counts (1 = as is)")
  if isinstance(filters, int):
    return max(1, filters // div)
  return tuple(max(1, f // div) for f in filters)
