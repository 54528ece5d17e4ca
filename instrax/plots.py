"""Evaluation figures: per-class P/R/F1 bars, confusion matrices and PR curves, as PNG files or
(H, W, 3) uint8 arrays.

Figures are built on matplotlib's Agg canvas directly (no pyplot, no display, no global state).
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from instrax.metrics import classification


def _figure(width: float, height: float) -> Figure:
  fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
  FigureCanvasAgg(fig)
  return fig


def confusion_figure(matrix: np.ndarray, row_names: Sequence[str], col_names: Sequence[str],
                     title: str = "", shade: np.ndarray | None = None,
                     cmap: str = "Blues", zeros: bool = True) -> Figure:
  """Count matrix with each cell's count written in it (`zeros=False`: blank for 0); colour =
  `shade` in [0, 1] (default: count / row maximum, which works for single-label and multi-label
  rows, whose sums exceed the class's example count)."""
  m = np.asarray(matrix)
  if m.shape != (len(row_names), len(col_names)):
    raise ValueError(f"matrix {m.shape} does not match {len(row_names)} x {len(col_names)} names")
  if shade is None:
    rows = m.max(axis=1, keepdims=True).astype(np.float64)
    shade = np.divide(m, rows, out=np.zeros(m.shape), where=rows > 0)
  frac = np.asarray(shade, np.float64)
  fig = _figure(max(4.0, 0.55 * len(col_names) + 2.0), max(3.5, 0.45 * len(row_names) + 1.5))
  ax = fig.add_subplot()
  ax.imshow(frac, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
  ax.set_xticks(range(len(col_names)), labels=list(col_names), rotation=60, ha="right")
  ax.set_yticks(range(len(row_names)), labels=list(row_names))
  ax.set_xlabel("predicted")
  ax.set_ylabel("true")
  if title:
    ax.set_title(title)
  fontsize = 8 if max(m.shape) <= 12 else 6
  for (i, j), v in np.ndenumerate(m):
    if not zeros and v == 0:
      continue
    text = f"{v:g}" if np.issubdtype(m.dtype, np.floating) else str(v)
    ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
            color="white" if frac[i, j] > 0.5 else "black")
  return fig


def _observed_classes(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str],
                      mask: np.ndarray | None):
  """With `mask`, only the classes observed in ≥ 1 example (as the tagging metrics): (y_true,
  y_pred, names, mask) restricted to them; unchanged without a mask."""
  t, p = np.asarray(y_true), np.asarray(y_pred)
  if t.ndim != 2 or t.shape[1] != len(class_names):
    raise ValueError(f"{t.shape[-1]} classes in the labels but {len(class_names)} names")
  if mask is None:
    return t, p, list(class_names), None
  m = np.asarray(mask, bool)
  if m.shape != t.shape:
    raise ValueError(f"mask shape {m.shape} != labels shape {t.shape}")
  cols = np.flatnonzero(m.any(0))
  return t[:, cols], p[:, cols], [class_names[c] for c in cols], m[:, cols]


def prf_bars_figure(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str],
                    mask: np.ndarray | None = None, title: str = "") -> Figure:
  """Per-class precision, recall and F1 as horizontal bars, one group per class, its support
  (observed positives) beside its name; micro and macro F1 in the title.

  y_true, y_pred: bool or 0/1 (N, C); `mask` (N, C): only observed entries count (partial labels)
  and classes observed nowhere are left out, so macro F1 averages the annotated classes, as the
  tagging metrics do. Values from `classification.multilabel_prf` (zero-division = 0, as
  scikit-learn).
  """
  y_true, y_pred, class_names, mask = _observed_classes(y_true, y_pred, class_names, mask)
  prf = classification.multilabel_prf(y_true, y_pred, mask)
  c = len(class_names)
  fig = _figure(7.0, max(3.0, 0.42 * c + 1.3))
  ax = fig.add_subplot()
  rows = np.arange(c)
  for k, (key, label, colour) in enumerate((("precision", "precision", "tab:blue"),
                                            ("recall", "recall", "tab:orange"),
                                            ("f1", "F1", "tab:green"))):
    ax.barh(rows + (k - 1) * 0.27, prf[key], height=0.27, color=colour, label=label)
  ax.set_yticks(rows, labels=[f"{n} (n={int(s)})" for n, s in zip(class_names, prf["support"])])
  ax.invert_yaxis()  # first class on top
  ax.set(xlim=(0.0, 1.0), xlabel="score")
  ax.grid(axis="x", alpha=0.3)
  ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
  heading = f"micro F1 {prf['micro_f1']:.3f}, macro F1 {prf['macro_f1']:.3f}"
  ax.set_title(f"{title}\n{heading}" if title else heading, pad=22)
  return fig


def error_confusion(y_true: np.ndarray, y_pred: np.ndarray,
                    mask: np.ndarray | None = None) -> np.ndarray:
  """Co-occurrence-aware multi-label confusion counts, (C + 1, C + 1) int64, rows = true classes
  then "none" (no true class), columns = predicted classes then "none" (nothing predicted).

  After the Multi-Label Confusion Matrix (Heydarian, Doyle & Samavi, IEEE Access 2022), per
  example with true set T and predicted set P (observed entries only, with `mask`):
    - each correctly predicted class i (in T and P) adds 1 to [i, i];
    - each missed class i (in T, not P) adds 1 to [i, j] for every wrongly predicted class j (in P,
      not T) — i was taken for j — or to [i, none] when nothing was wrongly predicted;
    - when nothing was missed, each wrongly predicted class j adds 1 to [i, j] for every true
      class i (j was heard on top of i), or to [none, j] when T is empty;
    - T and P both empty adds 1 to [none, none].
  So a correct co-instrument is only ever on the diagonal, never an off-diagonal "confusion" (as
  it is in `classification.multilabel_confusion`). Unlike the paper's reference code, each
  missed class pairs with every wrong prediction, independent of class order; both agree when
  every example has at most one true class.
  """
  t = classification.binary_labels(y_true, "y_true")
  p = classification.binary_labels(y_pred, "y_pred")
  if p.shape != t.shape:
    raise ValueError(f"y_pred shape {p.shape} != y_true shape {t.shape}")
  if mask is not None:
    m = np.asarray(mask, bool)
    if m.shape != t.shape:
      raise ValueError(f"mask shape {m.shape} != labels shape {t.shape}")
    t, p = t & m, p & m
  c = t.shape[1]
  counts = np.zeros((c + 1, c + 1), np.int64)
  hit, missed, wrong = t & p, t & ~p, ~t & p
  counts[np.arange(c), np.arange(c)] = hit.sum(0)
  for n in range(t.shape[0]):
    fn, fp, true = np.flatnonzero(missed[n]), np.flatnonzero(wrong[n]), np.flatnonzero(t[n])
    if fn.size:
      if fp.size:
        counts[np.ix_(fn, fp)] += 1
      else:
        counts[fn, c] += 1
    elif fp.size:
      counts[np.ix_(true, fp) if true.size else ([c], fp)] += 1
    elif not true.size and not p[n].any():
      counts[c, c] += 1
  return counts


def error_confusion_figure(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str],
                           mask: np.ndarray | None = None,
                           title: str = "true → predicted (diagonal correct, shaded errors)"
                           ) -> Figure:
  """`error_confusion` drawn as a matrix: diagonal = correct (counts, unshaded), off-diagonal =
  errors only, shaded by count / the largest error count so that the worst confusions stand out;
  zero cells blank. The "none" row is drawn only when some example has no true class; with
  `mask`, classes observed nowhere are left out."""
  y_true, y_pred, names, mask = _observed_classes(y_true, y_pred, class_names, mask)
  counts = error_confusion(y_true, y_pred, mask)
  errors = counts.astype(np.float64)
  np.fill_diagonal(errors[:-1, :-1], 0.0)
  errors[-1, -1] = 0.0  # "none" → "none" is correct too
  shade = errors / max(errors.max(), 1.0)
  rows = [*names, "none"] if counts[-1].any() else names
  return confusion_figure(counts[:len(rows)], rows, [*names, "none"], title,
                          shade=shade[:len(rows)], cmap="Reds", zeros=False)


def pr_curves_figure(curves: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                     names: Sequence[str], ap: Sequence[float] | None = None,
                     title: str = "precision-recall") -> Figure:
  """One precision-recall line per class from `ranking.precision_recall_curve` output; the legend
  shows each class's AP when `ap` is given."""
  if len(curves) != len(names):
    raise ValueError(f"{len(curves)} curves but {len(names)} names")
  fig = _figure(7.0, 5.0)
  ax = fig.add_subplot()
  for k, ((precision, recall, _), name) in enumerate(zip(curves, names)):
    label = name if ap is None else f"{name} (AP {ap[k]:.3f})"
    ax.plot(recall, precision, drawstyle="steps-post", label=label, linewidth=1.2)
  ax.set(xlim=(0.0, 1.0), ylim=(0.0, 1.02), xlabel="recall", ylabel="precision", title=title)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7, ncol=2 if len(names) > 10 else 1, loc="lower left")
  return fig


def figure_to_array(fig: Figure) -> np.ndarray:
  """Renders `fig` to an RGB uint8 (H, W, 3) array (e.g. for TensorBoard images)."""
  canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
  canvas.draw()
  return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_figure(fig: Figure, path: str | pathlib.Path) -> pathlib.Path:
  """Writes `fig` as PNG (parents created) and returns the path."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(path, format="png", dpi=100)
  return path
