"""The report as one self-contained HTML page: ``write_html``.

The page needs nothing but itself: the figures are PNGs inlined as ``data:``
URIs, the style is inline, there is no script and no link to anywhere else,
and a Content-Security-Policy forbids loading anything that is not inline, so
it opens offline, from a copy sent by mail, exactly as it was written. Every
text that comes from the run directory is escaped (a parameter name or an
error message is data, never markup).
"""

from __future__ import annotations

import base64
import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from evotune._atomic import atomic_open
from evotune._figures._intermediate import has_reports, plot_intermediate
from evotune._figures._parallel import plot_parallel
from evotune._figures._parameter_plot import _plot_parameters
from evotune._figures._plots import _plot_front, _plot_progress, _plot_timeline, objectives_of
from evotune._figures._run import Run
from evotune.report._html_parts import (
    STYLE,
    esc,
    leaderboard_table,
    settings_table,
    summary_list,
    utc,
)
from evotune.report._importance import LABEL as IMPORTANCE_LABEL
from evotune.report._importance import plot_importance
from evotune.report._leaderboard import _check_top
from evotune.report._plots import _DPI
from evotune.report._run import load_run

__all__ = ["HTML_NAME", "write_html"]

#: the file ``write_html`` writes
HTML_NAME = "report.html"

# nothing but what is inline may load: no script at all, images only as data:
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@dataclass(frozen=True)
class _Section:
    ident: str
    heading: str
    alt: str
    caption: str
    draw: Callable[[Run], Figure]


# the figures of every page, in order
_ALWAYS = (
    _Section(
        "progress",
        "Progress",
        "Progress curve: the best score so far and the population's mean score per generation",
        "The best score so far and the population mean ± standard deviation per "
        "generation; each grey dot is one successful evaluation.",
        _plot_progress,
    ),
    _Section(
        "parameters",
        "Score against each parameter",
        "Scatter plots of the score against each parameter, coloured by generation",
        "One panel per parameter: the score of each successful evaluation against its "
        "value, coloured by generation; the star is the best evaluation.",
        _plot_parameters,
    ),
    _Section(
        "importance",
        "Parameter importance",
        f"Bar chart of each parameter's {IMPORTANCE_LABEL}",
        f"The {IMPORTANCE_LABEL}: a random forest (scikit-learn) fitted to the scores of "
        "the successful evaluations, its impurity-based importances. An evolution samples "
        "near its optimum, so this ranks the parameters among the candidates it "
        "evaluated, not over the whole space.",
        plot_importance,
    ),
    _Section(
        "parallel",
        "Parallel coordinates",
        "Parallel coordinates: each successful evaluation as a line through its parameters "
        "and its score",
        "Each successful evaluation is a line through one axis per parameter (in the "
        "space's range; log scale where the parameter is log) and its score, coloured by "
        "score; the best is orange.",
        plot_parallel,
    ),
    _Section(
        "timeline",
        "Worker timeline",
        "Worker timeline: each task as a bar on its worker's lane, coloured by status",
        "Each (candidate, fold) task as a bar on the lane of the worker that ran it, "
        "coloured by its status; pauses between sessions are cut out.",
        _plot_timeline,
    ),
)
# a run with several objectives
_PARETO = _Section(
    "pareto",
    "Pareto front",
    "Pareto front: every evaluation in the plane of two objectives, the non-dominated ones joined",
    "Every evaluation in the plane of the primary objective and each other one; "
    "the non-dominated evaluations (over all objectives) are joined as the front.",
    _plot_front,
)
# an objective that called report_step
_INTERMEDIATE = _Section(
    "intermediate",
    "Intermediate values",
    "Learning curves: each evaluation's reported values against the step",
    "The values each evaluation reported (report_step), mean over its folds; "
    "trainings stopped early (pruned, or a lower rung) are grey.",
    plot_intermediate,
)


def _sections(run: Run) -> list[_Section]:
    """The figures of the page, in order; the Pareto front only for several
    objectives, the intermediate values only when the objective reported steps."""
    sections = list(_ALWAYS)
    if len(objectives_of(run)) >= 2:
        sections.append(_PARETO)
    if has_reports(run):
        sections.append(_INTERMEDIATE)
    return sections


def write_html(
    run: Run | str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    top: int | None = 10,
) -> Path:
    """Write ``report.html``: the whole report of a run in one offline page.

    The page holds the run's name, dates and settings, a summary, the
    leaderboard, and the figures: progress, score against each parameter,
    parameter importance among evaluated candidates, parallel coordinates,
    the worker timeline, the Pareto front (several objectives) and the
    intermediate values (an objective that called ``report_step``). It loads
    nothing from anywhere: the PNGs are inline ``data:`` URIs, the style is
    inline, and there is no script, so the file can be copied and opened alone.

    Parameters
    ----------
    run : Run or path
        From :func:`load_run`, or a run directory to load.
    out_dir : path, optional
        Where ``report.html`` goes; by default ``run.path / "report"`` (beside
        the PNGs of :func:`write_plots`).
    top : int or None, default=10
        Rows of the leaderboard; None shows every evaluation.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ReportError
        If ``run`` is a path that is not a run directory.
    ValueError
        If ``top`` is not a positive integer or None.

    Examples
    --------
    >>> import tempfile
    >>> from evotune.report import load_run
    >>> page = write_html(load_run(example_run), tempfile.mkdtemp(), top=3)
    >>> page.name, "data:image/png;base64," in page.read_text(encoding="utf-8")
    ('report.html', True)
    """
    _check_top(top)
    if not isinstance(run, Run):
        run = load_run(run)
    try:
        from matplotlib.figure import Figure  # noqa: F401  (checks it is installed)
    except ImportError:  # pragma: no cover - matplotlib is optional for the package
        raise ImportError(
            "evotune's HTML report needs matplotlib: pip install matplotlib"
        ) from None
    sections = _sections(run)
    figures = [_figure_html(section, _png(section.draw(run))) for section in sections]
    page = _page(run, sections, figures, top)
    out = Path(out_dir) if out_dir is not None else run.path / "report"
    out.mkdir(parents=True, exist_ok=True)
    path = out / HTML_NAME
    with atomic_open(path, "wb") as fh:  # a reader never sees half a page
        fh.write(page.encode("utf-8"))
    return path


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # binds the figure to Agg; pyplot's backend is untouched
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _figure_html(section: _Section, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<section id="section-{section.ident}">\n'
        f"<h2>{esc(section.heading)}</h2>\n"
        f'<figure><img id="fig-{section.ident}" alt="{esc(section.alt)}" '
        f'src="data:image/png;base64,{data}">\n'
        f"<figcaption>{esc(section.caption)}</figcaption></figure>\n</section>"
    )


def _page(run: Run, sections: list[_Section], figures: list[str], top: int | None) -> str:
    name = run.path.resolve().name or str(run.path)
    created = run.meta.get("created")
    dates = []
    if isinstance(created, (int, float)) and not isinstance(created, bool):
        dates.append(f"run created {utc(float(created))}")
    if run.starts:
        dates.append(f"last session started {utc(run.starts[-1])}")
    dates.append(f"report written {utc(time.time())}")
    links = [("summary", "Summary"), ("leaderboard", "Leaderboard")]
    links += [(s.ident, s.heading) for s in sections] + [("settings", "Settings")]
    nav = "".join(f'<li><a href="#section-{i}">{esc(h)}</a></li>' for i, h in links)
    rows = "all" if top is None else f"top {top}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>evotune report: {esc(name)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1 id="run-name">evotune report: {esc(name)}</h1>
<p class="dates" id="run-dates">{esc(" · ".join(dates))}</p>
<p class="note" id="run-path">run directory: <code>{esc(run.path)}</code></p>
<nav><ul>{nav}</ul></nav>
</header>
<main>
<section id="section-summary">
<h2>Summary</h2>
{summary_list(run)}
</section>
<section id="section-leaderboard">
<h2>Leaderboard ({esc(rows)})</h2>
{leaderboard_table(run, top)}
</section>
{chr(10).join(figures)}
<section id="section-settings">
<h2>Settings</h2>
{settings_table(run)}
</section>
</main>
</body>
</html>
"""
