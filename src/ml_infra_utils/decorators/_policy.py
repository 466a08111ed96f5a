"""The retry policy: validated settings and one call's retry state.

Nothing here touches a clock or sleeps: the loops in :mod:`.retry` read the
clock, pass it in, and do the sleeping, so one implementation serves the sync
and the async loop and tests can drive it with exact numbers.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from ml_infra_utils._errors import InputTypeError, InvalidParameterError, RetryError

from ._shared import Emitter, short_repr
from ._testing import TESTING
from ._validate import (
    exception_types,
    is_control_flow,
    optional_callable,
    real,
    require_callable,
    seconds,
)

__all__ = [
    "Jitter",
    "Policy",
    "RetryAttempt",
    "Run",
    "chain_context",
    "require_callable",
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
        shown = short_repr(max_attempts)
        if not isinstance(max_attempts, int) or isinstance(max_attempts, bool):
            msg = f"{what}: max_attempts must be an int >= 1 (got {shown})"
            if callable(max_attempts):  # @retry used bare: the function arrived
                msg += f"; use @{what}() with parentheses"
            raise InputTypeError(msg)
        if max_attempts < 1:
            msg = f"{what}: max_attempts must be an int >= 1 (got {shown})"
            raise InvalidParameterError(msg)
        self.max_attempts = max_attempts
        self.delay: float = seconds(delay, "delay", what)  # type: ignore[assignment]  # not optional
        factor = real(backoff, "backoff", what)
        if not 1.0 <= factor < math.inf:
            shown = short_repr(backoff)
            msg = f"{what}: backoff must be a finite number >= 1 (got {shown})"
            raise InvalidParameterError(msg)
        self.backoff = factor
        self.exceptions = exception_types(
            exceptions, what, allow_empty=allow_no_exceptions
        )
        self.max_delay = seconds(max_delay, "max_delay", what, optional=True)
        self.ceiling = _CEILING if self.max_delay is None else self.max_delay
        self.first_delay = min(self.delay, self.ceiling)
        if not (jitter is None or isinstance(jitter, str)) or jitter not in _JITTERS:
            valid = ", ".join(repr(j) for j in _JITTERS)
            msg = f"{what}: jitter must be one of {valid} (got {short_repr(jitter)})"
            if not isinstance(jitter, str):
                raise InputTypeError(msg)
            raise InvalidParameterError(msg)
        self.jitter = None if jitter == "none" else jitter
        self.deadline = seconds(deadline, "deadline", what, optional=True)
        self.retry_if = optional_callable(retry_if, "retry_if", what)
        self.wait = optional_callable(wait, "wait", what)
        self.on_retry = optional_callable(on_retry, "on_retry", what)
        self.condition = optional_callable(condition, "condition", what)
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

    A user hook that raises (``retry_if``, ``wait``, ``on_retry``, the
    ``report`` destination) ends the call with the hook's exception, as any
    callback's exception would: the attempt's own exception is kept as its
    ``__context__`` (the traceback reads "During handling of the above
    exception, another exception occurred"), and a note names the hook and
    the attempt, so the original failure is never lost.
    """

    __slots__ = (
        "attempt",
        "error",
        "history",
        "hook",
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
        self.hook = ""  # the user hook being called, for the note if it raises
        # Plain reads: the flags change only between tests, never mid-call.
        self.testing = testing = TESTING.enabled
        cap = TESTING.attempts if testing else None
        self.max_attempts = (
            policy.max_attempts if cap is None else min(cap, policy.max_attempts)
        )

    def failed(
        self, exc: BaseException | None, result: object, now: float
    ) -> float | None:
        try:
            return self._failed(exc, result, now)
        except BaseException as error:
            if not self.hook:  # pragma: no cover - only hooks raise in here
                raise
            self._hook_failed(error, exc, result)
            raise

    def _hook_failed(
        self, error: BaseException, exc: BaseException | None, result: object
    ) -> None:
        """Keep the attempt's exception on a hook's *error*, and say so in a note."""
        if exc is not None and error is not exc:
            chain_context(error, exc)
            what = f"handling {short_repr(exc)}, chained as __context__"
        else:
            what = f"judging the result {short_repr(result)}"
        error.add_note(
            f"retry: the {self.hook} hook of {self.policy.name} raised on attempt "
            f"{self.attempt} while {what}"
        )
        self.forget()

    def _failed(
        self, exc: BaseException | None, result: object, now: float
    ) -> float | None:
        policy = self.policy
        if self.start is None:
            self.start = now
        elapsed = now - self.start + self.offset
        attempt = self.attempt
        verb, outcome = ("returned", result) if exc is None else ("failed with", exc)
        if (
            exc is not None
            and not (
                isinstance(exc, Exception)
                and policy.retry_if is None
                and isinstance(exc, policy.exceptions)
            )
            and not self._retryable(exc)
        ):
            return None
        if attempt >= self.max_attempts:
            self._remember((attempt, verb, outcome, None))
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

        self._remember((attempt, verb, outcome, delay))
        if policy.emit is not None:
            self.hook = "report"
            policy.emit(
                "retry: %s attempt %d/%d %s; next in %.2fs",
                policy.name,
                attempt,
                self.max_attempts,
                _outcome(exc, result),
                delay,
            )
        if policy.on_retry is not None:
            self.hook = "on_retry"
            policy.on_retry(
                RetryAttempt(
                    policy.name, attempt, self.max_attempts, delay, exc, result, elapsed
                )
            )
        self.hook = ""
        self.attempt = attempt + 1
        if self.testing:
            self.offset += delay
            return 0.0
        return delay

    def _retryable(self, exc: BaseException) -> bool:
        """Whether *exc* may be retried; if not, note why on it (after retries)."""
        policy = self.policy
        if isinstance(exc, policy.exceptions) and (
            isinstance(exc, Exception) or not is_control_flow(exc)
        ):
            if policy.retry_if is None:
                return True
            self.hook = "retry_if"
            retry = policy.retry_if(exc)
            self.hook = ""
            if retry:
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
            self.hook = "wait"
            asked = policy.wait(
                RetryAttempt(
                    policy.name, attempt, self.max_attempts, delay, exc, result, elapsed
                )
            )
            if asked is not None:
                delay = self._check_wait(asked)
                overridden = True
            self.hook = ""
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
        """A delay returned by ``wait``: a number >= 0, capped at :data:`_CEILING`.

        The cap (about 31 years) is the one computed delays stop growing at;
        ``time.sleep`` and the event loop would refuse larger numbers with
        ``OverflowError``. ``max_delay`` does not apply: the hook overrides it.
        """
        msg = (
            f"retry of {self.policy.name}: wait must return None or a finite "
            f"number of seconds >= 0 (got {short_repr(asked)})"
        )
        if isinstance(asked, bool) or not isinstance(asked, int | float):
            raise InputTypeError(msg)
        if not 0 <= asked < math.inf:
            raise InvalidParameterError(msg)
        return float(min(asked, _CEILING))  # min first: an int may exceed floats

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


def chain_context(error: BaseException, original: BaseException) -> None:
    """Make *original* the end of *error*'s ``__context__`` chain.

    As if *error* had been raised inside ``except original``: a traceback shows
    *original* first, then "During handling of the above exception, another
    exception occurred". Does nothing when *original* is already in the chain.
    """
    last, seen = error, {id(error)}
    while last.__context__ is not None:
        if last.__context__ is original or id(last.__context__) in seen:
            return
        last = last.__context__
        seen.add(id(last))
    last.__context__ = original


def _outcome(exc: BaseException | None, result: object) -> str:
    if exc is None:
        return f"returned {short_repr(result)}"
    return f"failed with {short_repr(exc)}"


def _jittered(delay: float, jitter: str) -> float:
    if jitter == "full":
        return delay * random.random()
    return delay / 2 + delay / 2 * random.random()  # "equal"


# Documented where users import it from.
RetryAttempt.__module__ = "ml_infra_utils.decorators.retry"
