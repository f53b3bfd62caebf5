"""Parameter importance among evaluated candidates: a random forest fitted to
the scores of the successful evaluations, and its bar chart (in the report,
not in :mod:`evotune._figures`: the core never imports scikit-learn).

An evolution samples near its optimum, so these numbers rank the parameters
among the candidates it evaluated, not over the whole space; the figure says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from evotune._figures._encode import encode
from evotune._figures._figure import _message
from evotune._figures._run import Run

__all__ = ["LABEL", "MIN_EVALUATIONS", "parameter_importance", "plot_importance"]

#: the name the figure and the HTML report give these numbers, word for word
LABEL = "importance among evaluated candidates"

#: fewer successful evaluations than this and no forest is fitted
MIN_EVALUATIONS = 5


def parameter_importance(run: Run) -> dict[str, float] | None:
    """How much each parameter explains the score, among the evaluated candidates.

    A :class:`~sklearn.ensemble.RandomForestRegressor` (fixed seed) is fitted
    to the successful evaluations, parameters encoded in [0, 1] (see
    :func:`evotune._figures._encode.encode`; an inactive one is a value of its
    own); its impurity-based importances, which sum to 1, are returned.

    Parameters
    ----------
    run : Run

    Returns
    -------
    dict or None
        Parameter name -> importance, largest first; None when there are fewer
        than ``MIN_EVALUATIONS`` successful evaluations, no parameter, or every
        score is the same (nothing to explain).

    Examples
    --------
    >>> from evotune.report import load_run
    >>> imp = parameter_importance(load_run(example_run))
    >>> sorted(imp), round(sum(imp.values()), 6)
    (['C', 'kernel'], 1.0)
    """
    from sklearn.ensemble import RandomForestRegressor

    enc = encode(run)
    if len(enc.rows) < MIN_EVALUATIONS or not enc.axes or np.ptp(enc.scores) == 0:
        return None
    forest = RandomForestRegressor(
        n_estimators=200, min_samples_leaf=2, random_state=0, n_jobs=1
    ).fit(enc.matrix(), enc.scores)
    values = forest.feature_importances_
    if not np.isfinite(values).all() or values.sum() <= 0:
        return None  # every column constant: the trees never split
    pairs = sorted(zip((a.name for a in enc.axes), values), key=lambda p: -p[1])
    return {name: float(v) for name, v in pairs}


def plot_importance(run: Run) -> Figure:
    """A horizontal bar per parameter, the most important on top."""
    from matplotlib.figure import Figure

    importance = parameter_importance(run)
    n = len(importance) if importance else 1
    fig = Figure(figsize=(8.5, 1.9 + 0.42 * n), layout="constrained")
    ax = fig.add_subplot()
    n_ok = len(encode(run).rows)
    ax.set_title(f"Parameter {LABEL} ({n_ok} successful evaluations)")
    if not importance:
        ax.set_axis_off()
        _message(
            ax,
            f"not enough to go on: {n_ok} successful evaluations "
            f"(at least {MIN_EVALUATIONS}, with different scores, are needed)",
        )
        return fig
    names = list(importance)
    values = [importance[name] for name in names]
    bars = ax.barh(range(n), values, color="#0072B2", height=0.6)
    ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], padding=3, fontsize="small")
    ax.set_yticks(range(n))
    ax.set_yticklabels([_short(name) for name in names])
    ax.set_ylim(n - 0.5, -0.5)  # the most important on top
    ax.set_xlim(0, max(values) * 1.15)
    ax.set_xlabel(f"{LABEL} (random forest on the scores; sums to 1)")
    ax.grid(True, axis="x", alpha=0.3)
    fig.supxlabel(  # (constrained layout leaves room for it, under the axis label)
        "The evolution sampled near its optimum: this ranks the parameters among the "
        "candidates it evaluated, not over the whole space.",
        fontsize="small",
        color="0.35",
    )
    return fig


def _short(name: str, width: int = 28) -> str:
    from evotune._figures._run import _fmt_cell

    return _fmt_cell(name, active=True, width=width)
