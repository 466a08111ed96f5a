"""The rules for names, values, steps, params, tags and experiment names."""

from __future__ import annotations

import decimal
import fractions
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_infra_utils import InputTypeError, InvalidParameterError
from ml_infra_utils.logging._validators import (
    MAX_NAME_LENGTH,
    MAX_STEP,
    check_experiment,
    check_mapping,
    check_name,
    check_param_value,
    check_step,
    check_tag_value,
    check_value,
)

NAME_ALPHABET = "ABCXYZabcxyz0189_-./: "
names = st.text(alphabet=NAME_ALPHABET, min_size=1, max_size=MAX_NAME_LENGTH).filter(
    lambda s: s[0] != " " and s[-1] != " "
)


@given(names)
def test_names_from_the_documented_set_are_accepted(name: str) -> None:
    """Any 1..250-character name from the documented characters passes unchanged."""
    assert check_name(name, "name") == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a" * (MAX_NAME_LENGTH + 1),
        'quo"te',
        "back\\slash",
        "new\nline",
        "tab\t",
        "nul\x00",
        "é",
        "emoji🙂",
        " lead",
        "trail ",
        "comma,",
        "a{b}",
    ],
)
def test_names_outside_the_rules_are_rejected(name: str) -> None:
    """Empty, too long, quotes, escapes, control, non-ASCII characters: ValueError."""
    with pytest.raises(InvalidParameterError, match="name"):
        check_name(name, "name")


@pytest.mark.parametrize("name", [None, 3, b"loss", ["loss"]])
def test_non_string_names_are_a_type_error(name: object) -> None:
    """A name that is not a str is an InputTypeError (a TypeError)."""
    with pytest.raises(InputTypeError, match="must be a string"):
        check_name(name, "name")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        (2.5, 2.5),
        (np.float32(0.5), 0.5),
        (np.float64(0.25), 0.25),
        (np.int64(7), 7),
        (np.array(3.5), 3.5),
        (fractions.Fraction(1, 4), 0.25),
        (float("inf"), math.inf),
        (-math.inf, -math.inf),
    ],
)
def test_real_numbers_are_accepted_as_int_or_float(
    value: object, expected: float
) -> None:
    """ints, floats, numpy scalars, 0-d arrays and Fractions become plain int/float."""
    out = check_value(value, "value")
    assert out == expected
    assert type(out) in (int, float)


def test_nan_is_kept() -> None:
    """NaN is a legitimate metric value (a diverging loss) and passes through."""
    assert math.isnan(check_value(float("nan"), "value"))
    assert math.isnan(check_value(np.float32("nan"), "value"))


@pytest.mark.parametrize(
    "value",
    [
        True,
        np.bool_(True),
        "0.5",
        None,
        decimal.Decimal("1.5"),
        1j,
        [1.0],
        np.array([1.0]),
        np.array("x"),
    ],
)
def test_non_real_values_are_a_type_error(value: object) -> None:
    """bool, strings, None, Decimal, complex and arrays are refused, never coerced."""
    with pytest.raises(InputTypeError, match="real number"):
        check_value(value, "value")


def test_steps_accept_integers_in_range() -> None:
    """0, 2**63-1 and numpy integers are valid steps."""
    assert check_step(0) == 0
    assert check_step(MAX_STEP) == MAX_STEP
    assert check_step(np.int32(5)) == 5


@pytest.mark.parametrize("step", [1.0, 1.9, "3", True, None])
def test_non_integer_steps_are_a_type_error(step: object) -> None:
    """A float step is refused rather than silently truncated (Tora truncates)."""
    with pytest.raises(InputTypeError, match="step"):
        check_step(step)


@pytest.mark.parametrize("step", [-1, MAX_STEP + 1])
def test_out_of_range_steps_are_a_value_error(step: int) -> None:
    """Negative steps and steps beyond int64 are refused with a ValueError."""
    with pytest.raises(InvalidParameterError, match="between 0 and 2\\*\\*63 - 1"):
        check_step(step)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (0.1, 0.1),
        ("adam", "adam"),
        (None, None),
        ([1, (2, 3)], [1, [2, 3]]),
        ({"a": {"b": 1}}, {"a": {"b": 1}}),
        ({1: "x"}, {"1": "x"}),
        (float("nan"), "NaN"),
        ({1, 2}, [1, 2]),
        (decimal.Decimal("1.5"), "1.5"),
        ({"x": float("inf")}, {"x": "Infinity"}),
        (np.int64(32), 32),
        (np.float32(0.5), 0.5),
        (np.array([2, 3]), [2, 3]),
        ({"nested": np.float64("nan")}, {"nested": "NaN"}),
        pytest.param(10**5000, hex(10**5000), id="huge-int"),
        (object, "<class 'object'>"),
    ],
)
def test_params_are_stored_by_the_package_json_mapping(
    value: object, stored: object
) -> None:
    """Params map as every JSON record does: numpy numbers stay numbers, NaN is "NaN".

    (Review finding 14: numpy values became repr strings, NaN "nan", and a
    huge int raised ValueError.)
    """
    assert check_param_value(value) == stored
    assert type(check_param_value(value)) is type(stored)


def test_param_values_are_copies() -> None:
    """A stored param does not change when the caller mutates the original."""
    original = {"layers": [1, 2]}
    stored = check_param_value(original)
    original["layers"].append(3)
    assert stored == {"layers": [1, 2]}


def test_tag_values_become_strings() -> None:
    """str stays; int, float and bool become their str; others are refused."""
    assert check_tag_value("gpu", "t") == "gpu"
    assert check_tag_value(2, "t") == "2"
    assert check_tag_value(True, "t") == "True"
    assert check_tag_value(0.1, "t") == "0.1"
    with pytest.raises(InputTypeError, match="str, int, float or bool"):
        check_tag_value(None, "t")
    with pytest.raises(InputTypeError, match="str, int, float or bool"):
        check_tag_value([1], "t")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.int64(3), "3"),
        (np.float64(0.1), "0.1"),
        (np.float32(0.5), "0.5"),
        (np.bool_(True), "True"),
        (np.array(7), "7"),
        (fractions.Fraction(1, 4), "0.25"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_numpy_tags_are_accepted_like_python_numbers(value: object, text: str) -> None:
    """numpy ints, floats and bools are tags like int, float and bool.

    (Review finding 14: np.float64 was accepted but np.int64 refused.)
    """
    assert check_tag_value(value, "t") == text


def test_mappings_need_valid_string_keys() -> None:
    """Param and tag mappings must be Mappings whose keys follow the name rules."""
    assert check_mapping({"lr": 1}, "params") == {"lr": 1}
    with pytest.raises(InputTypeError, match="mapping"):
        check_mapping([("lr", 1)], "params")
    with pytest.raises(InvalidParameterError, match="params key"):
        check_mapping({"bad!": 1}, "params")
    with pytest.raises(InputTypeError, match="params key"):
        check_mapping({1: 1}, "params")


@pytest.mark.parametrize(
    "name", ["mnist", "MNIST baseline", "résnet-50", "exp_1.2", "a" * 200]
)
def test_safe_experiment_names_are_accepted(name: str) -> None:
    """Directory-safe names, including non-ASCII letters, pass unchanged."""
    assert check_experiment(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "..",
        ".",
        "a/b",
        "/abs",
        "/etc/passwd",
        "C:\\temp",
        "a\\b",
        "nul\x00",
        "ctl\x1f",
        "del\x7f",
        ".hidden",
        "dot.",
        " lead",
        "trail ",
        "",
        "a" * 201,
        "a:b",
        "wild*",
        'q"',
        "pipe|",
        "lt<",
        "gt>",
        "q?",
        "\ud800",
    ],
)
def test_experiment_names_that_could_escape_or_break_paths_are_rejected(
    name: str,
) -> None:
    """Separators, dots, NUL, control characters and reserved characters: ValueError."""
    with pytest.raises(InvalidParameterError):
        check_experiment(name)


def test_non_string_experiment_is_a_type_error() -> None:
    """An experiment that is not a str is an InputTypeError."""
    with pytest.raises(InputTypeError, match="experiment"):
        check_experiment(3)
