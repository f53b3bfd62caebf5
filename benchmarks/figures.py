"""Figures from raw runs: derived columns, medians per tool and case, curves.

"Reach": a run reaches a case's best when one of its evaluations scores at
least ``best - 0.005 * |best|``, ``best`` being the best mean CV score any tool
found on the case in this benchmark run. For a positive score (accuracy) that
is 99.5% of it; for a negative one (neg MSE) it is within 0.5% of it, i.e. an
MSE at most 100.5% of the best MSE.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "COLUMNS",
    "add_derived",
    "case_best",
    "format_table",
    "plot_curves",
    "reach_threshold",
    "summarise",
]

REACH = 0.005


def reach_threshold(best: float) -> float:
    """The score that counts as reaching ``best`` (see the module docstring)."""
    return best - REACH * abs(best)


def _ok(row: dict[str, Any]) -> bool:
    return not row.get("error") and math.isfinite(float(row.get("best_score", math.nan)))


def case_best(rows: Iterable[dict[str, Any]]) -> dict[str, float]:
    """The best score any tool found on each case (over all seeds and n_jobs)."""
    best: dict[str, float] = {}
    for r in rows:
        if _ok(r):
            best[r["case"]] = max(best.get(r["case"], -math.inf), float(r["best_score"]))
    return best


def add_derived(rows: list[dict[str, Any]]) -> None:
    """Add ``overhead_ms``, ``duplicates``, ``reach_at`` and ``t_reach`` to each row.

    ``overhead_ms`` = (wall - sum of fit and score time / workers) / evaluations
    requested; ``t_reach`` is the earliest completion time of an evaluation
    that reaches the case's best (``inf`` if none does).
    """
    best = case_best(rows)
    for r in rows:
        if not _ok(r):
            for key in ("overhead_ms", "duplicates", "reach_at", "t_reach"):
                r[key] = math.nan
            continue
        n = max(1, int(r["n_requested"]))
        r["overhead_ms"] = (r["wall"] - r["fit_score_time"] / max(1, r["workers"])) / n * 1e3
        r["duplicates"] = int(r["n_requested"]) - int(r["n_distinct"])
        threshold = reach_threshold(best[r["case"]])
        reached = [
            t
            for s, t in zip(r.get("scores", []), r.get("times", []))
            if math.isfinite(s) and s >= threshold
        ]
        r["reach_at"] = threshold
        r["t_reach"] = min(reached) if reached else math.inf


def _median(values: Sequence[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return statistics.median(vals) if vals else math.nan


COLUMNS = (
    ("case", "case"),
    ("tool", "tool"),
    ("best", "best score"),
    ("wall", "wall s"),
    ("t_reach", "s to 99.5%"),
    ("requested", "evals requested"),
    ("distinct", "distinct fitted"),
    ("overhead2", "overhead ms/eval (n_jobs=2)"),
    ("overhead1", "overhead ms/eval (n_jobs=1)"),
    ("speedup", "speedup 1→2"),
    ("peak_mb", "peak MB (tree)"),
)


def summarise(rows: list[dict[str, Any]], tools: Sequence[str]) -> list[dict[str, Any]]:
    """Medians over seeds per (case, tool): n_jobs=2 runs for every figure but
    the n_jobs=1 overhead; the speedup is the median of per-seed ratios."""
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[(r["case"], r["tool"])].append(r)
    out = []
    for case in sorted({r["case"] for r in rows}):
        for tool in tools:
            runs = by.get((case, tool), [])
            if not runs:
                continue
            two = [r for r in runs if r["n_jobs"] == 2 and _ok(r)]
            one = [r for r in runs if r["n_jobs"] == 1 and _ok(r)]
            wall1 = {r["seed"]: r["wall"] for r in one}
            ratios = [wall1[r["seed"]] / r["wall"] for r in two if r["seed"] in wall1]
            errors = sorted({r["error"].splitlines()[-1] for r in runs if r.get("error")})
            out.append(
                {
                    "case": case,
                    "tool": tool,
                    "best": _median([r["best_score"] for r in two]),
                    "wall": _median([r["wall"] for r in two]),
                    "t_reach": _median([r["t_reach"] for r in two]),
                    "estimated": any(r["time_source"] == "estimated" for r in two),
                    "requested": _median([r["n_requested"] for r in two]),
                    "distinct": _median([r["n_distinct"] for r in two]),
                    "max_duplicates": max((r["duplicates"] for r in two + one), default=math.nan),
                    "overhead2": _median([r["overhead_ms"] for r in two]),
                    "overhead1": _median([r["overhead_ms"] for r in one]),
                    "speedup": _median(ratios),
                    "peak_mb": _median([r["peak_tree_mb"] for r in two]),
                    "seeds": len(two),
                    "errors": errors,
                }
            )
    return out


def _fmt_score(v: float) -> str:
    if math.isnan(v):
        return "—"
    return f"{v:.1f}" if abs(v) >= 100 else f"{v:.4f}"


def _fmt(key: str, row: dict[str, Any]) -> str:
    v = row[key]
    if key in ("case", "tool"):
        return str(v)
    if isinstance(v, float) and math.isnan(v):
        return "failed" if key == "best" and row["errors"] else "—"
    if key == "best":
        return _fmt_score(v)
    if key == "t_reach":
        if math.isinf(v):
            return "not reached"
        return f"≈{v:.1f}" if row["estimated"] else f"{v:.1f}"
    if key in ("requested", "distinct"):
        return f"{v:g}"
    if key == "speedup":
        return f"{v:.2f}×"
    if key == "peak_mb":
        return f"{v:.0f}"
    return f"{v:.1f}" if key == "wall" or abs(v) >= 10 else f"{v:.2f}"


def format_table(summary: list[dict[str, Any]]) -> str:
    """The medians as a Markdown table; the best median score of each case in bold."""
    best_of: dict[str, float] = {}
    for s in summary:
        if not math.isnan(s["best"]):
            best_of[s["case"]] = max(best_of.get(s["case"], -math.inf), s["best"])
    lines = [
        "| " + " | ".join(title for _, title in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for s in summary:
        cells = [_fmt(key, s) for key, _ in COLUMNS]
        if not math.isnan(s["best"]) and s["best"] >= best_of[s["case"]] - 1e-12:
            cells[2] = f"**{cells[2]}**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _median_curve(curves: list[list[float]]) -> list[float]:
    """Median over seeds of best-so-far, index by index (as long as any seed goes)."""
    best_so_far = []
    for scores in curves:
        run, acc = [], -math.inf
        for s in scores:
            if math.isfinite(s):
                acc = max(acc, s)
            run.append(acc)
        best_so_far.append(run)
    length = max((len(c) for c in best_so_far), default=0)
    out = []
    for i in range(length):
        vals = [c[i] for c in best_so_far if i < len(c) and math.isfinite(c[i])]
        out.append(statistics.median(vals) if vals else math.nan)
    return out


def plot_curves(
    rows: list[dict[str, Any]], tools: Sequence[str], titles: dict[str, str], out_dir: Path
) -> list[Path]:
    """One PNG per case: median best-so-far score against evaluations, per tool."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best = case_best(rows)
    paths = []
    for case in sorted({r["case"] for r in rows}):
        fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
        lows = []
        for tool in tools:
            runs = [r for r in rows if r["case"] == case and r["tool"] == tool and _ok(r)]
            runs = [r for r in runs if r["n_jobs"] == 2] or runs
            if not runs:
                continue
            curve = _median_curve([r["scores"] for r in runs])
            xs = list(range(1, len(curve) + 1))
            style: dict[str, Any] = (
                {"linewidth": 2.6, "color": "black"} if tool == "evotune" else {}
            )
            ax.plot(xs, curve, label=f"{tool} ({len(runs)} seed(s))", **style)
            finite = [v for v in curve[len(curve) // 3 :] if math.isfinite(v)]
            if finite:
                lows.append(min(finite))
        if case in best:
            b = best[case]
            ax.axhline(
                reach_threshold(b),
                color="grey",
                linestyle=":",
                linewidth=1,
                label="reach line (best - 0.5% of |best|)",
            )
            low = min([*lows, reach_threshold(b)])
            span = max(b - low, 1e-9)
            ax.set_ylim(low - 0.1 * span, b + 0.1 * span)
        ax.set_title(
            f"{case}: {titles.get(case, '')}\nbest mean CV score so far (median over seeds)"
        )
        ax.set_xlabel("evaluations (candidates requested, in the tool's order)")
        scoring = next((r.get("scoring", "") for r in rows if r["case"] == case), "")
        ax.set_ylabel(f"best mean CV {scoring or 'score'} so far")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=9)
        fig.tight_layout()
        path = out_dir / f"{case}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths
