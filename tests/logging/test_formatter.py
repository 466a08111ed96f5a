"""JsonFormatter (logging/_formatter.py): options and one text for every path."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_infra_utils import InputTypeError, JsonFormatter


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"ensure_ascii": "no"}, "ensure_ascii must be True or False"),
        ({"ensure_ascii": 0}, "ensure_ascii must be True or False"),
        ({"json_default": 3}, "json_default must be callable or None"),
    ],
)
def test_options_of_the_wrong_type_are_type_errors(
    options: dict[str, object], match: str
) -> None:
    """A truthy string is not a flag; a non-callable is not a hook: InputTypeError."""
    with pytest.raises(InputTypeError, match=match):
        JsonFormatter(**options)  # type: ignore[arg-type]


# Extra keys that clash with the fields, with each other's renamed forms, and
# with the structural names; values of every JSON kind.
_KEYS = st.sampled_from(
    [
        "level",
        "level_",
        "level__",
        "logger",
        "context",
        "context_",
        "exception",
        "stack",
        "app",
        "app_",
        "x",
        "line_",
        "logging_error",
    ]
)
_VALUES = st.none() | st.integers() | st.floats() | st.text(max_size=5)
_FORMATTERS = [
    JsonFormatter(),
    JsonFormatter(static_fields={"app": "svc"}),
    JsonFormatter(rename_fields={"x": "level", "context": "ctx"}),
]


def _record(extras: dict[str, object], **attributes: object) -> logging.LogRecord:
    """A complete record (as a logger makes it) with *extras* set afterwards."""
    record = logging.LogRecord(
        "train", logging.INFO, "/src/train.py", 3, "m %s", ("a",), None, func="step"
    )
    record.created = 1_700_000_000.5
    record.__dict__.update(attributes)
    record.__dict__.update(extras)
    return record


@given(st.dictionaries(_KEYS, _VALUES, max_size=8), st.sampled_from(_FORMATTERS))
def test_the_direct_and_general_paths_write_the_same_text(
    extras: dict[str, object], formatter: JsonFormatter
) -> None:
    """format() (direct path) equals the general path's text, whatever the extras."""
    record = _record(extras)
    assert formatter.format(record) == formatter._format_general(record)


@given(
    st.dictionaries(_KEYS, _VALUES, max_size=8),
    st.sampled_from(_FORMATTERS),
    st.sampled_from(["exc", "stack", "both"]),
)
def test_exception_or_stack_info_changes_nothing_else(
    extras: dict[str, object], formatter: JsonFormatter, what: str
) -> None:
    """A record with exc_info/stack_info has the same other fields, names, order."""
    try:
        msg = "boom"
        raise ValueError(msg)  # an exception with a traceback
    except ValueError:
        exc_info = sys.exc_info()
    attributes: dict[str, object] = {}
    if what in {"exc", "both"}:
        attributes["exc_info"] = exc_info
    if what in {"stack", "both"}:
        attributes["stack_info"] = "Stack (most recent call last):\n  x"
    plain = json.loads(formatter.format(_record(extras)))
    rich = json.loads(formatter.format(_record(extras, **attributes)))
    added = [k for k in rich if k not in plain]
    assert [k for k in rich if k not in added] == list(plain)
    assert {k: rich[k] for k in plain} == plain
    assert len(added) == (2 if what == "both" else 1)


def test_the_review_example() -> None:
    """extra={"level": 1, "level_": 2}: one text with or without exc_info."""
    formatter = JsonFormatter()
    record = _record({"level": 1, "level_": 2})
    line = formatter.format(record)
    assert line.endswith('"level__":1,"level_":2}')
    record.exc_info = (ValueError, ValueError("x"), None)
    assert '"level__":1,"level_":2,"exception"' in formatter.format(record)
