"""The text parts of the HTML report: its style, the run's summary and
settings, the leaderboard table. Everything from the run directory goes
through :func:`esc` (control characters made visible, then HTML-escaped)."""

from __future__ import annotations

import html
import json
import math
import numbers
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from evotune._figures._run import (
    Run,
    _as_float,
    _as_int,
    _display,
    _fmt_cell,
    _params,
    _ranked,
)
from evotune._figures._text import printable
from evotune.report._leaderboard import _failure_summary, _fmt_score, _fmt_seconds, leaderboard

__all__ = ["STYLE", "esc", "leaderboard_table", "settings_table", "summary_list", "utc"]

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1180px; padding: 1.5rem 2rem 3rem; color: #1a1a1a; background: #fff;
       line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 2px solid #0072B2;
     padding-bottom: 0.2rem; }
.dates { color: #555; margin-top: 0; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.4rem 1.1rem; }
nav a { color: #0072B2; }
table { border-collapse: collapse; font-size: 0.86rem; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.55rem; text-align: left;
         overflow-wrap: anywhere; max-width: 22rem; }
th { background: #f0f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: #fdf0e8; }
tr.stopped td { color: #666; }
tr.best td { background: #e8f3fb; font-weight: 600; }
.scroll { overflow-x: auto; }
figure { margin: 0.8rem 0 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
figcaption { color: #444; font-size: 0.9rem; margin-top: 0.4rem; max-width: 60rem; }
.note { color: #555; font-size: 0.9rem; }
details { margin-top: 0.8rem; }
"""


def esc(value: Any) -> str:
    """Text from a run directory, safe inside HTML text and quoted attributes."""
    return html.escape(printable(str(value)), quote=True)


def utc(timestamp: float) -> str:
    """A POSIX time as ``2026-12-04 16:34:02 UTC``."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def summary_list(run: Run) -> str:
    """The run's counts, best score, stop reason and most frequent failures."""
    best = run.best
    best_text = (
        f"{_fmt_score(_as_float(best.get('mean_score')))} (candidate "
        f"{_as_int(best.get('candidate'))})"
        if best is not None
        else "no successful evaluation"
    )
    items = [
        ("evaluations", str(len(run.evaluations))),
        ("failed", str(run.n_failed)),
        ("stopped early (raced or pruned)", str(run.n_stopped)),
        ("generations finished", str(len(run.generations))),
        (f"best score ({run.direction})", best_text),
        ("stopped because", run.stopped or "- (no stop record: still running, or killed)"),
    ]
    if run.n_failed:
        items.append(("most frequent failures", "; ".join(_failure_summary(run))))
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items)
    return f'<table id="summary">{rows}</table>'


def settings_table(run: Run) -> str:
    """The settings ``meta.json`` records (those left unset omitted), then the
    objective's fingerprint and the versions, folded."""
    settings = run.meta.get("settings")
    settings = settings if isinstance(settings, Mapping) else {}
    shown = [(k, v) for k, v in settings.items() if v not in (None, {}, [])]
    space = [(name, _describe(spec)) for name, spec in run.space.items()]
    parts = [_pairs_table("settings", shown), "<h3>Space</h3>", _pairs_table("space", space)]
    for key, title in (("fingerprint", "objective"), ("versions", "versions")):
        block = run.meta.get(key)
        if isinstance(block, Mapping) and block:
            table = _pairs_table(f"settings-{key}", list(block.items()))
            parts.append(f"<details><summary>{esc(title)}</summary>{table}</details>")
    return "\n".join(parts)


def _pairs_table(ident: str, pairs: list[tuple[Any, Any]]) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(_text(v))}</td></tr>" for k, v in pairs)
    return f'<table id="{ident}">{rows}</table>' if rows else '<p class="note">(none)</p>'


def _describe(spec: Any) -> str:
    """A parameter as a person reads it: ``float in [0.0001, 1], log``."""
    if not isinstance(spec, Mapping):
        return _text(spec)
    kind = spec.get("type")
    if kind == "categorical":
        text = "one of " + ", ".join(_text(_display(c)) for c in spec.get("choices") or [])
    elif kind in ("int", "float"):
        text = f"{kind} in [{_text(spec.get('low'))}, {_text(spec.get('high'))}]"
        text += ", log" if spec.get("log") else ""
    else:
        text = _text({k: v for k, v in spec.items() if k != "when"})
    when = spec.get("when")
    return text + (f"; only when {_text(when)}" if when else "")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(", ", ": "), default=str, ensure_ascii=False)


def leaderboard_table(run: Run, top: int | None) -> str:
    """The best ``top`` evaluations as a table, best first (the columns of
    :func:`~evotune.report.leaderboard`); failed rows tinted."""
    board = leaderboard(run, top=top)
    ranked = _ranked(run)[: len(board)]
    if not len(board):
        return '<p class="note">(no evaluation in the journal yet)</p>'
    params = list(board.columns[5:-2])  # one per parameter, between the fixed ones
    head = ["rank", "id", "generation", "mean_score", "std_score", *params]
    head += ["fit_time (s)", "status"]
    header = "".join(f'<th scope="col">{esc(h)}</th>' for h in head)
    names = run.param_names
    best = run.best
    body = []
    for rank, ((_, row), ev) in enumerate(zip(board.iterrows(), ranked), start=1):
        active = _params(ev)
        ident, gen = _as_int(ev.get("candidate")), _as_int(ev.get("generation"))
        cells = [_num(rank), _num(ident), _num(gen)]
        cells += [_num(_fmt_score(row["mean_score"])), _num(_fmt_score(row["std_score"]))]
        for name, column in zip(names, params):
            text = _fmt_cell(row[column], active=name in active, width=40)
            cls = ' class="num"' if isinstance(row[column], numbers.Real) else ""
            cells.append(f"<td{cls}>{esc(text)}</td>")
        cells += [_num(_fmt_seconds(row["fit_time"])), f"<td>{esc(row['status'])}</td>"]
        status = str(row["status"])
        cls = "best" if ev is best else "" if status == "ok" else _row_class(status)
        attr = f' class="{cls}"' if cls else ""
        body.append(f"<tr{attr}>{''.join(cells)}</tr>")
    more = ""
    if len(board) < len(run.evaluations):
        more = f'<p class="note">top {len(board)} of {len(run.evaluations)} evaluations</p>'
    return (
        f'<div class="scroll"><table id="leaderboard"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{more}"
    )


def _row_class(status: str) -> str:
    return "stopped" if status in ("raced", "pruned") else "failed"


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td class="num"></td>'
    return f'<td class="num">{esc(value)}</td>'
