"""The strategy contract: one suite that every registered strategy passes
(as Optuna's samplers share theirs), and the registry."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from evotune import Categorical, Evolution, Float, Integer, evolve, report_step
from evotune.settings import SearchSettings
from evotune.strategies import STRATEGY_NAMES, for_objective, make_strategy, strategy_class
from evotune.strategies._registry import REGISTRY
from evotune.strategies.base import Strategy

SPACE = {
    "x": Float(-2.0, 2.0),
    "lr": Float(1e-3, 1.0, log=True),
    "n": Integer(1, 6),
    "kind": Categorical(["a", "b"]),
}
# the strategies that take one objective (NSGA-II takes several: test_strategy_nsga2)
SINGLE = [n for n in STRATEGY_NAMES if not strategy_class(n).multi_objective]


def score(p):
    value = -((p["x"] - 0.5) ** 2) - (p["n"] - 3) ** 2 + (p["kind"] == "b")
    # a training of four steps, so that a strategy with budgets (Hyperband) can run it
    for step in range(4):
        report_step(step, value - 1.0 / (step + 1))
    return value - 0.25


class _Steps:
    """What a strategy may need of the objective: the steps of a full training."""

    max_steps = 4


class ScoreTraining:
    """``score`` as a training of segments that approaches it (for PBT)."""

    def setup(self, params, seed):
        self.params, self.t = params, 0

    def step(self):
        self.t += 1
        return score(self.params) - 1.0 / self.t

    def save_checkpoint(self, path):
        with open(path, "w") as f:
            f.write(str(self.t))

    def load_checkpoint(self, path):
        with open(path) as f:
            self.t = int(f.read())


def _objective(name):
    """What the strategy ``name`` runs: ``score``, or its training for a
    strategy that takes trainings only (PBT)."""
    from evotune import InvalidParameterError

    try:
        for_objective(name, SearchSettings(), _Steps(), None)
    except InvalidParameterError:
        return ScoreTraining
    return score


def _strategy(name):
    """``name``, or the object a run of ``score`` makes of it (Hyperband's budgets)."""
    objective = _Steps()
    if _objective(name) is ScoreTraining:
        from evotune.trainable import TrainableObjective

        objective = TrainableObjective(ScoreTraining)
    return for_objective(name, SearchSettings(), objective, None)


def _history(res):
    return [(e.candidate_id, e.key, e.origin, e.generation) for e in res.evaluations]


def test_the_registry_names_every_strategy_module_once():
    assert set(STRATEGY_NAMES) == {
        "ga",
        "mu_plus_lambda",
        "mu_comma_lambda",
        "steady_state",
        "nsga2",
        "random",
        "model_based",
        "grid",
        "hyperband",
        "pbt",
    }
    for name in STRATEGY_NAMES:
        cls = strategy_class(name)
        assert cls.name == name
        assert REGISTRY[name].endswith(f":{cls.__name__}")
        assert isinstance(cls(), Strategy)


@pytest.mark.parametrize("name", SINGLE)
def test_ask_tell_contract(name):
    evo = Evolution(SPACE, population_size=6, strategy=_strategy(name), random_state=0)
    told_keys: set[str] = set()
    # an asynchronous strategy asks a few candidates at a time: go on until
    # four generations' worth are told
    for _ in range(100):
        if evo.n_evaluations >= 4 * 6:
            break
        cands = evo.ask()
        assert len({c.id for c in cands}) == len(cands)
        assert not told_keys & {c.key for c in cands}  # nothing asked twice
        told_keys |= {c.key for c in cands}
        evo.tell([evo.evaluation_of(c, score(c.params)) for c in cands])
    assert evo.n_evaluations == len(told_keys) > 0
    assert evo.generation >= 3
    # the best is the best complete evaluation (a lower rung's score never is)
    complete = [e.mean_score for e in evo.evaluations if e.ok]
    assert evo.best is not None and evo.best.score == max(complete)


@pytest.mark.parametrize("name", SINGLE)
def test_same_seed_same_history_and_budget(name):
    runs = [
        evolve(
            _objective(name),
            SPACE,
            population_size=6,
            generations=4,
            strategy=_strategy(name),
            random_state=3,
        )
        for _ in range(2)
    ]
    assert _history(runs[0]) == _history(runs[1])
    assert runs[0].n_evaluations <= 24


@pytest.mark.parametrize("name", SINGLE)
def test_a_strategy_object_gives_the_named_strategy_s_history(name):
    named = _strategy(name)
    objective = _objective(name)
    by_name = evolve(
        objective, SPACE, population_size=6, generations=3, strategy=named, random_state=1
    )
    obj = make_strategy(named, SearchSettings())
    before = copy.deepcopy(obj)
    by_obj = evolve(
        objective, SPACE, population_size=6, generations=3, strategy=obj, random_state=1
    )
    assert _history(by_obj) == _history(by_name)
    # the run worked on its own copy: the user's object is as it was
    assert dataclasses.asdict(obj) == dataclasses.asdict(before)
    assert vars(obj).keys() == vars(before).keys()


def test_a_strategy_object_s_parameters_apply_and_are_recorded():
    from evotune.strategies import GA

    evo = Evolution(SPACE, population_size=6, strategy=GA(tournament_size=2, elitism=3))
    assert (evo.settings.strategy, evo.settings.tournament_size, evo.settings.elitism) == (
        "ga",
        2,
        3,
    )


def test_an_object_that_is_not_a_strategy_is_refused():
    with pytest.raises(ValueError, match="'strategy' must be one of"):
        Evolution(SPACE, strategy=object())


def test_a_parameter_given_both_flat_and_on_the_object_must_agree():
    from evotune.strategies import GA

    with pytest.raises(ValueError, match="'tournament_size' is given twice"):
        Evolution(SPACE, strategy=GA(tournament_size=2), tournament_size=5)
    evo = Evolution(SPACE, strategy=GA(tournament_size=2), tournament_size=2)
    assert evo.settings.tournament_size == 2
