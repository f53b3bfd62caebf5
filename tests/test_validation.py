"""Argument checks name the parameter, the rule and the value received."""

from __future__ import annotations

import numpy as np
import pytest

from evotune._validation import (
    InvalidParameterError,
    check_choice,
    check_int,
    check_random_state,
    check_real,
)


def test_the_error_is_a_value_error_and_a_type_error():
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_int("n", 1.5), r"'n' must be an integer, got 1.5 \(float\)"),
        (lambda: check_int("n", True), r"'n' must be an integer, got True \(bool\)"),
        (lambda: check_int("n", 0, low=1), "'n' must be >= 1, got 0"),
        (lambda: check_int("n", 9, low=1, high=4), r"'n' must be in \[1, 4\], got 9"),
        (lambda: check_real("p", "x"), "'p' must be a number, got 'x' \\(str\\)"),
        (lambda: check_real("p", 0.0, low=0, low_open=True), "'p' must be > 0, got 0.0"),
        (lambda: check_real("p", float("nan")), "'p' must be a real number, got nan"),
        (lambda: check_choice("c", "z", ["a"]), r"'c' must be one of \['a'\], got 'z'"),
        (lambda: check_random_state(-1), "'random_state' must be None"),
    ],
)
def test_messages(call, message):
    with pytest.raises(InvalidParameterError, match=message):
        call()


def test_accepted_values_pass_through():
    assert check_int("n", np.int64(3), low=1) == 3
    assert check_int("n", None, allow_none=True) is None
    assert check_real("p", 1, high=1) == 1.0
    assert isinstance(check_random_state(0), np.random.Generator)
