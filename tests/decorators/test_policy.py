"""The retry policy (decorators/_policy.py): hooks that fail, wait limits, notes."""

from __future__ import annotations

import asyncio
import traceback
from typing import TYPE_CHECKING, Any

import pytest

from ml_infra_utils import (
    InputTypeError,
    RetryAttempt,
    RetryError,
    retry,
    retry_on_condition,
)

if TYPE_CHECKING:
    from conftest import FakeTime


def test_a_huge_int_result_gives_a_retry_error_not_a_value_error(
    fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report line and RetryError show an int too long for repr() by its size."""

    @retry_on_condition(lambda _: True, max_attempts=2, delay=0.0)
    def huge() -> int:
        return 10**5000

    with pytest.raises(RetryError, match=r"<int with 5001 digits>") as caught:
        huge()
    assert caught.value.last_result == 10**5000
    assert "returned <int with 5001 digits>" in capsys.readouterr().out


def _original() -> None:
    msg = "original"
    raise ValueError(msg)


def _explode(*_: object) -> Any:
    return 1 / 0


@pytest.mark.parametrize(
    ("hook", "options"),
    [
        ("retry_if", {"retry_if": _explode}),
        ("wait", {"wait": _explode}),
        ("on_retry", {"on_retry": _explode}),
        ("report", {"report": _explode}),
    ],
)
def test_a_hook_that_raises_keeps_the_original_failure(
    fake_time: FakeTime, hook: str, options: dict[str, Any]
) -> None:
    """The hook's error propagates; the attempt's exception is its __context__."""
    options.setdefault("report", None)
    wrapped = retry(max_attempts=3, delay=0.0, **options)(_original)
    with pytest.raises(ZeroDivisionError) as caught:
        wrapped()
    original = caught.value.__context__
    assert isinstance(original, ValueError)
    assert str(original) == "original"
    note = "\n".join(caught.value.__notes__)
    assert f"the {hook} hook of _original raised on attempt 1" in note
    assert "ValueError('original'), chained as __context__" in note
    assert fake_time.sleeps == []  # no further attempt after a broken hook


def test_the_traceback_shows_both_failures(fake_time: FakeTime) -> None:
    """The printed traceback has the original, then "During handling of ..."."""
    wrapped = retry(delay=0.0, report=None, retry_if=_explode)(_original)
    with pytest.raises(ZeroDivisionError) as caught:
        wrapped()
    text = "".join(traceback.format_exception(caught.value))
    assert text.index("ValueError: original") < text.index("ZeroDivisionError")
    assert "During handling of the above exception" in text


def test_a_hook_failing_on_a_later_attempt_names_it(fake_time: FakeTime) -> None:
    """on_retry failing on the 2nd failure: attempt 2's exception is the context."""
    calls: list[int] = []

    def on_retry(attempt: RetryAttempt) -> None:
        calls.append(attempt.attempt)
        if attempt.attempt == 2:
            msg = "hook bug"
            raise KeyError(msg)

    count = iter(range(1, 100))

    def flaky() -> None:
        msg = f"boom {next(count)}"
        raise ConnectionError(msg)

    with pytest.raises(KeyError) as caught:
        retry(max_attempts=5, delay=1.0, on_retry=on_retry, report=None)(flaky)()
    assert calls == [1, 2]
    assert str(caught.value.__context__) == "boom 2"
    assert "raised on attempt 2" in "\n".join(caught.value.__notes__)


def test_a_hook_raising_in_its_own_except_keeps_both_contexts(
    fake_time: FakeTime,
) -> None:
    """The original goes at the end of the hook's own context chain."""

    def retry_if(exc: BaseException) -> bool:
        try:
            return {}["missing"]  # type: ignore[no-any-return]
        except KeyError:
            msg = "lookup failed"
            raise RuntimeError(msg)  # noqa: B904 - the implicit context is the point

    with pytest.raises(RuntimeError) as caught:
        retry(delay=0.0, report=None, retry_if=retry_if)(_original)()
    inner = caught.value.__context__
    assert isinstance(inner, KeyError)
    assert isinstance(inner.__context__, ValueError)


def test_an_async_hook_failure_keeps_the_original(fake_time: FakeTime) -> None:
    """The same for a coroutine function."""

    @retry(delay=0.0, report=None, wait=_explode)
    async def fetch() -> None:
        msg = "original"
        raise ValueError(msg)

    with pytest.raises(ZeroDivisionError) as caught:
        asyncio.run(fetch())
    assert isinstance(caught.value.__context__, ValueError)


@pytest.mark.parametrize("attempt", [1, 2])
def test_a_condition_that_raises_names_the_attempt_and_result(
    fake_time: FakeTime, attempt: int
) -> None:
    """condition raising: its error propagates with a note on the result judged."""
    results = iter(["pending", "done"])

    def condition(result: str) -> bool:
        if result == ("pending" if attempt == 1 else "done"):
            msg = "condition bug"
            raise TypeError(msg)
        return True

    @retry_on_condition(condition, delay=0.0, report=None)
    def poll() -> str:
        return next(results)

    with pytest.raises(TypeError, match="condition bug") as caught:
        poll()
    note = "\n".join(caught.value.__notes__)
    assert f"condition hook of {poll.__qualname__} raised on attempt {attempt}" in note
    assert "'pending'" in note if attempt == 1 else "'done'" in note


def test_an_async_condition_that_raises_is_noted(fake_time: FakeTime) -> None:
    """The async wrapper notes a raising condition, on the first and later results."""
    results = iter([True, False])

    def condition(result: str) -> bool:
        if next(results):
            return True
        return _explode()  # type: ignore[no-any-return]

    for judge, attempt in ((_explode, 1), (condition, 2)):

        @retry_on_condition(judge, delay=0.0, report=None)
        async def poll() -> str:
            return "x"

        with pytest.raises(ZeroDivisionError) as caught:
            asyncio.run(poll())
        note = "\n".join(caught.value.__notes__)
        assert f"raised on attempt {attempt}" in note


@pytest.mark.parametrize("huge", [1e13, 1e300, 10**400])
def test_a_huge_wait_is_capped_not_an_overflow(
    fake_time: FakeTime, huge: float
) -> None:
    """wait returning 1e13 s sleeps the 1e9 s ceiling (time.sleep would overflow)."""
    seen: list[float] = []
    wrapped = retry(
        max_attempts=2,
        delay=1.0,
        wait=lambda _: huge,
        on_retry=lambda a: seen.append(a.delay),
        report=None,
    )(failing_once())
    assert wrapped() == "ok"
    assert seen == [1e9]
    assert fake_time.sleeps == [1e9]


def test_a_huge_wait_with_a_deadline_gives_up_at_once(fake_time: FakeTime) -> None:
    """A capped wait still beyond the deadline gives up rather than sleeping."""
    wrapped = retry(delay=1.0, deadline=60.0, wait=lambda _: 1e13, report=None)
    with pytest.raises(ValueError, match="original") as caught:
        wrapped(_original)()
    assert "would pass the deadline" in "\n".join(caught.value.__notes__)
    assert fake_time.sleeps == []


def test_bare_retry_says_to_use_parentheses() -> None:
    """@retry without () passes the function as max_attempts: a helpful error."""
    with pytest.raises(InputTypeError, match=r"use @retry\(\) with parentheses"):

        @retry  # type: ignore[arg-type]
        def f() -> None: ...


def failing_once() -> Any:
    """A function that raises ConnectionError once, then returns "ok"."""
    calls: list[int] = []

    def func() -> str:
        calls.append(1)
        if len(calls) == 1:
            msg = "down"
            raise ConnectionError(msg)
        return "ok"

    return func


def test_a_hook_that_raises_from_the_original_chains_it_once(
    fake_time: FakeTime,
) -> None:
    """A hook raising inside `except original` already has it as context."""

    def retry_if(exc: BaseException) -> bool:
        try:
            raise exc
        except ValueError:
            msg = "wrapped"
            raise RuntimeError(msg)  # noqa: B904 - the implicit context is the point

    with pytest.raises(RuntimeError) as caught:
        retry(delay=0.0, report=None, retry_if=retry_if)(_original)()
    original = caught.value.__context__
    assert isinstance(original, ValueError)
    assert original.__context__ is None


def test_a_hook_failing_on_a_result_notes_the_result(fake_time: FakeTime) -> None:
    """on_retry raising after a result failed the condition: noted with the result."""

    @retry_on_condition(lambda r: r == "pending", delay=0.0, on_retry=_explode)
    def poll() -> str:
        return "pending"

    with pytest.raises(ZeroDivisionError) as caught:
        poll()
    assert caught.value.__context__ is None
    note = "\n".join(caught.value.__notes__)
    assert "on_retry hook" in note
    assert "while judging the result 'pending'" in note
