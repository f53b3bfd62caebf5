"""The reported learning curves (``evotune.report_step``): one line per
evaluation, the mean over its folds at each step, complete trainings in
colour and those stopped early (pruned, or a lower rung of Hyperband) in grey."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from evotune._figures._figure import _message
from evotune._figures._run import Run

__all__ = ["curves_of", "has_reports", "plot_intermediate"]


def curves_of(run: Run) -> list[tuple[str, list[tuple[int, float]]]]:
    """(status, [(step, mean over the folds that reached it)]) per evaluation."""
    by_key: dict[str, dict[int, list[tuple[int, float]]]] = {}
    for record in run.folds:
        result = record.get("result")
        reports = result.get("reports") if isinstance(result, Mapping) else None
        if reports:
            points = [(int(s), float(v)) for s, v in reports]
            by_key.setdefault(repr(record.get("key")), {})[int(record.get("fold", 0))] = points
    out = []
    for ev in run.evaluations:
        folds = by_key.get(repr(ev.get("key")))
        if not folds:
            continue
        values: dict[int, list[float]] = {}
        for points in folds.values():
            for step, value in points:
                values.setdefault(step, []).append(value)
        curve = [(s, sum(v) / len(v)) for s, v in sorted(values.items())]
        out.append((str(ev.get("status", "ok")), curve))
    return out


def has_reports(run: Run) -> bool:
    """Whether any fold of the run reported a step."""
    return any(
        isinstance(r.get("result"), Mapping) and r["result"].get("reports") for r in run.folds
    )


def plot_intermediate(run: Run) -> Figure:
    """Every evaluation's reported values against the step."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    curves = curves_of(run)
    if not curves:
        _message(ax, "no evaluation reported a step (evotune.report_step)")
        return fig
    styles: dict[str, dict[str, Any]] = {
        "stopped": {"color": "0.45", "lw": 0.8, "alpha": 0.7},
        "ok": {"color": "tab:blue", "lw": 1.1, "alpha": 0.8},
    }
    labelled: set[str] = set()
    # stopped curves first, so the complete trainings are drawn over them
    for kind in ("stopped", "ok"):
        for status, curve in curves:
            if ("ok" if status == "ok" else "stopped") != kind or not curve:
                continue
            label = None
            if kind not in labelled:
                labelled.add(kind)
                label = "complete" if kind == "ok" else "stopped early (pruned, lower rung)"
            steps, values = zip(*curve)
            ax.plot(steps, values, label=label, **styles[kind])
    ax.set_xlabel("step (report_step)")
    ax.set_ylabel("reported value, mean over folds")
    ax.set_title(f"intermediate values of {len(curves)} evaluations")
    ax.legend(loc="best")
    return fig
