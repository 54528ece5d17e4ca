"""Figures render to (H, W, 3) uint8 arrays and non-empty PNG files."""

from __future__ import annotations

import numpy as np
import pytest

from instrax import plots
from instrax.metrics import ranking


def test_confusion_figure_to_array_and_png(tmp_path):
  matrix = np.array([[5, 1, 0, 2], [0, 3, 1, 0], [2, 0, 4, 1]])
  fig = plots.confusion_figure(matrix, ["cel", "cla", "flu"], ["cel", "cla", "flu", "missed"],
                               "true → predicted")
  img = plots.figure_to_array(fig)
  w, h = fig.get_size_inches() * fig.dpi
  assert img.dtype == np.uint8 and img.shape == (round(h), round(w), 3)
  assert img.min() < 100 and img.max() == 255  # something was drawn on a white background
  path = plots.save_figure(fig, tmp_path / "sub" / "confusion.png")
  data = path.read_bytes()
  assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_pr_curves_figure(tmp_path):
  rng = np.random.default_rng(0)
  y = rng.random((60, 3)) < 0.4
  s = 0.5 * y + rng.random((60, 3))
  curves = ranking.precision_recall_curve(y, s)
  ap = ranking.average_precision(y, s)
  fig = plots.pr_curves_figure(curves, ["a", "b", "c"], ap=ap)
  ax = fig.axes[0]
  assert len(ax.lines) == 3
  assert ax.get_legend().get_texts()[0].get_text() == f"a (AP {ap[0]:.3f})"
  img = plots.figure_to_array(fig)
  assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
  assert plots.save_figure(fig, tmp_path / "pr.png").stat().st_size > 1000


def test_confusion_figure_checks_names():
  with pytest.raises(ValueError, match="2 x 2"):
    plots.confusion_figure(np.zeros((2, 3)), ["a", "b"], ["a", "b"])


def _sets(rows: list[tuple[str, str]], classes: str = "abc") -> tuple[np.ndarray, np.ndarray]:
  """(true set, predicted set) strings per example → bool (N, C) arrays."""
  t = np.array([[k in tr for k in classes] for tr, _ in rows])
  p = np.array([[k in pr for k in classes] for _, pr in rows])
  return t, p


# true set, predicted set; hand-counted result below (rows a, b, c, none; columns a, b, c, none)
EXAMPLES = [("a", "a"), ("ab", "ab"), ("a", "b"), ("ab", "ac"), ("a", "ac"), ("b", ""),
            ("", "c"), ("", ""), ("ab", "c")]
EXPECTED = np.array([[4, 1, 2, 0],   # a: 4 hits; taken for b once; c on top of a, c instead of a
                     [0, 1, 2, 1],   # b: 1 hit; taken for c twice; missed with nothing else once
                     [0, 0, 0, 0],   # c: never true
                     [0, 0, 1, 1]])  # no true class: c predicted once, nothing predicted once


def test_error_confusion_counts_by_hand():
  t, p = _sets(EXAMPLES)
  np.testing.assert_array_equal(plots.error_confusion(t, p), EXPECTED)
  # A correct co-instrument is no confusion: ("ab", "ab") adds only to the diagonal.
  np.testing.assert_array_equal(plots.error_confusion(*_sets([("ab", "ab")])),
                                np.diag([1, 1, 0, 0]))


def test_error_confusion_mask_and_errors():
  t, p = _sets(EXAMPLES)
  mask = np.ones_like(t)
  mask[3, 2] = False  # ("ab", "ac") with c unobserved: b was missed with nothing wrong beside it
  expected = EXPECTED.copy()
  expected[1, 2] -= 1
  expected[1, 3] += 1
  np.testing.assert_array_equal(plots.error_confusion(t, p, mask), expected)
  with pytest.raises(ValueError, match="y_pred shape"):
    plots.error_confusion(t, p[:, :2])
  with pytest.raises(ValueError, match="mask shape"):
    plots.error_confusion(t, p, mask[:2])


def test_error_confusion_figure_draws_the_counts(tmp_path):
  t, p = _sets(EXAMPLES)
  fig = plots.error_confusion_figure(t, p, ["a", "b", "c"])
  ax = fig.axes[0]
  assert [x.get_text() for x in ax.get_yticklabels()] == ["a", "b", "c", "none"]
  assert [x.get_text() for x in ax.get_xticklabels()] == ["a", "b", "c", "none"]
  assert [int(x.get_text()) for x in ax.texts] == EXPECTED[EXPECTED > 0].tolist()  # 0s blank
  t1, p1 = _sets([("a", "ab"), ("b", "")])  # every example has a true class: no "none" row
  labels = [x.get_text() for x in plots.error_confusion_figure(t1, p1, "abc").axes[0]
            .get_yticklabels()]
  assert labels == ["a", "b", "c"]
  assert plots.save_figure(fig, tmp_path / "errors.png").stat().st_size > 1000
  mask = np.ones((len(EXAMPLES), 3), bool)
  mask[:, 1] = False  # b observed nowhere: left out
  masked = plots.error_confusion_figure(t, p, ["a", "b", "c"], mask).axes[0]
  assert [x.get_text() for x in masked.get_xticklabels()] == ["a", "c", "none"]


def test_prf_bars_figure_values_by_hand(tmp_path):
  y_true = np.array([[1, 0], [1, 1], [0, 1]], bool)
  y_pred = np.array([[1, 1], [0, 1], [0, 0]], bool)
  # class x: tp 1, fn 1, fp 0 → P 1, R 0.5, F1 2/3; class y: tp 1, fp 1, fn 1 → 0.5 each.
  fig = plots.prf_bars_figure(y_true, y_pred, ["x", "y"], title="test")
  ax = fig.axes[0]
  widths = [round(b.get_width(), 4) for b in ax.patches]
  assert widths == [1.0, 0.5, 0.5, 0.5, 0.6667, 0.5]  # P x, P y, R x, R y, F1 x, F1 y
  assert [x.get_text() for x in ax.get_yticklabels()] == ["x (n=2)", "y (n=2)"]
  # micro: tp 2, fp 1, fn 2 → F1 4/7; macro: (2/3 + 1/2) / 2
  assert ax.get_title() == "test\nmicro F1 0.571, macro F1 0.583"
  masked = plots.prf_bars_figure(y_true, y_pred, ["x", "y"],
                                 mask=np.array([[1, 0], [1, 1], [1, 1]], bool))
  assert [round(b.get_width(), 4) for b in masked.axes[0].patches][:2] == [1.0, 1.0]  # no FP of y
  only_x = plots.prf_bars_figure(y_true, y_pred, ["x", "y"],
                                 mask=np.array([[1, 0], [1, 0], [1, 0]], bool)).axes[0]
  assert [x.get_text() for x in only_x.get_yticklabels()] == ["x (n=2)"]  # y observed nowhere
  assert only_x.get_title() == "micro F1 0.667, macro F1 0.667"  # macro over observed classes
  with pytest.raises(ValueError, match="2 classes in the labels but 3 names"):
    plots.prf_bars_figure(y_true, y_pred, ["x", "y", "z"])
  assert plots.save_figure(fig, tmp_path / "prf.png").stat().st_size > 1000
