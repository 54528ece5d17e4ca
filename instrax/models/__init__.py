"""Flax models, each registered by name in `MODELS`; `build_model(name, **fields)`.

The clip classifiers map features (B, C, F, T) — batch, audio channels, mel bins, frames — to
logits (B, num_classes) via `model.apply(variables, x, train=...)`; `vggish_mlp` takes (B, 10, 128).
A model of a task with several inputs takes their dict, and may return a dict of named heads
(see instrax/tasks/base.py).
"""

from instrax.models import (  # noqa: F401  (imported so that the models register)
    coatnet,
    crnn,
    han2016,
    lead,
    lead_crnn,
    lead_inst,
    mlp,
    musicnn,
    onsets_velocities,
    patchout,
    short_chunk,
    simple_cnn,
    tune,
    unet,
)
from instrax.models.registry import MODELS, build_model, model_fields

__all__ = ["MODELS", "build_model", "model_fields"]
