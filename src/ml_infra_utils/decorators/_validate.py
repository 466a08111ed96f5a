"""Checks of the retry decorators' options, and what is never retried.

Every check raises the package's errors with a message naming the option:
:class:`~ml_infra_utils.InputTypeError` for the wrong kind of value,
:class:`~ml_infra_utils.InvalidParameterError` for a value out of range.

Examples:
    >>> seconds(1, "delay", "retry")
    1.0
    >>> is_control_flow(KeyboardInterrupt()), is_control_flow(ValueError())
    (True, False)
"""

from __future__ import annotations

import math
import sys
from typing import Any

from ml_infra_utils._errors import InputTypeError, InvalidParameterError
from ml_infra_utils._repr import short_repr

__all__ = [
    "exception_types",
    "is_control_flow",
    "optional_callable",
    "real",
    "require_callable",
    "seconds",
]

_CONTROL_FLOW = (KeyboardInterrupt, SystemExit, GeneratorExit)


def real(value: object, option: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = short_repr(value)
        msg = f"{what}: {option} must be a number of seconds (got {shown})"
        raise InputTypeError(msg)
    try:
        return float(value)
    except OverflowError:  # an int beyond the float range: as good as inf
        return math.inf if value > 0 else -math.inf


def seconds(
    value: object, option: str, what: str, *, optional: bool = False
) -> float | None:
    if value is None and optional:
        return None
    seconds = real(value, option, what)
    if math.isnan(seconds) or seconds < 0 or (seconds == math.inf and not optional):
        accepted = "a number >= 0" + (" or None" if optional else " and finite")
        msg = f"{what}: {option} must be {accepted} (got {short_repr(value)})"
        raise InvalidParameterError(msg)
    return None if seconds == math.inf else seconds


def exception_types(
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
        f"(got {type(value).__name__}: {short_repr(value)})"
    )
    raise InputTypeError(msg)


def optional_callable(value: object, option: str, what: str) -> Any:
    if value is None or callable(value):
        return value
    msg = f"{what}: {option} must be callable or None (got {short_repr(value)})"
    raise InputTypeError(msg)


def require_callable(value: object, option: str, what: str) -> None:
    """Raise InputTypeError unless *value* is callable."""
    if not callable(value):
        msg = f"{what}: {option} must be callable (got {short_repr(value)})"
        raise InputTypeError(msg)


def is_control_flow(exc: BaseException) -> bool:
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
        return any(is_control_flow(e) for e in exc.exceptions)
    return False
