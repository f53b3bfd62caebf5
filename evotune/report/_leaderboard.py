"""The leaderboard of a run: a DataFrame, a terminal table, JSON."""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    pass

from evotune._figures._run import (
    Run,
    _as_float,
    _as_int,
    _category_index,
    _clean_json,
    _display,
    _fmt_cell,
    _is_failed,
    _params,
    _ranked,
)
from evotune._figures._text import printable

# the leaderboard's own columns; a parameter with one of these names gets a
# ``param_`` prefix so that no column is silently shadowed
_FIXED_COLUMNS = ("rank", "id", "generation", "mean_score", "std_score", "fit_time", "status")


# ------------------------------------------------------------ leaderboard


def _param_columns(run: Run) -> dict[str, str]:
    return {n: f"param_{n}" if n in _FIXED_COLUMNS else n for n in run.param_names}


def _check_top(top: int | None) -> None:
    if top is None:
        return
    if isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1:
        raise ValueError(f"'top' must be a positive integer or None (all rows), got {top!r}")


def _rows(run: Run, top: int | None, *, display: bool) -> list[dict[str, Any]]:
    _check_top(top)
    ranked = _ranked(run)
    if top is not None:
        ranked = ranked[: int(top)]
    columns = _param_columns(run)
    rows = []
    for rank, ev in enumerate(ranked, start=1):
        params = _params(ev)
        row: dict[str, Any] = {
            "rank": rank,
            "id": _as_int(ev.get("candidate")),
            "generation": _as_int(ev.get("generation")),
            "mean_score": _as_float(ev.get("mean_score")),
            "std_score": _as_float(ev.get("std_score")),
        }
        for name, column in columns.items():
            value = params.get(name)  # None where the parameter was inactive
            if display and name in params:
                value = _display(_space_choice(run, ev, name, value))
            row[column] = value
        row["fit_time"] = _as_float(ev.get("fit_time"))
        row["status"] = str(ev.get("status", "ok"))
        rows.append(row)
    return rows


def _space_choice(run: Run, ev: Mapping[str, Any], name: str, value: Any) -> Any:
    """A categorical value as the space lists it: a dict or tuple choice is
    JSON in the params (keys made strings) but its repr in the space."""
    spec = run.space.get(name)
    if isinstance(spec, Mapping) and spec.get("type") == "categorical":
        choices = list(spec.get("choices") or [])
        index = _category_index(ev, name, choices)
        if index is not None:
            return choices[index]
    return value


def leaderboard(run: Run, top: int | None = 10) -> pd.DataFrame:
    """The best evaluations of a run, best first.

    Parameters
    ----------
    run : Run
        From :func:`load_run`.
    top : int or None, default=10
        Rows to keep; None keeps every evaluation.

    Returns
    -------
    DataFrame
        Columns ``rank``, ``id``, ``generation``, ``mean_score``,
        ``std_score``, one column per parameter (in the order of
        ``meta.json``; None where the parameter was inactive; objects shown by
        their repr; a parameter named like a fixed column is ``param_<name>``),
        ``fit_time`` (seconds, summed over folds) and ``status``. Evaluations
        without a finite score come last, whatever the direction.

    Examples
    --------
    >>> from evotune.report import load_run
    >>> board = leaderboard(load_run(example_run), top=3)
    >>> list(board["rank"]), list(board.columns[:4])
    ([1, 2, 3], ['rank', 'id', 'generation', 'mean_score'])
    """
    rows = _rows(run, top, display=True)
    columns = list(_FIXED_COLUMNS[:5]) + list(_param_columns(run).values()) + ["fit_time", "status"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in _param_columns(run).values():
        # keep values as the model got them: no int -> float upcast, None stays None
        frame[column] = pd.Series([r[column] for r in rows], dtype=object, index=frame.index)
    return frame


def _fmt_score(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) else "-"


def _fmt_seconds(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    if x < 0.001:
        return "<0.001"
    return f"{x:.0f}" if x >= 100 else f"{x:.3g}"


def _failure_summary(run: Run, limit: int = 3) -> list[str]:
    errors = Counter(
        str(ev.get("error") or ev.get("status", "failed")).strip().splitlines()[0][:100]
        for ev in run.evaluations
        if _is_failed(ev)
    )
    return [f"{count} × {text}" for text, count in errors.most_common(limit)]


def format_leaderboard(run: Run, top: int | None = 10) -> str:
    """The leaderboard as a table for a terminal.

    The header says the run directory, the number of evaluations and of
    failures, the best score and why the run stopped.

    Parameters
    ----------
    run : Run
    top : int or None, default=10

    Returns
    -------
    str

    Examples
    --------
    >>> from evotune.report import load_run
    >>> print(format_leaderboard(load_run(example_run), top=2))  # doctest: +ELLIPSIS
    run .../run (maximize mean_score)
    11 evaluations, 0 failed; best score ... stopped: generations
    rank  id  gen  mean_score  std_score  ...
    ...
    """
    rows = _rows(run, top, display=True)
    ranked = _ranked(run)[: len(rows)]
    lines = _summary_lines(run)
    if not rows:
        lines.append("(no evaluation in the journal yet)")
        return "\n".join(lines)

    columns = _param_columns(run)
    header = ["rank", "id", "gen", "mean_score", "std_score", *columns.values()]
    header += ["fit_time (s)", "status"]
    header = [printable(h) for h in header]
    param_headers = {printable(c) for c in columns.values()}
    numeric = {"rank", "id", "gen", "mean_score", "std_score", "fit_time (s)", *param_headers}
    table: list[list[str]] = []
    for row, ev in zip(rows, ranked):
        params = _params(ev)
        cells = [
            str(row["rank"]),
            "" if row["id"] is None else str(row["id"]),
            "" if row["generation"] is None else str(row["generation"]),
            _fmt_score(row["mean_score"]),
            _fmt_score(row["std_score"]),
        ]
        cells += [_fmt_cell(row[c], active=n in params) for n, c in columns.items()]
        fit = row["fit_time"]
        cells += [_fmt_seconds(fit), row["status"]]
        table.append([printable(c) for c in cells])
    # a column of numbers is right-aligned, so digits line up
    for cells in table:
        for i, name in enumerate(header):
            if name in param_headers and cells[i] and not _is_number_text(cells[i]):
                numeric.discard(name)
    widths = [max(len(h), *(len(c[i]) for c in table)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        out = [c.rjust(w) if h in numeric else c.ljust(w) for c, w, h in zip(cells, widths, header)]
        return "  ".join(out).rstrip()

    lines.append(line(header))
    lines.append(line(["-" * w for w in widths]))
    lines.extend(line(c) for c in table)
    if len(rows) < len(run.evaluations):
        lines.append(f"(top {len(rows)} of {len(run.evaluations)})")
    return "\n".join(lines)


def _summary_lines(run: Run) -> list[str]:
    """The leaderboard's header: the run, its counts, best score, failures and stop."""
    best = run.best
    stopped = run.stopped or "- (no stop record: still running, or killed)"
    lines = [f"run {run.path} ({run.direction} mean_score)"]
    best_text = (
        f"best score {_fmt_score(_as_float(best.get('mean_score')))} "
        f"(id {_as_int(best.get('candidate'))})"
        if best is not None
        else "no successful evaluation"
    )
    early = f", {run.n_stopped} stopped early (raced or pruned)" if run.n_stopped else ""
    lines.append(
        f"{len(run.evaluations)} evaluations, {run.n_failed} failed{early}; {best_text}; "
        f"stopped: {stopped}"
    )
    if run.n_failed:
        lines.append("failures: " + "; ".join(_failure_summary(run)))
    # what the journal and meta.json say is escaped before it is laid out: a
    # control character would act on the terminal, and would skew the widths
    return [printable(line) for line in lines]


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def leaderboard_json(run: Run, top: int | None = 10) -> dict[str, Any]:
    """The leaderboard as JSON-safe values (``json.dumps`` works; NaN is None).

    Parameter values are as in the journal: an object among a categorical's
    choices is ``{"repr": "..."}``, an inactive parameter is None and is
    listed in the row's ``inactive``.

    Parameters
    ----------
    run : Run
    top : int or None, default=10

    Returns
    -------
    dict
        ``{"run", "direction", "n_evaluations", "n_failed", "n_stopped_early", "stopped",
        "best": {"score", "params", "id"}, "leaderboard": [row, ...]}``; the
        rows have the columns of :func:`leaderboard` and ``inactive``.

    Examples
    --------
    >>> import json
    >>> from evotune.report import load_run
    >>> data = json.loads(json.dumps(leaderboard_json(load_run(example_run), top=3)))
    >>> len(data["leaderboard"]), data["direction"]
    (3, 'maximize')
    """
    rows = _rows(run, top, display=False)
    ranked = _ranked(run)[: len(rows)]
    for row, ev in zip(rows, ranked):
        # a None value is ambiguous in JSON (inactive, or the choice None)
        row["inactive"] = [n for n in run.param_names if n not in _params(ev)]
    best = run.best
    return _clean_json(
        {
            "run": str(run.path),
            "direction": run.direction,
            "n_evaluations": len(run.evaluations),
            "n_failed": run.n_failed,
            "n_stopped_early": run.n_stopped,
            "stopped": run.stopped,
            "best": {
                "score": _as_float(best.get("mean_score")) if best is not None else None,
                "params": dict(_params(best)) if best is not None else None,
                "id": _as_int(best.get("candidate")) if best is not None else None,
            },
            "leaderboard": rows,
        }
    )
