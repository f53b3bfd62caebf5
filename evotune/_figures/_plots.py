"""The progress, worker timeline and Pareto front figures (the score against each
parameter is ``_parameter_plot``'s), drawn from a :class:`Run`: the report's PNGs
(:func:`evotune.report.write_plots`) and ``Result.plot_*`` in a notebook."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from evotune._figures._figure import _message, _score_label
from evotune._figures._run import Run, _as_float, _as_int, _is_ok
from evotune._figures._timeline import worker_timeline

# Okabe-Ito colours: told apart by colour-blind readers and in greyscale print
STATUS_COLOURS = {
    "ok": "#0072B2",
    "failed": "#D55E00",
    "timeout": "#E69F00",
    "crashed": "#000000",
}
_OTHER_COLOUR = "#999999"


def _plot_progress(run: Run) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(8.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    gens = run.generations
    x = [_as_float(g.get("generation")) for g in gens]
    best = [_as_float(g.get("best")) for g in gens]
    mean = [_as_float(g.get("mean")) for g in gens]
    std = [_as_float(g.get("std")) for g in gens]
    std = [s if math.isfinite(s) else 0.0 for s in std]
    lo = [m - s for m, s in zip(mean, std)]
    hi = [m + s for m, s in zip(mean, std)]

    # every successful evaluation, faintly: the spread behind the summary lines
    # (and the only thing to show if no generation has finished yet)
    ok = [ev for ev in run.evaluations if _is_ok(ev) and _as_int(ev.get("generation")) is not None]
    ok_x = [float(_as_int(ev.get("generation")) or 0) for ev in ok]
    if ok:
        ax.scatter(
            ok_x,
            [_as_float(ev.get("mean_score")) for ev in ok],
            s=12,
            color="0.65",
            alpha=0.6,
            linewidths=0,
            label="one evaluation",
            zorder=1,
        )
    has_mean = any(math.isfinite(m) for m in mean)
    if has_mean and len(gens) == 1:
        # a band over one x is an invisible sliver: draw the spread as an error bar
        ax.errorbar(
            x,
            mean,
            yerr=std,
            color="#0072B2",
            marker="o",
            ms=5,
            capsize=8,
            lw=1.5,
            label="population mean ± std",
        )
    elif has_mean:
        ax.fill_between(x, lo, hi, color="#56B4E9", alpha=0.3, label="population mean ± std")
        ax.plot(x, mean, color="#0072B2", marker="o", ms=4, label="population mean")
    if any(math.isfinite(b) for b in best):
        ax.plot(x, best, color="#D55E00", marker="o", ms=6, lw=2, label="best so far")
    if not gens and not ok:
        _message(ax, "no generation has finished yet")
    elif not ok:
        _message(ax, "no successful evaluation: nothing to plot")
    n_gen = len(gens)
    failed = run.n_failed
    ax.set_title(
        f"Progress: {n_gen} generation{'s' if n_gen != 1 else ''}, "
        f"{len(run.evaluations)} evaluations ({failed} failed)"
    )
    ax.set_xlabel("generation (0 = initial population)")
    ax.set_ylabel(_score_label(run))
    all_x = [v for v in x if math.isfinite(v)] + ok_x
    distinct = sorted(set(all_x))
    if 0 < len(distinct) <= 12:
        ax.set_xticks(distinct)  # few generations: a tick on each, no fractions
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if all_x and max(all_x) == min(all_x):
        ax.set_xlim(min(all_x) - 0.5, max(all_x) + 0.5)  # one generation: not a 0-wide axis
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small")
    return fig


def _plot_timeline(run: Run) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    tl = worker_timeline(run)
    n_lanes = max(1, len(tl.lanes))
    height = min(2.2 + 0.42 * n_lanes, 14.0)
    fig = Figure(figsize=(10.0, height), layout="constrained")
    ax = fig.add_subplot()
    row_of = {w: i for i, w in enumerate(tl.lanes)}
    counts = Counter(b[3] for b in tl.bars)
    statuses = list(STATUS_COLOURS) + sorted(s for s in counts if s not in STATUS_COLOURS)
    for status in statuses:
        colour = STATUS_COLOURS.get(status, _OTHER_COLOUR)
        for worker in tl.lanes:
            spans = [(s, f - s) for w, s, f, st in tl.bars if w == worker and st == status]
            if spans:
                # an edge in the bar's own colour keeps very short tasks visible
                ax.broken_barh(
                    spans,
                    (row_of[worker] - 0.38, 0.76),
                    facecolors=colour,
                    edgecolors=colour,
                    linewidth=0.5,
                )
    for x in tl.resumes:
        ax.axvline(x, color="0.3", ls="--", lw=1)
    ax.set_yticks(range(len(tl.lanes)))
    ax.set_yticklabels([f"worker {w}" for w in tl.lanes])
    ax.set_ylim(n_lanes - 0.5, -0.5)  # worker 0 on top
    if tl.span > 0:
        ax.set_xlim(0, tl.span * 1.01)
    label = "seconds since start"
    if tl.resumes:
        label += " (pauses between sessions cut out; dashed line = resumed)"
    ax.set_xlabel(label)
    ax.set_ylabel("worker lane")
    ax.grid(True, axis="x", alpha=0.3)
    if tl.bars:
        frac = tl.busy_fraction
        lanes = f"{len(tl.lanes)} worker{'s' if len(tl.lanes) != 1 else ''}"
        fig.suptitle(f"Worker timeline: {len(tl.bars)} tasks on {lanes}, pool {frac:.0%} busy")
        ax.set_title(
            f"{tl.busy:.3g} s of work in {len(tl.lanes)} × {tl.span:.3g} s since start; "
            f"{tl.work_fraction:.0%} busy from the first task to the last",
            fontsize="medium",
            color="0.25",
        )
        handles = [
            Patch(color=STATUS_COLOURS.get(s, _OTHER_COLOUR), label=f"{s} ({counts.get(s, 0)})")
            for s in statuses
        ]
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=len(handles),
            fontsize="small",
            frameon=False,
            title="task status (count)",
            title_fontsize="small",
        )
    else:
        ax.set_title("Worker timeline: no timed tasks in the journal")
        _message(ax, "no fold record with start and end times")
    if tl.skipped:
        fig.text(
            0.99,
            0.01,
            f"{tl.skipped} task(s) without times not shown",
            ha="right",
            fontsize="small",
            color="0.35",
        )
    return fig


def objectives_of(run: Run) -> dict[str, str]:
    settings = run.meta.get("settings")
    objectives = settings.get("objectives") if isinstance(settings, Mapping) else None
    return dict(objectives) if isinstance(objectives, Mapping) else {}


def _plot_front(run: Run) -> Figure:
    """Every evaluation in the plane of the primary objective and each other
    one; the non-dominated ones (over all objectives) joined as the front."""
    import numpy as np
    from matplotlib.figure import Figure

    from evotune._pareto import objective_value

    objectives = objectives_of(run)
    names = list(objectives)
    sign = np.array([1.0 if objectives[n] == "maximize" else -1.0 for n in names])
    values = np.array([[objective_value(n, ev) for n in names] for ev in run.evaluations])
    ok = np.all(np.isfinite(values), axis=1) if len(values) else np.zeros(0, dtype=bool)
    pts = values[ok] * sign if ok.any() else np.empty((0, len(names)))
    on_front = np.array(
        [not np.any(np.all(pts >= p, axis=1) & np.any(pts > p, axis=1)) for p in pts], dtype=bool
    )
    pairs = [(0, k) for k in range(1, len(names))]
    fig = Figure(figsize=(6.0 * len(pairs), 4.6))
    for i, (a, b) in enumerate(pairs):
        ax = fig.add_subplot(1, len(pairs), i + 1)
        if not ok.any():
            _message(ax, "no evaluation with every objective")
            continue
        shown = values[ok]
        ax.scatter(shown[:, b], shown[:, a], s=14, color="0.7", label="evaluations")
        front = shown[on_front]
        order = np.argsort(front[:, b])
        ax.plot(
            front[order, b],
            front[order, a],
            "o-",
            color="tab:red",
            markersize=5,
            drawstyle="steps-post",
            label=f"Pareto front ({int(on_front.sum())})",
        )
        ax.set_xlabel(f"{names[b]} ({objectives[names[b]]})")
        ax.set_ylabel(f"{names[a]} ({objectives[names[a]]})")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    fig.suptitle(f"trade-offs of {int(ok.sum())} evaluations")
    return fig
