"""The figures of a run, drawn with matplotlib from a :class:`Run` (a run as
JSON records): progress, score against each parameter, worker timeline and
Pareto front.

One drawing code for two faces: :func:`evotune.report.write_plots` draws them
from a run directory into PNGs, and ``Result.plot_progress()`` and its siblings
draw them from a run held in memory (:func:`run_from_memory`) for a notebook.
Figures are made without pyplot, so the caller's backend is never changed.
"""

from evotune._figures._memory import FigureData, run_from_memory
from evotune._figures._parameter_plot import _plot_parameters as draw_parameters
from evotune._figures._plots import _plot_front as draw_pareto_front
from evotune._figures._plots import _plot_progress as draw_progress
from evotune._figures._plots import _plot_timeline as draw_timeline
from evotune._figures._plots import objectives_of
from evotune._figures._run import Run

__all__ = [
    "FigureData",
    "Run",
    "draw_parameters",
    "draw_pareto_front",
    "draw_progress",
    "draw_timeline",
    "objectives_of",
    "run_from_memory",
]
