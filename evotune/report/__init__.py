"""Reports on a run directory: the leaderboard, the plots, one HTML page.

A run directory (written by ``evolve(..., checkpoint=DIR)``) is read from its
``meta.json`` and ``journal.jsonl`` alone, with the :mod:`json` module: no
pickle, no import of the estimators or objects it names, so a run directory
from someone else is safe to open. Objects among a categorical parameter's
choices are in the journal as ``{"repr": "..."}`` and are shown by that repr.

Examples
--------
>>> import tempfile
>>> from evotune import Float, evolve
>>> from evotune.report import leaderboard_json, load_run, write_html, write_plots
>>> where = tempfile.mkdtemp() + "/run"
>>> _ = evolve(lambda p: -(p["x"] - 1) ** 2, {"x": Float(-3, 3)},
...            population_size=6, generations=3, random_state=0, checkpoint=where)
>>> run = load_run(where)
>>> report = leaderboard_json(run, top=1)
>>> report["n_evaluations"] <= 18, list(report["best"]["params"])
(True, ['x'])
>>> [path.name for path in write_plots(run)]
['progress.png', 'parameters.png', 'timeline.png']
>>> write_html(run).name
'report.html'
"""

from evotune.report._html import write_html
from evotune.report._leaderboard import format_leaderboard, leaderboard, leaderboard_json
from evotune.report._plots import write_plots
from evotune.report._run import ReportError, Run, load_run
from evotune.report._timeline import Timeline, worker_timeline

__all__ = [
    "ReportError",
    "Run",
    "Timeline",
    "format_leaderboard",
    "leaderboard",
    "leaderboard_json",
    "load_run",
    "worker_timeline",
    "write_html",
    "write_plots",
]
