"""Pieces of a record: exceptions as data, traceback text, module names."""

from __future__ import annotations

import traceback

import pytest

from ml_infra_utils.logging import _record
from ml_infra_utils.logging._record import (
    exc_info_to_dict,
    exception_to_dict,
    module_of,
    traceback_text_to_dict,
)


class TrainingError(Exception):
    """An exception defined outside builtins."""


def test_non_builtin_types_are_module_qualified() -> None:
    """A type outside builtins is named module.QualName."""
    info = exception_to_dict(TrainingError("x"))
    assert info["type"].endswith("test_record.TrainingError")
    assert info["traceback"] == []


def test_exc_info_forms() -> None:
    """An exception, an exc_info tuple, and nothing usable are all accepted."""
    err = ValueError("v")
    assert exc_info_to_dict(err)["message"] == "v"  # type: ignore[index]
    assert exc_info_to_dict((ValueError, err, None))["type"] == "ValueError"  # type: ignore[index]
    assert exc_info_to_dict((None, None, None)) is None
    assert exc_info_to_dict(True) is None


def test_long_and_cyclic_chains_stop() -> None:
    """Causes nest at most 16 deep, and a cause cycle ends."""
    head = RuntimeError(0)
    current = head
    for i in range(1, 40):
        nxt = RuntimeError(i)
        current.__cause__ = nxt
        current = nxt
    info = exception_to_dict(head)
    depth = 0
    while "cause" in info:
        info = info["cause"]
        depth += 1
    assert depth == 15
    a, b = KeyError("a"), KeyError("b")
    a.__cause__, b.__cause__ = b, a
    assert "cause" not in exception_to_dict(a)["cause"]


def test_a_failing_traceback_walk_keeps_type_and_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the frames cannot be read, type and message still come out."""

    def broken(tb: object) -> None:
        msg = "no frames"
        raise RuntimeError(msg)

    monkeypatch.setattr(traceback, "extract_tb", broken)
    info = exception_to_dict(ValueError("still here"))
    assert info == {"type": "ValueError", "message": "still here", "traceback": []}


def test_traceback_text_without_frames_or_type() -> None:
    """Odd traceback text still gives a dict (type empty if unknown)."""
    assert traceback_text_to_dict("") == {"type": "", "message": "", "traceback": []}
    assert traceback_text_to_dict("something odd!")["message"] == "something odd!"


def test_module_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """module_of() stops caching when its cache is full, and still answers."""
    monkeypatch.setattr(_record, "_module_cache", {str(i): "" for i in range(4096)})
    assert module_of("/x/y/model.py") == "model"
    assert "/x/y/model.py" not in _record._module_cache
