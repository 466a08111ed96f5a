"""@retry and @retry_on_condition (sync): delays, jitter, deadline, give-up, reports."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import logging
import math
import pickle
import random
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ml_infra_utils as mliu
from ml_infra_utils import (
    InputTypeError,
    InvalidParameterError,
    MLInfraError,
    RetryAttempt,
    RetryError,
    retry,
    retry_on_condition,
)

if TYPE_CHECKING:
    from conftest import FakeTime

PatchedTime = Callable[[], AbstractContextManager["FakeTime"]]


def failing(times: int, exc: BaseException | None = None, result: Any = "ok") -> Any:
    """A function that raises *exc* (a fresh ValueError by default) *times* times,
    then returns *result*; `.calls` counts the calls."""

    def func(*args: Any, **kwargs: Any) -> Any:
        func.calls += 1  # type: ignore[attr-defined]
        if func.calls <= times:  # type: ignore[attr-defined]
            raise exc if exc is not None else ValueError(f"boom {func.calls}")  # type: ignore[attr-defined]
        return result

    func.calls = 0  # type: ignore[attr-defined]
    return func


def notes(exc: BaseException) -> str:
    return "\n".join(getattr(exc, "__notes__", []))


# ---------------------------------------------------------------- success path
def test_success_calls_once_without_sleep_or_output(
    fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    """A call that succeeds runs once, sleeps never and prints nothing."""
    func = failing(0, result=42)
    assert retry()(func)() == 42
    assert func.calls == 1
    assert fake_time.sleeps == []
    assert capsys.readouterr().out == ""


def test_arguments_pass_through_positional_and_keyword() -> None:
    """Positional and keyword arguments reach the function on every attempt."""
    seen = []

    @retry(delay=0.0, report=None)
    def add(a: int, b: int = 0, *, c: int = 0) -> int:
        seen.append((a, b, c))
        if len(seen) == 1:
            raise ValueError
        return a + b + c

    assert add(1, 2, c=3) == 6
    assert seen == [(1, 2, 3), (1, 2, 3)]
    assert add(5) == 5


# ---------------------------------------------------------------- delay sequences
def test_delays_grow_by_backoff(fake_time: FakeTime) -> None:
    """Sleeps are delay, delay*backoff, delay*backoff**2, ... (seed defaults)."""
    func = failing(10)
    with pytest.raises(ValueError, match="boom 5"):
        retry(max_attempts=5, report=None)(func)()
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert func.calls == 5


def test_default_signature_is_the_seed_one(fake_time: FakeTime) -> None:
    """Defaults: 3 attempts, 1 s then 2 s, retrying any Exception."""
    func = failing(10)
    with pytest.raises(ValueError, match="boom 3"):
        retry(report=None)(func)()
    assert fake_time.sleeps == [1.0, 2.0]
    params = inspect.signature(retry).parameters
    assert [params[n].default for n in ("max_attempts", "delay", "backoff")] == [
        3,
        1.0,
        2.0,
    ]
    assert params["exceptions"].default == (Exception,)


def test_seed_arguments_work_positionally(fake_time: FakeTime) -> None:
    """retry(4, 0.5, 3.0, ValueError) is retry(max_attempts=4, delay=0.5, ...)."""
    func = failing(10)
    with pytest.raises(ValueError, match="boom"):
        retry(4, 0.5, 3.0, ValueError, report=None)(func)()
    assert fake_time.sleeps == [0.5, 1.5, 4.5]


def test_max_delay_caps_each_sleep(fake_time: FakeTime) -> None:
    """No sleep exceeds max_delay; growth continues up to it."""
    with pytest.raises(ValueError, match="boom"):
        retry(max_attempts=6, delay=1.0, backoff=3.0, max_delay=5.0, report=None)(
            failing(10)
        )()
    assert fake_time.sleeps == [1.0, 3.0, 5.0, 5.0, 5.0]


def test_max_delay_below_delay_caps_the_first_sleep(fake_time: FakeTime) -> None:
    """max_delay smaller than delay: every sleep is max_delay."""
    with pytest.raises(ValueError, match="boom"):
        retry(max_attempts=3, delay=10.0, max_delay=2.0, report=None)(failing(10))()
    assert fake_time.sleeps == [2.0, 2.0]


@pytest.mark.parametrize("backoff", [1.0, 2.0, 10.0])
def test_zero_delay_never_sleeps(fake_time: FakeTime, backoff: float) -> None:
    """delay=0 retries without ever calling sleep (sleep(0) costs ~65 µs)."""
    func = failing(4)
    assert (
        retry(max_attempts=5, delay=0.0, backoff=backoff, report=None)(func)() == "ok"
    )
    assert func.calls == 5
    assert fake_time.sleeps == []


def test_constant_delay_with_backoff_one(fake_time: FakeTime) -> None:
    """backoff=1 gives a constant delay."""
    with pytest.raises(ValueError, match="boom"):
        retry(max_attempts=4, delay=0.25, backoff=1.0, report=None)(failing(10))()
    assert fake_time.sleeps == [0.25, 0.25, 0.25]


@pytest.mark.parametrize(
    ("backoff", "max_delay", "last"),
    [(10.0, None, 1e9), (10.0, 30.0, 30.0), (1e300, None, 1e9), (2.0, 1e300, 1e300)],
)
def test_huge_attempt_counts_never_overflow(
    fake_time: FakeTime, backoff: float, max_delay: float | None, last: float
) -> None:
    """Thousands of attempts with a steep backoff: no OverflowError; the delay
    saturates at max_delay, or at a finite ceiling without one."""
    with pytest.raises(ValueError, match="boom"):
        retry(
            max_attempts=2000,
            delay=1.0,
            backoff=backoff,
            max_delay=max_delay,
            report=None,
        )(failing(10_000))()
    assert len(fake_time.sleeps) == 1999
    assert fake_time.sleeps[-1] == last
    assert all(math.isfinite(s) for s in fake_time.sleeps)


@given(
    delay=st.floats(0.0, 100.0),
    backoff=st.floats(1.0, 10.0),
    max_delay=st.none() | st.floats(0.0, 1000.0),
    attempts=st.integers(1, 30),
)
def test_delay_sequence_matches_the_formula(
    patched_time: PatchedTime,
    delay: float,
    backoff: float,
    max_delay: float | None,
    attempts: int,
) -> None:
    """For any settings, sleep k (k >= 1) is min(delay * backoff**(k-1), max_delay)."""
    with patched_time() as fake, pytest.raises(ValueError, match="boom"):
        retry(
            max_attempts=attempts,
            delay=delay,
            backoff=backoff,
            max_delay=max_delay,
            report=None,
        )(failing(10**6))()
    cap = 1e9 if max_delay is None else max_delay
    expected = [min(delay * backoff**k, cap) for k in range(attempts - 1)]
    expected = [e for e in expected if e > 0]
    assert fake.sleeps == pytest.approx(expected, rel=1e-9)


# ---------------------------------------------------------------- jitter
@pytest.mark.parametrize(
    ("jitter", "draw", "expected"),
    [
        ("full", 0.0, [0.0, 0.0]),
        ("full", 0.5, [0.5, 1.0]),
        ("equal", 0.0, [0.5, 1.0]),
        ("equal", 0.5, [0.75, 1.5]),
        ("none", 0.5, [1.0, 2.0]),
        (None, 0.5, [1.0, 2.0]),
    ],
)
def test_jitter_formulas(
    fake_time: FakeTime,
    monkeypatch: pytest.MonkeyPatch,
    jitter: Any,
    draw: float,
    expected: list[float],
) -> None:
    """full: d*U; equal: d/2 + d/2*U; none: d (random.random patched to *draw*)."""
    monkeypatch.setattr(random, "random", lambda: draw)
    with pytest.raises(ValueError, match="boom"):
        retry(max_attempts=3, jitter=jitter, report=None)(failing(10))()
    assert fake_time.sleeps == [e for e in expected if e > 0]


@pytest.mark.parametrize(("jitter", "low"), [("full", 0.0), ("equal", 0.5)])
def test_jitter_stays_within_bounds_and_under_the_cap(
    fake_time: FakeTime, jitter: Any, low: float
) -> None:
    """Over many draws each jittered sleep lies in [low*d, d], d capped by max_delay."""
    random.seed(1234)
    for _ in range(200):
        fake_time.sleeps.clear()
        with pytest.raises(ValueError, match="boom"):
            retry(
                max_attempts=6,
                delay=1.0,
                backoff=2.0,
                max_delay=5.0,
                jitter=jitter,
                report=None,
            )(failing(10))()
        bases = [1.0, 2.0, 4.0, 5.0, 5.0]
        assert len(fake_time.sleeps) <= 5
        for slept, base in zip(fake_time.sleeps, bases, strict=False):
            assert low * base <= slept <= base


def test_jitter_varies_between_calls(fake_time: FakeTime) -> None:
    """Full jitter draws a fresh delay per retry (it is not a constant offset)."""
    random.seed(99)
    decorated = retry(max_attempts=2, jitter="full", report=None)(failing(10**6))
    for _ in range(20):
        with pytest.raises(ValueError, match="boom"):
            decorated()
    assert len(set(fake_time.sleeps)) > 10


# ---------------------------------------------------------------- deadline
def test_deadline_trims_the_last_sleep(fake_time: FakeTime) -> None:
    """Sleeps 1, 2, then 2 (not 4): the sleep ends exactly at the deadline; the
    attempt made there is the last."""
    func = failing(100)
    with pytest.raises(ValueError, match="boom") as info:
        retry(max_attempts=10, deadline=5.0, report=None)(func)()
    assert fake_time.sleeps == [1.0, 2.0, 2.0]
    assert sum(fake_time.sleeps) == 5.0
    assert func.calls == 4
    assert "gave up after 4 attempts in 5.00s: the deadline of 5s" in notes(info.value)


def test_deadline_counts_the_first_attempt(fake_time: FakeTime) -> None:
    """The budget starts with the call: time spent in attempts counts too."""

    def slow() -> None:
        fake_time.advance(3.0)
        msg = "boom slow"
        raise ValueError(msg)

    with pytest.raises(ValueError, match="boom"):
        retry(max_attempts=10, delay=1.0, backoff=1.0, deadline=10.0, report=None)(
            slow
        )()
    # attempts end at 3, 7 (3+1+3), 11 (> 10): sleeps 1, 1, then give up
    assert fake_time.sleeps == [1.0, 1.0]


@given(
    durations=st.lists(st.floats(0.0, 5.0), min_size=1, max_size=20),
    delay=st.floats(0.0, 5.0),
    backoff=st.floats(1.0, 3.0),
    deadline=st.floats(0.0, 30.0),
    jitter=st.sampled_from([None, "full", "equal"]),
)
def test_no_attempt_starts_after_the_deadline(  # noqa: PLR0917 - hypothesis passes them
    patched_time: PatchedTime,
    durations: list[float],
    delay: float,
    backoff: float,
    deadline: float,
    jitter: Any,
) -> None:
    """Whatever the attempts take, every attempt starts at or before the deadline
    and no sleep runs past it."""
    starts: list[float] = []
    with patched_time() as fake:
        t0 = fake.now

        def attempt() -> None:
            starts.append(fake.now - t0)
            fake.advance(durations[(len(starts) - 1) % len(durations)])
            msg = "boom"
            raise ValueError(msg)

        with pytest.raises(ValueError, match="boom"):
            retry(
                max_attempts=50,
                delay=delay,
                backoff=backoff,
                deadline=deadline,
                jitter=jitter,
                report=None,
            )(attempt)()
    assert all(s <= deadline + 1e-9 for s in starts)
    assert all(s > 0 for s in fake.sleeps)


def test_zero_deadline_means_a_single_attempt(fake_time: FakeTime) -> None:
    """deadline=0: the first failure already has no budget left."""
    func = failing(10)
    with pytest.raises(ValueError, match="boom"):
        retry(max_attempts=5, deadline=0, report=None)(func)()
    assert func.calls == 1


def test_infinite_deadline_and_max_delay_mean_none(fake_time: FakeTime) -> None:
    """math.inf is accepted for deadline and max_delay and means no limit."""
    with pytest.raises(ValueError, match="boom"):
        retry(max_attempts=3, deadline=math.inf, max_delay=math.inf, report=None)(
            failing(10)
        )()
    assert fake_time.sleeps == [1.0, 2.0]


# ---------------------------------------------------------------- give-up
def test_give_up_raises_the_original_exception_with_history_note(
    fake_time: FakeTime,
) -> None:
    """The last attempt's own exception propagates (not a wrapper) with a PEP 678
    note listing every attempt."""
    func = failing(10)
    with pytest.raises(ValueError, match="boom") as info:
        retry(max_attempts=3, report=None)(func)()
    exc = info.value
    assert type(exc) is ValueError
    assert str(exc) == "boom 3"
    note = exc.__notes__[0]
    assert note.startswith("retry: ")
    assert note.endswith(
        "func gave up after 3 attempts in 3.00s\n"
        "  attempt 1: failed with ValueError('boom 1'); next in 1.00s\n"
        "  attempt 2: failed with ValueError('boom 2'); next in 2.00s\n"
        "  attempt 3: failed with ValueError('boom 3')"
    )
    assert len(exc.__notes__) == 1


def test_give_up_traceback_reaches_the_failing_line(fake_time: FakeTime) -> None:
    """The propagated exception's traceback ends in the decorated function."""

    @retry(max_attempts=2, report=None)
    def explode() -> None:
        msg = "deep"
        raise KeyError(msg)

    with pytest.raises(KeyError) as info:
        explode()
    assert info.traceback[-1].name == "explode"
    assert info.value.__context__ is None  # attempts are not chained


def test_history_note_is_bounded(fake_time: FakeTime) -> None:
    """With many attempts the note keeps the first and last five."""
    with pytest.raises(ValueError, match="boom") as info:
        retry(max_attempts=20, delay=0.0, report=None)(failing(100))()
    lines = notes(info.value).splitlines()
    assert lines[0].endswith("gave up after 20 attempts in 0.00s")
    assert [ln.split(":")[0].strip() for ln in lines[1:6]] == [
        f"attempt {i}" for i in range(1, 6)
    ]
    assert lines[6] == "  ... 10 more attempts ..."
    assert [ln.split(":")[0].strip() for ln in lines[7:]] == [
        f"attempt {i}" for i in range(16, 21)
    ]


def test_single_attempt_still_notes(fake_time: FakeTime) -> None:
    """max_attempts=1 makes one attempt and notes that it gave up."""
    func = failing(5)
    with pytest.raises(ValueError, match="boom") as info:
        retry(max_attempts=1, report=None)(func)()
    assert func.calls == 1
    assert "gave up after 1 attempts" in notes(info.value)


def test_other_exception_types_propagate_at_once(fake_time: FakeTime) -> None:
    """An exception outside `exceptions` is not retried and gets no note."""
    func = failing(5, exc=TypeError("wrong"))
    with pytest.raises(TypeError) as info:
        retry(exceptions=ValueError, report=None)(func)()
    assert func.calls == 1
    assert notes(info.value) == ""


def test_other_exception_after_retries_is_noted(fake_time: FakeTime) -> None:
    """A non-retried exception after retries propagates with the history so far."""
    errors = iter([ValueError("first"), TypeError("second")])

    @retry(max_attempts=5, exceptions=ValueError, report=None)
    def func() -> None:
        raise next(errors)

    with pytest.raises(TypeError) as info:
        func()
    note = notes(info.value)
    assert "attempt 2 raised TypeError, which is not retried" in note
    assert "attempt 1: failed with ValueError('first'); next in 1.00s" in note
    assert fake_time.sleeps == [1.0]


def test_exception_tuple_and_subclasses(fake_time: FakeTime) -> None:
    """Any listed type, and subclasses of it, are retried."""
    errors = iter([ConnectionResetError(), TimeoutError(), KeyError("k")])

    @retry(max_attempts=5, delay=0.0, exceptions=(ConnectionError, TimeoutError))
    def func() -> None:
        raise next(errors)

    with pytest.raises(KeyError):
        func()


# ---------------------------------------------------------------- never retried
@pytest.mark.parametrize(
    "exc",
    [
        KeyboardInterrupt(),
        SystemExit(1),
        GeneratorExit(),
        asyncio.CancelledError(),
        BaseExceptionGroup("g", [ValueError(), KeyboardInterrupt()]),
    ],
    ids=["KeyboardInterrupt", "SystemExit", "GeneratorExit", "CancelledError", "group"],
)
def test_control_flow_is_never_retried(fake_time: FakeTime, exc: BaseException) -> None:
    """Even with exceptions=(BaseException,) these propagate on the first attempt."""
    func = failing(5, exc=exc)
    with pytest.raises(type(exc)):
        retry(exceptions=(BaseException,), report=None)(func)()
    assert func.calls == 1
    assert fake_time.sleeps == []


def test_control_flow_after_retries_propagates(fake_time: FakeTime) -> None:
    """A KeyboardInterrupt on a later attempt stops the retrying at once."""
    errors = iter([ValueError(), KeyboardInterrupt()])

    @retry(max_attempts=5, exceptions=BaseException, report=None)
    def func() -> None:
        raise next(errors)

    with pytest.raises(KeyboardInterrupt) as info:
        func()
    assert "which is not retried" in notes(info.value)


def test_other_base_exceptions_can_be_retried(fake_time: FakeTime) -> None:
    """A user's own BaseException subclass is retried when listed."""

    class Stop(BaseException):
        pass

    func = failing(2, exc=Stop())
    assert retry(exceptions=Stop, delay=0.0, report=None)(func)() == "ok"
    assert func.calls == 3


# ---------------------------------------------------------------- reporting
def test_default_report_prints_one_line_per_retry(
    fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    """The seed's line format, to stdout, once per retry (none on give-up)."""

    @retry(max_attempts=3)
    def fetch() -> None:
        msg = "boom"
        raise ValueError(msg)

    with pytest.raises(ValueError, match="boom"):
        fetch()
    assert capsys.readouterr().out.splitlines() == [
        (
            "retry: test_default_report_prints_one_line_per_retry.<locals>.fetch "
            "attempt 1/3 failed with ValueError('boom'); next in 1.00s"
        ),
        (
            "retry: test_default_report_prints_one_line_per_retry.<locals>.fetch "
            "attempt 2/3 failed with ValueError('boom'); next in 2.00s"
        ),
    ]


def test_report_none_is_silent(
    fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    """report=None prints nothing."""
    assert retry(report=None)(failing(2))() == "ok"
    assert capsys.readouterr() == ("", "")


def test_report_to_a_callable(fake_time: FakeTime) -> None:
    """Any callable gets the finished line."""
    lines: list[str] = []
    retry(report=lines.append, delay=0.5)(failing(1))()
    assert len(lines) == 1
    assert lines[0].endswith(
        "attempt 1/3 failed with ValueError('boom 1'); next in 0.50s"
    )


def test_report_to_a_logger(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    """A logger gets one WARNING record per retry, or the level asked for."""
    logger = logging.getLogger("tests.decorators.retry")
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        retry(report=logger)(failing(1))()
        retry(report=logger, level=logging.INFO)(failing(1))()
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]
    assert caplog.records[0].getMessage().endswith("next in 1.00s")
    assert caplog.records[0].name == "tests.decorators.retry"


def test_report_to_a_logger_adapter(
    fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    """A LoggerAdapter is accepted like a logger."""
    adapter = logging.LoggerAdapter(logging.getLogger("tests.decorators.adapter"), {})
    with caplog.at_level(logging.WARNING, logger="tests.decorators.adapter"):
        retry(report=adapter)(failing(1))()
    assert len(caplog.records) == 1


def test_disabled_logger_formats_nothing(fake_time: FakeTime) -> None:
    """Below the logger's level the line is never formatted (lazy %-args)."""

    class Loud:
        def __repr__(self) -> str:
            msg = "formatted"
            raise AssertionError(msg)

    logger = logging.getLogger("tests.decorators.quiet")
    logger.setLevel(logging.ERROR)
    try:
        retry_on_condition(lambda r: isinstance(r, Loud), delay=0.0, report=logger)(
            iter([Loud(), 1]).__next__
        )()
    except AssertionError:  # pragma: no cover - the failure this test guards
        pytest.fail("the report was formatted for a disabled logger")
    finally:
        logger.setLevel(logging.NOTSET)


def test_long_reprs_are_shortened(fake_time: FakeTime) -> None:
    """Huge exception messages and results are cut in reports and notes."""
    lines: list[str] = []
    with pytest.raises(ValueError, match="boom") as info:
        retry(max_attempts=2, report=lines.append)(
            failing(5, exc=ValueError("boom" * 10_000))
        )()
    assert len(lines[0]) < 400
    assert len(notes(info.value)) < 1000


def test_broken_repr_does_not_hide_the_error(fake_time: FakeTime) -> None:
    """An exception whose repr raises is still reported and re-raised."""

    class WeirdError(Exception):
        def __repr__(self) -> str:
            raise RuntimeError

    lines: list[str] = []
    with pytest.raises(WeirdError):
        retry(max_attempts=2, report=lines.append)(failing(5, exc=WeirdError()))()
    assert "<WeirdError instance at 0x" in lines[0]


# ---------------------------------------------------------------- hooks
def test_on_retry_gets_frozen_records(fake_time: FakeTime) -> None:
    """on_retry is called before each sleep with what failed, the delay and the
    elapsed time."""
    seen: list[RetryAttempt] = []
    func = failing(2)
    assert retry(on_retry=seen.append, report=None)(func)() == "ok"
    assert [(a.attempt, a.max_attempts, a.delay, a.elapsed) for a in seen] == [
        (1, 3, 1.0, 0.0),
        (2, 3, 2.0, 1.0),
    ]
    assert [str(a.exception) for a in seen] == ["boom 1", "boom 2"]
    assert all(a.result is None for a in seen)
    assert seen[0].name.endswith("func")
    with pytest.raises(dataclasses.FrozenInstanceError):
        seen[0].delay = 5.0  # type: ignore[misc]


def test_elapsed_counts_from_the_call_with_a_deadline(fake_time: FakeTime) -> None:
    """With a deadline, elapsed includes the first attempt's own duration."""
    seen: list[RetryAttempt] = []

    def slow() -> None:
        fake_time.advance(0.5)
        msg = "boom slow"
        raise ValueError(msg)

    with pytest.raises(ValueError, match="boom"):
        retry(max_attempts=2, deadline=100, on_retry=seen.append, report=None)(slow)()
    assert seen[0].elapsed == 0.5


def test_wait_hook_overrides_the_delay(fake_time: FakeTime) -> None:
    """A number from `wait` is slept instead of the backoff, even above max_delay;
    None keeps the computed delay, which the hook sees."""
    asked: list[float] = []

    def wait(attempt: RetryAttempt) -> float | None:
        asked.append(attempt.delay)
        return 30.0 if attempt.attempt == 1 else None

    with pytest.raises(ValueError, match="boom"):
        retry(max_attempts=3, max_delay=10.0, wait=wait, report=None)(failing(10))()
    assert asked == [1.0, 2.0]
    assert fake_time.sleeps == [30.0, 2.0]


def test_wait_hook_reading_retry_after_from_the_exception(fake_time: FakeTime) -> None:
    """The documented Retry-After pattern: the exception carries the delay."""

    class RateLimitedError(Exception):
        def __init__(self, retry_after: float) -> None:
            super().__init__(retry_after)
            self.retry_after = retry_after

    def server_delay(attempt: RetryAttempt) -> float | None:
        return getattr(attempt.exception, "retry_after", None)

    errors = iter([RateLimitedError(7.0), ConnectionError(), RateLimitedError(0)])

    @retry(max_attempts=4, delay=0.5, wait=server_delay, report=None)
    def send() -> str:
        err = next(errors, None)
        if err is not None:
            raise err
        return "sent"

    assert send() == "sent"
    assert fake_time.sleeps == [7.0, 1.0]  # the 0 s Retry-After does not sleep


def test_wait_beyond_the_deadline_gives_up_at_once(fake_time: FakeTime) -> None:
    """A requested wait that would pass the deadline ends the retrying now
    instead of sleeping in vain."""
    func = failing(10)
    with pytest.raises(ValueError, match="boom") as info:
        retry(max_attempts=5, deadline=10.0, wait=lambda _: 60.0, report=None)(func)()
    assert func.calls == 1
    assert fake_time.sleeps == []
    assert "the wait of 60.00s asked for would pass the deadline of 10s" in notes(
        info.value
    )


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (-1.0, InvalidParameterError),
        (math.nan, InvalidParameterError),
        (math.inf, InvalidParameterError),
        ("5", InputTypeError),
        (True, InputTypeError),
    ],
)
def test_wait_hook_bad_return_is_rejected(
    fake_time: FakeTime, bad: object, error: type[Exception]
) -> None:
    """A wait hook returning something other than None or seconds >= 0 raises.

    A wrong type is an InputTypeError, a wrong value an InvalidParameterError;
    the attempt's own exception is chained as __context__.
    """
    with pytest.raises(error, match="wait must return None or a finite") as caught:
        retry(wait=lambda _: bad, report=None)(failing(10))()
    assert isinstance(caught.value.__context__, ValueError)


def test_retry_if_filters_exceptions(fake_time: FakeTime) -> None:
    """retry_if false lets the exception through without retrying."""

    class HTTPError(Exception):
        def __init__(self, status: int) -> None:
            super().__init__(status)
            self.status = status

    statuses = iter([503, 429, 404])

    @retry(
        max_attempts=10,
        delay=0.0,
        exceptions=HTTPError,
        retry_if=lambda e: getattr(e, "status", 0) in {429, 503},
        report=None,
    )
    def get() -> None:
        raise HTTPError(next(statuses))

    with pytest.raises(HTTPError) as info:
        get()
    assert info.value.status == 404
    assert "attempt 3 raised HTTPError, which is not retried" in notes(info.value)


def test_retry_if_false_on_first_attempt_adds_no_note(fake_time: FakeTime) -> None:
    """Nothing was retried, so nothing is noted."""
    func = failing(5)
    with pytest.raises(ValueError, match="boom") as info:
        retry(retry_if=lambda _: False, report=None)(func)()
    assert func.calls == 1
    assert notes(info.value) == ""


def test_callback_errors_propagate(fake_time: FakeTime) -> None:
    """A failing on_retry callback is a bug to see, not to swallow."""

    def bad(attempt: RetryAttempt) -> None:
        msg = "callback"
        raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="callback"):
        retry(on_retry=bad, report=None)(failing(5))()


# ---------------------------------------------------------------- retry_on_condition
def test_condition_retries_until_false(
    fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    """Results are retried while condition(result) is true; the first false one
    is returned; the line says what was returned."""
    states = iter(["pending", "pending", "done"])

    @retry_on_condition(lambda s: s != "done", max_attempts=5)
    def poll() -> str:
        return next(states)

    assert poll() == "done"
    assert fake_time.sleeps == [1.0, 2.0]
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("poll attempt 1/5 returned 'pending'; next in 1.00s")


def test_condition_give_up_raises_retry_error(fake_time: FakeTime) -> None:
    """RetryError carries the last result and the attempt count, and a note."""
    results = iter(range(10))

    @retry_on_condition(lambda r: r < 100, max_attempts=3, report=None)
    def count() -> int:
        return next(results)

    with pytest.raises(RetryError) as info:
        count()
    err = info.value
    assert err.last_result == 2
    assert err.attempts == 3
    assert isinstance(err, MLInfraError)
    assert isinstance(err, RuntimeError)
    assert "count: the condition still held after 3 attempts in 3.00s" in str(err)
    assert "last result: 2" in str(err)
    assert "attempt 1: returned 0; next in 1.00s" in notes(err)


def test_retry_error_pickles() -> None:
    """RetryError survives pickling with its attributes."""
    err = RetryError("gave up", last_result=[1, 2], attempts=4)
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.last_result, back.attempts) == ("gave up", [1, 2], 4)


def test_condition_exceptions_propagate_by_default(fake_time: FakeTime) -> None:
    """Without `exceptions`, an exception is not retried."""
    func = failing(1)
    with pytest.raises(ValueError, match="boom"):
        retry_on_condition(lambda _: False, report=None)(func)()
    assert func.calls == 1


def test_condition_with_exceptions_retries_both(fake_time: FakeTime) -> None:
    """`exceptions` makes retry_on_condition also retry those exceptions."""
    outcomes = iter([ConnectionError(), None, "ready"])

    @retry_on_condition(
        lambda r: r is None, exceptions=ConnectionError, delay=0.0, report=None
    )
    def status() -> str | None:
        out = next(outcomes)
        if isinstance(out, Exception):
            raise out
        return out

    assert status() == "ready"


def test_condition_deadline_and_result_in_records(fake_time: FakeTime) -> None:
    """Records carry the result; a deadline ends polling with RetryError."""
    seen: list[RetryAttempt] = []
    with pytest.raises(RetryError) as info:
        retry_on_condition(
            bool, max_attempts=100, deadline=4.0, on_retry=seen.append, report=None
        )(lambda: "busy")()
    assert seen[0].result == "busy"
    assert seen[0].exception is None
    assert fake_time.sleeps == [1.0, 2.0, 1.0]
    assert "the deadline of 4s" in str(info.value)


def test_condition_errors_propagate(fake_time: FakeTime) -> None:
    """An exception raised by the condition itself propagates."""

    def cond(r: object) -> bool:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        retry_on_condition(cond, report=None)(lambda: 1)()


# ---------------------------------------------------------------- testing mode
def test_testing_mode_skips_sleeps_but_keeps_reports(
    fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    """Inside retry_testing() nothing sleeps; lines and records are unchanged."""
    seen: list[RetryAttempt] = []
    with mliu.retry_testing():
        assert (
            retry(max_attempts=3, delay=60.0, on_retry=seen.append)(failing(2))()
            == "ok"
        )
    assert fake_time.sleeps == []
    assert [a.delay for a in seen] == [60.0, 120.0]
    assert "next in 60.00s" in capsys.readouterr().out


def test_testing_mode_caps_attempts() -> None:
    """attempts= caps every function's attempts while the mode is on."""
    func = failing(10)
    with mliu.retry_testing(attempts=2), pytest.raises(ValueError, match="boom"):
        retry(max_attempts=5, report=None)(func)()
    assert func.calls == 2


def test_testing_mode_uses_a_virtual_clock_for_deadlines(fake_time: FakeTime) -> None:
    """Deadline decisions in testing mode match production: skipped sleeps count."""
    func = failing(100)
    seen: list[RetryAttempt] = []
    with mliu.retry_testing(), pytest.raises(ValueError, match="boom"):
        retry(
            max_attempts=10,
            delay=10.0,
            deadline=25.0,
            on_retry=seen.append,
            report=None,
        )(func)()
    assert func.calls == 3
    assert [a.delay for a in seen] == [10.0, 15.0]
    assert fake_time.sleeps == []


def test_testing_mode_nests_and_restores() -> None:
    """retry_testing restores the previous state on exit, also after errors."""
    state = __import__("sys").modules["ml_infra_utils.decorators._testing"].TESTING
    with mliu.retry_testing(attempts=3):
        with mliu.retry_testing(attempts=1):
            assert (state.enabled, state.attempts) == (True, 1)
        assert (state.enabled, state.attempts) == (True, 3)
        with pytest.raises(KeyError), mliu.retry_testing():
            raise KeyError
        assert (state.enabled, state.attempts) == (True, 3)
    assert (state.enabled, state.attempts) == (False, None)


def test_global_switch(fake_time: FakeTime) -> None:
    """set_retry_testing(True) turns the mode on until set_retry_testing(False)."""
    mliu.set_retry_testing(True, attempts=4)
    func = failing(10)
    with pytest.raises(ValueError, match="boom"):
        retry(max_attempts=9, report=None)(func)()
    assert func.calls == 4
    assert fake_time.sleeps == []
    mliu.set_retry_testing(False)
    with pytest.raises(ValueError, match="boom"):
        retry(max_attempts=2, report=None)(failing(10))()
    assert fake_time.sleeps == [1.0]


def test_testing_mode_as_a_test_decorator(fake_time: FakeTime) -> None:
    """retry_testing() also decorates a test function."""

    @mliu.retry_testing()
    def a_users_test() -> str:
        return retry(report=None)(failing(2))()

    assert a_users_test() == "ok"
    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: mliu.set_retry_testing("yes"), InputTypeError),
        (lambda: mliu.set_retry_testing(True, attempts=0), InvalidParameterError),
        (lambda: mliu.set_retry_testing(True, attempts=2.0), InputTypeError),
        (lambda: mliu.retry_testing(attempts=-1).__enter__(), InvalidParameterError),
    ],
)
def test_testing_mode_arguments_are_checked(
    call: Callable[[], object], error: type
) -> None:
    """Bad testing-mode arguments raise clear errors."""
    with pytest.raises(error):
        call()


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (
            {"max_attempts": 0},
            InvalidParameterError,
            "max_attempts must be an int >= 1",
        ),
        ({"max_attempts": 2.0}, InputTypeError, "max_attempts must be an int >= 1"),
        ({"max_attempts": True}, InputTypeError, "max_attempts"),
        ({"max_attempts": "3"}, InputTypeError, "max_attempts"),
        ({"delay": -1}, InvalidParameterError, "delay must be a number >= 0"),
        ({"delay": math.nan}, InvalidParameterError, "delay"),
        ({"delay": math.inf}, InvalidParameterError, "delay"),
        ({"delay": "1"}, InputTypeError, "delay must be a number of seconds"),
        (
            {"backoff": 0.5},
            InvalidParameterError,
            "backoff must be a finite number >= 1",
        ),
        ({"backoff": math.inf}, InvalidParameterError, "backoff"),
        ({"backoff": math.nan}, InvalidParameterError, "backoff"),
        ({"backoff": None}, InputTypeError, "backoff"),
        (
            {"exceptions": [ValueError]},
            InputTypeError,
            "exceptions must be an exception type or a tuple",
        ),
        ({"exceptions": "ValueError"}, InputTypeError, "exceptions"),
        ({"exceptions": (ValueError, 3)}, InputTypeError, "exceptions"),
        ({"exceptions": int}, InputTypeError, "exceptions"),
        ({"exceptions": ()}, InvalidParameterError, "at least one exception type"),
        (
            {"max_delay": -1},
            InvalidParameterError,
            "max_delay must be a number >= 0 or None",
        ),
        ({"deadline": math.nan}, InvalidParameterError, "deadline"),
        ({"jitter": "fuller"}, InvalidParameterError, "jitter must be one of"),
        ({"jitter": ["full"]}, InputTypeError, "jitter"),
        ({"jitter": 5}, InputTypeError, "jitter must be one of"),
        ({"max_attempts": -(10**5000)}, InvalidParameterError, r"<negative int with"),
        ({"delay": 10**5000}, InvalidParameterError, r"delay must be .* finite"),
        ({"retry_if": 3}, InputTypeError, "retry_if must be callable"),
        ({"wait": 3}, InputTypeError, "wait must be callable"),
        ({"on_retry": "print"}, InputTypeError, "on_retry must be callable"),
        ({"report": 3}, InputTypeError, "report must be a callable"),
        ({"report": logging.getLogger("x"), "level": "INFO"}, InputTypeError, "level"),
    ],
)
def test_bad_options_fail_when_decorating(
    kwargs: dict[str, Any], error: type, words: str
) -> None:
    """Each bad option raises at decoration time with a message naming it."""
    with pytest.raises(error, match=words.replace("(", r"\(")) as info:
        retry(**kwargs)
    assert str(info.value).startswith("retry: ")
    assert isinstance(info.value, MLInfraError)


def test_condition_must_be_callable() -> None:
    """retry_on_condition rejects a non-callable condition."""
    with pytest.raises(InputTypeError, match="condition must be callable"):
        retry_on_condition("done")  # type: ignore[arg-type]


def test_condition_accepts_no_exceptions_but_retry_does_not() -> None:
    """exceptions=() is the default of retry_on_condition, an error for retry."""
    retry_on_condition(bool, exceptions=())
    with pytest.raises(InvalidParameterError):
        retry(exceptions=())


def test_non_callables_and_generators_are_rejected() -> None:
    """Decorating a non-callable or a generator function fails clearly."""

    def gen() -> Iterator[int]:
        yield 1

    async def agen() -> AsyncIterator[int]:
        yield 1

    with pytest.raises(InputTypeError, match="decorates a callable"):
        retry()(3)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="generator function"):
        retry()(gen)
    with pytest.raises(InputTypeError, match="generator function"):
        retry_on_condition(bool)(agen)


# ---------------------------------------------------------------- metadata, call forms
def test_wraps_keeps_metadata() -> None:
    """__name__, __doc__, __wrapped__ and inspect.signature survive."""

    def fetch(url: str, *, timeout: float = 1.0) -> bytes:
        """Fetch a URL."""
        return b""

    wrapped = retry()(fetch)
    assert wrapped.__name__ == "fetch"
    assert wrapped.__doc__ == "Fetch a URL."
    assert wrapped.__wrapped__ is fetch  # type: ignore[attr-defined]
    assert inspect.signature(wrapped) == inspect.signature(fetch)
    assert not inspect.iscoroutinefunction(wrapped)


def test_methods_are_retried_with_self(
    fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    """Instance methods keep `self`; the report names Class.method."""

    class Client:
        def __init__(self) -> None:
            self.calls = 0

        @retry(max_attempts=3, delay=0.0)
        def get(self, key: str) -> str:
            self.calls += 1
            if self.calls < 2:
                raise ConnectionError
            return key.upper()

    client = Client()
    assert client.get("a") == "A"
    assert client.calls == 2
    assert "Client.get attempt 1/3" in capsys.readouterr().out


def test_plain_call_form(fake_time: FakeTime) -> None:
    """retry(...)(func)(*args) retries a function decorated at call time."""
    func = failing(1, result="done")
    assert retry(max_attempts=2, report=None)(func)("arg", key=1) == "done"
    assert fake_time.sleeps == [1.0]


def test_partial_and_builtin_callables(fake_time: FakeTime) -> None:
    """Partials and builtins can be wrapped; their repr names them if unnamed."""
    func = failing(1, result=3)
    wrapped = retry(max_attempts=2, report=None)(functools.partial(func, 1))
    assert wrapped() == 3
    assert retry()(len)([1, 2]) == 2


def test_one_decorated_function_from_many_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Threads retrying through one decorated function keep separate state."""
    slept: list[float] = []
    lock = threading.Lock()

    def record_sleep(seconds: float) -> None:
        with lock:
            slept.append(seconds)

    monkeypatch.setattr(__import__("time"), "sleep", record_sleep)
    per_thread = threading.local()
    total = [0]

    @retry(max_attempts=4, delay=0.001, report=None)
    def work(n: int) -> int:
        per_thread.calls = getattr(per_thread, "calls", 0) + 1
        with lock:
            total[0] += 1
        if per_thread.calls % 3:
            raise ValueError(n)
        return n

    results: list[int] = []

    def run(n: int) -> None:
        results.extend(work(n * 1000 + i) for i in range(50))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(k * 1000 + i for k in range(8) for i in range(50))
    assert total[0] == 8 * 50 * 3
    assert sorted(set(slept)) == [0.001, 0.002]
    assert len(slept) == 8 * 50 * 2


def test_condition_false_at_once_returns_without_retrying(fake_time: FakeTime) -> None:
    """A first result that does not meet the condition is returned directly."""
    func = failing(0, result="done")
    wrapped = retry_on_condition(lambda r: r != "done", deadline=5.0)(func)
    assert wrapped() == "done"
    assert func.calls == 1
    assert fake_time.sleeps == []


def test_public_objects_name_their_public_module() -> None:
    """Objects defined in private modules say where users import them from, and
    a RetryAttempt pickles by that name."""
    assert RetryAttempt.__module__ == "ml_infra_utils.decorators.retry"
    assert mliu.retry_testing.__module__ == "ml_infra_utils.decorators.retry"
    assert mliu.TimerStats.__module__ == "ml_infra_utils.decorators.timing"
    record = RetryAttempt("f", 1, 3, 1.0, ValueError("x"), None, 0.5)
    back = pickle.loads(pickle.dumps(record))
    assert (back.name, back.delay, repr(back.exception)) == (
        "f",
        1.0,
        "ValueError('x')",
    )
