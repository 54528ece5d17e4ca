"""Figures of piano transcription: a piano roll (target vs prediction) and the threshold curve."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def roll_figure(stat: dict, frame_s: float) -> Figure:
  """Two stacked rolls (keys × seconds) of one piece's excerpt: the reference onsets and the
  predicted onset probabilities, from `Transcription.example_stats`."""
  excerpt = stat["excerpt"]
  fig = Figure(figsize=(10, 6), layout="constrained")
  axes = fig.subplots(2, 1, sharex=True)
  extent = (0, len(excerpt["target"]) * frame_s, 20.5, 108.5)  # MIDI 21..108
  for ax, key, title in ((axes[0], "target", "reference onsets"),
                         (axes[1], "prediction", "predicted onset probability")):
    ax.imshow(np.asarray(excerpt[key], np.float32).T, origin="lower", aspect="auto",
              extent=extent, vmin=0, vmax=1, cmap="magma", interpolation="nearest")
    ax.set_ylabel("MIDI key")
    ax.set_title(f"{stat.get('name', '')}: {title}")
  axes[1].set_xlabel("time (s)")
  return fig


def threshold_figure(thresholds: np.ndarray, curves: np.ndarray,
                     chosen: float | None = None) -> Figure:
  """Mean per-piece onset and onset+velocity F1 against the threshold; `curves` (thresholds, 6)
  in `metrics.transcription.SCORE_NAMES` order."""
  fig = Figure(figsize=(6, 4), layout="constrained")
  ax = fig.subplots()
  ax.plot(thresholds, curves[:, 2], marker="o", label="onset F1")
  ax.plot(thresholds, curves[:, 5], marker="s", label="onset+velocity F1")
  if chosen is not None:
    ax.axvline(chosen, color="gray", linestyle="--", label=f"chosen {chosen:.3f}")
  ax.set_xlabel("threshold (blurred probability)")
  ax.set_ylabel("mean per-piece F1")
  ax.legend()
  return fig
