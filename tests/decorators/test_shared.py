"""The helpers both decorators share: report destinations, reprs, kinds of callable."""

from __future__ import annotations

import functools
import importlib
import logging

import pytest

from ml_infra_utils import InputTypeError

shared = importlib.import_module("ml_infra_utils.decorators._shared")


def test_short_repr_bounds_long_values() -> None:
    """Long strings, lists and dicts are cut; short values are repr() itself."""
    assert shared.short_repr("abc") == "'abc'"
    assert len(shared.short_repr("x" * 10_000)) <= 130
    assert shared.short_repr(list(range(100))).endswith("...]")
    assert shared.short_repr(ValueError("x")) == "ValueError('x')"


def test_make_emitter_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    """print, a callable, a logger and None each become the right emitter."""
    lines: list[str] = []
    shared.make_emitter(lines.append, logging.INFO, what="t")("%s=%d", "a", 1)
    assert lines == ["a=1"]
    shared.make_emitter(print, logging.INFO, what="t")("%s", "printed")
    assert capsys.readouterr().out == "printed\n"
    assert shared.make_emitter(None, logging.INFO, what="t") is None


def test_make_emitter_rejects_bools_as_levels() -> None:
    """level=True is not a logging level."""
    with pytest.raises(InputTypeError, match="level must be a logging level"):
        shared.make_emitter(logging.getLogger("x"), True, what="t")


def test_is_async_kinds() -> None:
    """Coroutine functions, their partials and async __call__ objects are async;
    plain functions, classes and sync callables are not."""

    async def coro() -> None: ...

    class AsyncCallable:
        async def __call__(self) -> None: ...

    class SyncCallable:
        def __call__(self) -> None: ...

    assert shared.is_async(coro)
    assert shared.is_async(functools.partial(coro))
    assert shared.is_async(AsyncCallable())
    assert not shared.is_async(SyncCallable())
    assert not shared.is_async(len)
    assert not shared.is_async(AsyncCallable)
    assert not shared.is_async(42)
