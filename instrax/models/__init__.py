"""Flax models, each registered by name in `MODELS`; `build_model(name, num_classes, **fields)`.

Every model maps features (B, C, F, T) — batch, audio channels, mel bins, frames — to float32
logits (B, num_classes) via `model.apply(variables, x, train=...)`; `vggish_mlp` takes (B, 10, 128).
"""

from instrax.models import (  # noqa: F401  (imported so that the models register)
    coatnet,
    crnn,
    han2016,
    mlp,
    patchout,
    short_chunk,
    simple_cnn,
    tune,
    unet,
)
from instrax.models.registry import MODELS, build_model, model_fields

__all__ = ["MODELS", "build_model", "model_fields"]
