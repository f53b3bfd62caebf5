"""Tests of ``evotune.evaluation``: the Evaluator, and the objective protocol it
calls (Objective, BaseObjective, FunctionObjective, as_objective)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evotune import (
    BaseObjective,
    Candidate,
    CrossValScore,
    Evaluation,
    Evaluator,
    FoldResult,
    FunctionObjective,
    SerialBackend,
)
from evotune.evaluation import Objective, as_objective, assemble, summarise_failures
from evotune.records import Task


def cand(i: int, key: str | None = None, **params) -> Candidate:
    return Candidate(i, 0, "initial", key if key is not None else f"k{i}", params, seed=i)


class FoldObjective:
    """``n_tasks`` folds; fold k of params x scores x * 10 + k; counts calls."""

    def __init__(self, n_tasks: int = 3):
        self.n_tasks = n_tasks
        self.calls: list[tuple[float, int]] = []

    def run(self, params, task, seed):
        self.calls.append((params["x"], task))
        return FoldResult(score=params["x"] * 10 + task, fit_time=0.5, score_time=0.25)


class ShuffledBackend:
    """Returns finished tasks in a scrambled order, several per wait()."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.queue: list[Task] = []
        self.objective = None
        self.starts = 0
        self.shutdowns = 0

    def start(self, objective):
        self.objective = objective
        self.starts += 1

    def submit(self, task):
        self.queue.append(task)

    def wait(self, timeout=None):
        if not self.queue:
            return []
        k = int(self.rng.integers(1, len(self.queue) + 1))
        order = self.rng.permutation(len(self.queue))
        picked = [self.queue[i] for i in order[:k]]
        self.queue = [self.queue[i] for i in order[k:]]
        return [(t, self.objective.run(t.params, t.fold, t.seed)) for t in picked]

    def shutdown(self):
        self.shutdowns += 1


# ------------------------------------------------------------------- cache
def test_cache_same_key_not_evaluated_twice_across_calls():
    calls = []
    ev = Evaluator(FunctionObjective(lambda p: calls.append(p) or p["x"]), SerialBackend())
    first = ev.evaluate([cand(0, "k", x=1.0)])
    again = ev.evaluate([cand(5, "k", x=1.0), cand(6, "other", x=2.0)])
    assert len(calls) == 2  # "k" once, "other" once
    assert again[0].mean_score == first[0].mean_score == 1.0
    assert again[1].mean_score == 2.0
    assert set(ev.cache) == {"k", "other"}
    ev.close()


def test_cache_same_key_not_evaluated_twice_within_one_batch():
    obj = FoldObjective(n_tasks=2)
    ev = Evaluator(obj, SerialBackend())
    out = ev.evaluate([cand(0, "same", x=1.0), cand(1, "same", x=1.0)])
    assert len(out) == 2
    assert out[0].fold_scores == out[1].fold_scores == [10.0, 11.0]
    assert len(obj.calls) == 2, f"key 'same' was evaluated more than once: {obj.calls}"
    ev.close()


def test_results_are_matched_by_task_id_not_arrival_order():
    obj = FoldObjective(n_tasks=4)
    backend = ShuffledBackend(seed=3)
    ev = Evaluator(obj, backend)
    cands = [cand(i, x=float(i)) for i in range(6)]
    seen = []
    out = ev.evaluate(cands, on_result=seen.append)
    assert [e.candidate_id for e in out] == [0, 1, 2, 3, 4, 5]
    for c, e in zip(cands, out, strict=True):
        assert e.fold_scores == [c.params["x"] * 10 + k for k in range(4)]
        assert e.key == c.key
        assert e.params == c.params
        assert e.status == "ok"
    assert sorted(e.candidate_id for e in seen) == list(range(6))
    assert len(obj.calls) == 24
    ev.close()
    assert backend.starts == 1
    assert backend.shutdowns == 1


def test_backend_started_once_and_with_the_objective():
    obj = FoldObjective(n_tasks=1)
    backend = ShuffledBackend()
    ev = Evaluator(obj, backend)
    ev.evaluate([cand(0, x=1.0)])
    ev.evaluate([cand(1, x=2.0)])
    assert backend.starts == 1
    # the backend gets the evaluator's objective: the user's, in its adapter
    assert backend.objective is ev.objective
    assert ev.objective.wrapped is obj
    ev.close()
    ev.close()
    assert backend.shutdowns == 1


def test_evaluate_keeps_input_order_with_cache_hits():
    ev = Evaluator(FunctionObjective(lambda p: p["x"]), SerialBackend())
    ev.evaluate([cand(0, "a", x=1.0)])
    out = ev.evaluate([cand(1, "b", x=2.0), cand(2, "a", x=1.0), cand(3, "c", x=3.0)])
    assert [e.mean_score for e in out] == [2.0, 1.0, 3.0]
    ev.close()


def test_evaluate_nothing():
    backend = ShuffledBackend()
    ev = Evaluator(FoldObjective(), backend)
    assert ev.evaluate([]) == []
    assert backend.starts == 0


# ---------------------------------------------------------------- assembly
def test_fold_assembly_mean_std_times():
    folds = [FoldResult(0.8, 1.0, 0.1), FoldResult(0.9, 2.0, 0.2), FoldResult(0.7, 3.0, 0.3)]
    e = assemble(cand(7, x=1.0), folds)
    assert e.candidate_id == 7
    assert e.fold_scores == [0.8, 0.9, 0.7]
    assert e.mean_score == pytest.approx(0.8)
    assert e.std_score == pytest.approx(np.std([0.8, 0.9, 0.7]))  # ddof=0, as scikit-learn
    assert e.fit_time == pytest.approx(6.0)
    assert e.score_time == pytest.approx(0.6)
    assert e.status == "ok"
    assert e.error is None
    assert e.ok


def test_fold_assembly_through_evaluator():
    ev = Evaluator(FoldObjective(n_tasks=3), SerialBackend())
    (e,) = ev.evaluate([cand(0, x=2.0)])
    assert e.fold_scores == [20.0, 21.0, 22.0]
    assert e.mean_score == pytest.approx(21.0)
    assert e.std_score == pytest.approx(np.std([20.0, 21.0, 22.0]))
    assert e.fit_time == pytest.approx(1.5)
    assert e.score_time == pytest.approx(0.75)
    ev.close()


def test_fold_assembly_with_a_failed_fold():
    folds = [
        FoldResult(0.8),
        FoldResult(math.nan, status="failed", error="ValueError: bad fold"),
        FoldResult(0.7),
    ]
    e = assemble(cand(1, x=1.0), folds)
    assert e.status == "failed"
    assert e.error == "ValueError: bad fold"
    assert math.isnan(e.mean_score)
    assert math.isnan(e.fold_scores[1])
    assert not e.ok


def test_evaluation_ok_property():
    base = dict(
        candidate_id=0,
        generation=0,
        origin="initial",
        key="k",
        params={},
        fold_scores=[1.0],
        std_score=0.0,
        fit_time=0.0,
        score_time=0.0,
    )
    assert Evaluation(mean_score=1.0, **base).ok
    assert not Evaluation(mean_score=math.nan, **base).ok
    assert not Evaluation(mean_score=math.inf, **base).ok
    assert not Evaluation(mean_score=1.0, status="failed", **base).ok


def test_summarise_failures_counts_distinct_errors():
    base = dict(
        generation=0,
        origin="initial",
        key="k",
        params={},
        fold_scores=[math.nan],
        mean_score=math.nan,
        std_score=math.nan,
        fit_time=0.0,
        score_time=0.0,
        status="failed",
    )
    evs = [Evaluation(candidate_id=i, error="E1" if i < 3 else "E2", **base) for i in range(4)]
    text = summarise_failures(evs)
    assert "3 evaluation(s) failed with: E1" in text
    assert "1 evaluation(s) failed with: E2" in text
    assert text.index("E1") < text.index("E2")


# ------------------------------------------------------- FunctionObjective
def test_function_objective_ok():
    obj = FunctionObjective(lambda p: p["x"] * 2)
    assert obj.n_tasks == 1
    r = obj.run({"x": 1.5}, 0, 0)
    assert r.status == "ok"
    assert r.score == 3.0
    assert r.error is None
    assert r.fit_time >= 0.0


@pytest.mark.parametrize("value", [3, np.float32(0.5), np.int64(2), -1e300])
def test_function_objective_accepts_real_numbers(value):
    r = FunctionObjective(lambda p: value).run({}, 0, 0)
    assert r.status == "ok"
    assert r.score == float(value)
    assert isinstance(r.score, float)


def test_function_objective_gets_a_copy_of_params():
    def mutate(p):
        p["x"] = 100.0
        return 1.0

    params = {"x": 1.0}
    FunctionObjective(mutate).run(params, 0, 0)
    assert params == {"x": 1.0}


def test_function_objective_exception_is_a_failed_result():
    def boom(p):
        raise ZeroDivisionError("cannot divide here")

    r = FunctionObjective(boom).run({"x": 1.0}, 0, 0)
    assert r.status == "failed"
    assert math.isnan(r.score)
    assert "ZeroDivisionError" in r.error
    assert "cannot divide here" in r.error


@pytest.mark.parametrize("value", ["0.5", None, [1.0], (1.0,), {"a": 1}, 1 + 2j, True])
def test_function_objective_non_number_is_a_failed_result(value):
    r = FunctionObjective(lambda p: value).run({}, 0, 0)
    assert r.status == "failed"
    assert math.isnan(r.score)
    assert r.error and "real number" in r.error


def test_function_objective_needs_a_callable():
    with pytest.raises(TypeError, match="callable"):
        FunctionObjective(3)


# ------------------------------------------------------------- as_objective
def test_as_objective_wraps_callables():
    obj = as_objective(lambda p: 1.0)
    assert isinstance(obj, FunctionObjective)
    assert obj.run({}, 0, 0).score == 1.0


def test_as_objective_passes_objectives_through():
    fold = FoldObjective()  # has n_tasks and run, not the rest: adapted
    adapted = as_objective(fold)
    assert adapted.wrapped is fold
    assert isinstance(adapted, Objective)
    assert as_objective(adapted) is adapted
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    cvs = CrossValScore(DecisionTreeClassifier(), X, y, cv=2)
    assert as_objective(cvs) is cvs


@pytest.mark.parametrize("bad", [3, "accuracy", None, [lambda p: 1.0]])
def test_as_objective_rejects_non_objectives(bad):
    with pytest.raises(TypeError, match="objective"):
        as_objective(bad)


# ------------------------------------------- the Objective protocol and base
class OnlyRun(BaseObjective):
    """A custom objective that writes only n_tasks and run."""

    n_tasks = 2

    def run(self, params, task, seed):
        return FoldResult(score=params["x"] + task)


def test_base_objective_gives_the_optional_members_their_defaults():
    obj = OnlyRun()
    assert isinstance(obj, Objective)
    assert as_objective(obj) is obj
    assert obj.fingerprint() == {"objective": "OnlyRun"}
    assert math.isnan(obj.error_score)
    assert obj.error_metrics(0.5) == {}
    assert obj.metric == "score"
    assert tuple(obj.metric_names_) == ("score",)
    assert obj.pickle_parts() == {}
    with pytest.raises(ValueError, match="needs a CrossValScore"):
        obj.with_measures({"leaves": len})


def test_a_base_objective_needs_run_and_n_tasks():
    class NoRun(BaseObjective):
        n_tasks = 1

    with pytest.raises(TypeError, match="abstract"):
        NoRun()

    class NoTasks(BaseObjective):
        def run(self, params, task, seed):
            return FoldResult(0.0)

    with pytest.raises(TypeError, match="has no n_tasks"):
        as_objective(NoTasks())


def test_function_objective_states_every_member():
    def f(p):
        return p["x"]

    obj = FunctionObjective(f)
    assert isinstance(obj, Objective) and isinstance(obj, BaseObjective)
    assert obj.n_tasks == 1
    assert obj.fingerprint() == {"objective": f"{__name__}.{f.__qualname__}"}
    assert math.isnan(obj.error_score)
    assert obj.error_metrics(math.nan) == {}
    assert (obj.metric, tuple(obj.metric_names_)) == ("score", ("score",))
    assert obj.pickle_parts() == {"function": f}
    with pytest.raises(ValueError, match="needs a CrossValScore"):
        obj.with_measures({"leaves": len})


class Complete:
    """A user's objective with its own optional members (no BaseObjective)."""

    n_tasks = 1
    error_score = -1.0
    metric = "acc"
    metric_names_ = ("acc", "f1")

    def run(self, params, task, seed):
        if params["x"] < 0:
            return FoldResult(math.nan, status="crashed", error="boom")
        return FoldResult(params["x"])

    def fingerprint(self):
        return {"objective": "mine", "version": 2}

    def error_metrics(self, value):
        return {"test_acc": value, "test_f1": value}


def test_an_objective_without_the_base_is_adapted_with_its_own_members():
    mine = Complete()
    obj = as_objective(mine)
    assert obj.wrapped is mine and isinstance(obj, Objective)
    assert obj.n_tasks == 1
    assert obj.fingerprint() == {"objective": "mine", "version": 2}
    assert (obj.error_score, obj.metric, list(obj.metric_names_)) == (-1.0, "acc", ["acc", "f1"])
    assert obj.error_metrics(0.0) == {"test_acc": 0.0, "test_f1": 0.0}
    assert obj.pickle_parts() == {}
    assert repr(obj) == repr(mine)
    # the defaults where it has none, the fingerprint naming the user's class
    plain = as_objective(FoldObjective())
    assert plain.fingerprint() == {"objective": "FoldObjective"}
    assert math.isnan(plain.error_score) and plain.error_metrics(1.0) == {}
    # what it sends to workers: its public attributes, named when one cannot be pickled
    assert plain.pickle_parts() == {"n_tasks": 3, "calls": []}


def test_the_adapter_never_writes_onto_the_users_objective():
    mine = Complete()
    obj = as_objective(mine)
    with pytest.raises(AttributeError, match="set it there"):
        obj.metric = "f1"
    assert mine.metric == "acc" and "metric" not in vars(mine)


def test_an_adapted_objective_forwards_with_measures():
    class Measurable(Complete):
        def __init__(self, measures=None):
            self.measures = dict(measures or {})

        def with_measures(self, measures):
            return Measurable({**self.measures, **measures})

    mine = Measurable()
    obj = as_objective(mine).with_measures({"size": len})
    assert isinstance(obj, Objective)
    assert obj.wrapped.measures == {"size": len}
    assert mine.measures == {}


def test_as_objective_names_what_an_objective_lacks():
    class NoRun:
        n_tasks = 2

    with pytest.raises(TypeError, match="has no run"):
        as_objective(NoRun())


def test_check_picklable_names_the_parts_that_cannot_be_sent():
    from evotune.backends.process import check_picklable

    class Streaming(OnlyRun):
        def __init__(self):
            self.stream = (i for i in range(3))  # a generator: never picklable

        def pickle_parts(self):
            return {"stream": self.stream, "n": 3}

    with pytest.raises(TypeError, match=r"\(stream=<generator"):
        check_picklable(Streaming())


def _calls_in(path) -> list[str]:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "hasattr")
    ]


def test_the_evaluator_and_the_pool_call_members_without_probing():
    from pathlib import Path

    import evotune.backends.process as process
    import evotune.evaluation as evaluation

    assert _calls_in(Path(evaluation.__file__)) == []
    assert _calls_in(Path(process.__file__)) == []


# ------------------------------------------------------------ issue 14, part A
def test_a_nan_score_is_a_score_with_its_own_status():
    # items 5 and 6: every fold ran and a scorer said NaN: status "nan", not "ok",
    # and not a failure
    c = cand(0, x=1.0)
    ev = assemble(c, [FoldResult(score=0.5), FoldResult(score=math.nan)])
    assert ev.status == "nan" and ev.error is None and not ev.ok
    assert assemble(c, [FoldResult(score=0.5), FoldResult(score=1.0)]).status == "ok"
    assert assemble(c, [FoldResult(score=math.inf)]).status == "ok"  # inf is a value
    failed = FoldResult(score=math.nan, status="failed", error="E")
    assert assemble(c, [FoldResult(score=0.5), failed]).status == "failed"


def test_summarise_failures_counts_add_up_to_the_failed_evaluations():
    # item 9: NaN scores and raced candidates are not failures; the listed counts
    # add up to the failed evaluations, even past the limit of lines
    base = dict(
        generation=0,
        origin="initial",
        key="k",
        params={},
        fold_scores=[math.nan],
        mean_score=math.nan,
        std_score=math.nan,
        fit_time=0.0,
        score_time=0.0,
    )
    evs = [Evaluation(candidate_id=i, status="failed", error=f"E{i % 5}", **base) for i in range(7)]
    evs += [Evaluation(candidate_id=10, status="nan", **base)]
    evs += [Evaluation(candidate_id=11, status="raced", error="trailing", **base)]
    evs += [Evaluation(candidate_id=12, status="timeout", **base)]
    text = summarise_failures(evs, limit=3)
    counts = [int(line.split()[0]) for line in text.splitlines()]
    assert sum(counts) == 8
    assert "other errors" in text.splitlines()[-1]
    assert "trailing" not in text and "nan" not in text
