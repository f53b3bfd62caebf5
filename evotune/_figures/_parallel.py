"""Parallel coordinates: every successful evaluation as a line through one
vertical axis per parameter and a last one for its score, coloured by score."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from evotune._figures._encode import Axis, encode
from evotune._figures._figure import _message, _score_label
from evotune._figures._run import Run, _fmt_cell

__all__ = ["plot_parallel"]

# where an inactive parameter's line passes: below its axis, on a row of its own
_INACTIVE_Y = -0.14


def plot_parallel(run: Run) -> Figure:
    """One line per successful evaluation, the best drawn last and in orange.

    Examples
    --------
    >>> from evotune.report import load_run
    >>> fig = plot_parallel(load_run(example_run))
    >>> fig.axes[0].get_title()
    'Parallel coordinates: 11 successful evaluations'
    """
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    enc = encode(run)
    k = len(enc.axes)
    fig = Figure(figsize=(max(8.5, 1.5 * (k + 1) + 1.5), 5.2), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(f"Parallel coordinates: {len(enc.rows)} successful evaluations")
    if not enc.rows or not k:
        ax.set_axis_off()
        _message(ax, "no successful evaluation to draw" if k else "the space names no parameter")
        return fig
    lo, hi = float(np.min(enc.scores)), float(np.max(enc.scores))
    span = hi - lo if hi > lo else 1.0
    score_y = (enc.scores - lo) / span if hi > lo else np.full(len(enc.scores), 0.5)
    ys = np.column_stack([np.nan_to_num(a.values, nan=_INACTIVE_Y) for a in enc.axes] + [score_y])
    xs = np.arange(k + 1, dtype=float)
    # better last, so the best lines are drawn over the rest
    order = np.argsort(enc.scores if run.direction == "maximize" else -enc.scores)
    norm = Normalize(lo, hi if hi > lo else lo + 1.0)
    cmap = "viridis" if run.direction == "maximize" else "viridis_r"
    lines = LineCollection(
        [np.column_stack([xs, ys[i]]) for i in order],
        array=enc.scores[order],
        cmap=cmap,
        norm=norm,
        linewidths=1.0,
        alpha=0.7,
    )
    ax.add_collection(lines)
    best = run.best
    for i, ev in enumerate(enc.rows):
        if ev is best:
            ax.plot(xs, ys[i], color="#D55E00", lw=2.6, label="best", zorder=5)
    _draw_axes(ax, enc.axes, lo, hi, any(np.isnan(a.values).any() for a in enc.axes))
    ax.set_xlim(-0.4, k + 0.4)
    ax.set_xticks(xs)
    ax.set_xticklabels([_label(a.name, a.scale) for a in enc.axes] + ["score"])
    bar = fig.colorbar(lines, ax=ax, shrink=0.85, aspect=30)
    bar.set_label(_score_label(run))
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.12), fontsize="small", frameon=False)
    return fig


def _draw_axes(ax: Axes, axes: list[Axis], lo: float, hi: float, inactive: bool) -> None:
    """The vertical axes with the labels of their scales (the score's last)."""
    k = len(axes)
    # on a light box, so a label stays readable over the lines that cross it
    box = {"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.8, "lw": 0}
    style: dict[str, Any] = {
        "fontsize": 7,
        "va": "center",
        "ha": "left",
        "color": "0.15",
        "bbox": box,
    }
    for x, axis in enumerate(axes):
        for y, text in axis.ticks:
            ax.text(x + 0.04, y, text, zorder=6, **style)
    ax.text(k + 0.04, 0.0, f"{lo:.4g}", zorder=6, **style)
    ax.text(k + 0.04, 1.0, f"{hi:.4g}", zorder=6, **style)
    for x in range(k + 1):
        ax.axvline(x, color="0.25", lw=1.0, zorder=0)
    bottom = _INACTIVE_Y - 0.06 if inactive else -0.05
    if inactive:
        ax.axhline(_INACTIVE_Y, color="0.8", lw=0.8, ls=":", zorder=0)
        ax.text(-0.35, _INACTIVE_Y, "inactive", fontsize=7, va="center", color="0.35")
    ax.set_ylim(bottom, 1.05)
    ax.set_yticks([])
    ax.tick_params(axis="x", length=0)
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)


def _label(name: str, scale: str) -> str:
    return f"{_fmt_cell(name, active=True, width=18)}\n({scale})"
