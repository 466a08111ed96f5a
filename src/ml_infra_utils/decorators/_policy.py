"""The retry policy: validated settings, one call's retry state, the testing mode.

Nothing here touches a clock or sleeps: the loops in :mod:`.retry` read the
clock, pass it in, and do the sleeping, so one implementation serves the sync
and the async loop and tests can drive it with exact numbers.
"""

from __future__ import annotations

import contextlib
import math
import random
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from ml_infra_utils._errors import InputTypeError, InvalidParameterError, RetryError

from ._shared import Emitter, short_repr

__all__ = [
    "Jitter",
    "Policy",
    "RetryAttempt",
    "Run",
    "require_callable",
    "retry_testing",
    "set_retry_testing",
]

Jitter: TypeAlias = Literal["none", "full", "equal"] | None
"""``None``/``"none"``: exact delays; ``"full"``: U(0, d); ``"equal"``: d/2 + U(0, d/2).
"""

_JITTERS = (None, "none", "full", "equal")

# Without max_delay, a delay stops growing here (about 31 years) instead of
# reaching inf, which time.sleep() would reject with OverflowError.
_CEILING = 1e9

# How many attempts the give-up note lists at its start and at its end.
_HISTORY_HEAD = 5
_HISTORY_TAIL = 5

_CONTROL_FLOW = (KeyboardInterrupt, SystemExit, GeneratorExit)


@dataclass(frozen=True, slots=True)
class RetryAttempt:
    """One failed attempt, as given to ``on_retry`` and ``wait`` callbacks.

    Attributes:
        name: the ``__qualname__`` of the retried function.
        attempt: the number of the attempt that failed, from 1.
        max_attempts: how many attempts may be made in all.
        delay: seconds until the next attempt. For ``on_retry``, the delay that
            will be slept; for a ``wait`` hook, the computed backoff (jittered
            and capped by ``max_delay``) that the hook may override.
        exception: what the attempt raised, or ``None`` if it returned.
        result: what the attempt returned (``retry_on_condition``), else ``None``.
        elapsed: seconds on the monotonic clock since the call started when a
            ``deadline`` is set; otherwise since the first attempt failed (the
            success path reads no clock).

    Examples:
        >>> RetryAttempt("fetch", 1, 3, 1.0, ValueError("x"), None, 0.0)
        RetryAttempt(name='fetch', attempt=1, max_attempts=3, delay=1.0, \
exception=ValueError('x'), result=None, elapsed=0.0)
    """

    name: str
    attempt: int
    max_attempts: int
    delay: float
    exception: BaseException | None
    result: Any
    elapsed: float


# ---------------------------------------------------------------- testing mode
class _Testing:
    __slots__ = ("attempts", "enabled")

    def __init__(self) -> None:
        self.enabled = False
        self.attempts: int | None = None


_TESTING = _Testing()
_TESTING_LOCK = threading.Lock()


def _check_testing_attempts(attempts: object, what: str) -> int | None:
    if attempts is None:
        return None
    if not isinstance(attempts, int) or isinstance(attempts, bool):
        msg = f"{what}: attempts must be an int >= 1 or None (got {attempts!r})"
        raise InputTypeError(msg)
    if attempts < 1:
        msg = f"{what}: attempts must be an int >= 1 or None (got {attempts!r})"
        raise InvalidParameterError(msg)
    return attempts


def _check_bool(value: object, what: str) -> bool:
    if isinstance(value, bool):
        return value
    msg = f"{what} must be True or False (got {value!r})"
    raise InputTypeError(msg)


def set_retry_testing(enabled: bool, /, *, attempts: int | None = None) -> None:
    """Switch the testing mode on or off for the whole process.

    In testing mode every ``@retry`` and ``@retry_on_condition`` behaves exactly
    as configured (same delays computed, same reports, same ``on_retry`` calls,
    the same deadline decisions on a virtual clock that advances by each delay)
    except that it never sleeps. With *attempts*, no function makes more than
    that many attempts (``attempts=1``: no retries at all).

    Meant for the test suite of code that uses ``@retry``, e.g. in a
    ``conftest.py`` fixture; :func:`retry_testing` is the scoped form.

    Args:
        enabled: turn the mode on (``True``) or off (``False``).
        attempts: the most attempts any function may make; ``None`` keeps each
            function's ``max_attempts``.

    Examples:
        >>> set_retry_testing(True, attempts=2)
        >>> set_retry_testing(False)
    """
    on = _check_bool(enabled, "set_retry_testing: enabled")
    checked = _check_testing_attempts(attempts, "set_retry_testing")
    with _TESTING_LOCK:
        _TESTING.enabled = on
        _TESTING.attempts = checked if on else None


@contextlib.contextmanager
def retry_testing(*, attempts: int | None = None) -> Iterator[None]:
    """Within the block (or the decorated test), retries happen without sleeping.

    The scoped form of :func:`set_retry_testing`: the previous mode is restored
    on exit, so blocks nest. The mode is process-wide while the block runs
    (threads started inside see it too).

    Examples:
        >>> from ml_infra_utils import retry
        >>> calls = []
        >>> @retry(max_attempts=3, delay=60.0, report=None)
        ... def flaky() -> str:
        ...     calls.append(1)
        ...     if len(calls) < 3:
        ...         raise ConnectionError("down")
        ...     return "ok"
        >>> with retry_testing():
        ...     flaky()  # two retries, no sleep of 60 and 120 s
        'ok'
    """
    checked = _check_testing_attempts(attempts, "retry_testing")
    with _TESTING_LOCK:
        saved = (_TESTING.enabled, _TESTING.attempts)
        _TESTING.enabled, _TESTING.attempts = True, checked
    try:
        yield
    finally:
        with _TESTING_LOCK:
            _TESTING.enabled, _TESTING.attempts = saved


# ---------------------------------------------------------------- validation
def _real(value: object, option: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{what}: {option} must be a number of seconds (got {value!r})"
        raise InputTypeError(msg)
    return float(value)


def _seconds(
    value: object, option: str, what: str, *, optional: bool = False
) -> float | None:
    if value is None and optional:
        return None
    seconds = _real(value, option, what)
    if math.isnan(seconds) or seconds < 0 or (seconds == math.inf and not optional):
        accepted = "a number >= 0" + (" or None" if optional else " and finite")
        msg = f"{what}: {option} must be {accepted} (got {value!r})"
        raise InvalidParameterError(msg)
    return None if seconds == math.inf else seconds


def _exceptions(
    value: object, what: str, *, allow_empty: bool
) -> tuple[type[BaseException], ...]:
    def is_exc_type(v: object) -> bool:
        return isinstance(v, type) and issubclass(v, BaseException)

    if is_exc_type(value):
        return (value,)  # type: ignore[return-value]  # narrowed by is_exc_type
    if isinstance(value, tuple) and all(is_exc_type(v) for v in value):
        if not value and not allow_empty:
            msg = f"{what}: exceptions must name at least one exception type"
            raise InvalidParameterError(msg)
        return value
    msg = (
        f"{what}: exceptions must be an exception type or a tuple of them "
        f"(got {type(value).__name__}: {value!r})"
    )
    raise InputTypeError(msg)


def _optional_callable(value: object, option: str, what: str) -> Any:
    if value is None or callable(value):
        return value
    msg = f"{what}: {option} must be callable or None (got {value!r})"
    raise InputTypeError(msg)


def require_callable(value: object, option: str, what: str) -> None:
    """Raise InputTypeError unless *value* is callable."""
    if not callable(value):
        msg = f"{what}: {option} must be callable (got {value!r})"
        raise InputTypeError(msg)


def _is_control_flow(exc: BaseException) -> bool:
    """KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError, or a
    group holding one: never retried, whatever ``exceptions`` says."""
    if isinstance(exc, Exception):
        return False
    if isinstance(exc, _CONTROL_FLOW):
        return True
    # Only code that imported asyncio can raise its CancelledError.
    aio = sys.modules.get("asyncio")
    if aio is not None and isinstance(exc, aio.CancelledError):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_is_control_flow(e) for e in exc.exceptions)
    return False


# ---------------------------------------------------------------- the policy
class Policy:
    """The validated settings of one decorated function (private)."""

    __slots__ = (
        "backoff",
        "ceiling",
        "condition",
        "deadline",
        "delay",
        "emit",
        "exceptions",
        "first_delay",
        "jitter",
        "max_attempts",
        "max_delay",
        "name",
        "on_retry",
        "retry_if",
        "wait",
    )

    def __init__(
        self,
        *,
        what: str,
        max_attempts: object,
        delay: object,
        backoff: object,
        exceptions: object,
        allow_no_exceptions: bool,
        max_delay: object,
        jitter: object,
        deadline: object,
        retry_if: object,
        wait: object,
        on_retry: object,
        condition: object,
        emit: Emitter | None,
    ) -> None:
        if not isinstance(max_attempts, int) or isinstance(max_attempts, bool):
            msg = f"{what}: max_attempts must be an int >= 1 (got {max_attempts!r})"
            raise InputTypeError(msg)
        if max_attempts < 1:
            msg = f"{what}: max_attempts must be an int >= 1 (got {max_attempts!r})"
            raise InvalidParameterError(msg)
        self.max_attempts = max_attempts
        self.delay: float = _seconds(delay, "delay", what)  # type: ignore[assignment]  # not optional
        factor = _real(backoff, "backoff", what)
        if not 1.0 <= factor < math.inf:
            msg = f"{what}: backoff must be a finite number >= 1 (got {backoff!r})"
            raise InvalidParameterError(msg)
        self.backoff = factor
        self.exceptions = _exceptions(exceptions, what, allow_empty=allow_no_exceptions)
        self.max_delay = _seconds(max_delay, "max_delay", what, optional=True)
        self.ceiling = _CEILING if self.max_delay is None else self.max_delay
        self.first_delay = min(self.delay, self.ceiling)
        if jitter not in _JITTERS:  # also rejects unhashable values
            valid = ", ".join(repr(j) for j in _JITTERS)
            msg = f"{what}: jitter must be one of {valid} (got {jitter!r})"
            raise InvalidParameterError(msg)
        self.jitter = None if jitter == "none" else jitter
        self.deadline = _seconds(deadline, "deadline", what, optional=True)
        self.retry_if = _optional_callable(retry_if, "retry_if", what)
        self.wait = _optional_callable(wait, "wait", what)
        self.on_retry = _optional_callable(on_retry, "on_retry", what)
        self.condition = _optional_callable(condition, "condition", what)
        self.emit = emit
        self.name = ""

    def named(self, name: str) -> Policy:
        """A copy for the function called *name*."""
        copy = object.__new__(Policy)
        for slot in Policy.__slots__:
            setattr(copy, slot, getattr(self, slot))
        copy.name = name
        return copy


class Run:
    """The state of one call once its first attempt has failed (private).

    :meth:`failed` is called after each failed attempt with the time on the
    monotonic clock; it returns the seconds to sleep before the next attempt,
    or ``None`` to give up, having added the attempt history as a note to the
    exception (or, when a result failed the condition, built :attr:`error`).
    Everything here runs only after a failure; reprs are built only for a
    report line or the give-up note.
    """

    __slots__ = (
        "attempt",
        "error",
        "history",
        "max_attempts",
        "next_base",
        "offset",
        "policy",
        "start",
        "testing",
    )

    def __init__(self, policy: Policy, start: float | None) -> None:
        self.policy = policy
        self.start = start
        self.attempt = 1
        self.next_base = policy.first_delay
        self.offset = 0.0  # seconds not slept in testing mode
        # (attempt, verb, exception or result, delay or None): the first
        # _HISTORY_HEAD entries, then the latest _HISTORY_TAIL.
        self.history: list[tuple[int, str, object, float | None]] = []
        self.error: RetryError | None = None
        # Plain reads: the flags change only between tests, never mid-call.
        self.testing = testing = _TESTING.enabled
        cap = _TESTING.attempts if testing else None
        self.max_attempts = (
            policy.max_attempts if cap is None else min(cap, policy.max_attempts)
        )

    def failed(
        self, exc: BaseException | None, result: object, now: float
    ) -> float | None:
        policy = self.policy
        if self.start is None:
            self.start = now
        elapsed = now - self.start + self.offset
        attempt = self.attempt
        if exc is None:
            entry: tuple[int, str, object, float | None] = (
                attempt,
                "returned",
                result,
                None,
            )
        elif (
            isinstance(exc, Exception)
            and policy.retry_if is None
            and isinstance(exc, policy.exceptions)
        ) or self._retryable(exc):
            entry = (attempt, "failed with", exc, None)
        else:
            return None
        if attempt >= self.max_attempts:
            self._remember(entry)
            self._give_up(exc, result, f"after {attempt} attempts in {elapsed:.2f}s")
            return None

        delay = self.next_base
        # Multiplying (not **) saturates at the ceiling: no OverflowError, ever.
        self.next_base = min(delay * policy.backoff, policy.ceiling)
        if policy.jitter is not None:
            delay = _jittered(delay, policy.jitter)
        if policy.wait is not None or policy.deadline is not None:
            limited = self._limit(delay, attempt, exc, result, elapsed)
            if limited is None:
                return None
            delay = limited

        self._remember((*entry[:3], delay))
        if policy.emit is not None:
            policy.emit(
                "retry: %s attempt %d/%d %s; next in %.2fs",
                policy.name,
                attempt,
                self.max_attempts,
                _outcome(exc, result),
                delay,
            )
        if policy.on_retry is not None:
            policy.on_retry(
                RetryAttempt(
                    policy.name, attempt, self.max_attempts, delay, exc, result, elapsed
                )
            )
        self.attempt = attempt + 1
        if self.testing:
            self.offset += delay
            return 0.0
        return delay

    def _retryable(self, exc: BaseException) -> bool:
        """Whether *exc* may be retried; if not, note why on it (after retries)."""
        policy = self.policy
        if (
            isinstance(exc, policy.exceptions)
            and (isinstance(exc, Exception) or not _is_control_flow(exc))
            and (policy.retry_if is None or policy.retry_if(exc))
        ):
            return True
        if self.attempt > 1:
            self.history.append((self.attempt, "raised", exc, None))
            self._note(
                exc,
                f"{policy.name} attempt {self.attempt} raised "
                f"{type(exc).__name__}, which is not retried",
            )
        return False

    def _limit(
        self,
        delay: float,
        attempt: int,
        exc: BaseException | None,
        result: object,
        elapsed: float,
    ) -> float | None:
        """Apply the ``wait`` hook and the deadline; ``None``: give up now."""
        policy = self.policy
        overridden = False
        if policy.wait is not None:
            asked = policy.wait(
                RetryAttempt(
                    policy.name, attempt, self.max_attempts, delay, exc, result, elapsed
                )
            )
            if asked is not None:
                delay = self._check_wait(asked)
                overridden = True
        if policy.deadline is None:
            return delay
        remaining = policy.deadline - elapsed
        if remaining <= 0 or (overridden and delay > remaining):
            self._remember(
                (attempt, "failed with", exc, None)
                if exc is not None
                else (attempt, "returned", result, None)
            )
            why = (
                f"the deadline of {policy.deadline:g}s"
                if remaining <= 0
                else f"the wait of {delay:.2f}s asked for would pass the "
                f"deadline of {policy.deadline:g}s"
            )
            self._give_up(
                exc, result, f"after {attempt} attempts in {elapsed:.2f}s: {why}"
            )
            return None
        return min(delay, remaining)  # trim the last sleep, never overshoot

    def _check_wait(self, asked: object) -> float:
        if (
            isinstance(asked, bool)
            or not isinstance(asked, int | float)
            or not 0 <= asked < math.inf
        ):
            msg = (
                f"retry of {self.policy.name}: wait must return None or a finite "
                f"number of seconds >= 0 (got {asked!r})"
            )
            raise InvalidParameterError(msg)
        return float(asked)

    def _remember(self, entry: tuple[int, str, object, float | None]) -> None:
        history = self.history
        history.append(entry)
        if len(history) > _HISTORY_HEAD + _HISTORY_TAIL:
            del history[_HISTORY_HEAD]

    def forget(self) -> None:
        """Drop the history: it holds exceptions whose tracebacks hold frames
        that hold this object, a cycle only the garbage collector would break."""
        self.history.clear()

    def _note(self, exc: BaseException, headline: str) -> None:
        lines = []
        previous = 0
        for attempt, verb, outcome, delay in self.history:
            if attempt > previous + 1:
                lines.append(f"  ... {attempt - previous - 1} more attempts ...")
            previous = attempt
            line = f"  attempt {attempt}: {verb} {short_repr(outcome)}"
            lines.append(line if delay is None else f"{line}; next in {delay:.2f}s")
        exc.add_note("\n".join([f"retry: {headline}", *lines]))
        self.forget()

    def _give_up(self, exc: BaseException | None, result: object, how: str) -> None:
        if exc is not None:
            self._note(exc, f"{self.policy.name} gave up {how}")
            return
        error = RetryError(
            f"{self.policy.name}: the condition still held {how}; "
            f"last result: {short_repr(result)}",
            last_result=result,
            attempts=self.attempt,
        )
        self._note(error, f"{self.policy.name} gave up {how}")
        self.error = error


def _outcome(exc: BaseException | None, result: object) -> str:
    if exc is None:
        return f"returned {short_repr(result)}"
    return f"failed with {short_repr(exc)}"


def _jittered(delay: float, jitter: str) -> float:
    if jitter == "full":
        return delay * random.random()
    return delay / 2 + delay / 2 * random.random()  # "equal"
