"""Run evotune and its peers side by side: ``python -m benchmarks [--quick]``.

Cases and peers are those of shared/benchmarks.md (see benchmarks/README.md).
Each (tool, case, seed, n_jobs) runs in a fresh subprocess; the results go to
``--out`` (default ``benchmarks/results/``): ``results.csv`` (raw, one row per
run), ``probes.csv`` (evotune-only probes), ``curves.json``, ``results.md``
(medians, machine, targets) and one ``C<k>.png`` per case.

    python -m benchmarks --quick                # under 10 minutes on 2 cores
    python -m benchmarks                        # full: 3 seeds, under an hour
    python -m benchmarks --cases C1 C4 --tools evotune OptunaTPE --seeds 0 1
    python -m benchmarks --dry-run              # list the jobs of a mode and exit
    python -m benchmarks --cases C1 C2 C3 C5 --seeds 0 1 2 3 4 --no-serial --no-probes \\
        --tools evotune OptunaTPE BayesSearchCV ... --out benchmarks/results/cases  # quality
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.cases import CASES, get_case
from benchmarks.figures import add_derived, format_table, plot_curves, summarise
from benchmarks.machine import machine_info, machine_lines
from benchmarks.peers import SUITE_PEERS, TOOLS, VARIANTS
from benchmarks.runner import run_subprocess
from benchmarks.targets import evaluate_targets, format_targets, journal_cost

DEFAULT_OUT = Path(__file__).resolve().parent / "results"

# quick mode: (budget, population) on the slow cases; the others keep theirs
QUICK_SHAPE = {"C2": (12, 4), "C3": (30, 6), "C5": (30, 6)}
# cases also run at n_jobs=1 (speedup; C4 for the n_jobs=1 overhead)
QUICK_SERIAL = ("C2", "C3", "C4", "C5")
FULL_SERIAL = ("C1", "C2", "C3", "C4", "C5")
SCALE_GENERATIONS = (10, 30, 100)  # x population 1,000
SEED_FREE = ("GridSearchCV",)  # deterministic: run for the first seed only

RAW_COLUMNS = (
    "case",
    "tool",
    "seed",
    "n_jobs",
    "budget",
    "population",
    "best_score",
    "wall",
    "t_reach",
    "reach_at",
    "time_source",
    "n_requested",
    "n_distinct",
    "duplicates",
    "fit_score_time",
    "workers",
    "overhead_ms",
    "peak_tree_mb",
    "maxrss_self_mb",
    "maxrss_children_mb",
    "foreign_load",
    "job_seconds",
    "best_params",
    "extra",
    "error",
)


@dataclass(frozen=True)
class Plan:
    """What one invocation runs."""

    quick: bool
    cases: tuple[str, ...]
    tools: tuple[str, ...]
    seeds: tuple[int, ...]
    probes: bool
    timeout: float
    journal_repeats: int
    probes_only: bool = False
    serial: bool = True

    def shape(self, case: str) -> tuple[int, int]:
        c = get_case(case)
        if self.quick and case in QUICK_SHAPE:
            return QUICK_SHAPE[case]
        return c.budget, c.population

    def n_jobs(self, case: str) -> tuple[int, ...]:
        serial = QUICK_SERIAL if self.quick else FULL_SERIAL
        return (2, 1) if self.serial and case in serial else (2,)

    def search_specs(self) -> list[dict[str, Any]]:
        """Every search job, tools interleaved so load drifts hit all of them."""
        specs = []
        for case in self.cases:
            budget, pop = self.shape(case)
            for seed in self.seeds:
                for n_jobs in self.n_jobs(case):
                    for tool in self.tools:
                        if tool in SEED_FREE and seed != self.seeds[0]:
                            continue
                        specs.append(
                            {
                                "kind": "search",
                                "tool": tool,
                                "case": case,
                                "seed": seed,
                                "n_jobs": n_jobs,
                                "budget": budget,
                                "population": pop,
                            }
                        )
        return specs

    def probe_specs(self) -> list[dict[str, Any]]:
        if not self.probes:
            return []
        c4 = get_case("C4")
        specs: list[dict[str, Any]] = [
            {
                "kind": "journal",
                "case": "C4",
                "seed": self.seeds[0],
                "n_jobs": n_jobs,
                "budget": c4.budget,
                "population": c4.population,
                "repeats": self.journal_repeats,
            }
            for n_jobs in (1, 2)
        ]
        specs += [
            {"kind": "scale", "population": 1000, "generations": g} for g in SCALE_GENERATIONS
        ]
        return specs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="1 seed, smaller budgets on C2/C3/C5")
    parser.add_argument("--cases", nargs="+", default=sorted(CASES), choices=sorted(CASES))
    parser.add_argument(
        "--tools",
        nargs="+",
        default=[t for t in TOOLS if t not in SUITE_PEERS],
        choices=list(TOOLS) + list(VARIANTS),
        help="tools to run (default: evotune and the five peers; the suite's peers "
        f"{', '.join(SUITE_PEERS)} and the evotune-* variants on request)",
    )
    parser.add_argument("--seeds", nargs="+", type=int, help="default: 0 (quick) or 0 1 2")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--no-probes", action="store_true", help="skip journal and scale probes")
    parser.add_argument("--probes-only", action="store_true", help="only the evotune probes")
    parser.add_argument(
        "--no-serial",
        action="store_true",
        help="skip the n_jobs=1 runs (quality only: no speedup or n_jobs=1 overhead)",
    )
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per job")
    parser.add_argument("--dry-run", action="store_true", help="print the jobs and exit")
    return parser.parse_args(argv)


def _describe(spec: dict[str, Any], res: dict[str, Any]) -> str:
    if spec["kind"] == "search":
        head = f"{spec['case']} seed {spec['seed']} n_jobs={spec['n_jobs']} {spec['tool']}"
        if res.get("error"):
            return f"{head}: ERROR {res['error'].splitlines()[-1]}"
        return (
            f"{head}: best {res['best_score']:.5g}, wall {res['wall']:.1f} s, "
            f"{res['n_requested']} evals ({res['n_distinct']} distinct), "
            f"peak {res['peak_tree_mb']:.0f} MB; others used {res['foreign_load']:.2f} cores"
        )
    if res.get("error"):
        return f"{spec['kind']} probe: ERROR {res['error'].splitlines()[-1]}"
    if spec["kind"] == "journal":
        res = {**res, "probe": "journal"}
        return (
            f"journal probe n_jobs={spec['n_jobs']}: {journal_cost(res):+.2f}% of wall; "
            f"others used {res['foreign_load']:.2f} cores"
        )
    return (
        f"scale probe {res['n_evaluations']:,} evaluations: {res['wall']:.1f} s, "
        f"peak {res['peak_tree_mb']:.0f} MB; others used {res['foreign_load']:.2f} cores"
    )


def run_plan(plan: Plan, log_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run every job; a failing one is recorded with its error and the run goes on."""
    specs = ([] if plan.probes_only else plan.search_specs()) + plan.probe_specs()
    rows: list[dict[str, Any]] = []
    probes: list[dict[str, Any]] = []
    for i, spec in enumerate(specs, 1):
        res = run_subprocess(spec, log_path, plan.timeout)
        print(f"[{i}/{len(specs)}] {_describe(spec, res)}", flush=True)
        if spec["kind"] == "search":
            row = {k: v for k, v in spec.items() if k != "kind"}
            row["scoring"] = get_case(spec["case"]).scoring
            defaults = {"best_score": math.nan, "wall": math.nan, "scores": [], "times": []}
            rows.append({**defaults, **row, **res})
        else:
            probes.append({"probe": spec["kind"], **spec, **res})
    return rows, probes


def _cell(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    if isinstance(v, dict):
        return json.dumps(v) if v else ""
    return v


def write_raw(rows: list[dict[str, Any]], probes: list[dict[str, Any]], out: Path) -> None:
    """results.csv (one row per run), probes.csv and curves.json."""
    with open(out / "results.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(RAW_COLUMNS)
        for r in rows:
            w.writerow([_cell(r.get(k, "")) for k in RAW_COLUMNS])
    cols = [
        "probe",
        "n_jobs",
        "generations",
        "population",
        "n_evaluations",
        "wall",
        "plain",
        "journaled",
        "peak_tree_mb",
        "baseline_rss_mb",
        "maxrss_self_mb",
        "foreign_load",
        "error",
    ]
    with open(out / "probes.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for p in probes:
            w.writerow(
                [
                    " ".join(f"{x:.4f}" for x in p[k])
                    if isinstance(p.get(k), list)
                    else _cell(p.get(k, ""))
                    for k in cols
                ]
            )
    curves = [
        {k: r.get(k) for k in ("case", "tool", "seed", "n_jobs", "scores", "times")} for r in rows
    ]
    (out / "curves.json").write_text(json.dumps(curves, allow_nan=True))


def probe_lines(probes: list[dict[str, Any]]) -> list[str]:
    """The evotune-only probes as Markdown."""
    lines = []
    for p in sorted((p for p in probes if p["probe"] == "journal"), key=lambda p: p["n_jobs"]):
        if p.get("error"):
            lines.append(f"- journal, C4, n_jobs={p['n_jobs']}: failed ({p['error'][-200:]})")
            continue
        plain = " ".join(f"{x:.2f}" for x in p["plain"])
        jour = " ".join(f"{x:.2f}" for x in p["journaled"])
        lines.append(
            f"- journal, C4, n_jobs={p['n_jobs']}: {journal_cost(p):+.2f}% of wall "
            f"(walls without: {plain} s; with `checkpoint=`: {jour} s)"
        )
    scale = sorted(
        (p for p in probes if p["probe"] == "scale" and not p.get("error")),
        key=lambda p: p["n_evaluations"],
    )
    if scale:
        lines += [
            "",
            "| evaluations (population 1,000) | wall s | peak MB (tree) | RSS before the run MB |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {p['n_evaluations']:,} | {p['wall']:.1f} | {p['peak_tree_mb']:.0f} | "
            f"{p['baseline_rss_mb']:.0f} |"
            for p in scale
        ]
    for p in probes:
        if p["probe"] == "scale" and p.get("error"):
            lines.append(f"- scale, {p['generations']} generations: failed ({p['error'][-200:]})")
    return lines


def load_line(rows: list[dict[str, Any]], probes: list[dict[str, Any]]) -> str:
    """How busy other processes kept the machine during the jobs."""
    loads = sorted(float(r.get("foreign_load", 0.0)) for r in rows + probes)
    if not loads:
        return "- other processes' load during the jobs: not measured"
    median = loads[len(loads) // 2]
    busy = sum(1 for v in loads if v > 0.25)
    line = (
        f"- other processes' load during the jobs (cores, from /proc): median {median:.2f}, "
        f"max {loads[-1]:.2f}; {busy} of {len(loads)} jobs shared the machine with > 0.25 core"
    )
    if median > 0.25:
        line += " (a busy machine: timings and speedups are pessimistic; rerun when idle)"
    return line


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    seeds = tuple(args.seeds) if args.seeds else ((0,) if args.quick else (0, 1, 2))
    plan = Plan(
        quick=args.quick,
        cases=tuple(args.cases),
        tools=tuple(args.tools),
        seeds=seeds,
        probes=not args.no_probes,
        timeout=args.timeout,
        journal_repeats=3 if args.quick else 5,
        probes_only=args.probes_only,
        serial=not args.no_serial,
    )
    if args.dry_run:
        specs = ([] if plan.probes_only else plan.search_specs()) + plan.probe_specs()
        for spec in specs:
            print(json.dumps(spec))
        print(f"{len(specs)} jobs")
        return
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    mode = "quick" if plan.quick else "full"
    shapes = ", ".join(f"{c} {plan.shape(c)[0]}/{plan.shape(c)[1]}" for c in plan.cases)
    print(f"evotune benchmarks, {mode} mode, seeds {list(seeds)}; budget/population: {shapes}")
    print("\n".join(machine_lines(info)), flush=True)
    started = time.perf_counter()
    rows, probes = run_plan(plan, out / "logs" / "jobs.log")
    elapsed = time.perf_counter() - started

    add_derived(rows)
    summary = summarise(rows, plan.tools)
    table = format_table(summary)
    targets = evaluate_targets(summary, rows, probes)
    write_raw(rows, probes, out)
    titles = {c: get_case(c).title for c in plan.cases}
    pngs = plot_curves(rows, plan.tools, titles, out)

    errors = [f"- {s['case']} {s['tool']}: {e}" for s in summary for e in s["errors"]]
    md = [
        f"# evotune benchmarks ({mode} mode)",
        "",
        *machine_lines(info),
        f"- mode: {mode}; seeds {list(seeds)}; budget/population per case: {shapes}; "
        f"took {elapsed / 60:.1f} min",
        load_line(rows, probes),
        "",
        "Medians over seeds at n_jobs=2 (overhead also at n_jobs=1; speedup = median of "
        "per-seed wall n_jobs=1 / wall n_jobs=2). ≈: time estimated from cumulative fit "
        "time (the tool exposes no per-candidate clock). See benchmarks/README.md.",
        "",
        table,
        "",
        "## evotune-only probes",
        "",
        *probe_lines(probes),
        "",
        "## Targets (issue 6)",
        "",
        format_targets(targets),
        "",
        "## Curves",
        "",
        *[f"![{p.stem}]({p.name})" for p in pngs],
    ]
    if errors:
        md += ["", "## Errors", "", *errors]
    (out / "results.md").write_text("\n".join(md) + "\n")

    print()
    print(table)
    print()
    print("\n".join(probe_lines(probes)))
    print(load_line(rows, probes))
    print()
    for t in targets:
        print(f"{t.verdict:4}  {t.name}: {t.figure}")
    if errors:
        print("\nerrors:\n" + "\n".join(errors))
    print(
        f"\nwrote {out}/results.csv, results.md, probes.csv, curves.json and "
        f"{len(pngs)} PNG(s) in {elapsed / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
