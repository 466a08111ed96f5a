"""@retry and @retry_on_condition on coroutine functions (asyncio.run, no plugin)."""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import TYPE_CHECKING, Any

import pytest

import ml_infra_utils as mliu
from ml_infra_utils import RetryAttempt, RetryError, retry, retry_on_condition

if TYPE_CHECKING:
    from conftest import FakeTime


def async_failing(times: int, exc: BaseException | None = None) -> Any:
    """A coroutine function failing *times* times, then returning "ok"."""

    async def func(*args: Any, **kwargs: Any) -> str:
        func.calls += 1  # type: ignore[attr-defined]
        await asyncio.sleep(0)
        if func.calls <= times:  # type: ignore[attr-defined]
            raise exc if exc is not None else ValueError(f"boom {func.calls}")  # type: ignore[attr-defined]
        return "ok"

    func.calls = 0  # type: ignore[attr-defined]
    return func


def test_async_function_is_retried_with_asyncio_sleep(fake_time: FakeTime) -> None:
    """A coroutine function is awaited on every attempt and slept with asyncio."""
    func = async_failing(2)
    wrapped = retry(max_attempts=3, report=None)(func)
    assert asyncio.run(wrapped("a", b=1)) == "ok"
    assert func.calls == 3
    # fake asyncio.sleep also received the zero sleeps of the function itself
    assert [s for s in fake_time.sleeps if s] == [1.0, 2.0]


def test_async_wrapper_is_a_coroutine_function() -> None:
    """inspect.iscoroutinefunction holds for the wrapper; metadata is kept."""

    async def fetch(url: str) -> bytes:
        """Fetch."""
        return b""

    wrapped = retry()(fetch)
    assert inspect.iscoroutinefunction(wrapped)
    assert wrapped.__wrapped__ is fetch  # type: ignore[attr-defined]
    assert wrapped.__doc__ == "Fetch."
    assert inspect.signature(wrapped) == inspect.signature(fetch)


def test_async_give_up_raises_original_with_note(fake_time: FakeTime) -> None:
    """On give-up the coroutine's own exception propagates with the history."""
    with pytest.raises(ValueError, match="boom 2") as info:
        asyncio.run(retry(max_attempts=2, report=None)(async_failing(5))())
    assert "gave up after 2 attempts" in info.value.__notes__[0]


def test_async_zero_delay_never_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """delay=0 retries a coroutine without calling asyncio.sleep."""
    calls: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        calls.append(seconds)

    async def fail_twice() -> str:
        fail_twice.calls += 1  # type: ignore[attr-defined]
        if fail_twice.calls < 3:  # type: ignore[attr-defined]
            raise ConnectionError
        return "ok"

    fail_twice.calls = 0  # type: ignore[attr-defined]
    monkeypatch.setattr(asyncio, "sleep", recording_sleep)
    assert asyncio.run(retry(delay=0.0, report=None)(fail_twice)()) == "ok"
    assert calls == []


def test_event_loop_keeps_running_during_retry_sleeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Other tasks progress while a retry sleeps: the loop is never blocked."""
    ticks: list[int] = []
    func = async_failing(2, exc=ConnectionError("down"))
    real_sleep = asyncio.sleep
    retry_sleeps: list[float] = []

    async def spy(seconds: float) -> None:
        if seconds == 0.02:
            retry_sleeps.append(len(ticks))
        await real_sleep(seconds)

    monkeypatch.setattr(asyncio, "sleep", spy)

    async def ticker() -> None:
        for i in range(1000):
            ticks.append(i)
            await asyncio.sleep(0.001)

    async def main() -> str:
        tick_task = asyncio.create_task(ticker())
        result: str = await retry(delay=0.02, backoff=1.0, report=None)(func)()
        tick_task.cancel()
        return result

    assert asyncio.run(main()) == "ok"
    assert len(retry_sleeps) == 2
    # the ticker ran during the first retry sleep, before the second began
    assert retry_sleeps[1] > retry_sleeps[0]


def test_cancellation_during_a_retry_sleep_propagates() -> None:
    """Cancelling the task mid-retry raises CancelledError; nothing retries it."""
    func = async_failing(100, exc=ConnectionError("down"))

    async def main() -> None:
        task = asyncio.create_task(
            retry(max_attempts=100, delay=0.05, exceptions=BaseException, report=None)(
                func
            )()
        )
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert func.calls == 1


def test_cancelled_error_from_the_function_is_not_retried(fake_time: FakeTime) -> None:
    """A CancelledError raised by the coroutine itself propagates at once."""
    func = async_failing(5, exc=asyncio.CancelledError())

    async def main() -> None:
        with pytest.raises(asyncio.CancelledError):
            await retry(exceptions=(BaseException,), report=None)(func)()

    asyncio.run(main())
    assert func.calls == 1


def test_async_deadline_trims_the_last_sleep(fake_time: FakeTime) -> None:
    """The deadline works the same for coroutines."""
    func = async_failing(100)
    with pytest.raises(ValueError, match="boom"):
        asyncio.run(retry(max_attempts=10, deadline=5.0, report=None)(func)())
    assert [s for s in fake_time.sleeps if s] == [1.0, 2.0, 2.0]


def test_async_condition_gets_the_awaited_result(fake_time: FakeTime) -> None:
    """retry_on_condition awaits the coroutine and tests its result."""
    states = iter(["pending", "pending", "done"])
    seen: list[RetryAttempt] = []

    @retry_on_condition(lambda s: s != "done", on_retry=seen.append, report=None)
    async def state() -> str:
        return next(states)

    assert asyncio.run(state()) == "done"
    assert [a.result for a in seen] == ["pending", "pending"]


def test_async_condition_give_up_and_exceptions(fake_time: FakeTime) -> None:
    """Async retry_on_condition retries listed exceptions and raises RetryError."""
    outcomes = iter([TimeoutError(), "busy", "busy"])

    @retry_on_condition(
        lambda s: s == "busy", exceptions=TimeoutError, delay=0.0, report=None
    )
    async def status() -> str:
        out = next(outcomes)
        if isinstance(out, Exception):
            raise out
        return out

    with pytest.raises(RetryError) as info:
        asyncio.run(status())
    assert info.value.last_result == "busy"
    assert info.value.attempts == 3


def test_async_condition_with_exception_first(fake_time: FakeTime) -> None:
    """An exception on the first attempt of an async condition retry is retried."""
    outcomes = iter([TimeoutError(), "done"])

    @retry_on_condition(bool, exceptions=TimeoutError, delay=0.0, report=None)
    async def status() -> str:
        out = next(outcomes)
        if isinstance(out, Exception):
            raise out
        return ""

    assert asyncio.run(status()) == ""


def test_async_testing_mode_never_sleeps(fake_time: FakeTime) -> None:
    """retry_testing() skips asyncio sleeps too."""
    func = async_failing(2)
    with mliu.retry_testing():
        assert asyncio.run(retry(delay=30.0, report=None)(func)()) == "ok"
    assert [s for s in fake_time.sleeps if s] == []


def test_callable_object_with_async_call_is_awaited(fake_time: FakeTime) -> None:
    """An object whose __call__ is async is treated as a coroutine function."""

    class Client:
        def __init__(self) -> None:
            self.calls = 0

        async def __call__(self) -> str:
            self.calls += 1
            if self.calls < 2:
                raise ConnectionError
            return "ok"

    client = Client()
    assert asyncio.run(retry(delay=0.0, report=None)(client)()) == "ok"
    assert client.calls == 2


def test_partial_of_async_function_is_awaited(fake_time: FakeTime) -> None:
    """functools.partial of a coroutine function is retried as one."""
    func = async_failing(1)
    wrapped = retry(delay=0.0, report=None)(functools.partial(func, 1))
    assert inspect.iscoroutinefunction(wrapped)
    assert asyncio.run(wrapped()) == "ok"


def test_concurrent_tasks_through_one_decorated_coroutine(fake_time: FakeTime) -> None:
    """Many tasks retrying through one wrapper keep separate attempt counts."""
    attempts: dict[int, int] = {}
    records: list[RetryAttempt] = []

    @retry(max_attempts=3, delay=0.0, on_retry=records.append, report=None)
    async def work(n: int) -> int:
        attempts[n] = attempts.get(n, 0) + 1
        await asyncio.sleep(0)
        if attempts[n] < 3:
            raise ValueError(n)
        return n

    async def main() -> list[int]:
        return list(await asyncio.gather(*(work(n) for n in range(20))))

    assert asyncio.run(main()) == list(range(20))
    assert sorted(r.attempt for r in records) == [1] * 20 + [2] * 20


def test_async_condition_false_at_once(fake_time: FakeTime) -> None:
    """An async first result that does not meet the condition is returned."""

    @retry_on_condition(lambda r: r is None, report=None)
    async def value() -> int:
        return 7

    assert asyncio.run(value()) == 7
    assert fake_time.sleeps == []
