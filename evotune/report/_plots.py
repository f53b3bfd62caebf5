"""The report's PNG plots: ``write_plots`` (the figures are drawn by
:mod:`evotune._figures`, as ``Result.plot_*`` draws them in a notebook)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from evotune._atomic import atomic_open
from evotune._figures._intermediate import has_reports, plot_intermediate
from evotune._figures._parameter_plot import _plot_parameters
from evotune._figures._plots import _plot_front, _plot_progress, _plot_timeline, objectives_of
from evotune._figures._run import Run

_DPI = 110


def write_plots(run: Run, out_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Write ``progress.png``, ``parameters.png`` and ``timeline.png`` (and
    ``pareto.png`` for a run with several objectives, ``intermediate.png``, the
    learning curves, for one whose objective reported steps).

    Drawn with matplotlib's Agg canvas directly (no pyplot), so the global
    backend of the calling program is left as it was.

    Parameters
    ----------
    run : Run
    out_dir : path, optional
        Where the PNGs go; by default ``run.path / "report"``.

    Returns
    -------
    list of Path
        The files written, in the order above.

    Examples
    --------
    >>> from evotune.report import load_run
    >>> [p.name for p in write_plots(load_run(example_run))]
    ['progress.png', 'parameters.png', 'timeline.png']
    """
    try:
        from matplotlib.figure import Figure  # noqa: F401  (checks it is installed)
    except ImportError:  # pragma: no cover - matplotlib is optional for the package
        raise ImportError("evotune report plots need matplotlib: pip install matplotlib") from None
    out = Path(out_dir) if out_dir is not None else run.path / "report"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    plots = [
        ("progress.png", _plot_progress),
        ("parameters.png", _plot_parameters),
        ("timeline.png", _plot_timeline),
    ]
    if len(objectives_of(run)) >= 2:
        plots.append(("pareto.png", _plot_front))
    if has_reports(run):
        plots.append(("intermediate.png", plot_intermediate))
    for name, draw in plots:
        fig = draw(run)
        path = out / name
        _save(fig, path)
        written.append(path)
    return written


def _save(fig: Figure, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # binds the figure to Agg; pyplot's backend is untouched
    with atomic_open(path, "wb") as fh:  # a reader never sees half a PNG
        fig.savefig(fh, format="png", dpi=_DPI)
