"""The seed's multitrack lead heatmap (seed 000): per-track activity over time, with the true and
the predicted lead track marked on each row."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def activity(audio: np.ndarray, sample_rate: int, rate: float) -> np.ndarray:
  """(C, T) audio → (C, floor(T·rate/sample_rate)) RMS level in dB, mapped from [−60, 0] to [0, 1].
  """
  win = max(round(sample_rate / rate), 1)
  n = audio.shape[-1] // win
  frames = np.asarray(audio[:, :n * win], np.float32).reshape(audio.shape[0], n, win)
  db = 10 * np.log10(np.mean(frames ** 2, axis=-1) + 1e-10)
  return np.clip((db + 60.0) / 60.0, 0.0, 1.0).astype(np.float32)


def heatmap_figure(levels: np.ndarray, rate: float, track_names: Sequence[str],
                   true_class: np.ndarray | None, pred_class: np.ndarray, pred_rate: float,
                   title: str = "") -> Figure:
  """Rows = tracks (the mix first); colour = `levels` (C, L) at `rate` Hz; per-frame class
  arrays at `pred_rate` Hz (0 = no lead, 1 + k = row k) drawn as markers: true lead as a
  green band, predicted lead as a red line. Raises ValueError on mismatched row counts."""
  c = levels.shape[0]
  if len(track_names) != c:
    raise ValueError(f"{c} activity rows but {len(track_names)} track names")
  duration = levels.shape[1] / rate if levels.shape[1] else len(pred_class) / pred_rate
  fig = Figure(figsize=(min(4 + duration / 4, 20), 1 + 0.35 * c), dpi=100, layout="constrained")
  FigureCanvasAgg(fig)
  ax = fig.add_subplot()
  ax.imshow(levels, aspect="auto", cmap="Greys", vmin=0, vmax=1, origin="upper",
            extent=(0, levels.shape[1] / rate, c - 0.5, -0.5), interpolation="nearest")
  times = np.arange(len(pred_class)) / pred_rate
  for cls, colour, width, label in ((true_class, "tab:green", 6, "label"),
                                    (pred_class, "tab:red", 2, "prediction")):
    if cls is None:
      continue
    row = np.where(np.asarray(cls) > 0, np.asarray(cls, np.float64) - 1, np.nan)
    ax.plot(times[:len(row)], row, color=colour, lw=width, alpha=0.7, label=label,
            solid_capstyle="butt")
  ax.set_yticks(range(c), labels=list(track_names))
  ax.set_xlabel("time (s)")
  ax.legend(loc="upper right", fontsize=7)
  if title:
    ax.set_title(title)
  return fig
