"""Augmentation on device (JAX, jit/vmap-able, rng passed in): SpecAugment and mixup."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _band_mask(rng: jax.Array, size: int, num_masks: int, max_width: int) -> jax.Array:
  """(size,) bool: True inside `num_masks` random bands of width 0..max_width."""
  positions = jnp.arange(size)
  mask = jnp.zeros((size,), bool)
  for r in jax.random.split(rng, num_masks):
    r_w, r_s = jax.random.split(r)
    width = jax.random.randint(r_w, (), 0, max_width + 1)
    start = jax.random.randint(r_s, (), 0, jnp.maximum(size - width, 0) + 1)
    mask = mask | ((positions >= start) & (positions < start + width))
  return mask


def spec_augment(rng: jax.Array, features: jax.Array, num_freq_masks: int = 2,
                 freq_mask_width: int = 8, num_time_masks: int = 2, time_mask_width: int = 20,
                 mask_value: float | None = None) -> jax.Array:
  """SpecAugment (Park et al. 2019) frequency and time masking on (B, C, F, T) features.

  Each example gets its own masks, shared by its channels. Masked cells take `mask_value`
  (default: the example's mean, so dB features are not pushed to an extreme).
  """
  b, _, f, t = features.shape

  def one(r, x):
    r_f, r_t = jax.random.split(r)
    fm = _band_mask(r_f, f, num_freq_masks, min(freq_mask_width, f))
    tm = _band_mask(r_t, t, num_time_masks, min(time_mask_width, t))
    cells = fm[:, None] | tm[None, :]
    fill = jnp.mean(x) if mask_value is None else jnp.asarray(mask_value, x.dtype)
    return jnp.where(cells[None], fill, x)

  return jax.vmap(one)(jax.random.split(rng, b), features)


def mixup(rng: jax.Array, x: jax.Array, targets: jax.Array, alpha: float,
          mask: jax.Array | None = None):
  """Mixes each example with a random partner of the batch, λ ~ Beta(α, α) per example.

  Returns (x, targets, mask) from `mix_pairs` with a random permutation as the partners.
  """
  r_perm, r_lam = jax.random.split(rng)
  b = x.shape[0]
  perm = jax.random.permutation(r_perm, b)
  lam = jax.random.beta(r_lam, alpha, alpha, (b,))
  return mix_pairs(x, targets, lam, perm, mask)


def mix_pairs(x: jax.Array, targets: jax.Array, lam: jax.Array, perm: jax.Array,
              mask: jax.Array | None = None):
  """Mixup of example i with example perm[i] at weight lam[i] ((B,) each; Zhang et al. 2018).

  Inputs and targets are mixed linearly, x_i ← λ_i·x_i + (1 − λ_i)·x_perm[i] (in float32 when
  they were integers or bools). With partial labels (`mask` (B, C) bool, True = observed) the rule
  of PaSST's OpenMIC waveform mixup (kkoutini/PaSST `openmic/dataset.py:MixupDataset`): an
  unobserved entry counts as absent (target 0) and the mixed entry is supervised when it is
  observed in EITHER clip (mask_i ∨ mask_perm[i]). Keeping only entries observed in both would
  drop most of the supervision (OpenMIC observes ≈ 10 % of entries; two clips share ≈ 1 %).
  EfficientAT's batch mixup keeps the first clip's mask with the same zeroed targets.
  """
  b = x.shape[0]
  x, targets = _floating(x), _floating(targets)
  if mask is not None:
    targets = jnp.where(mask, targets, jnp.zeros_like(targets))
  lam_x = lam.reshape((b,) + (1,) * (x.ndim - 1)).astype(x.dtype)
  lam_y = lam.reshape((b,) + (1,) * (targets.ndim - 1)).astype(targets.dtype)
  x = lam_x * x + (1 - lam_x) * x[perm]
  targets = lam_y * targets + (1 - lam_y) * targets[perm]
  if mask is not None:
    mask = mask | mask[perm]
  return x, targets, mask


def _floating(a: jax.Array) -> jax.Array:
  """`a`, as float32 unless it already is floating point (λ must not be rounded to 0 or 1)."""
  return a if jnp.issubdtype(a.dtype, jnp.floating) else a.astype(jnp.float32)
