"""The JSON encoder behind every log line: always strict JSON, as documented."""

from __future__ import annotations

import array
import collections
import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import pathlib
import sys
import uuid
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_infra_utils.logging._json import (
    dumps,
    dumps_line,
    make_dumps,
    make_value_encoder,
    to_jsonable,
)


def strict_loads(text: str) -> Any:
    """json.loads that rejects the NaN/Infinity tokens RFC 8259 forbids."""

    def refuse(token: str) -> None:
        msg = f"non-standard JSON token {token}"
        raise ValueError(msg)

    return json.loads(text, parse_constant=refuse)


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


class Level(enum.IntEnum):
    LOW = 1


@dataclasses.dataclass
class Point:
    x: float
    y: Any


class Pair(NamedTuple):
    a: int
    b: str


class BadRepr:
    def __repr__(self) -> str:
        msg = "no repr"
        raise RuntimeError(msg)


class BadToList:
    dtype = "float32"

    def tolist(self) -> list[float]:
        msg = "device lost"
        raise RuntimeError(msg)


class Opaque:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<Opaque>"


# Leaves covering every row of the mapping table, for the property tests.
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(4400, 5000).map(lambda digits: -(10**digits)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(max_size=20),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.decimals(allow_nan=True),
    st.uuids(),
    st.complex_numbers(),
    st.sampled_from([Color.RED, Color.BLUE, Level.LOW]),
    st.builds(BadRepr),
    st.builds(Opaque),
    st.builds(pathlib.PurePosixPath, st.text(min_size=1, max_size=10)),
    st.floats(width=32, allow_nan=True).map(np.float32),
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
    st.booleans().map(np.bool_),
)
keys = st.one_of(
    st.text(),
    st.integers(),
    st.floats(allow_nan=True),
    st.none(),
    st.booleans(),
    st.tuples(st.integers(), st.text(max_size=3)),
    st.sampled_from([Color.RED, Level.LOW]),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(keys, inner, max_size=5),
        st.frozensets(st.one_of(st.integers(), st.text(max_size=5)), max_size=5),
        st.lists(st.floats(allow_nan=True), max_size=5).map(np.array),
        st.builds(Point, inner, inner),
    ),
    max_leaves=25,
)


@given(values)
def test_every_value_encodes_to_one_line_of_strict_json(value: object) -> None:
    """dumps() never raises and returns one line of RFC 8259 JSON (no NaN tokens)."""
    text = dumps(value)
    assert "\n" not in text
    assert text.isascii()
    strict_loads(text)


@given(values)
def test_fast_path_and_to_jsonable_agree(value: object) -> None:
    """The C-encoder fast path writes what the recursive mapping says."""
    assert strict_loads(dumps(value)) == strict_loads(
        json.dumps(to_jsonable(value), allow_nan=False)
    )


@given(values)
def test_to_jsonable_returns_plain_json_data(value: object) -> None:
    """to_jsonable() yields only dict/list/str/int/finite float/bool/None."""

    def check(obj: object) -> None:
        if isinstance(obj, dict):
            for key, item in obj.items():
                assert type(key) is str
                check(item)
        elif isinstance(obj, list):
            for item in obj:
                check(item)
        elif type(obj) is float:
            assert math.isfinite(obj)
        else:
            assert obj is None or type(obj) in (bool, int, str), type(obj)

    check(to_jsonable(value))


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()))
def test_value_encoder_matches_dumps_for_scalars(value: object) -> None:
    """The field-by-field encoder writes the same text as dumps()."""
    assert make_value_encoder()(value) == dumps(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (np.float64("nan"), "NaN"),
        (np.float32(0.5), 0.5),
        (np.int64(7), 7),
        (np.bool_(1), True),
        (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
        (np.array([1.0, np.nan]), [1.0, "NaN"]),
        (np.array(2.5), 2.5),
        (np.datetime64("2024-01-02"), "2024-01-02"),
        (array.array("i", [1, 2]), [1, 2]),
        (
            dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
            "2024-01-02T03:04:05.000006+00:00",
        ),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),  # noqa: DTZ001 - naive stays naive
        (dt.date(2024, 1, 2), "2024-01-02"),
        (dt.time(3, 4), "03:04:00"),
        (dt.timedelta(minutes=1, milliseconds=500), 60.5),
        (decimal.Decimal("1.10"), "1.10"),
        (decimal.Decimal("NaN"), "NaN"),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        ({1, "a"}, None),  # unorderable: any order, checked below
        (b"ok\xff", "ok\\xff"),
        (bytearray(b"ab"), "ab"),
        (memoryview(b"ab"), "ab"),
        (pathlib.PurePosixPath("/tmp/x"), "/tmp/x"),  # noqa: S108 - a path value, not a file
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (Color.RED, "red"),
        (Color.BLUE, 2),
        (Level.LOW, 1),
        (Point(1.0, math.nan), {"x": 1.0, "y": "NaN"}),
        (Pair(1, "x"), [1, "x"]),
        (collections.deque([1, 2]), [1, 2]),
        (ValueError("bad"), {"type": "ValueError", "message": "bad"}),
        (1 + 2j, "(1+2j)"),
        (Opaque(), "<Opaque>"),
        (BadRepr(), f"<unrepresentable {__name__}.BadRepr object>"),
        (BadToList(), None),  # tolist raises: repr of the object
        ({1: "a", None: "b", False: "c", 1.5: "d", (1, 2): "e"}, None),
        (range(3), "range(0, 3)"),
    ],
)
def test_each_row_of_the_mapping_table(value: object, expected: object) -> None:
    """Each documented mapping holds, on the fast path and via to_jsonable."""
    decoded = strict_loads(dumps(value))
    assert decoded == strict_loads(json.dumps(to_jsonable(value)))
    if isinstance(value, set) and expected is None:
        assert sorted(decoded, key=str) == [1, "a"]
    elif isinstance(value, BadToList):
        assert decoded.startswith("<")
        assert "BadToList" in decoded
    elif isinstance(value, dict) and expected is None:
        assert decoded == {
            "1": "a",
            "null": "b",
            "false": "c",
            "1.5": "d",
            "[1,2]": "e",
        }
    else:
        assert decoded == expected


def test_nan_inf_keys_follow_the_json_module() -> None:
    """Float keys are strings; non-finite ones read NaN/Infinity as json writes them."""
    assert strict_loads(dumps({math.nan: 1, -math.inf: 2, math.nan * 0: 3})) == {
        "NaN": 3,
        "-Infinity": 2,
    }


def test_huge_ints_become_hex_strings() -> None:
    """An int too long for a decimal string keeps its value as a hex string."""
    limit = sys.get_int_max_str_digits()
    huge = 10 ** (limit + 10)
    assert strict_loads(dumps({"n": huge})) == {"n": hex(huge)}
    assert to_jsonable(huge) == hex(huge)


def test_circular_containers_are_marked_not_fatal() -> None:
    """A container met again inside itself becomes a marker string."""
    loop: list[object] = [1]
    loop.append(loop)
    mapping: dict[str, object] = {}
    mapping["self"] = mapping
    assert strict_loads(dumps(loop)) == [1, "<circular list object>"]
    assert strict_loads(dumps(mapping)) == {"self": "<circular dict object>"}


def test_shared_but_acyclic_values_are_not_circular() -> None:
    """The same list twice side by side is data, not a cycle."""
    shared = [math.nan]
    assert strict_loads(dumps([shared, shared])) == [["NaN"], ["NaN"]]


def test_very_deep_nesting_is_cut_not_fatal() -> None:
    """Nesting beyond the limit is cut with a marker instead of a RecursionError."""
    deep: list[object] = [math.nan]
    for _ in range(5000):
        deep = [deep]
    decoded = strict_loads(dumps(deep))
    depth = 0
    while isinstance(decoded, list):
        decoded = decoded[0]
        depth += 1
    assert decoded.startswith("<nested too deep")
    assert depth == 100


def test_default_hook_runs_first_and_its_failures_fall_back() -> None:
    """A json_default hook converts unknown values; if it raises, the table applies."""

    def hook(value: object) -> object:
        if isinstance(value, Opaque):
            return {"opaque": True}
        raise TypeError(value)

    encode = make_dumps(default=hook)
    assert strict_loads(encode([Opaque(), dt.date(2024, 1, 1)])) == [
        {"opaque": True},
        "2024-01-01",
    ]


def test_ensure_ascii_false_keeps_text_and_true_escapes_it() -> None:
    """Non-ASCII text is escaped by default and kept with ensure_ascii=False."""
    assert dumps("Zoë 🙂") == '"Zo\\u00eb \\ud83d\\ude42"'
    assert make_dumps(ensure_ascii=False)("Zoë") == '"Zoë"'


def test_lone_surrogates_are_escaped_by_default() -> None:
    """A lone surrogate comes out as a \\udXXX escape: the line stays ASCII."""
    text = dumps({"s": "a\udc80b"})
    assert text.isascii()
    assert strict_loads(text) == {"s": "a\udc80b"}


def test_dumps_line_is_one_newline_terminated_record() -> None:
    """dumps_line() appends exactly one newline to dumps()."""
    line = dumps_line({"a": [1, "x\ny"]})
    assert line.endswith("\n")
    assert line.count("\n") == 1
    assert strict_loads(line) == {"a": [1, "x\ny"]}


def test_subclasses_of_str_and_int_and_byte_paths_map_to_plain_values() -> None:
    """str/int subclasses map to their plain value; a bytes path is decoded."""

    class Name(str):
        __slots__ = ()

    class Count(int):
        pass

    class BytesPath:
        def __fspath__(self) -> bytes:
            return b"/data/\xff"

    assert to_jsonable(Name("x")) == "x"
    assert to_jsonable(Count(3)) == 3
    assert to_jsonable(BytesPath()) == "/data/\\xff"
    assert strict_loads(dumps([Name("x"), Count(3), BytesPath()])) == [
        "x",
        3,
        "/data/\\xff",
    ]


def test_objects_with_only_item_are_unwrapped() -> None:
    """A 0-d tensor-like object with .item() but no .tolist() gives its item."""

    class Scalar:
        def item(self) -> float:
            return math.inf

    assert strict_loads(dumps({"x": Scalar()})) == {"x": "Infinity"}


def test_a_default_hook_returning_its_input_falls_through_to_the_table() -> None:
    """A hook that hands the value back unchanged does not loop."""
    encode = make_dumps(default=lambda value: value)
    assert strict_loads(encode({"d": dt.date(2024, 5, 6)})) == {"d": "2024-05-06"}


class FailureError(Exception):
    """An exception defined outside builtins."""


def test_an_exception_value_is_named_as_in_the_exception_field() -> None:
    """One type-naming rule: module.qualname for an exception value and field."""
    from ml_infra_utils.logging._record import exception_to_dict

    error = FailureError("x")
    as_value = strict_loads(dumps({"error": error}))["error"]
    assert as_value == {"type": f"{__name__}.FailureError", "message": "x"}
    assert exception_to_dict(error)["type"] == as_value["type"]
    assert strict_loads(dumps(ValueError("v")))["type"] == "ValueError"
