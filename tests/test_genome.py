"""Tests of ``evotune.genome``: module-level DEAP classes, fitness, hall of fame."""

from __future__ import annotations

import copy
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest
from deap import base, creator

from evotune import Float, evolve
from evotune.genome import (
    FitnessMax,
    FitnessMin,
    Genome,
    fitness_class,
    make_hall_of_fame,
    make_logbook,
    make_statistics,
    worst_value,
)

DIRECTIONS = ["maximize", "minimize"]


def genome(
    key: str, score: float | None = None, direction: str = "maximize", genes=(0.5,), **kw
) -> Genome:
    g = Genome(
        np.array(genes, dtype=float), key=key, params={"x": genes[0]}, direction=direction, **kw
    )
    if score is not None:
        g.set_score(score)
    return g


# ----------------------------------------------------------- DEAP classes
@pytest.mark.parametrize("cls", [FitnessMax, FitnessMin])
def test_fitness_classes_are_module_level(cls):
    assert issubclass(cls, base.Fitness)
    assert cls.__module__ == "evotune.genome"
    import evotune.genome as module

    assert getattr(module, cls.__qualname__) is cls
    assert pickle.loads(pickle.dumps(cls)) is cls


@pytest.mark.parametrize("cls", [FitnessMax, FitnessMin])
def test_fitness_instances_pickle_round_trip(cls):
    f = cls((0.75,))
    back = pickle.loads(pickle.dumps(f))
    assert type(back) is cls
    assert back.values == (0.75,)
    assert back.wvalues == f.wvalues


def test_fitness_weights():
    assert FitnessMax.weights == (1.0,)
    assert FitnessMin.weights == (-1.0,)
    assert fitness_class("maximize") is FitnessMax
    assert fitness_class("minimize") is FitnessMin


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_genome_pickle_round_trip(direction):
    g = genome(
        "k1",
        0.25,
        direction,
        genes=(0.1, 2.0),
        id=7,
        generation=3,
        origin="mutation",
        parents=(1, 2),
        seed=11,
    )
    back = pickle.loads(pickle.dumps(g))
    assert type(back.fitness) is fitness_class(direction)
    assert back.fitness.values == g.fitness.values
    np.testing.assert_array_equal(back.genes, g.genes)
    assert (back.key, back.id, back.generation, back.origin, back.parents, back.seed) == (
        "k1",
        7,
        3,
        "mutation",
        (1, 2),
        11,
    )
    assert back.score == 0.25


def test_fitness_pickles_in_a_fresh_process():
    # a module-level class is found by name in a new interpreter, where
    # deap.creator classes would not exist
    blob = pickle.dumps(FitnessMin((1.5,)))
    code = (
        "import pickle, sys; f = pickle.loads(sys.stdin.buffer.read()); "
        "print(type(f).__module__, type(f).__name__, f.values[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=blob, capture_output=True, check=True, timeout=60
    )
    assert out.stdout.decode().split() == ["evotune.genome", "FitnessMin", "1.5"]


def test_evolve_does_not_use_deap_creator():
    before = set(vars(creator))
    evolve(
        lambda p: p["x"], {"x": Float(0.0, 1.0)}, population_size=4, generations=2, random_state=0
    )
    assert set(vars(creator)) == before


# ---------------------------------------------------------------- fitness
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_score_is_worst_fitness(direction, bad):
    g = genome("bad", bad, direction)
    assert g.fitness.values == (worst_value(direction),)
    assert g.selection_value() == -math.inf
    assert g.evaluated
    if math.isnan(bad):
        assert math.isnan(g.score)
    else:
        assert g.score == bad
    # worse than any real score, including a terrible one
    for real in (-1e300, 0.0, 1e300):
        ok = genome("ok", real, direction)
        assert ok.fitness > g.fitness
        assert ok.selection_value() > g.selection_value()


def test_worst_value():
    assert worst_value("maximize") == -math.inf
    assert worst_value("minimize") == math.inf


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_finite_score_order_follows_direction(direction):
    low, high = genome("a", 1.0, direction), genome("b", 2.0, direction)
    if direction == "maximize":
        assert high.fitness > low.fitness
        assert high.selection_value() == 2.0
    else:
        assert low.fitness > high.fitness
        assert low.selection_value() == -1.0


def test_unevaluated_genome():
    g = genome("new")
    assert not g.evaluated
    assert g.selection_value() == -math.inf
    assert math.isnan(g.score)


def test_genome_deepcopy_keeps_key_and_fitness():
    g = genome("k", 3.0, id=4)
    c = copy.deepcopy(g)
    assert c.key == "k" and c.id == 4 and c.fitness.values == (3.0,)
    assert c.fitness is not g.fitness


# ----------------------------------------------------------- hall of fame
def test_hall_of_fame_distinguishes_by_key():
    hof = make_hall_of_fame(5)
    a = genome("same", 1.0, genes=(0.1,), id=0)
    b = genome("same", 2.0, genes=(0.9,), id=1)  # different genes, same key
    c = genome("other", 0.5, genes=(0.1,), id=2)  # same genes, different key
    hof.update([a])
    hof.update([b])
    hof.update([c])
    keys = [g.key for g in hof]
    assert keys.count("same") == 1
    assert "other" in keys
    assert len(hof) == 2


def test_hall_of_fame_best_first_and_bounded():
    hof = make_hall_of_fame(3)
    hof.update([genome(f"k{i}", float(s), id=i) for i, s in enumerate([3, 9, 1, 7, 5])])
    assert [g.score for g in hof] == [9.0, 7.0, 5.0]
    hof_min = make_hall_of_fame(3)
    hof_min.update(
        [genome(f"k{i}", float(s), "minimize", id=i) for i, s in enumerate([3, 9, 1, 7, 5])]
    )
    assert [g.score for g in hof_min] == [1.0, 3.0, 5.0]


# ------------------------------------------------------- stats / logbook
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_statistics_ignore_non_finite_scores(direction):
    stats = make_statistics(direction)
    pop = [
        genome("a", 1.0, direction),
        genome("b", 3.0, direction),
        genome("c", math.nan, direction),
        genome("d", math.inf, direction),
    ]
    rec = stats.compile(pop)
    assert rec["best"] == (3.0 if direction == "maximize" else 1.0)
    assert rec["mean"] == 2.0
    assert rec["std"] == 1.0


def test_statistics_of_all_failed_population_are_nan():
    rec = make_statistics("maximize").compile([genome("a", math.nan)])
    assert all(math.isnan(rec[k]) for k in ("best", "mean", "std"))


def test_logbook_header():
    book = make_logbook()
    assert {"generation", "evaluations", "best", "mean", "std", "elapsed"} <= set(book.header)


def test_hall_of_fame_keeps_the_earlier_of_tied_genomes_first():
    from evotune.genome import make_hall_of_fame

    hof = make_hall_of_fame(3)
    first = Genome(np.array([0.1]), key="a", params={}, direction="maximize", id=0)
    second = Genome(np.array([0.2]), key="b", params={}, direction="maximize", id=1)
    first.set_score(1.0)
    second.set_score(1.0)
    hof.update([first])
    hof.update([second])
    assert [g.id for g in hof] == [0, 1]
