"""The Markdown of the public suite's report (``suite.md``), from a :class:`Summary`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.machine import PACKAGES
from benchmarks.suite_report import RANDOM, Summary, _median

__all__ = ["markdown"]

DEFINITIONS = """\
Definitions: **best** is a run's best mean 5-fold CV score (accuracy, or
negative MSE on diabetes); tables give its median over seeds. **Best known** of a
problem is the best score any tool reached on it in any run of this directory
(every budget and seed): a lower bound of the optimum, which moves when runs are
added. **Normalised score** = (median best − random search's median best) / (best
known − random search's median best), random search being `RandomizedSearchCV` at
the same budget: 0 is random search's level, 1 the best known, below 0 worse than
random search; a problem on which random search's median is the best known is
left out at that budget (—). **Best-so-far at k**: the best of a run's first k
evaluations (in the tool's order), in each budget's own runs, median over seeds,
normalised the same way against random search's median best-so-far at k (as
Bayesmark does: random search is 0 at every k; at k = the budget this is the
normalised score). **Means** are over the problems a tool ran; **clipped**: each
problem's value is raised to −1 first (Bayesmark's clip), so that a problem where
random search is within a hair of the best known (a tiny denominator) cannot
outweigh the rest. **Rank**: by mean normalised score (1 = best); **problem
rank**: each tool's rank by median best on each problem (ties share), averaged
over problems."""


def _fmt(v: float, digits: int = 2) -> str:
    if not math.isfinite(v):
        return "—"
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def _score(v: float) -> str:
    return "—" if not math.isfinite(v) else f"{v:.5g}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _ranks(values: dict[str, float]) -> dict[str, int]:
    finite = sorted((v for v in values.values() if math.isfinite(v)), reverse=True)
    return {t: finite.index(v) + 1 for t, v in values.items() if math.isfinite(v)}


def headline(s: Summary, clip: float | None = None) -> list[str]:
    """One row per tool: at each budget the mean normalised score, its rank and the
    mean normalised best-so-far at 10 and 20 (each problem's value clipped below at
    ``clip`` first, if given); then walls and runs (unclipped) or problem ranks (clipped)."""
    head = ["tool"]
    columns: list[Callable[[str], str]] = []
    for b in s.budgets:
        means = {t: s.mean_over_problems(t, b, clip=clip) for t in s.tools}
        ranks = _ranks(means)
        head += [f"mean normalised @{b}", f"rank @{b}"]
        columns += [
            lambda t, m=means: _fmt(m[t]),
            lambda t, r=ranks: str(r.get(t, "—")),
        ]
        for k in (10, 20):
            if k < b:
                head.append(f"best-so-far @{k} ({b}-runs)")
                columns.append(
                    lambda t, b=b, k=k: _fmt(s.mean_over_problems(t, b, at=k, clip=clip))
                )
        if clip is not None:
            pranks = s.problem_ranks(b)
            head.append(f"problem rank @{b}")
            columns.append(lambda t, r=pranks: _fmt(r.get(t, math.nan), 1))
    if clip is None:
        b = max(s.budgets)
        head += [f"median wall s @{b}", "runs", "failed"]
        columns += [
            lambda t: _fmt(
                _median([r["wall"] for r in s.rows if r["tool"] == t and r["budget"] == b]), 1
            ),
            lambda t: str(sum(1 for r in s.rows if r["tool"] == t)),
            lambda t: str(sum(1 for r in s.errors if r["tool"] == t)),
        ]
    return _table(head, [[t, *(c(t) for c in columns)] for t in s.tools])


def per_problem(s: Summary, budget: int) -> list[str]:
    """Median best per problem and tool (the best in bold), and the references."""
    rows = []
    for p in s.problems:
        meds = {t: s.median_best((t, p, budget)) for t in s.tools}
        top = max((v for v in meds.values() if math.isfinite(v)), default=math.nan)
        cells = [f"**{_score(v)}**" if v == top else _score(v) for v in meds.values()]
        seeds = sorted({s.seeds((t, p, budget)) for t in s.tools} - {0})
        rows.append([p, *cells, _score(s.best_known.get(p, math.nan)), "/".join(map(str, seeds))])
    return _table(["problem", *s.tools, "best known", "seeds"], rows)


def normalised_table(s: Summary, budget: int) -> list[str]:
    """The normalised score per problem and tool."""
    rows = [[p, *(_fmt(s.normalised_score((t, p, budget))) for t in s.tools)] for p in s.problems]
    rows.append(["**mean**", *(_fmt(s.mean_over_problems(t, budget)) for t in s.tools)])
    return _table(["problem", *s.tools], rows)


def problems_table(names: Sequence[str]) -> list[str]:
    """What each problem is: model, data, parameters, scoring and cost."""
    from benchmarks.suite_problems import PROBLEMS

    rows = []
    for name in names:
        p = PROBLEMS.get(name)
        if p is None:
            rows.append([name, "(no longer defined)", "", "", "", ""])
            continue
        X, _ = p.load_data()
        params = ", ".join(q.name.removeprefix("model__") for q in p.params)
        cost = _fmt(p.cost, 3) if math.isfinite(p.cost) else "—"
        rows.append([name, p.title, f"{X.shape[0]} × {X.shape[1]}", params, p.scoring, cost])
    head = ["problem", "model on data", "n × features", "parameters", "scoring", "s/eval"]
    return _table(head, rows)


def run_lines(runs: Sequence[dict[str, Any]], s: Summary) -> list[str]:
    """One paragraph per invocation: what ran, when, on what machine and versions."""
    lines = []
    for r in runs:
        m = r.get("machine", {})
        versions = ", ".join(f"{n} {m[n]}" for n in PACKAGES if n in m)
        lines += [
            f"- {r['started']}: {r['jobs_run']} jobs run ({r['jobs_skipped']} already there) "
            f"in {r['minutes']} min, {r['jobs_at_once']} at once"
            + ("" if r.get("complete", True) else " (stopped before the end)")
            + f"; tools {', '.join(r['tools'])}; seeds {r['seeds']}; budgets {r['budgets']}; "
            f"benchmarks at commit {r.get('commit', '?')}",
            f"  - machine: {m.get('cores', '?')} cores, {m.get('cpu', '?')}, "
            f"{m.get('platform', '?')}; load average at start {m.get('load average at start')}",
            f"  - Python {m.get('python', '?')}; {versions}",
        ]
    origins = sorted({r["evotune_origin"] for r in s.rows if r.get("evotune_origin")})
    if origins:
        lines.append(f"- evotune imported from: {', '.join(origins)}")
    return lines


def markdown(s: Summary, runs: Sequence[dict[str, Any]], png: str | None) -> str:
    """The whole ``suite.md``."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = [
        "# The public suite (in the spirit of Bayesmark)",
        "",
        f"Report written {now} from {len(s.rows) + len(s.errors)} job results "
        f"({len(s.errors)} failed). `python -m benchmarks.suite --report-only --out DIR` "
        "writes it again from the job files in `DIR/jobs/`.",
        "",
        "## Runs",
        "",
        *run_lines(runs, s),
        "",
        "## Problems",
        "",
        "5 shuffled folds (`random_state=0`; stratified for classifiers), `n_jobs=1` per "
        "search; s/eval: median seconds of one cross-validation of a random configuration "
        "(see `benchmarks/suite_problems.py`).",
        "",
        *problems_table(s.problems),
        "",
        "## Summary",
        "",
        DEFINITIONS,
        "",
        *(headline(s) if s.rows else ["(no successful run)"]),
        "",
        "The same with each problem's normalised value clipped below at −1 before the "
        "means, and each tool's rank by median best averaged over the problems:",
        "",
        *(headline(s, clip=-1.0) if s.rows else []),
    ]
    if RANDOM not in s.tools:
        md += ["", f"(no {RANDOM} runs here: the normalised scores are undefined)"]
    for b in s.budgets:
        md += ["", f"## Budget {b}: median best", "", *per_problem(s, b)]
        md += ["", f"## Budget {b}: normalised score", "", *normalised_table(s, b)]
    if png:
        md += ["", "## Mean normalised best-so-far", "", f"![curves]({png})"]
        md.append("")
        md.append(
            "Each problem's normalised best-so-far (against random search's median "
            "best-so-far at the same k) is clipped below at −1, then averaged over the "
            "problems; random search is 0 by construction."
        )
    if s.errors:
        md += ["", "## Failed jobs", ""]
        for r in s.errors:
            last = (r.get("error") or "no score").strip().splitlines()[-1]
            md.append(f"- {r['tool']} {r['problem']} b{r['budget']} s{r['seed']}: {last}")
    return "\n".join(md) + "\n"
