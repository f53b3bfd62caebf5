"""``Result``: what a run found, as plain Python values and pandas tables."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from evotune._atomic import atomic_open
from evotune._figures._memory import FigureData, run_from_memory
from evotune.journal import HALL_OF_FAME, HISTORY

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from evotune.engine import Evolution
    from evotune.genome import Genome
    from evotune.records import Evaluation
    from evotune.space import Space

__all__ = ["Result", "history_frame", "write_csv_atomic"]


def history_frame(evaluations: Sequence[Evaluation], space: Space) -> pd.DataFrame:
    """One row per evaluation, in the order they were recorded.

    Columns: ``id``, ``generation``, ``origin``, one ``param_<name>`` per
    parameter (None where the parameter was inactive), ``mean_score``,
    ``std_score``, ``split<k>_score``, ``fit_time`` and ``score_time`` (seconds,
    summed over folds), ``last_step`` (only when the objective reported steps
    with ``evotune.report_step``: the last one any fold reached), ``status``
    and ``error``.
    """
    n_splits = max((len(e.fold_scores) for e in evaluations), default=0)
    rows = []
    for e in evaluations:
        row: dict[str, Any] = {"id": e.candidate_id, "generation": e.generation, "origin": e.origin}
        for name in space.public_names:
            row[f"param_{name}"] = e.params.get(name)
        row["mean_score"] = e.mean_score
        row["std_score"] = e.std_score
        for k in range(n_splits):
            row[f"split{k}_score"] = e.fold_scores[k] if k < len(e.fold_scores) else math.nan
        row["fit_time"] = e.fit_time
        row["score_time"] = e.score_time
        row["status"] = e.status
        row["error"] = e.error
        rows.append(row)
    columns = (
        ["id", "generation", "origin"]
        + [f"param_{n}" for n in space.public_names]
        + ["mean_score", "std_score"]
        + [f"split{k}_score" for k in range(n_splits)]
        + ["fit_time", "score_time", "status", "error"]
    )
    frame = pd.DataFrame(rows, columns=columns)
    if any(r for e in evaluations for r in e.reports):
        # the last step each training reached (evotune.report_step), for a run that reports
        last = [max((r[-1][0] for r in e.reports if r), default=None) for e in evaluations]
        frame.insert(columns.index("status"), "last_step", pd.Series(last, dtype="Int64"))
    for name in space.public_names:
        # keep parameter values as the model got them (no int -> float upcast)
        frame[f"param_{name}"] = pd.Series(
            [e.params.get(name) for e in evaluations], dtype=object, index=frame.index
        )
    return frame


def _hall_of_fame_frame(genomes: Sequence[Genome], history: pd.DataFrame) -> pd.DataFrame:
    ids = [g.id for g in genomes]
    if history.empty or not ids:
        return history.iloc[0:0].drop(columns=["error"], errors="ignore").assign(rank=[])
    by_id = history.set_index("id", drop=False)
    frame = by_id.loc[ids].reset_index(drop=True).drop(columns=["error"])
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame


def _pareto_frame(evo: Evolution, history: pd.DataFrame) -> pd.DataFrame | None:
    """The non-dominated evaluations, best primary objective first, with one
    column per objective (``None`` for a single-objective run)."""
    objectives, front = evo.objectives, evo.pareto_front
    if objectives is None or front is None:
        return None
    by_id = {e.candidate_id: e for e in evo.evaluations}
    members = sorted(front, key=lambda g: (-g.fitness.wvalues[0], g.id))
    frame = history.set_index("id", drop=False).loc[[g.id for g in members]]
    frame = frame.reset_index(drop=True).drop(columns=["error"])
    for k, name in enumerate(objectives.names):
        frame[f"objective_{name}"] = [objectives.values(by_id[g.id])[k] for g in members]
    return frame


def write_csv_atomic(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``frame`` to ``path`` so that a reader never sees half a file."""
    with atomic_open(path) as fh:
        frame.to_csv(fh, index=False)


@dataclass
class Result:
    """The outcome of :func:`evotune.evolve`.

    Attributes
    ----------
    best_params : dict
        The active parameters of the best evaluation.
    best_score : float
        Its mean score.
    hall_of_fame : DataFrame
        The best distinct evaluations, best first.
    history : DataFrame
        Every evaluation, failed ones included (see :func:`history_frame`).
    logbook : DataFrame
        One row per generation: ``evaluations``, ``failed``, ``best`` (best so
        far), ``mean`` and ``std`` (of the population's finite scores),
        ``elapsed`` (seconds).
    stop_reason : str
        Why the run ended: ``generations``, ``max_evaluations``,
        ``time_budget``, ``patience``, ``callback`` or ``exhausted``; or
        ``interrupted`` for the partial result of a run stopped by Ctrl-C,
        which ``evolve`` raises as ``KeyboardInterrupt`` with this result as
        its attribute ``result``.
    best_schedule : list of dict or None
        With ``strategy="pbt"``: the best member's parameters in each
        generation of its training, first to last (exploits included, so a
        learning rate that decays shows as one); None otherwise.
    """

    best_params: dict[str, Any] | None
    best_score: float
    hall_of_fame: pd.DataFrame
    history: pd.DataFrame
    logbook: pd.DataFrame
    direction: str = "maximize"
    stop_reason: str = "generations"
    elapsed: float = 0.0
    evaluations: list[Evaluation] = field(default_factory=list, repr=False)
    pareto_front: pd.DataFrame | None = None
    figure_data: FigureData | None = field(default=None, repr=False, compare=False)
    #: the best member's parameters over its training, one dict a generation
    #: from the first (``strategy="pbt"``); None for other strategies
    best_schedule: list[dict[str, Any]] | None = None

    @classmethod
    def from_evolution(
        cls,
        evo: Evolution,
        *,
        stop_reason: str,
        elapsed: float,
        untold: Sequence[Evaluation] = (),
        figure_data: FigureData | None = None,
    ) -> Result:
        """The result of ``evo``; ``untold`` are finished evaluations the
        engine was not told yet (an interrupted generation's), added to the
        history and considered for the best."""
        evaluations = [*evo.evaluations, *untold]
        history = history_frame(evaluations, evo.space)
        best = evo.best
        best_params = dict(best.params) if best is not None else None
        best_score = float(best.score) if best is not None else math.nan
        sign = 1.0 if evo.direction == "maximize" else -1.0
        for ev in untold:
            if ev.ok and (best_params is None or sign * ev.mean_score > sign * best_score):
                best_params, best_score = dict(ev.params), float(ev.mean_score)
        logbook = pd.DataFrame(list(evo.logbook))
        return cls(
            best_params=best_params,
            best_score=best_score,
            hall_of_fame=_hall_of_fame_frame(list(evo.hall_of_fame), history),
            history=history,
            logbook=logbook,
            direction=evo.direction,
            stop_reason=stop_reason,
            elapsed=elapsed,
            evaluations=evaluations,
            pareto_front=_pareto_frame(evo, history),
            figure_data=figure_data,
            best_schedule=_lineage(evo) if getattr(evo.strategy, "lineage", False) else None,
        )

    # ------------------------------------------------------------- figures
    # The report's figures (evotune.report.write_plots draws the same ones
    # into PNGs), drawn from this result in memory: with or without a run
    # directory, in a notebook or a script. Each returns a matplotlib Figure
    # made without pyplot, so no global backend is touched; a notebook shows it
    # as a cell's value, ``fig.savefig(path)`` writes it.

    def plot_progress(self) -> Figure:
        """The best score so far and the population's mean ± std per generation,
        over every evaluation's score.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> from evotune import Float, evolve
        >>> res = evolve(lambda p: -(p["x"] - 1) ** 2, {"x": Float(-3, 3)},
        ...              population_size=4, generations=3, random_state=0)
        >>> fig = res.plot_progress()
        >>> fig.axes[0].get_xlabel()
        'generation (0 = initial population)'
        """
        from evotune._figures import draw_progress

        return draw_progress(self._figure_run())

    def plot_parameters(self) -> Figure:
        """The score against each parameter, one panel per parameter, coloured by
        generation, the best evaluation starred.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> from evotune import Float, Integer, evolve
        >>> res = evolve(lambda p: p["x"] - p["n"], {"x": Float(0, 1), "n": Integer(0, 3)},
        ...              population_size=4, generations=2, random_state=0)
        >>> [ax.get_xlabel() for ax in res.plot_parameters().axes[:2]]
        ['x (0 to 1, linear)', 'n (0 to 3, linear)']
        """
        from evotune._figures import draw_parameters

        return draw_parameters(self._figure_run())

    def plot_timeline(self) -> Figure:
        """One lane per worker, a bar per (candidate, fold) task: how busy the
        workers were.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> from evotune import Float, evolve
        >>> res = evolve(lambda p: p["x"], {"x": Float(0, 1)},
        ...              population_size=4, generations=2, random_state=0)
        >>> [t.get_text() for t in res.plot_timeline().axes[0].get_yticklabels()]
        ['worker 0']
        """
        from evotune._figures import draw_timeline

        return draw_timeline(self._figure_run())

    def plot_pareto_front(self) -> Figure:
        """For a run with several ``objectives``: every evaluation in the plane
        of the first objective and each other one, the Pareto front joined.

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        ValueError
            For a run with one objective (it has no front).

        Examples
        --------
        >>> from evotune import Float, evolve
        >>> res = evolve(lambda p: p["x"], {"x": Float(0, 1)},
        ...              objectives={"score": "maximize", "fit_time": "minimize"},
        ...              strategy="nsga2", population_size=4, generations=2, random_state=0)
        >>> res.plot_pareto_front().axes[0].get_xlabel()
        'fit_time (minimize)'
        """
        from evotune._figures import draw_pareto_front, objectives_of

        run = self._figure_run()
        if len(objectives_of(run)) < 2:
            raise ValueError(
                "plot_pareto_front needs a run with several 'objectives'; this one has one "
                "(see plot_progress)"
            )
        return draw_pareto_front(run)

    def _figure_run(self) -> Any:
        return run_from_memory(self.evaluations, self.logbook, self.direction, self.figure_data)

    @property
    def n_evaluations(self) -> int:
        return len(self.history)

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``history.csv`` and ``hall_of_fame.csv`` into ``directory``."""
        out = Path(directory)
        write_csv_atomic(self.history, out / HISTORY)
        write_csv_atomic(self.hall_of_fame, out / HALL_OF_FAME)
        return out

    def __repr__(self) -> str:
        return (
            f"Result(best_score={self.best_score!r}, best_params={self.best_params!r}, "
            f"n_evaluations={self.n_evaluations}, stop_reason={self.stop_reason!r})"
        )


def _lineage(evo: Evolution) -> list[dict[str, Any]] | None:
    """The best genome's parameters and its ancestors', first to last."""
    best = evo.best
    if best is None:
        return None
    by_id = {g.id: g for g in evo.seen.values()}
    chain = [best]
    while chain[-1].parents and chain[-1].parents[0] in by_id:
        chain.append(by_id[chain[-1].parents[0]])
    return [dict(g.params) for g in reversed(chain)]
