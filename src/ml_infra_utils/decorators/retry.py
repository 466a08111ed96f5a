"""Retry failing calls: ``@retry`` on exceptions, ``@retry_on_condition`` on results.

Attempt *n* that fails is followed by a sleep of ``delay * backoff**(n - 1)``
seconds, capped by ``max_delay``, optionally jittered, and trimmed so that no
sleep passes the ``deadline``; a delay of 0 sleeps not at all. A successful call
costs one ``try`` (no clock, no allocation); all bookkeeping happens after a
failure. ``async def`` functions are retried with :func:`asyncio.sleep`.

On give-up the original exception propagates (not a wrapper) with the attempt
history added as a note (PEP 678), so the traceback shows every attempt.
``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit`` and
``asyncio.CancelledError`` are never retried, even with
``exceptions=(BaseException,)``.

Examples:
    >>> attempts = []
    >>> @retry(max_attempts=3, delay=0.0, exceptions=ConnectionError)
    ... def fetch() -> str:
    ...     attempts.append(1)
    ...     if len(attempts) < 2:
    ...         raise ConnectionError("reset")
    ...     return "payload"
    >>> fetch()
    retry: fetch attempt 1/3 failed with ConnectionError('reset'); next in 0.00s
    'payload'
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from ml_infra_utils._errors import RetryError

from ._policy import Jitter, Policy, RetryAttempt, require_callable
from ._shared import Report, check_callable, make_emitter
from ._testing import retry_testing, set_retry_testing
from ._wrappers import CONDITION_WRAPPERS, EXCEPTION_WRAPPERS, wrap

__all__ = [
    "RetryAttempt",
    "RetryError",
    "retry",
    "retry_on_condition",
    "retry_testing",
    "set_retry_testing",
]

P = ParamSpec("P")
R = TypeVar("R")

ExceptionTypes = type[BaseException] | tuple[type[BaseException], ...]


def retry(
    max_attempts: int = 3,
    delay: float = 1.0,
    backoff: float = 2.0,
    exceptions: ExceptionTypes = (Exception,),
    *,
    max_delay: float | None = None,
    jitter: Jitter = None,
    deadline: float | None = None,
    retry_if: Callable[[BaseException], object] | None = None,
    wait: Callable[[RetryAttempt], float | None] | None = None,
    on_retry: Callable[[RetryAttempt], object] | None = None,
    report: Report = print,
    level: int = logging.WARNING,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Retry the decorated function when it raises one of *exceptions*.

    Used as ``@retry(...)`` with parentheses, also without arguments
    (``@retry()``; a bare ``@retry`` raises ``InputTypeError`` saying so), or
    on a function you did not define: ``retry(max_attempts=5)(requests.get)(url)``.
    Each retry
    prints one line, e.g. ``retry: fetch attempt 1/3 failed with
    ValueError('x'); next in 1.00s``, unless *report* says otherwise.

    Args:
        max_attempts: attempts in all, including the first (an int >= 1).
        delay: seconds before the first retry (>= 0).
        backoff: factor by which each further delay grows (>= 1).
        exceptions: an exception type or a tuple of them; others propagate at
            once.
        max_delay: cap on any one computed delay, in seconds; ``None``: no cap.
        jitter: ``None`` (default, exact delays), ``"full"`` (uniform in
            [0, d]) or ``"equal"`` (uniform in [d/2, d]), applied after the cap.
            Use ``"full"`` when many clients retry against one service.
        deadline: total budget in seconds on the monotonic clock, from the
            start of the call: a sleep is trimmed so it ends at the deadline at
            the latest, and no attempt starts after it. An attempt already
            running is not interrupted.
        retry_if: called with each exception of a matching type; a false
            return lets that exception propagate without retrying (e.g. an HTTP
            404 among retried HTTP errors).
        wait: called after each retryable failure with a :class:`RetryAttempt`
            whose ``delay`` is the computed backoff; return ``None`` to keep it
            or a number of seconds to sleep instead (e.g. an HTTP
            ``Retry-After``). A returned delay ignores ``max_delay`` but stops
            at the 1e9 s ceiling of every delay; if it would pass the
            *deadline*, the call gives up at once instead of sleeping.
        on_retry: called with a :class:`RetryAttempt` before each sleep.
        report: ``print`` (default: stdout), a :class:`logging.Logger`, any
            callable taking the line, or ``None`` for no report.
        level: the record level when *report* is a logger.

    A hook (*retry_if*, *wait*, *on_retry*, *report*) that raises ends the
    call with its exception; the attempt's exception is chained to it as
    ``__context__`` and a note names the hook and the attempt.

    Returns:
        A decorator; the function it returns keeps the decorated signature,
        name, docstring and ``__wrapped__``.

    Raises:
        InvalidParameterError: an option out of range (when decorating).
        InputTypeError: an option of the wrong kind, or decorating a
            non-callable or a generator function.

    Examples:
        >>> @retry(max_attempts=2, delay=0.0, exceptions=(KeyError,), report=None)
        ... def lookup(key: str) -> int:
        ...     return {"a": 1}[key]
        >>> lookup("a")
        1
        >>> lookup("b")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        KeyError: 'b'
        retry: lookup gave up after 2 attempts in ...s
          attempt 1: failed with KeyError('b'); next in 0.00s
          attempt 2: failed with KeyError('b')
    """
    policy = Policy(
        what="retry",
        max_attempts=max_attempts,
        delay=delay,
        backoff=backoff,
        exceptions=exceptions,
        allow_no_exceptions=False,
        max_delay=max_delay,
        jitter=jitter,
        deadline=deadline,
        retry_if=retry_if,
        wait=wait,
        on_retry=on_retry,
        condition=None,
        emit=make_emitter(report, level, what="retry"),
    )

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        check_callable(func, what="retry")
        return wrap(func, policy.named(_name_of(func)), EXCEPTION_WRAPPERS)

    return decorate


def retry_on_condition(
    condition: Callable[[Any], object],
    max_attempts: int = 3,
    delay: float = 1.0,
    backoff: float = 2.0,
    *,
    exceptions: ExceptionTypes = (),
    max_delay: float | None = None,
    jitter: Jitter = None,
    deadline: float | None = None,
    retry_if: Callable[[BaseException], object] | None = None,
    wait: Callable[[RetryAttempt], float | None] | None = None,
    on_retry: Callable[[RetryAttempt], object] | None = None,
    report: Report = print,
    level: int = logging.WARNING,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Call the decorated function again while ``condition(result)`` is true.

    The delays, deadline, jitter, hooks and reports work as for :func:`retry`
    (a report line reads ``retry: poll attempt 1/3 returned 'pending'; next in
    1.00s``). For an ``async def`` function the condition gets the awaited
    result. Exceptions propagate at once unless their type is in *exceptions*
    (default: none), which are then retried like :func:`retry` does.

    Args:
        condition: called with each result; true means "not done, retry".
        max_attempts: attempts in all, including the first (an int >= 1).
        delay: seconds before the first retry (>= 0).
        backoff: factor by which each further delay grows (>= 1).
        exceptions: exception types also retried (default: none).
        max_delay: as for :func:`retry`.
        jitter: as for :func:`retry`.
        deadline: as for :func:`retry`.
        retry_if: as for :func:`retry`.
        wait: as for :func:`retry`.
        on_retry: as for :func:`retry`.
        report: as for :func:`retry`.
        level: as for :func:`retry`.

    Returns:
        A decorator keeping the decorated signature.

    Raises:
        RetryError: when the attempts or the deadline run out while the
            condition still holds; it carries ``last_result`` and ``attempts``
            (raised by the decorated function, not when decorating).
        InvalidParameterError: an option out of range (when decorating).
        InputTypeError: an option of the wrong kind.

    Examples:
        >>> states = iter(["pending", "pending", "done"])
        >>> @retry_on_condition(lambda s: s != "done", delay=0.0, report=None)
        ... def job_state() -> str:
        ...     return next(states)
        >>> job_state()
        'done'
        >>> @retry_on_condition(
        ...     lambda s: s != "done", max_attempts=2, delay=0.0, report=None
        ... )
        ... def stuck() -> str:
        ...     return "pending"
        >>> stuck()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ml_infra_utils.RetryError: stuck: the condition still held after 2 attempts ...
        retry: stuck gave up after 2 attempts in ...s
          attempt 1: returned 'pending'; next in 0.00s
          attempt 2: returned 'pending'
    """
    require_callable(condition, "condition", "retry_on_condition")
    policy = Policy(
        what="retry_on_condition",
        max_attempts=max_attempts,
        delay=delay,
        backoff=backoff,
        exceptions=exceptions,
        allow_no_exceptions=True,
        max_delay=max_delay,
        jitter=jitter,
        deadline=deadline,
        retry_if=retry_if,
        wait=wait,
        on_retry=on_retry,
        condition=condition,
        emit=make_emitter(report, level, what="retry_on_condition"),
    )

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        check_callable(func, what="retry_on_condition")
        return wrap(func, policy.named(_name_of(func)), CONDITION_WRAPPERS)

    return decorate


def _name_of(func: object) -> str:
    return getattr(func, "__qualname__", None) or repr(func)
