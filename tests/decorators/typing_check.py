"""Static typing of the decorators, checked by mypy in test_typing.py (not run).

Each ``assert_type`` states what a checker must infer; each line marked
``# type: ignore[code]`` must really be an error, or mypy (with
``warn_unused_ignores``) reports the ignore as unused: so a decorator that
loses the signature fails the test either way. Nothing here is meant to run;
the checks sit in functions so importing the module is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any, assert_type

from ml_infra_utils import (
    RetryAttempt,
    Timer,
    TimerStats,
    retry,
    retry_on_condition,
    timer,
    timer_stats,
    timer_with_units,
)


@timer
def add(a: int, b: int = 0, *, scale: float = 1.0) -> float:
    return (a + b) * scale


@timer_with_units("ms", report=logging.getLogger("x"))
def concat(a: str, b: str) -> str:
    return a + b


@retry(max_attempts=5, delay=0.1, exceptions=(ConnectionError, TimeoutError))
def fetch(url: str, *, timeout: float = 1.0) -> bytes:
    return url.encode()


@retry()
async def afetch(url: str) -> bytes:
    return url.encode()


@retry_on_condition(lambda state: state != "done", delay=0.0)
def poll(job: int) -> str:
    return "done"


def retry_after(attempt: RetryAttempt) -> float | None:
    assert_type(attempt.exception, BaseException | None)
    assert_type(attempt.delay, float)
    return None


class Model:
    @timer
    def fit(self, epochs: int) -> list[float]:
        return [0.0] * epochs

    @retry(wait=retry_after, on_retry=print, report=None, jitter="full")
    def save(self, path: str) -> None:
        print(path)


def inferred_types() -> None:
    assert_type(add(1, 2, scale=2.0), float)
    assert_type(concat("a", "b"), str)
    assert_type(fetch("u"), bytes)
    assert_type(fetch("u", timeout=2.0), bytes)
    pending = afetch("u")
    _ = assert_type(pending, Coroutine[Any, Any, bytes])
    pending.close()
    assert_type(poll(1), str)
    assert_type(Model().fit(3), list[float])
    assert_type(Model().save("p"), None)
    assert_type(timer_stats(), dict[str, TimerStats])
    with Timer("block") as t:
        assert_type(t, Timer)
    assert_type(t.elapsed, float)


def misuse() -> None:
    # The decorated signatures reject wrong calls:
    add("1")  # type: ignore[arg-type]
    add(1, scale="x")  # type: ignore[arg-type]
    fetch(b"u")  # type: ignore[arg-type]
    fetch("u", retries=3)  # type: ignore[call-arg]
    Model().fit("3")  # type: ignore[arg-type]
    retry(jitter="partial")  # type: ignore[arg-type]
    timer_with_units("ms", level="INFO")  # type: ignore[arg-type]
