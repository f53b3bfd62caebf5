"""The public suite's report, from every job result saved in a directory.

``suite.csv`` has one row per job; ``suite.md`` the medians per problem and
budget, the normalised scores, their means per tool, the best-so-far at 10
and 20 evaluations and the ranks; ``suite.png`` the mean normalised
best-so-far curves. Definitions (also written into ``suite.md``):

- **best**: the best mean CV score of a run; its **median** over seeds per
  (tool, problem, budget).
- **best known** of a problem: the best score any tool reached on it in any
  run found in the directory (every budget and seed); it is a lower bound of
  the problem's optimum and moves when runs are added.
- **normalised score** of a tool on a problem at a budget:
  ``(median best - random's median best) / (best known - random's median best)``,
  random being ``RandomizedSearchCV`` at the same budget: 0 is random search's
  level, 1 the best known, below 0 worse than random. A problem on which
  random search's median already is the best known is left out at that budget.
- **best-so-far at k**: the best score among a run's first ``k`` evaluations
  (in the tool's order), median over seeds, normalised as above against
  random search's median best-so-far at ``k`` (its runs of the same budget;
  Bayesmark's way), so random search's curve is 0 and at ``k`` = the budget
  the value is the normalised score.
- **clipped**: each problem's normalised value raised to -1 before the mean
  (Bayesmark clips the same way), so that a problem where random search is
  already within a hair of the best known does not outweigh the others.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["SUITE_TOOLS", "Summary", "best_so_far", "load_results", "normalised", "write_report"]

RANDOM = "RandomizedSearchCV"
# the suite's tools in the report's order (random search first: the reference);
# other tools (evotune's variants) follow, sorted
SUITE_TOOLS = (
    RANDOM,
    "OptunaTPE",
    "OptunaCMAES",
    "BayesSearchCV",
    "hyperopt",
    "SMAC",
    "GASearchCV",
    "evotune",
)
CURVE_AT = (10, 20, 30, 60)
CSV_COLUMNS = (
    "tool",
    "problem",
    "budget",
    "seed",
    "best",
    "wall",
    "n_requested",
    "n_distinct",
    *(f"bsf_{k}" for k in CURVE_AT),
    "fit_score_time",
    "job_seconds",
    "peak_tree_mb",
    "foreign_load",
    "error",
)
Key = tuple[str, str, int]  # tool, problem, budget


def load_results(out: Path) -> list[dict[str, Any]]:
    """Every saved job result of ``out/jobs``, sorted by tool, problem, budget and seed."""
    rows = []
    for path in sorted((out / "jobs").glob("*.json")):
        row = json.loads(path.read_text())
        row.setdefault("scores", [])
        row.setdefault("best_score", math.nan)
        rows.append(row)
    return sorted(rows, key=lambda r: (r["tool"], r["problem"], r["budget"], r["seed"]))


def _ok(row: dict[str, Any]) -> bool:
    return not row.get("error") and math.isfinite(float(row.get("best_score", math.nan)))


def best_so_far(scores: Sequence[float], k: int) -> float:
    """The best finite score among the first ``k`` (NaN if there are fewer than ``k``)."""
    if len(scores) < k:
        return math.nan
    finite = [s for s in scores[:k] if s is not None and math.isfinite(s)]
    return max(finite) if finite else math.nan


def _median(values: Sequence[float]) -> float:
    vals = [v for v in values if math.isfinite(v)]
    return statistics.median(vals) if vals else math.nan


def _mean(values: Sequence[float]) -> float:
    vals = [v for v in values if math.isfinite(v)]
    return statistics.fmean(vals) if vals else math.nan


class Summary:
    """Medians, the references of the normalisation and the curves of a set of runs."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = [r for r in rows if _ok(r)]
        self.errors = [r for r in rows if not _ok(r)]
        present = {r["tool"] for r in rows}
        order = [*SUITE_TOOLS, *sorted(present - set(SUITE_TOOLS))]
        self.tools = [t for t in order if t in present]
        self.problems = sorted({r["problem"] for r in rows})
        self.budgets = sorted({int(r["budget"]) for r in rows})
        self.runs: dict[Key, list[dict[str, Any]]] = defaultdict(list)
        for r in self.rows:
            self.runs[(r["tool"], r["problem"], int(r["budget"]))].append(r)
        self.best_known = {
            p: max(r["best_score"] for r in self.rows if r["problem"] == p)
            for p in {r["problem"] for r in self.rows}
        }

    def median_best(self, key: Key) -> float:
        return _median([r["best_score"] for r in self.runs.get(key, [])])

    def seeds(self, key: Key) -> int:
        return len(self.runs.get(key, []))

    def reference(self, problem: str, budget: int) -> float:
        """Random search's median best on ``problem`` at ``budget`` (NaN if not run)."""
        return self.median_best((RANDOM, problem, budget))

    def normalised_score(self, key: Key) -> float:
        _, problem, budget = key
        best = self.best_known.get(problem)
        return normalised(self.median_best(key), self.reference(problem, budget), best)

    def curve(self, key: Key) -> list[float]:
        """Median over seeds of the best-so-far after 1 .. budget evaluations."""
        runs = self.runs.get(key, [])
        return [_median([best_so_far(r["scores"], k) for r in runs]) for k in range(1, key[2] + 1)]

    def normalised_curve(self, key: Key) -> list[float]:
        """The curve normalised at each k against random search's median best-so-far at k
        (in its runs of the same budget), as Bayesmark does."""
        _, problem, budget = key
        reference = self.curve((RANDOM, problem, budget))
        best = self.best_known.get(problem)
        return [normalised(v, r, best) for v, r in zip(self.curve(key), reference)]

    def mean_over_problems(
        self, tool: str, budget: int, at: int | None = None, clip: float | None = None
    ) -> float:
        """Mean over the problems of the normalised score (``at`` None) or of the
        normalised best-so-far at ``at``, each first clipped below at ``clip``."""
        values = []
        for p in self.problems:
            key = (tool, p, budget)
            if key not in self.runs or (at is not None and at > budget):
                continue
            v = self.normalised_score(key) if at is None else self.normalised_curve(key)[at - 1]
            values.append(max(v, clip) if clip is not None and math.isfinite(v) else v)
        return _mean(values)

    def problem_ranks(self, budget: int) -> dict[str, float]:
        """Mean over problems of each tool's rank by median best (1 = best, ties averaged)."""
        ranks: dict[str, list[float]] = defaultdict(list)
        for p in self.problems:
            scores = {t: self.median_best((t, p, budget)) for t in self.tools}
            scores = {t: s for t, s in scores.items() if math.isfinite(s)}
            for t, s in scores.items():
                better = sum(1 for v in scores.values() if v > s)
                ties = sum(1 for v in scores.values() if v == s)
                ranks[t].append(better + (ties + 1) / 2)
        return {t: _mean(v) for t, v in ranks.items()}


def normalised(value: float, reference: float, best: float | None) -> float:
    """``(value - reference) / (best - reference)``; NaN where undefined."""
    if best is None or not (math.isfinite(value) and math.isfinite(reference)):
        return math.nan
    span = best - reference
    if span <= 1e-12 * max(1.0, abs(best)):
        return math.nan
    return (value - reference) / span


def _cell(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return v


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """One row per job: the run's best, wall, distinct fits and best-so-far at 10/20/30/60."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for r in rows:
            row = {**r, "best": r.get("best_score", math.nan)}
            for k in CURVE_AT:
                row[f"bsf_{k}"] = best_so_far(r.get("scores", []), k)
            if row.get("error"):
                row["error"] = row["error"].strip().splitlines()[-1]
            w.writerow([_cell(row.get(c, "")) for c in CSV_COLUMNS])


def plot(summary: Summary, path: Path) -> None:
    """Mean normalised best-so-far against evaluations, one panel per budget
    (each problem's value clipped below at -1 before the mean)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budgets = summary.budgets
    fig, axes = plt.subplots(1, len(budgets), figsize=(7 * len(budgets), 5), dpi=110, squeeze=False)
    for ax, budget in zip(axes[0], budgets):
        for tool in summary.tools:
            curves = [
                [max(v, -1.0) for v in summary.normalised_curve((tool, p, budget))]
                for p in summary.problems
                if (tool, p, budget) in summary.runs
            ]
            if not curves:
                continue
            mean = [_mean([c[i] for c in curves]) for i in range(budget)]
            style: dict[str, Any] = {"linewidth": 2.6} if tool.startswith("evotune") else {}
            if tool == RANDOM:
                style = {"color": "grey", "linestyle": "--"}
            ax.plot(range(1, budget + 1), mean, label=f"{tool} ({len(curves)} problems)", **style)
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
        ax.set_ylim(-1.05, 1.05)
        ax.set_title(f"budget {budget}: mean normalised best-so-far, clipped at -1")
        ax.set_xlabel("evaluations (in the tool's order)")
        ax.set_ylabel("normalised best-so-far (0 = random search at k, 1 = best known)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(out: Path) -> list[Path]:
    """``suite.csv``, ``suite.md`` and ``suite.png`` from every job result in ``out``."""
    from benchmarks.suite_tables import markdown

    rows = load_results(out)
    paths = [out / "suite.csv", out / "suite.md"]
    write_csv(rows, paths[0])
    summary = Summary(rows)
    if summary.rows:
        paths.append(out / "suite.png")
        plot(summary, paths[2])
    runs = []
    if (out / "runs.jsonl").exists():
        runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines() if line]
    paths[1].write_text(markdown(summary, runs, "suite.png" if summary.rows else None))
    return paths
