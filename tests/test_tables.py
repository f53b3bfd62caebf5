"""The live tables (evotune/_tables.py): ``history.csv`` and
``hall_of_fame.csv`` rewritten at most once an interval unless forced, by a
rename, with the rows and columns of :func:`evotune.result.history_frame`."""

from __future__ import annotations

import csv
import io
import math
import os
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from evotune import Categorical, Float, Integer
from evotune._tables import TableWriter
from evotune.journal import HALL_OF_FAME, HISTORY
from evotune.records import Evaluation
from evotune.result import history_frame
from evotune.space import Space

SPACE = Space(
    {
        "x": Float(-1.0, 1.0),
        "kind": Categorical(["a", "b"]),
        "n": Integer(1, 5, when={"kind": "b"}),
    }
)
NEVER = 3600.0  # an interval no test outlasts


def _evaluation(i: int, folds: list[float], **kw) -> Evaluation:
    ok = folds and all(math.isfinite(f) for f in folds)
    mean = sum(folds) / len(folds) if ok else math.nan
    params = {"x": round(0.1 * i - 0.5, 3), "kind": "b" if i % 2 else "a"}
    if i % 2:
        params["n"] = i % 5 + 1
    fields = {
        "candidate_id": i,
        "generation": i // 3,
        "origin": "initial" if i < 3 else "mutation",
        "key": f"k{i}",
        "params": params,
        "fold_scores": folds,
        "mean_score": mean,
        "std_score": 0.01 * i if ok else math.nan,
        "fit_time": 0.5 + i,
        "score_time": 0.25,
        "status": "ok" if ok else "failed",
        "error": None if ok else f'ValueError: bad, "quoted"\nline {i}',
    }
    fields.update(kw)
    return Evaluation(**fields)


def _evaluations(n: int, n_folds: int = 3) -> list[Evaluation]:
    out = []
    for i in range(n):
        folds = [0.5 + 0.01 * i + 0.001 * k for k in range(n_folds)]
        if i == 2:
            folds = [math.nan] * n_folds  # a failure: empty cells, an error message
        out.append(_evaluation(i, folds))
    return out


def _read(path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def _cell(value) -> str:
    """How a value reads back from the CSV: None and NaN as an empty cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _expected_row(e: Evaluation, n_splits: int, *, error: bool = True) -> list[str]:
    scores = list(e.fold_scores) + [math.nan] * (n_splits - len(e.fold_scores))
    row = (
        [e.candidate_id, e.generation, e.origin]
        + [e.params.get(n) for n in SPACE.names]
        + [e.mean_score, e.std_score, *scores, e.fit_time, e.score_time, e.status]
    )
    if error:
        row.append(e.error)
    return [_cell(v) for v in row]


def _check_history(path, evaluations):
    rows = _read(path)
    frame = history_frame(evaluations, SPACE)
    assert rows[0] == list(frame.columns)
    n_splits = max((len(e.fold_scores) for e in evaluations), default=0)
    assert rows[1:] == [_expected_row(e, n_splits) for e in evaluations]
    # and the values are those of the frame the finished run writes
    assert [int(r[0]) for r in rows[1:]] == frame["id"].tolist()
    mean = rows[0].index("mean_score")
    for r, expected in zip(rows[1:], frame["mean_score"]):
        if math.isnan(expected):
            assert r[mean] == ""
        else:
            assert float(r[mean]) == expected


def test_a_forced_write_matches_the_evaluations(tmp_path):
    evaluations = _evaluations(6)
    writer = TableWriter(SPACE, interval=NEVER)
    writer.write(tmp_path, evaluations, [4, 1], force=True)
    _check_history(tmp_path / HISTORY, evaluations)
    assert not writer.pending


def test_the_hall_of_fame_is_ranked_best_first_without_the_error_column(tmp_path):
    evaluations = _evaluations(6)
    best = [5, 0, 3]
    TableWriter(SPACE).write(tmp_path, evaluations, best, force=True)
    rows = _read(tmp_path / HALL_OF_FAME)
    history_header = _read(tmp_path / HISTORY)[0]
    assert rows[0] == ["rank", *history_header[:-1]]
    by_id = {e.candidate_id: e for e in evaluations}
    assert rows[1:] == [
        [str(rank), *_expected_row(by_id[cid], 3, error=False)]
        for rank, cid in enumerate(best, start=1)
    ]


def test_an_empty_run_writes_the_headers_only(tmp_path):
    TableWriter(SPACE).write(tmp_path, [], [], force=True)
    assert _read(tmp_path / HISTORY) == [
        [
            *("id", "generation", "origin", "param_x", "param_kind", "param_n"),
            *("mean_score", "std_score", "fit_time", "score_time", "status", "error"),
        ]
    ]
    assert _read(tmp_path / HALL_OF_FAME)[0][0] == "rank"
    assert len(_read(tmp_path / HALL_OF_FAME)) == 1


def test_the_first_write_is_not_held_back(tmp_path):
    writer = TableWriter(SPACE, interval=NEVER)
    writer.write(tmp_path, _evaluations(2), [0])
    assert (tmp_path / HISTORY).exists() and (tmp_path / HALL_OF_FAME).exists()
    assert not writer.pending


def test_a_write_within_the_interval_is_held_back_until_forced(tmp_path):
    evaluations = _evaluations(6)
    writer = TableWriter(SPACE, interval=NEVER)
    writer.write(tmp_path, evaluations[:2], [0])
    history = (tmp_path / HISTORY).read_bytes()
    hof = (tmp_path / HALL_OF_FAME).read_bytes()

    writer.write(tmp_path, evaluations[:4], [3, 0])
    assert writer.pending
    assert (tmp_path / HISTORY).read_bytes() == history
    assert (tmp_path / HALL_OF_FAME).read_bytes() == hof

    writer.write(tmp_path, evaluations, [5, 3, 0], force=True)
    assert not writer.pending
    _check_history(tmp_path / HISTORY, evaluations)
    assert [r[1] for r in _read(tmp_path / HALL_OF_FAME)[1:]] == ["5", "3", "0"]


def test_the_default_interval_is_a_second(tmp_path):
    writer = TableWriter(SPACE)
    assert writer.interval == 1.0
    evaluations = _evaluations(4)
    writer.write(tmp_path, evaluations[:1], [0])
    writer.write(tmp_path, evaluations, [0])  # well within a second of the first
    assert writer.pending
    assert len(_read(tmp_path / HISTORY)) == 2


def test_a_write_after_the_interval_goes_through(tmp_path):
    evaluations = _evaluations(4)
    writer = TableWriter(SPACE, interval=1.0)
    writer.write(tmp_path, evaluations[:1], [0])
    time.sleep(1.2)
    writer.write(tmp_path, evaluations, [1, 0])
    assert not writer.pending
    _check_history(tmp_path / HISTORY, evaluations)
    # and the interval counts from this write: the next one is held back again
    writer.write(tmp_path, evaluations[:2], [0])
    assert writer.pending
    _check_history(tmp_path / HISTORY, evaluations)


def test_rows_render_once_and_are_appended_across_writes(tmp_path):
    evaluations = _evaluations(9)
    writer = TableWriter(SPACE, interval=NEVER)
    for n in (1, 4, 4, 9):
        writer.write(tmp_path, evaluations[:n], [0], force=True)
        _check_history(tmp_path / HISTORY, evaluations[:n])


def test_a_new_fold_count_renders_every_row_again(tmp_path):
    writer = TableWriter(SPACE, interval=NEVER)
    evaluations = _evaluations(3, n_folds=2)
    writer.write(tmp_path, evaluations, [1], force=True)
    assert sum(h.startswith("split") for h in _read(tmp_path / HISTORY)[0]) == 2
    evaluations.append(_evaluation(3, [0.1, 0.2, 0.3, 0.4]))
    writer.write(tmp_path, evaluations, [3, 1], force=True)
    rows = _read(tmp_path / HISTORY)
    assert [h for h in rows[0] if h.startswith("split")] == [f"split{k}_score" for k in range(4)]
    _check_history(tmp_path / HISTORY, evaluations)
    # the earlier rows have empty cells for the folds they did not have
    split3 = rows[0].index("split3_score")
    assert [r[split3] for r in rows[1:]] == ["", "", "", "0.4"]
    hof = _read(tmp_path / HALL_OF_FAME)
    assert len(hof[0]) == len(rows[0]) and len(hof[1]) == len(hof[0])


def test_each_rewrite_replaces_the_files_by_a_rename(tmp_path):
    evaluations = _evaluations(5)
    writer = TableWriter(SPACE, interval=NEVER)
    writer.write(tmp_path, evaluations[:2], [0], force=True)
    with open(tmp_path / HISTORY) as old_history, open(tmp_path / HALL_OF_FAME) as old_hof:
        before = old_history.read(), old_hof.read()
        old_history.seek(0)
        old_hof.seek(0)
        writer.write(tmp_path, evaluations, [4, 0], force=True)
        # a reader that had the old files open still reads them whole
        assert (old_history.read(), old_hof.read()) == before
    _check_history(tmp_path / HISTORY, evaluations)
    # and no temporary is left beside them
    assert sorted(os.listdir(tmp_path)) == sorted([HISTORY, HALL_OF_FAME])


def test_the_directory_must_exist_or_be_creatable(tmp_path):
    target = tmp_path / "run" / "nested"
    TableWriter(SPACE).write(target, _evaluations(2), [1], force=True)
    _check_history(target / HISTORY, _evaluations(2))


# no "\r": Python's csv writer (3.11) leaves a field with a bare carriage return
# unquoted when the line terminator is "\n", so such a message would not read
# back; pandas' to_csv, which writes the finished run's tables, does the same
text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=30
)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.floats(allow_nan=True, allow_infinity=False, width=32),
            st.sampled_from(["a", "b"]),
            st.none() | text,
            st.lists(st.floats(-1, 1, width=32), max_size=4),
        ),
        max_size=6,
    )
)
def test_any_value_reads_back_from_the_csv(tmp_path_factory, rows):
    """Messages with commas, quotes and line breaks, NaNs and missing folds all
    survive the CSV: a reader gets back each value's text, or an empty cell."""
    evaluations = [
        _evaluation(
            i,
            folds,
            params={"x": x, "kind": kind},
            error=error,
            mean_score=sum(folds) / len(folds) if folds else math.nan,
        )
        for i, (x, kind, error, folds) in enumerate(rows)
    ]
    directory = tmp_path_factory.mktemp("t")
    TableWriter(SPACE).write(directory, evaluations, [e.candidate_id for e in evaluations][:2])
    written = _read(directory / HISTORY)
    n_splits = max((len(e.fold_scores) for e in evaluations), default=0)
    assert written[1:] == [_expected_row(e, n_splits) for e in evaluations]
    assert written[0] == list(history_frame(evaluations, SPACE).columns)
    hof = _read(directory / HALL_OF_FAME)
    assert [r[1] for r in hof[1:]] == [str(e.candidate_id) for e in evaluations[:2]]
    # the file is CSV a reader can parse record by record
    with open(directory / HISTORY, newline="") as fh:
        assert len(list(csv.reader(io.StringIO(fh.read())))) == len(evaluations) + 1


def test_an_error_with_a_carriage_return_keeps_its_row(tmp_path):
    import pandas as pd

    from evotune import Float, evolve

    def boom(p):
        if p["x"] < 0.5:
            raise ValueError("first line\rsecond line")
        return p["x"]

    res = evolve(
        boom,
        {"x": Float(0, 1)},
        population_size=6,
        generations=1,
        random_state=0,
        checkpoint=tmp_path / "run",
    )
    table = pd.read_csv(tmp_path / "run" / "history.csv")
    assert len(table) == res.n_evaluations
    failed = table[table["status"] == "failed"]
    assert len(failed) and failed["error"].str.contains("first line\nsecond line").all()


def test_infinite_scores_are_written_as_inf_and_read_back(tmp_path):
    import pandas as pd

    inf = math.inf
    evaluations = [
        _evaluation(0, [inf], mean_score=inf, status="ok", error=None),
        _evaluation(1, [-inf], mean_score=-inf, status="ok", error=None),
        _evaluation(2, [0.5]),
    ]
    TableWriter(SPACE).write(tmp_path, evaluations, [0, 2, 1], force=True)
    rows = _read(tmp_path / HISTORY)
    mean = rows[0].index("mean_score")
    assert [r[mean] for r in rows[1:]] == ["inf", "-inf", "0.5"]
    frame = pd.read_csv(tmp_path / HISTORY)
    assert frame["mean_score"].tolist() == [inf, -inf, 0.5]
    assert frame["split0_score"].tolist() == [inf, -inf, 0.5]
    assert pd.read_csv(tmp_path / HALL_OF_FAME)["mean_score"].tolist() == [inf, 0.5, -inf]


def test_a_full_disk_is_one_line_naming_the_table_and_keeps_the_old_one(tmp_path):
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    TableWriter(SPACE).write(tmp_path, _evaluations(2), [0], force=True)
    before = (tmp_path / HISTORY).read_bytes()
    code = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_tables import SPACE, _evaluations
        from evotune._tables import TableWriter
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(before) + 10}, resource.RLIM_INFINITY))
        try:
            TableWriter(SPACE).write(Path({str(tmp_path)!r}), _evaluations(40), [0], force=True)
        except OSError as exc:
            print(type(exc).__name__, exc)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    assert line.startswith(f"DiskFullError cannot write {tmp_path / HISTORY}: File too large")
    assert (tmp_path / HISTORY).read_bytes() == before  # the old table, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == [HALL_OF_FAME, HISTORY]  # no temp left
