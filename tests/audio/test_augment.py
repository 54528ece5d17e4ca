"""SpecAugment and mixup: per-example masks shared by channels, bounded bands, convex mixing."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from instrax.audio import augment

KEY = jax.random.key(0)
FEATURES = jnp.asarray(np.random.default_rng(0).uniform(1.0, 2.0, (16, 2, 40, 60)), jnp.float32)
SPEC = dict(num_freq_masks=2, freq_mask_width=6, num_time_masks=3, time_mask_width=10)
# Jitted once: eager dispatch of the vmapped masks and of Beta sampling is slow.
spec_augment = jax.jit(augment.spec_augment, static_argnames=(
    "num_freq_masks", "freq_mask_width", "num_time_masks", "time_mask_width", "mask_value"))
mixup = jax.jit(augment.mixup)  # α traced: one compile for every α


def runs(flags: np.ndarray) -> list[int]:
  """Lengths of the runs of True in a 1-D bool array."""
  edges = np.diff(np.concatenate([[0], flags.astype(int), [0]]))
  return (np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).tolist()


def test_spec_augment_masks_are_bands_shared_by_channels():
  out = np.asarray(spec_augment(KEY, FEATURES, **SPEC, mask_value=-1.0))
  masked = out == -1.0
  np.testing.assert_array_equal(out[~masked], np.asarray(FEATURES)[~masked])
  np.testing.assert_array_equal(masked[:, 0], masked[:, 1])  # shared across channels
  freq_widths, time_widths = [], []
  for m in masked[:, 0]:
    rows, cols = m.all(axis=1), m.all(axis=0)
    np.testing.assert_array_equal(m, rows[:, None] | cols[None, :])  # union of whole rows/cols
    assert len(runs(rows)) <= 2 and rows.sum() <= 2 * 6
    assert len(runs(cols)) <= 3 and cols.sum() <= 3 * 10
    freq_widths += runs(rows)
    time_widths += runs(cols)
  assert max(freq_widths) > 1 and max(time_widths) > 1  # masks really are drawn
  assert len({m.tobytes() for m in masked[:, 0]}) == len(masked)  # a mask per example


def test_spec_augment_band_widths_stay_within_the_maximum():
  """With one mask per axis, each band is a single run of width 0..max_width."""
  out = np.asarray(spec_augment(KEY, jnp.ones((256, 1, 20, 30)), num_freq_masks=1,
                                        freq_mask_width=4, num_time_masks=1, time_mask_width=7,
                                        mask_value=0.0))
  masked = out[:, 0] == 0.0
  freq = [masked[b].all(axis=1).sum() for b in range(len(masked))]
  time = [masked[b].all(axis=0).sum() for b in range(len(masked))]
  assert set(freq) == set(range(5)) and set(time) == set(range(8))


def test_spec_augment_default_fill_is_the_example_mean():
  out = np.asarray(spec_augment(KEY, FEATURES, **SPEC))
  for b in range(4):
    changed = out[b] != np.asarray(FEATURES[b])
    assert changed.any()
    np.testing.assert_allclose(out[b][changed], float(FEATURES[b].mean()), rtol=1e-6)


def test_spec_augment_is_deterministic():
  first = spec_augment(KEY, FEATURES, **SPEC)
  np.testing.assert_array_equal(first, spec_augment(KEY, FEATURES, **SPEC))
  assert not np.array_equal(first, spec_augment(jax.random.key(1), FEATURES, **SPEC))


def test_spec_augment_widths_larger_than_the_axes():
  out = np.asarray(spec_augment(KEY, jnp.ones((64, 1, 3, 4)), num_freq_masks=1,
                                        freq_mask_width=50, num_time_masks=0, mask_value=0.0))
  assert out.shape == (64, 1, 3, 4) and (out == 0).all(axis=(1, 2, 3)).any()


def mix(rng, alpha=0.4, b=64, dtype=jnp.float32, mask=None):
  """Mixup of one-hot examples: row i of the result shows λ_i and the partner of example i."""
  x = jnp.eye(b, dtype=dtype)[:, None, :]  # (B, 1, B)
  targets = jnp.eye(b, dtype=dtype)
  return (x, targets, mask), mixup(rng, x, targets, alpha, mask=mask)


def test_mixup_is_convex_with_the_same_lambda_and_partner_for_targets():
  _, (x, targets, _) = mix(KEY)
  x = np.asarray(x)[:, 0]
  np.testing.assert_array_equal(x, targets)  # same λ, same partner
  assert (x >= 0).all() and (x <= 1).all()
  np.testing.assert_allclose(x.sum(axis=1), 1.0, rtol=1e-6)
  assert (np.count_nonzero(x, axis=1) <= 2).all()  # itself and one partner
  assert (np.diag(x) > 0).any() and (np.diag(x) < 1).any()
  partner = [next((j for j in np.flatnonzero(row) if j != i), i) for i, row in enumerate(x)]
  # partial labels: an entry observed in either clip stays supervised (same key: same partners)
  mask = np.random.default_rng(1).uniform(size=(64, 64)) < 0.3
  _, (_, _, new_mask) = mix(KEY, mask=jnp.asarray(mask))
  np.testing.assert_array_equal(new_mask, mask | mask[partner])


def test_mixup_is_deterministic():
  _, first = mix(KEY)
  _, again = mix(KEY)
  for u, v in zip(first, again):
    np.testing.assert_array_equal(u, v)
  assert not np.array_equal(first[0], mix(jax.random.key(1))[1][0])


def test_mixup_lambda_spread():
  (_, _, _), (x, _, _) = mix(KEY, alpha=1.0)  # λ ~ U(0, 1)
  lam = np.diag(np.asarray(x)[:, 0])
  moved = lam[lam < 1]  # examples paired with another one
  assert len(moved) > 50 and 0.35 < moved.mean() < 0.65
  assert np.quantile(moved, 0.1) < 0.25 and np.quantile(moved, 0.9) > 0.75


def test_mixup_of_bool_targets_is_not_rounded():
  _, (x, mixed, _) = mix(KEY, dtype=jnp.bool_)
  assert mixed.dtype == jnp.float32 and x.dtype == jnp.float32
  np.testing.assert_allclose(mixed, np.asarray(x)[:, 0])
  assert ((np.asarray(mixed) > 0) & (np.asarray(mixed) < 1)).any()
