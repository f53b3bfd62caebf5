"""The report's ``parameters.png``: the score against each parameter, one panel each."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from evotune._figures._figure import _message, _score_label
from evotune._figures._run import (
    Run,
    _as_float,
    _as_int,
    _category_index,
    _display,
    _fmt_cell,
    _is_ok,
    _params,
)


def _choice_label(choice: Any, width: int = 18) -> str:
    return _fmt_cell(_display(choice), active=True, width=width)


# a panel's points: x, score and generation of each, and where the best one is
_Points = tuple[list[float], list[float], list[int], tuple[float, float] | None]


def _plot_parameters(run: Run) -> Figure:
    import numpy as np
    from matplotlib.figure import Figure

    names = run.param_names
    n = max(1, len(names))
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(4.4 * ncols + 0.9, 3.5 * nrows + 0.7), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    flat = [ax for row in axes for ax in row]
    for ax in flat[len(names) :]:
        ax.set_visible(False)

    ok = [ev for ev in run.evaluations if _is_ok(ev)]
    best = run.best
    gens = [_as_int(ev.get("generation")) or 0 for ev in ok]
    vmax = max(gens, default=0)
    rng = np.random.default_rng(0)  # fixed jitter: the same run draws the same plot
    colour_map = None
    score_label = _score_label(run)
    for i, (ax, name) in enumerate(zip(flat, names)):
        drawn = _draw_parameter(ax, run, name, ok, gens, best, vmax, rng)
        colour_map = drawn if drawn is not None else colour_map
        if i % ncols == 0:
            ax.set_ylabel(score_label)
    _finish_parameters(fig, flat, names, run, ok, colour_map, vmax)
    return fig


def _draw_parameter(
    ax: Axes,
    run: Run,
    name: str,
    ok: list[dict[str, Any]],
    gens: list[int],
    best: dict[str, Any] | None,
    vmax: int,
    rng: Any,
) -> Any:
    """One panel: the score of each successful evaluation against ``name``,
    the best one starred; the scatter (for the colour bar), or None."""
    spec = run.space.get(name)
    spec = spec if isinstance(spec, Mapping) else {}
    n_failed = sum(1 for ev in run.evaluations if not _is_ok(ev) and name in _params(ev))
    n_inactive = sum(1 for ev in run.evaluations if name not in _params(ev))
    if spec.get("type") == "categorical":
        xs, ys, cs, best_xy = _categorical_points(ax, name, spec, ok, gens, best, rng)
    else:
        xs, ys, cs, best_xy = _numeric_points(ax, name, spec, ok, gens, best, rng)
    colour_map = None
    if xs:
        colour_map = ax.scatter(
            xs,
            ys,
            c=cs,
            cmap="viridis",
            vmin=0,
            vmax=max(vmax, 1),
            s=22,
            alpha=0.85,
            edgecolors="none",
        )
    else:
        _message(ax, "no successful evaluation\nwith this parameter active")
    if best_xy is not None:
        ax.scatter(
            [best_xy[0]],
            [best_xy[1]],
            marker="*",
            s=220,
            color="#D55E00",
            edgecolors="black",
            linewidths=0.6,
            zorder=5,
            label="best",
        )
    notes = [f"{len(xs)} shown"]
    if n_failed:
        notes.append(f"{n_failed} failed (not shown)")
    if n_inactive:
        notes.append(f"{n_inactive} inactive")
    ax.set_title(f"{name}: " + ", ".join(notes), fontsize="medium")
    ax.grid(True, alpha=0.3)
    return colour_map


def _categorical_points(
    ax: Axes,
    name: str,
    spec: Mapping[str, Any],
    ok: list[dict[str, Any]],
    gens: list[int],
    best: dict[str, Any] | None,
    rng: Any,
) -> _Points:
    """The points of a categorical parameter, one column per choice (spread a
    little), and its axis: a tick per choice."""
    xs: list[float] = []
    ys: list[float] = []
    cs: list[int] = []
    best_xy: tuple[float, float] | None = None
    choices = list(spec.get("choices") or [])
    for ev, g in zip(ok, gens):
        index = _category_index(ev, name, choices)
        if index is None:
            continue
        x = index + float(rng.uniform(-0.22, 0.22))
        xs.append(x)
        ys.append(_as_float(ev.get("mean_score")))
        cs.append(g)
        if ev is best:
            best_xy = (float(index), ys[-1])
    labels = [_choice_label(c) for c in choices]
    ax.set_xticks(range(len(choices)))
    long = sum(len(t) for t in labels) > 28 or any(len(t) > 8 for t in labels)
    ax.set_xticklabels(
        labels,
        rotation=25 if long else 0,
        ha="right" if long else "center",
        rotation_mode="anchor",  # a slanted label ends at its own tick
    )
    ax.set_xlim(-0.5, max(len(choices), 1) - 0.5)
    ax.set_xlabel(f"{name} (choice)")
    return xs, ys, cs, best_xy


def _numeric_points(
    ax: Axes,
    name: str,
    spec: Mapping[str, Any],
    ok: list[dict[str, Any]],
    gens: list[int],
    best: dict[str, Any] | None,
    rng: Any,
) -> _Points:
    """The points of an integer or real parameter, and its axis: the whole
    range, on a log scale for ``log=True``."""
    from matplotlib.ticker import MaxNLocator

    xs: list[float] = []
    ys: list[float] = []
    cs: list[int] = []
    best_xy: tuple[float, float] | None = None
    kind = spec.get("type")
    log = bool(spec.get("log", False))
    low, high = _as_float(spec.get("low")), _as_float(spec.get("high"))
    # a few integers: many points share an x, so spread them a little
    jitter = 0.12 if kind == "int" and not log and high - low <= 30 else 0.0
    for ev, g in zip(ok, gens):
        value = _params(ev).get(name)
        x = _as_float(value)
        if not math.isfinite(x) or (log and x <= 0):
            continue
        if ev is best:
            best_xy = (x, _as_float(ev.get("mean_score")))
        if jitter:
            x += float(rng.uniform(-jitter, jitter))
        xs.append(x)
        ys.append(_as_float(ev.get("mean_score")))
        cs.append(g)
    if log and (low > 0 or xs):
        ax.set_xscale("log")
    if math.isfinite(low) and math.isfinite(high) and high > low:
        # the whole range, so a reader sees where in it the search went
        if log and low > 0:
            pad = (high / low) ** 0.04
            ax.set_xlim(low / pad, high * pad)
        else:
            pad = 0.04 * (high - low)
            if kind == "int":
                pad = max(pad, 0.4)  # room for the jitter at the ends
            ax.set_xlim(low - pad, high + pad)
    if kind == "int":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    bounds = f"{low:g} to {high:g}" if math.isfinite(low) and math.isfinite(high) else ""
    scale = "log scale" if log else "linear"
    ax.set_xlabel(f"{name} ({bounds}, {scale})" if bounds else f"{name} ({scale})")
    return xs, ys, cs, best_xy


def _finish_parameters(
    fig: Figure,
    flat: list[Axes],
    names: list[str],
    run: Run,
    ok: list[dict[str, Any]],
    colour_map: Any,
    vmax: int,
) -> None:
    """The figure's colour bar of generations, its legend and its title."""
    from matplotlib.ticker import MaxNLocator

    if not names:
        _message(flat[0], "the space in meta.json names no parameter")
    if colour_map is not None and vmax > 0:
        bar = fig.colorbar(
            colour_map, ax=[a for a in flat if a.get_visible()], shrink=0.8, aspect=30
        )
        bar.set_label("generation")
        bar.locator = MaxNLocator(integer=True)  # generations are whole numbers
        bar.update_ticks()
    for ax in flat:
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            # outside the axes: inside, it may hide the very star it explains
            fig.legend(handles, labels, loc="outside lower center", fontsize="small")
            break
    fig.suptitle(
        f"Score against each parameter ({len(ok)} successful of {len(run.evaluations)} evaluations)"
    )
