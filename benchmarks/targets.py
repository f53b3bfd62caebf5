"""evotune's targets (issue 6, item 2), each with its figure and PASS/FAIL.

Also the evotune-only probes' summaries: the journal's cost on C4 and the
scale run on a trivial objective.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass
from typing import Any

__all__ = ["Target", "evaluate_targets", "format_targets", "journal_cost", "scale_summary"]

EVOTUNE = "evotune"
SPEEDUP_CASES = ("C2", "C3", "C5")
SCALE_EVALUATIONS = 100_000
SCALE_SECONDS = 120.0
# "at most linear": the memory added per evaluation from the middle to the
# largest run is at most this many times that from the smallest to the middle
LINEAR_SLACK = 1.25


@dataclass
class Target:
    """One target: what it asks, the measured figure, and whether it is met
    (None when the run did not measure it)."""

    name: str
    figure: str
    passed: bool | None

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


def _get(summary: list[dict[str, Any]], case: str, tool: str) -> dict[str, Any] | None:
    return next((s for s in summary if s["case"] == case and s["tool"] == tool), None)


def _score(v: float) -> str:
    return f"{v:.1f}" if abs(v) >= 100 else f"{v:.4f}"


def journal_cost(probe: dict[str, Any]) -> float:
    """Median over pairs of (wall with journal / wall without - 1), in %."""
    pairs = list(zip(probe.get("plain", []), probe.get("journaled", [])))
    if not pairs:
        return math.nan
    return 100.0 * statistics.median(j / p - 1.0 for p, j in pairs)


def scale_summary(probes: list[dict[str, Any]]) -> dict[str, Any]:
    """Wall and memory of the scale runs, and whether memory grows at most linearly."""
    runs = sorted(
        (p for p in probes if p.get("probe") == "scale" and not p.get("error")),
        key=lambda p: p["n_evaluations"],
    )
    out: dict[str, Any] = {"runs": runs, "linear": None, "slopes_kb": []}
    if len(runs) >= 3:
        slopes = [
            (b["peak_tree_mb"] - a["peak_tree_mb"])
            * 1024
            / (b["n_evaluations"] - a["n_evaluations"])
            for a, b in itertools.pairwise(runs)
        ]
        out["slopes_kb"] = slopes
        # a slope under 0.1 KiB per evaluation is flat whatever the ratio
        out["linear"] = all(
            s2 <= max(LINEAR_SLACK * s1, 0.1) for s1, s2 in itertools.pairwise(slopes)
        )
    return out


def evaluate_targets(
    summary: list[dict[str, Any]], rows: list[dict[str, Any]], probes: list[dict[str, Any]]
) -> list[Target]:
    """Every target with its figure (medians over seeds, n_jobs=2 unless stated)."""
    out: list[Target] = []
    cases = sorted({s["case"] for s in summary})
    # search quality, case by case
    for case in cases:
        evo = _get(summary, case, EVOTUNE)
        peers = [s for s in summary if s["case"] == case and not s["tool"].startswith(EVOTUNE)]
        peers = [s for s in peers if not math.isnan(s["best"])]
        name = f"{case} quality: evotune's median best >= every peer's"
        if evo is None or math.isnan(evo["best"]) or not peers:
            out.append(Target(name, "not measured", None))
            continue
        top = max(peers, key=lambda s: s["best"])
        gap = evo["best"] - top["best"]
        figure = f"evotune {_score(evo['best'])} vs best peer {_score(top['best'])} ({top['tool']})"
        out.append(Target(name, figure, gap >= -1e-12))
    # own overhead on C4
    evo4 = _get(summary, "C4", EVOTUNE)
    for key, n_jobs, limit in (("overhead1", 1, 0.5), ("overhead2", 2, 1.0)):
        name = f"C4 own overhead per evaluation at n_jobs={n_jobs} < {limit} ms"
        if evo4 is None or math.isnan(evo4[key]):
            out.append(Target(name, "not measured", None))
        else:
            out.append(Target(name, f"{evo4[key]:.2f} ms", evo4[key] < limit))
    # parallel speedup
    for case in SPEEDUP_CASES:
        evo = _get(summary, case, EVOTUNE)
        name = f"{case} speedup n_jobs 1 -> 2 >= 1.8"
        if evo is None or math.isnan(evo["speedup"]):
            out.append(Target(name, "not measured", None))
        else:
            out.append(Target(name, f"{evo['speedup']:.2f}×", evo["speedup"] >= 1.8))
    # duplicates
    dups = {
        s["case"]: s["max_duplicates"]
        for s in summary
        if s["tool"] == EVOTUNE and not math.isnan(s["max_duplicates"])
    }
    name = "zero duplicate fits on every case (distinct effective candidates)"
    if dups:
        figure = ", ".join(f"{c}: {int(d)}" for c, d in sorted(dups.items()))
        out.append(Target(name, figure, all(d == 0 for d in dups.values())))
    else:
        out.append(Target(name, "not measured", None))
    # journal
    for probe in sorted(
        (p for p in probes if p.get("probe") == "journal"), key=lambda p: p["n_jobs"]
    ):
        name = f"C4 journal cost at n_jobs={probe['n_jobs']} < 2% of wall"
        cost = journal_cost(probe)
        if probe.get("error") or math.isnan(cost):
            out.append(Target(name, "failed: " + str(probe.get("error", ""))[-120:], False))
        else:
            plain = statistics.median(probe["plain"])
            figure = f"{cost:+.2f}% (median of {len(probe['plain'])} pairs; {plain:.2f} s without)"
            out.append(Target(name, figure, cost < 2.0))
    if not any(p.get("probe") == "journal" for p in probes):
        out.append(Target("C4 journal cost < 2% of wall", "not measured", None))
    # scale
    scale = scale_summary(probes)
    big = next((r for r in scale["runs"] if r["n_evaluations"] >= 0.99 * SCALE_EVALUATIONS), None)
    name = f"scale: {SCALE_EVALUATIONS:,} evaluations of a trivial objective in < 2 min"
    if big is None:
        out.append(Target(name, "not measured", None))
    else:
        figure = f"{big['wall']:.1f} s, peak {big['peak_tree_mb']:.0f} MB"
        out.append(Target(name, figure, big["wall"] < SCALE_SECONDS))
    name = "scale: peak memory grows at most linearly"
    if scale["linear"] is None:
        out.append(Target(name, "not measured", None))
    else:
        mem = ", ".join(
            f"{r['n_evaluations']:,}: {r['peak_tree_mb']:.0f} MB" for r in scale["runs"]
        )
        slopes = " then ".join(f"{s:.2f}" for s in scale["slopes_kb"])
        out.append(Target(name, f"{mem} (KiB per added evaluation: {slopes})", scale["linear"]))
    return out


def format_targets(targets: list[Target]) -> str:
    """The targets as a Markdown table."""
    lines = ["| target | figure | verdict |", "|---|---|---|"]
    lines += [f"| {t.name} | {t.figure} | **{t.verdict}** |" for t in targets]
    return "\n".join(lines)
