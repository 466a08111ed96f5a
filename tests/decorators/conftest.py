"""Fixtures of the decorator tests: a fake clock and sleep, a clean global state."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
from collections.abc import Callable, Iterator

import pytest

import ml_infra_utils as mliu

# Checked by mypy in test_typing.py, not collected (its misuse lines are
# deliberate type errors).
collect_ignore = ["typing_check.py"]

# The modules holding the clocks the fakes replace.
retry_module = importlib.import_module("ml_infra_utils.decorators._wrappers")
timing_module = importlib.import_module("ml_infra_utils.decorators.timing")


class FakeTime:
    """A monotonic clock that only moves when slept on (or advanced by hand)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@contextlib.contextmanager
def _patched_time() -> Iterator[FakeTime]:
    fake = FakeTime()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(retry_module, "_monotonic", fake.monotonic)
        mp.setattr(time, "sleep", fake.sleep)
        mp.setattr(asyncio, "sleep", fake.async_sleep)
        yield fake


@pytest.fixture
def fake_time() -> Iterator[FakeTime]:
    """Retry's clock, time.sleep and asyncio.sleep replaced by one fake."""
    with _patched_time() as fake:
        yield fake


@pytest.fixture(scope="session")
def patched_time() -> Callable[[], contextlib.AbstractContextManager[FakeTime]]:
    """A factory of fake_time blocks, for hypothesis tests (which run many
    examples per test function)."""
    return _patched_time


class FakeClock:
    """perf_counter stand-in for the timer: a time that only advance() moves."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The timer's clock replaced by a fake moved by hand."""
    clock = FakeClock()
    monkeypatch.setattr(timing_module, "_clock", clock)
    return clock


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """Each test starts with testing mode off and no timer statistics."""
    mliu.set_retry_testing(False)
    mliu.reset_timer_stats()
    yield
    mliu.set_retry_testing(False)
    mliu.reset_timer_stats()
