"""What the timer and retry decorators share: reports, short reprs, kinds of callable.

Both decorators take the same ``report=`` option:

* ``print`` (the default): one line to ``sys.stdout`` as it is when the line is
  written, so ``contextlib.redirect_stdout`` and pytest's ``capsys`` see it;
* a :class:`logging.Logger` or :class:`logging.LoggerAdapter`: one record at the
  ``level=`` option, formatted lazily (nothing is formatted when the logger is not
  enabled for that level);
* any other callable: called with the finished line (a ``str``);
* ``None``: no report at all.

This module turns that option into an *emitter* once, at decoration time, so the
wrapped call never branches on the kind of destination.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

from ml_infra_utils._errors import InputTypeError

# Reports and give-up notes show values as repr() does, but bounded (a function
# may return a million-element list, or an int too long for repr).
from ml_infra_utils._repr import short_repr

__all__ = [
    "Emitter",
    "Report",
    "check_callable",
    "is_async",
    "make_emitter",
    "short_repr",
]

Report: TypeAlias = (
    "Callable[[str], object] | logging.Logger | logging.LoggerAdapter[Any] | None"
)
"""What ``report=`` accepts: a callable taking the line, a logger, or ``None``."""


class Emitter(Protocol):
    """Writes one report line given a %-style format and its arguments."""

    def __call__(self, fmt: str, /, *args: object) -> None: ...


def make_emitter(report: object, level: object, *, what: str) -> Emitter | None:
    """Validate ``report=`` and ``level=`` and return the emitter (``None``: silent).

    *what* names the function being configured, for error messages.

    Examples:
        >>> emit = make_emitter(print, 20, what="timer")
        >>> emit("%s took %.1f s", "load", 1.25)
        load took 1.2 s
        >>> make_emitter(None, 20, what="timer") is None
        True
    """
    if report is None:
        return None
    if isinstance(report, logging.Logger | logging.LoggerAdapter):
        if not isinstance(level, int) or isinstance(level, bool):
            msg = (
                f"{what}: level must be a logging level int such as logging.INFO "
                f"(got {short_repr(level)})"
            )
            raise InputTypeError(msg)
        return _logger_emitter(report, level)
    if callable(report):
        return _callable_emitter(report)
    msg = (
        f"{what}: report must be a callable taking a str (e.g. print), a "
        f"logging.Logger, or None (got {type(report).__name__}: {short_repr(report)})"
    )
    raise InputTypeError(msg)


def _logger_emitter(
    logger: logging.Logger | logging.LoggerAdapter[Any], level: int
) -> Emitter:
    log = logger.log

    def emit(fmt: str, /, *args: object) -> None:
        # Logger.log checks isEnabledFor first and formats only when a handler
        # needs the message, so a disabled level costs one method call.
        log(level, fmt, *args)

    return emit


def _callable_emitter(sink: Callable[[str], object]) -> Emitter:
    def emit(fmt: str, /, *args: object) -> None:
        sink(fmt % args)

    return emit


def is_async(func: object) -> bool:
    """Whether calling *func* returns a coroutine (``async def``, partials of it,
    objects with an ``async def __call__``), decided once at decoration time.

    Examples:
        >>> async def fetch(): ...
        >>> is_async(fetch), is_async(print)
        (True, False)
    """
    if inspect.iscoroutinefunction(func):
        return True
    if inspect.isroutine(func) or inspect.isclass(func) or not callable(func):
        return False
    return inspect.iscoroutinefunction(type(func).__call__)


def check_callable(func: object, *, what: str) -> None:
    """Reject what the decorators cannot wrap faithfully: non-callables and
    generator functions (a call only creates the generator, so neither timing
    nor retrying would cover the work it does while being iterated).

    Examples:
        >>> def numbers():
        ...     yield 1
        >>> check_callable(numbers, what="retry")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ml_infra_utils.InputTypeError: retry cannot wrap the generator function ...
    """
    if not callable(func):
        kind = type(func).__name__
        msg = f"{what} decorates a callable (got {kind}: {short_repr(func)})"
        raise InputTypeError(msg)
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        name = getattr(func, "__qualname__", repr(func))
        msg = (
            f"{what} cannot wrap the generator function {name}: calling it only "
            "creates the generator, the work happens while it is iterated; "
            f"apply {what} to the function that consumes it instead"
        )
        raise InputTypeError(msg)
