"""The wrappers and retry loops behind ``@retry`` and ``@retry_on_condition``.

One wrapper per combination (sync/async, with/without deadline), chosen when
decorating so the success path never branches on configuration; after a
failure, a loop driven by :class:`~._policy.Run` sleeps and tries again.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, cast

from ._policy import Policy, Run
from ._shared import is_async, short_repr

__all__ = ["CONDITION_WRAPPERS", "EXCEPTION_WRAPPERS", "Factory", "wrap"]

P = ParamSpec("P")
R = TypeVar("R")

# The clock of deadlines and elapsed times; a module attribute so tests can
# substitute a fake one. Sleeping goes through time.sleep / asyncio.sleep,
# looked up at each sleep, so patching those works too.
_monotonic = time.monotonic

Factory = Callable[[Callable[..., Any], Policy], Callable[..., Any]]


def wrap(
    func: Callable[P, R], policy: Policy, factories: dict[tuple[bool, bool], Factory]
) -> Callable[P, R]:
    # One wrapper per combination (sync/async, with/without deadline), chosen
    # here so the success path never branches on configuration.
    make = factories[is_async(func), policy.deadline is not None]
    return cast("Callable[P, R]", functools.wraps(func)(make(func, policy)))


# ---------------------------------------------------------------- @retry wrappers
# The failure is kept out of the except block before retrying, so later
# attempts' exceptions are not chained to it as __context__; `failure = None`
# breaks the reference cycle frame -> exception -> traceback -> frame.
def _sync_retry(func: Callable[..., Any], policy: Policy) -> Callable[..., Any]:
    exceptions = policy.exceptions

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        failure: BaseException | None
        try:
            return func(*args, **kwargs) if kwargs else func(*args)
        except exceptions as exc:
            failure = exc
        try:
            return _retry_sync(Run(policy, None), func, args, kwargs, failure, None)
        finally:
            failure = None

    return wrapper


def _sync_retry_deadline(
    func: Callable[..., Any], policy: Policy
) -> Callable[..., Any]:
    exceptions = policy.exceptions

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        failure: BaseException | None
        start = _monotonic()
        try:
            return func(*args, **kwargs) if kwargs else func(*args)
        except exceptions as exc:
            failure = exc
        try:
            return _retry_sync(Run(policy, start), func, args, kwargs, failure, None)
        finally:
            failure = None

    return wrapper


def _async_retry(func: Callable[..., Any], policy: Policy) -> Callable[..., Any]:
    exceptions = policy.exceptions
    timed = policy.deadline is not None

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        failure: BaseException | None
        start = _monotonic() if timed else None
        try:
            return await (func(*args, **kwargs) if kwargs else func(*args))
        except exceptions as exc:
            failure = exc
        try:
            return await _retry_async(
                Run(policy, start), func, args, kwargs, failure, None
            )
        finally:
            failure = None

    return wrapper


EXCEPTION_WRAPPERS: dict[tuple[bool, bool], Factory] = {
    (False, False): _sync_retry,
    (False, True): _sync_retry_deadline,
    (True, False): _async_retry,
    (True, True): _async_retry,
}


# ---------------------------------------------------------------- @retry_on_condition
def _sync_condition(func: Callable[..., Any], policy: Policy) -> Callable[..., Any]:
    exceptions = policy.exceptions
    condition = policy.condition
    timed = policy.deadline is not None

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        failure: BaseException | None
        start = _monotonic() if timed else None
        try:
            result = func(*args, **kwargs)
        except exceptions as exc:
            failure = exc
        else:
            try:
                if not condition(result):
                    return result
            except BaseException as error:
                _condition_failed(error, policy, 1, result)
                raise
            return _retry_sync(Run(policy, start), func, args, kwargs, None, result)
        try:
            return _retry_sync(Run(policy, start), func, args, kwargs, failure, None)
        finally:
            failure = None

    return wrapper


def _async_condition(func: Callable[..., Any], policy: Policy) -> Callable[..., Any]:
    exceptions = policy.exceptions
    condition = policy.condition
    timed = policy.deadline is not None

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        failure: BaseException | None
        start = _monotonic() if timed else None
        try:
            result = await func(*args, **kwargs)
        except exceptions as exc:
            failure = exc
        else:
            try:
                if not condition(result):
                    return result
            except BaseException as error:
                _condition_failed(error, policy, 1, result)
                raise
            return await _retry_async(
                Run(policy, start), func, args, kwargs, None, result
            )
        try:
            return await _retry_async(
                Run(policy, start), func, args, kwargs, failure, None
            )
        finally:
            failure = None

    return wrapper


CONDITION_WRAPPERS: dict[tuple[bool, bool], Factory] = {
    (False, False): _sync_condition,
    (False, True): _sync_condition,
    (True, False): _async_condition,
    (True, True): _async_condition,
}


# ---------------------------------------------------------------- the loops
def _retry_sync(  # noqa: PLR0917 - positional: keyword passing costs on this path
    run: Run,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    exc: BaseException | None,
    result: Any,
) -> Any:
    condition = run.policy.condition
    while True:
        pause = run.failed(exc, result, _monotonic())
        if pause is None:
            raise _give_up(run, exc)
        exc = result = None
        if pause > 0:
            time.sleep(pause)
        try:
            result = func(*args, **kwargs)
        except BaseException as error:  # Run.failed decides; re-raised if not retried
            exc = error
            continue
        try:
            done = condition is None or not condition(result)
        except BaseException as error:
            run.forget()
            _condition_failed(error, run.policy, run.attempt, result)
            raise
        if done:
            run.forget()
            return result


async def _retry_async(  # noqa: PLR0917 - as _retry_sync
    run: Run,
    func: Callable[..., Coroutine[Any, Any, Any]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    exc: BaseException | None,
    result: Any,
) -> Any:
    import asyncio  # only code that retries a coroutine pays for importing it

    condition = run.policy.condition
    while True:
        pause = run.failed(exc, result, _monotonic())
        if pause is None:
            raise _give_up(run, exc)
        exc = result = None
        if pause > 0:
            await asyncio.sleep(pause)
        try:
            result = await func(*args, **kwargs)
        except BaseException as error:  # Run.failed decides; re-raised if not retried
            exc = error
            continue
        try:
            done = condition is None or not condition(result)
        except BaseException as error:
            run.forget()
            _condition_failed(error, run.policy, run.attempt, result)
            raise
        if done:
            run.forget()
            return result


def _condition_failed(
    error: BaseException, policy: Policy, attempt: int, result: object
) -> None:
    """Note on *error* that the condition raised, on which attempt's result."""
    error.add_note(
        f"retry: the condition hook of {policy.name} raised on attempt {attempt} "
        f"while judging the result {short_repr(result)}"
    )


def _give_up(run: Run, exc: BaseException | None) -> BaseException:
    """What to raise on give-up: the attempt's own exception, else RetryError."""
    if exc is not None:
        return exc
    if run.error is None:  # pragma: no cover - Run.failed always sets it
        msg = "unreachable"
        raise AssertionError(msg)
    return run.error
