"""strategy="nsga2" (and "ga" with objectives): NSGA-II survival and the front."""

from __future__ import annotations

import pytest

from evotune import Evolution, Float, InvalidParameterError
from evotune.records import Evaluation
from evotune.strategies import NSGA2


def _tell(evo, cands):
    out = []
    for c in cands:
        x = c.params["x"]
        out.append(
            Evaluation(
                c.id, c.generation, c.origin, c.key, dict(c.params), [x], x, 0.0, 1.0 - x, 0.0
            )
        )
    evo.tell(out)


def test_ga_with_objectives_is_nsga2_and_the_front_is_non_dominated():
    evo = Evolution(
        {"x": Float(0, 1)},
        population_size=6,
        random_state=0,
        strategy="ga",
        objectives={"score": "maximize", "fit_time": "minimize"},
    )
    assert isinstance(evo.strategy, NSGA2) and evo.settings.elitism == 0
    for _ in range(3):
        _tell(evo, evo.ask())
    assert "hypervolume" in evo.logbook[-1] and evo.logbook[-1]["front"] >= 1


def test_nsga2_needs_objectives_and_others_refuse_them():
    with pytest.raises(InvalidParameterError, match="needs several 'objectives'"):
        Evolution({"x": Float(0, 1)}, strategy="nsga2")
    with pytest.raises(InvalidParameterError, match="leave 'strategy' at 'ga'"):
        Evolution(
            {"x": Float(0, 1)},
            strategy="random",
            objectives={"score": "maximize", "fit_time": "minimize"},
        )
