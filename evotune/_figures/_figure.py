"""What the report's figures share: the score axis's label, a note on an empty panel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

from evotune._figures._run import Run


def _score_label(run: Run) -> str:
    """'score (accuracy; higher is better)': the metric if the meta names it."""
    fp = run.meta.get("fingerprint")
    fp = fp if isinstance(fp, Mapping) else {}
    metric = fp.get("metric")
    name = None
    if isinstance(metric, str) and metric and metric != "score":
        name = metric
    else:
        scoring = fp.get("scoring")  # a repr: "'accuracy'" for a named scorer
        if isinstance(scoring, str) and len(scoring) > 2 and scoring[0] == scoring[-1] == "'":
            name = scoring[1:-1]
    better = "higher" if run.direction == "maximize" else "lower"
    return f"mean score ({name + '; ' if name else ''}{better} is better)"


def _message(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.35")
