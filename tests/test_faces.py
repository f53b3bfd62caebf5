"""What the two scikit-learn faces share (evotune._faces)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError as SklearnInvalid

from evotune import EvolutionaryFeatureSelector, EvolutionarySearchCV, Float
from evotune._faces import (
    FACE_SETTINGS,
    Verbose,
    check_settings,
    evolve_settings,
    settings_constraints,
)
from evotune._validation import InvalidParameterError
from evotune.settings import ESTIMATORS, declared


def test_both_faces_take_and_constrain_every_face_setting():
    assert tuple(declared(ESTIMATORS)) == FACE_SETTINGS
    for cls in (EvolutionarySearchCV, EvolutionaryFeatureSelector):
        assert set(FACE_SETTINGS) <= set(cls._parameter_constraints)
        assert set(FACE_SETTINGS) <= set(cls._get_param_names())


def test_a_constraint_holds_exactly_when_the_setting_s_check_passes():
    (constraint,) = settings_constraints()["population_size"]
    assert constraint.is_satisfied_by(2) and not constraint.is_satisfied_by(1)
    assert "int >= 2" in str(constraint)


def test_a_bad_setting_is_both_errors_with_evolve_s_message():
    est = EvolutionarySearchCV(object(), {"x": Float(0, 1)}, screening=0)
    with pytest.raises(SklearnInvalid) as info:
        check_settings(est)
    assert isinstance(info.value, InvalidParameterError)
    assert str(info.value) == "'screening' must be >= 1, got 0"


def test_evolve_settings_draws_an_int_seed_and_adds_the_verbose_callback():
    est = EvolutionarySearchCV(object(), {}, random_state=np.random.RandomState(0), verbose=1)
    values = evolve_settings(est)
    assert set(values) == set(FACE_SETTINGS)
    assert isinstance(values["random_state"], int)
    assert isinstance(values["callbacks"][-1], Verbose)
    assert est.callbacks == ()  # the estimator's own parameter is left as given


def test_verbose_prints_a_line_per_generation(capsys):
    class State:
        generation, n_evaluations, best_score, elapsed = 2, 12, 0.5, 1.0

    Verbose(EvolutionarySearchCV(object(), {}, verbose=1)).on_generation_end(State())
    Verbose(EvolutionarySearchCV(object(), {}, verbose=0)).on_generation_end(State())
    assert capsys.readouterr().out.count("[EvolutionarySearchCV] generation 2") == 1
