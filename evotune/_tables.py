"""``history.csv`` and ``hall_of_fame.csv`` for a live run, rewritten cheaply.

A long run rewrites both files after every generation. Building pandas frames
for that each time costs more than the journal itself, so rows are rendered to
CSV text once, when their evaluation arrives, and each rewrite only joins the
cached rows, writes a temporary file, fsyncs it and renames it over the old
one. The columns are those of :func:`evotune.result.history_frame`.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evotune._atomic import atomic_open
from evotune._journal_write import storage_error
from evotune.journal import HALL_OF_FAME, HISTORY

if TYPE_CHECKING:
    from evotune.records import Evaluation
    from evotune.space import Space


def _cell(value: Any) -> Any:
    """A missing value or NaN as an empty cell, ±inf as ``inf`` / ``-inf``
    (which pandas reads back as the infinities)."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return "" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _write_atomic(path: Path, text: str) -> None:
    # no fsync: the tables are views of the journal (which is fsynced every
    # generation) and are rewritten from it on resume; an fsync per table per
    # generation was half the journal's cost on millisecond fits
    try:
        with atomic_open(path, fsync=False) as fh:
            fh.write(text)
    except OSError as exc:  # a full disk: one line naming the file
        raise storage_error(path, exc, len(text.encode("utf-8"))) from None


class TableWriter:
    """Keeps the rendered rows of a run and rewrites its two CSV files, at most
    once every ``interval`` seconds (the last state is written by ``force``)."""

    def __init__(self, space: Space, interval: float = 1.0) -> None:
        self.space = space
        self.interval = float(interval)
        self._last = -math.inf
        self.pending = False
        self._layout: tuple[int, bool] = (-1, False)  # fold count, reports or not
        self._rows: list[str] = []  # history rows, with the error column
        self._short: dict[int, str] = {}  # candidate id -> row without the error column
        self._done = 0

    def _header(self, n_splits: int, stepped: bool) -> list[str]:
        return (
            ["id", "generation", "origin"]
            + [f"param_{n}" for n in self.space.public_names]
            + ["mean_score", "std_score"]
            + [f"split{k}_score" for k in range(n_splits)]
            + ["fit_time", "score_time"]
            + (["last_step"] if stepped else [])
            + ["status", "error"]
        )

    @staticmethod
    def _line(fields: list[Any]) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([_cell(f) for f in fields])
        return buf.getvalue()

    def _render(self, e: Evaluation, n_splits: int, stepped: bool) -> None:
        scores = list(e.fold_scores) + [math.nan] * (n_splits - len(e.fold_scores))
        last = max((r[-1][0] for r in e.reports if r), default=None)
        fields = (
            [e.candidate_id, e.generation, e.origin]
            + [e.params.get(n) for n in self.space.public_names]
            + [e.mean_score, e.std_score]
            + scores[:n_splits]
            + [e.fit_time, e.score_time]
            + ([last] if stepped else [])
            + [e.status]
        )
        self._rows.append(self._line([*fields, e.error]))
        self._short[e.candidate_id] = self._line(fields)

    def write(
        self,
        directory: Path,
        evaluations: Sequence[Evaluation],
        best_ids: Sequence[int],
        *,
        force: bool = False,
    ) -> None:
        """Rewrite ``history.csv`` and ``hall_of_fame.csv`` (ids best first),
        unless the last rewrite is less than ``interval`` seconds old and not
        ``force``: on fits of milliseconds a rewrite per generation cost more
        than the journal itself."""
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            self.pending = True
            return
        self._last, self.pending = now, False
        n_splits = max((len(e.fold_scores) for e in evaluations), default=0)
        stepped = any(r for e in evaluations for r in e.reports)
        if (n_splits, stepped) != self._layout:  # new columns: render everything again
            self._layout, self._rows, self._short, self._done = (n_splits, stepped), [], {}, 0
        for e in evaluations[self._done :]:
            self._render(e, n_splits, stepped)
        self._done = len(evaluations)
        header = self._header(n_splits, stepped)
        _write_atomic(directory / HISTORY, self._line(header) + "".join(self._rows))
        hof = [self._line(["rank", *header[:-1]]).rstrip("\n") + "\n"]
        for rank, cid in enumerate(best_ids, start=1):
            hof.append(f"{rank}," + self._short[cid])
        _write_atomic(directory / HALL_OF_FAME, "".join(hof))
