"""The testing mode of the retry decorators: retry without sleeping.

Read by :class:`~._policy.Run` when a call first fails; switched by the two
public functions here, re-exported from :mod:`ml_infra_utils.decorators.retry`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from ml_infra_utils._errors import InputTypeError, InvalidParameterError
from ml_infra_utils._repr import short_repr

__all__ = ["TESTING", "retry_testing", "set_retry_testing"]


class _Testing:
    """The process-wide switch (private)."""

    __slots__ = ("attempts", "enabled")

    def __init__(self) -> None:
        self.enabled = False
        self.attempts: int | None = None


TESTING = _Testing()
_TESTING_LOCK = threading.Lock()


def _check_testing_attempts(attempts: object, what: str) -> int | None:
    if attempts is None:
        return None
    if not isinstance(attempts, int) or isinstance(attempts, bool):
        msg = (
            f"{what}: attempts must be an int >= 1 or None (got {short_repr(attempts)})"
        )
        raise InputTypeError(msg)
    if attempts < 1:
        msg = (
            f"{what}: attempts must be an int >= 1 or None (got {short_repr(attempts)})"
        )
        raise InvalidParameterError(msg)
    return attempts


def _check_bool(value: object, what: str) -> bool:
    if isinstance(value, bool):
        return value
    msg = f"{what} must be True or False (got {short_repr(value)})"
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
        TESTING.enabled = on
        TESTING.attempts = checked if on else None


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
        saved = (TESTING.enabled, TESTING.attempts)
        TESTING.enabled, TESTING.attempts = True, checked
    try:
        yield
    finally:
        with _TESTING_LOCK:
            TESTING.enabled, TESTING.attempts = saved


# Documented where users import them from.
retry_testing.__module__ = set_retry_testing.__module__ = (
    "ml_infra_utils.decorators.retry"
)
