"""ml-infra-utils: zero-dependency ML infrastructure utilities.

The whole public API is flat: every public name of the subpackages
:mod:`~ml_infra_utils.preprocessing`, :mod:`~ml_infra_utils.metrics`,
:mod:`~ml_infra_utils.decorators` and :mod:`~ml_infra_utils.logging` is
re-exported here, so ``from ml_infra_utils import X`` always works.

Examples:
    >>> import ml_infra_utils
    >>> ml_infra_utils.__version__ == ml_infra_utils._version.__version__
    True
"""

from __future__ import annotations

from . import decorators as decorators
from . import logging as logging
from . import metrics as metrics
from . import preprocessing as preprocessing
from ._errors import (
    InputTypeError,
    InvalidParameterError,
    MissingValueError,
    MLInfraError,
    RetryError,
)
from ._version import __version__ as __version__
from .decorators import (
    RetryAttempt,
    Timer,
    TimerStats,
    reset_timer_stats,
    retry,
    retry_on_condition,
    retry_testing,
    set_retry_testing,
    timer,
    timer_stats,
    timer_with_units,
)

__all__ = [
    "InputTypeError",
    "InvalidParameterError",
    "MLInfraError",
    "MissingValueError",
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

# The subpackages, in the order the docs and the command line present them.
_SUBPACKAGES = ("preprocessing", "metrics", "decorators", "logging")
