"""Time functions and blocks: ``@timer``, ``@timer_with_units(unit)`` and ``Timer``.

Every timing uses :func:`time.perf_counter` with the start time in a local
variable, so recursion, threads and concurrent coroutines through one decorated
function are timed independently. An ``async def`` function is timed over the
whole ``await``, not just the creation of its coroutine. A call that raises is
timed and reported too, then the exception propagates unchanged.

Each timing is also added to the statistics of its name (``count``, ``total``,
``min``, ``max``, ``mean``, in seconds), which :func:`timer_stats` reads and
:func:`reset_timer_stats` clears. A decorated function's statistics are kept
under ``"<module>.<qualname>"`` (``"train.Trainer.step"``), so two modules'
``main`` never mix, while the printed line shows the ``__qualname__`` alone; a
``name=`` given to :func:`timer_with_units`, and a :class:`Timer`'s name, are
used as they are. Timers that share a name share statistics.

Reporting (the ``report=`` option of :func:`timer_with_units` and :class:`Timer`):
``print`` (the default) writes ``"<name> took 0.1234 seconds"`` to stdout; a
:class:`logging.Logger` gets the same text as a record at ``level=`` (default
``logging.INFO``); any other callable is called with the line; ``None`` reports
nothing and keeps only the statistics.

Examples:
    >>> @timer_with_units("ms", report=None)
    ... def square(x: int) -> int:
    ...     return x * x
    >>> square(3), square(4)
    (9, 16)
    >>> timer_stats()[f"{square.__module__}.square"].count
    2
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar, cast

from ml_infra_utils._errors import InputTypeError, InvalidParameterError
from ml_infra_utils._repr import short_repr

from ._shared import Emitter, Report, check_callable, is_async, make_emitter
from ._stats import (
    FOLD_AT,
    FOLD_EVERY,
    Stats,
    TimerStats,
    reset_timer_stats,
    stats_for,
    timer_stats,
)

__all__ = [
    "Timer",
    "TimerStats",
    "reset_timer_stats",
    "timer",
    "timer_stats",
    "timer_with_units",
]

P = ParamSpec("P")
R = TypeVar("R")

# The clock; a module attribute so tests can substitute a fake one.
_clock = time.perf_counter

# unit -> (factor from seconds, label in the report line)
_UNITS: dict[str, tuple[float, str]] = {
    "s": (1.0, "seconds"),
    "ms": (1e3, "ms"),
    "us": (1e6, "us"),
    "\u00b5s": (1e6, "\u00b5s"),  # MICRO SIGN, what most keyboards type
    "\u03bcs": (1e6, "\u03bcs"),  # GREEK SMALL LETTER MU, what NFKC makes of it
    "ns": (1e9, "ns"),
}

_PRINT = make_emitter(print, logging.INFO, what="timer")


def _unit(unit: object, *, what: str) -> tuple[float, str]:
    if not isinstance(unit, str):
        msg = f"{what}: unit must be a str such as 'ms' (got {short_repr(unit)})"
        raise InputTypeError(msg)
    try:
        return _UNITS[unit]
    except KeyError:
        valid = ", ".join(repr(u) for u in _UNITS)
        msg = f"{what}: unknown unit {short_repr(unit)}; valid units are {valid}"
        raise InvalidParameterError(msg) from None


def _name(name: object, *, what: str) -> str | None:
    if name is None or isinstance(name, str):
        return name
    msg = f"{what}: name must be a str or None (got {short_repr(name)})"
    raise InputTypeError(msg)


def timer(func: Callable[P, R], /) -> Callable[P, R]:
    """Print how long each call of *func* took: ``"<qualname> took 0.1234 seconds"``.

    Used bare, as ``@timer``. The line goes to stdout after every call, also
    when the call raises (the exception then propagates unchanged), and the
    duration is added to the statistics of ``"<module>.<qualname>"`` (see
    :func:`timer_stats`). ``async def`` functions are timed over the whole
    await. For another unit or another destination (a logger, a callable,
    nowhere) use :func:`timer_with_units`.

    Args:
        func: the function or method to time.

    Returns:
        A wrapper with *func*'s signature, name, docstring and ``__wrapped__``.

    Raises:
        InputTypeError: *func* is not callable, or is a generator function.

    Examples:
        >>> @timer
        ... def add(a: int, b: int) -> int:
        ...     return a + b
        >>> add(1, 2)  # doctest: +ELLIPSIS
        add took 0.0... seconds
        3
    """
    return _decorate(func, unit="s", emit=_PRINT, name=None, what="timer")


def timer_with_units(
    unit: str,
    /,
    *,
    report: Report = print,
    level: int = logging.INFO,
    name: str | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Like :func:`timer`, in *unit* and with a choice of where the line goes.

    Args:
        unit: ``"s"`` (printed as "seconds"), ``"ms"``, ``"us"``, ``"µs"``
            (U+00B5 or U+03BC) or ``"ns"``.
        report: ``print`` (default: stdout), a :class:`logging.Logger`, any
            callable taking the line, or ``None`` for statistics only.
        level: the record level when *report* is a logger.
        name: the name printed and used for statistics instead of the
            function's ``__qualname__`` (printed) and ``"<module>.<qualname>"``
            (statistics).

    Returns:
        A decorator; the functions it returns keep the decorated signature.

    Raises:
        InvalidParameterError: an unknown *unit* (the message lists the valid
            ones); raised when decorating, not when calling.
        InputTypeError: *report*, *level* or *name* of the wrong kind.

    Examples:
        >>> @timer_with_units("ms")
        ... def tokenize(text: str) -> list[str]:
        ...     return text.split()
        >>> tokenize("a b")  # doctest: +ELLIPSIS
        tokenize took 0.0... ms
        ['a', 'b']
    """
    what = "timer_with_units"
    _unit(unit, what=what)
    checked_name = _name(name, what=what)
    emit = make_emitter(report, level, what=what)

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        return _decorate(func, unit=unit, emit=emit, name=checked_name, what=what)

    return decorate


def _decorate(
    func: Callable[P, R],
    *,
    unit: str,
    emit: Emitter | None,
    name: str | None,
    what: str,
) -> Callable[P, R]:
    check_callable(func, what=what)
    factor, label = _UNITS[unit]
    if name is None:
        name = getattr(func, "__qualname__", None) or repr(func)
        module = getattr(func, "__module__", None)
        # Two modules' `main` (or two classes' `step`) must not share statistics.
        key = f"{module}.{name}" if isinstance(module, str) and module else name
    else:
        key = name
    stats = stats_for(key)
    make = _async_wrapper if is_async(func) else _sync_wrapper
    wrapper = make(func, stats, emit, factor, label, name=name)
    return cast("Callable[P, R]", functools.wraps(func)(wrapper))


# One wrapper per combination (sync/async, silent/reporting), chosen when
# decorating so the timed call never branches on configuration. The pending
# timings are folded when a call starts more than FOLD_EVERY seconds after the
# last fold: the start time is already at hand, so the check is one float
# comparison (a len() per call would cost a fifth of the timer's overhead).
def _sync_wrapper(
    func: Callable[..., Any],
    stats: Stats,
    emit: Emitter | None,
    factor: float,
    label: str,
    *,
    name: str,
) -> Callable[..., Any]:
    record = stats.pending.append
    fold_after = -math.inf

    def fold(now: float) -> None:
        nonlocal fold_after
        fold_after = now + FOLD_EVERY
        stats.fold()

    if emit is None:

        def silent(*args: Any, **kwargs: Any) -> Any:
            start = _clock()
            try:
                return func(*args, **kwargs) if kwargs else func(*args)
            finally:
                record(_clock() - start)
                if start > fold_after:
                    fold(start)

        return silent

    def reporting(*args: Any, **kwargs: Any) -> Any:
        start = _clock()
        try:
            return func(*args, **kwargs) if kwargs else func(*args)
        finally:
            elapsed = _clock() - start
            record(elapsed)
            if start > fold_after:
                fold(start)
            emit("%s took %.4f %s", name, elapsed * factor, label)

    return reporting


def _async_wrapper(
    func: Callable[..., Any],
    stats: Stats,
    emit: Emitter | None,
    factor: float,
    label: str,
    *,
    name: str,
) -> Callable[..., Any]:
    record = stats.pending.append
    fold_after = -math.inf

    def fold(now: float) -> None:
        nonlocal fold_after
        fold_after = now + FOLD_EVERY
        stats.fold()

    if emit is None:

        async def silent(*args: Any, **kwargs: Any) -> Any:
            start = _clock()
            try:
                return await (func(*args, **kwargs) if kwargs else func(*args))
            finally:
                record(_clock() - start)
                if start > fold_after:
                    fold(start)

        return silent

    async def reporting(*args: Any, **kwargs: Any) -> Any:
        start = _clock()
        try:
            return await (func(*args, **kwargs) if kwargs else func(*args))
        finally:
            elapsed = _clock() - start
            record(elapsed)
            if start > fold_after:
                fold(start)
            emit("%s took %.4f %s", name, elapsed * factor, label)

    return reporting


class Timer:
    """Time a block: ``with Timer("load"): ...`` (also ``async with``).

    On leaving the block (also by an exception, which propagates) the duration
    is stored in :attr:`elapsed` (seconds), reported like :func:`timer` does
    (``"load took 0.1234 seconds"``; an unnamed timer prints ``"Elapsed time:
    0.1234 seconds"``), and, for a named timer, added to the statistics of its
    name, shared with every other timer and decorated function of that name.

    A ``Timer`` object may be reused and nested, but times one block at a time
    per thread: give each thread or task its own (they are cheap), with the same
    name to accumulate statistics together.

    Args:
        name: the name reported and used for statistics; ``None`` for neither.
        unit: as for :func:`timer_with_units`.
        report: as for :func:`timer_with_units`.
        level: as for :func:`timer_with_units`.

    Attributes:
        elapsed: seconds taken by the last finished block (NaN before).

    Examples:
        >>> with Timer("load", unit="ms") as t:  # doctest: +ELLIPSIS
        ...     data = list(range(1000))
        load took ... ms
        >>> t.elapsed >= 0.0
        True
    """

    __slots__ = ("_emit", "_factor", "_label", "_starts", "_stats", "elapsed", "name")

    def __init__(
        self,
        name: str | None = None,
        /,
        *,
        unit: str = "s",
        report: Report = print,
        level: int = logging.INFO,
    ) -> None:
        what = "Timer"
        self.name = _name(name, what=what)
        self._factor, self._label = _unit(unit, what=what)
        self._emit = make_emitter(report, level, what=what)
        self._stats = None if self.name is None else stats_for(self.name)
        self._starts: list[float] = []
        self.elapsed = math.nan

    def __repr__(self) -> str:
        return f"Timer({self.name!r}, elapsed={self.elapsed!r})"

    def __enter__(self) -> Self:
        self._starts.append(_clock())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = _clock() - self._starts.pop()
        self.elapsed = elapsed
        if self._stats is not None:
            self._stats.pending.append(elapsed)
            if len(self._stats.pending) >= FOLD_AT:
                self._stats.fold()
        if self._emit is not None:
            if self.name is None:
                self._emit("Elapsed time: %.4f %s", elapsed * self._factor, self._label)
            else:
                self._emit(
                    "%s took %.4f %s", self.name, elapsed * self._factor, self._label
                )

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
