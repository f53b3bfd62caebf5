"""A run held in memory as the :class:`Run` the figures draw from.

The figures read a run as its journal has it (JSON records), so a run made
without a run directory is put in that form here, record by record with the
journal's own record makers; the drawing code is the report's, unchanged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evotune._figures._run import Run
from evotune.journal import evaluation_record

if TYPE_CHECKING:
    import pandas as pd

    from evotune.records import Evaluation, FoldResult


@dataclass
class FigureData:
    """What a :class:`~evotune.Result` keeps for its figures beyond its tables.

    Attributes
    ----------
    space : dict
        ``Space.to_dict()``.
    settings : dict
        The search settings in their JSON form (``direction``, ``objectives``).
    fingerprint : dict
        The objective's fingerprint (it names the scorer for the score axis).
    tasks : list of (worker, started, finished, status)
        Where and when each finished task ran (the timeline): four values a
        task, not its whole record, so a long run's result stays small.
    started : float
        Wall-clock time the run (this session) started; NaN when unknown.
    """

    space: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    fingerprint: dict[str, Any] = field(default_factory=dict)
    tasks: list[tuple[int, float, float, str]] = field(default_factory=list)
    started: float = math.nan

    @classmethod
    def of(
        cls,
        space: Mapping[str, Any],
        settings: Mapping[str, Any],
        fingerprint: Mapping[str, Any],
        folds: Iterable[tuple[tuple[str, int], FoldResult]],
        keys: Iterable[str],
        started: float,
    ) -> FigureData:
        """The data of a run: ``folds`` are ``((key, fold), result)`` pairs, of
        which those of the evaluations' ``keys`` are kept (a warm start's are not)."""
        wanted = set(keys)
        return cls(
            space=_as_json(space),
            settings=_as_json(settings),
            fingerprint=_as_json(fingerprint),
            tasks=[
                (r.worker, r.started, r.finished, r.status) for (k, _), r in folds if k in wanted
            ],
            started=started,
        )


def _as_json(value: Mapping[str, Any]) -> dict[str, Any]:
    """A plain JSON copy, as a run directory's ``meta.json`` would hold it."""
    return dict(json.loads(json.dumps(dict(value), default=repr)))


def run_from_memory(
    evaluations: Sequence[Evaluation],
    logbook: pd.DataFrame,
    direction: str,
    data: FigureData | None,
) -> Run:
    """The :class:`Run` a run directory of this run would read as.

    Examples
    --------
    >>> import pandas as pd
    >>> run = run_from_memory([], pd.DataFrame(), "minimize", None)
    >>> run.direction, run.evaluations, run.generations
    ('minimize', [], [])
    """
    data = data if data is not None else FigureData()
    settings = {**data.settings, "direction": direction}
    meta = {"space": data.space, "settings": settings, "fingerprint": data.fingerprint}
    records: dict[str, dict[str, Any]] = {}
    for ev in evaluations:
        # a genome met again keeps its first record, as the journal's reader does
        records.setdefault(ev.key, evaluation_record(ev))
    generations = [
        {str(k): _plain(v) for k, v in row.items()} for row in logbook.to_dict("records")
    ]
    return Run(
        path=Path("."),
        meta=meta,
        evaluations=sorted(records.values(), key=lambda r: int(r["candidate"])),
        # the fold records' fields the timeline reads
        folds=[
            {"result": {"worker": w, "started": s, "finished": f, "status": st}}
            for w, s, f, st in data.tasks
        ],
        generations=generations,
        direction=direction,
        starts=[data.started] if math.isfinite(data.started) else [],
    )


def _plain(value: Any) -> Any:
    """A numpy scalar of a DataFrame row as the Python number JSON would give."""
    return value.item() if hasattr(value, "item") else value
