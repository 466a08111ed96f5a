"""Timing and retry decorators for sync and async functions.

* :mod:`~ml_infra_utils.decorators.timing`: ``@timer``, ``@timer_with_units(unit)``,
  the ``Timer`` context manager and per-name statistics;
* :mod:`~ml_infra_utils.decorators.retry`: ``@retry(...)`` and
  ``@retry_on_condition(...)``, with backoff, jitter, deadline and a testing mode.

This subpackage imports nothing of the package but its exceptions.
"""

from __future__ import annotations

from .retry import (
    RetryAttempt,
    RetryError,
    retry,
    retry_on_condition,
    retry_testing,
    set_retry_testing,
)
from .timing import (
    Timer,
    TimerStats,
    reset_timer_stats,
    timer,
    timer_stats,
    timer_with_units,
)

__all__ = [
    "RetryAttempt",
    "RetryError",
    "Timer",
    "TimerStats",
    "reset_timer_stats",
    "retry",
    "retry_on_condition",
    "retry_testing",
    "set_retry_testing",
    "timer",
    "timer_stats",
    "timer_with_units",
]
