"""Per-name timing statistics shared by ``@timer``, ``@timer_with_units`` and ``Timer``.

Examples:
    >>> from ml_infra_utils import Timer
    >>> with Timer("tokenize", report=None):
    ...     words = "a b c".split()
    >>> timer_stats()["tokenize"].count >= 1
    True
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from ml_infra_utils._errors import InputTypeError
from ml_infra_utils._repr import short_repr

__all__ = [
    "FOLD_AT",
    "FOLD_EVERY",
    "Stats",
    "TimerStats",
    "reset_timer_stats",
    "stats_for",
    "timer_stats",
]

# Timings are appended to a list (one atomic C call per timed call) and folded
# into the aggregates when statistics are read and, to bound memory, by a
# decorated function at most every FOLD_EVERY seconds (a few thousand pending
# timings at most) and by a Timer once FOLD_AT are pending. The timed call pays
# no lock.
FOLD_AT = 1024
FOLD_EVERY = 0.001


@dataclass(frozen=True, slots=True)
class TimerStats:
    """Statistics of every timing recorded under one name, in seconds.

    ``min``, ``max`` and ``mean`` are NaN while ``count`` is 0.

    Examples:
        >>> TimerStats("load", count=2, total=3.0, min=1.0, max=2.0, mean=1.5)
        TimerStats(name='load', count=2, total=3.0, min=1.0, max=2.0, mean=1.5)
    """

    name: str
    count: int
    total: float
    min: float
    max: float
    mean: float


class Stats:
    """The mutable accumulator behind one name (private)."""

    __slots__ = ("count", "lock", "max", "min", "name", "pending", "total")

    def __init__(self, name: str) -> None:
        self.name = name
        self.pending: list[float] = []
        self.lock = threading.Lock()
        self._zero()

    def _zero(self) -> None:
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def fold(self) -> None:
        """Move the pending timings into the aggregates."""
        pending = self.pending
        with self.lock:
            n = len(pending)
            if not n:
                return
            # Slice then delete the same prefix: appends racing with us land
            # after index n and stay pending (list ops are atomic).
            chunk = pending[:n]
            del pending[:n]
            self.count += n
            # A chunk holds at most a few thousand durations: sum() is accurate
            # to ~1e-12 relative there (compensated from CPython 3.12) at a sixth of
            # fsum's cost; chunks are combined with fsum.
            self.total = math.fsum((self.total, sum(chunk)))
            low, high = min(chunk), max(chunk)
            self.min = min(self.min, low)
            self.max = max(self.max, high)

    def snapshot(self) -> TimerStats:
        self.fold()
        with self.lock:
            count, total = self.count, self.total
            if not count:
                return TimerStats(self.name, 0, 0.0, math.nan, math.nan, math.nan)
            mean = total / count
            return TimerStats(self.name, count, total, self.min, self.max, mean)

    def reset(self) -> None:
        with self.lock:
            del self.pending[:]
            self._zero()


_REGISTRY: dict[str, Stats] = {}
_REGISTRY_LOCK = threading.Lock()


def stats_for(name: str) -> Stats:
    with _REGISTRY_LOCK:
        stats = _REGISTRY.get(name)
        if stats is None:
            stats = _REGISTRY[name] = Stats(name)
        return stats


def timer_stats() -> dict[str, TimerStats]:
    """A snapshot of the statistics of every timer name, keyed by name.

    Names appear once a function is decorated or a named :class:`Timer` first
    finishes a block; all durations are in seconds, whatever unit the report uses.

    Examples:
        >>> with Timer("tokenize", report=None):
        ...     words = "a b c".split()
        >>> stats = timer_stats()["tokenize"]
        >>> stats.count >= 1 and stats.min <= stats.mean <= stats.max
        True
    """
    with _REGISTRY_LOCK:
        everything = list(_REGISTRY.values())
    return {stats.name: stats.snapshot() for stats in everything}


def reset_timer_stats(name: str | None = None) -> None:
    """Clear the statistics of *name*, or of every name when *name* is ``None``.

    Resetting a name that has no statistics does nothing.

    Examples:
        >>> with Timer("step", report=None):
        ...     pass
        >>> reset_timer_stats("step")
        >>> timer_stats()["step"].count
        0
    """
    _check_name(name)
    with _REGISTRY_LOCK:
        chosen = list(_REGISTRY.values()) if name is None else [_REGISTRY.get(name)]
    for stats in chosen:
        if stats is not None:
            stats.reset()


def _check_name(name: object) -> None:
    if name is not None and not isinstance(name, str):
        msg = f"reset_timer_stats: name must be a str or None (got {short_repr(name)})"
        raise InputTypeError(msg)


# Documented where users import them from.
for _public in (TimerStats, timer_stats, reset_timer_stats):
    _public.__module__ = "ml_infra_utils.decorators.timing"
