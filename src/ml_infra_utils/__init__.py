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
    ConstantInputError,
    CorruptRunError,
    EmptyInputError,
    InfiniteValueError,
    InputTypeError,
    InvalidParameterError,
    LengthMismatchError,
    LoggingConfigError,
    MissingValueError,
    MLInfraError,
    NotFittedError,
    OutOfRangeError,
    OutputClosedError,
    RetryError,
    RunNotFoundError,
    RunStateError,
    ShapeError,
    TrackingServerError,
    UndefinedMetricWarning,
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
from .logging import (
    AppendFileHandler,
    HttpSink,
    JsonFormatter,
    JsonLogger,
    MemorySink,
    RecordBatch,
    Run,
    RunStoreSink,
    Sink,
    StructuredLogger,
    active_run,
    configure_json_logging,
    end_run,
    list_runs,
    load_run,
    log_context,
    log_metric,
    log_metrics,
    log_ml_event,
    log_params,
    log_result,
    send_spooled,
    start_run,
)
from .metrics import (
    ConfusionCounts,
    accuracy,
    classification_report,
    confusion_matrix,
    f1_score,
    fbeta_score,
    precision,
    recall,
)
from .preprocessing import (
    MinMaxScaler,
    StandardScaler,
    check_data_types,
    check_missing_values,
    clip_outliers,
    normalize,
    standardize,
    validate_range,
)

__all__ = [
    "AppendFileHandler",
    "ConfusionCounts",
    "ConstantInputError",
    "CorruptRunError",
    "EmptyInputError",
    "HttpSink",
    "InfiniteValueError",
    "InputTypeError",
    "InvalidParameterError",
    "JsonFormatter",
    "JsonLogger",
    "LengthMismatchError",
    "LoggingConfigError",
    "MLInfraError",
    "MemorySink",
    "MinMaxScaler",
    "MissingValueError",
    "NotFittedError",
    "OutOfRangeError",
    "OutputClosedError",
    "RecordBatch",
    "RetryAttempt",
    "RetryError",
    "Run",
    "RunNotFoundError",
    "RunStateError",
    "RunStoreSink",
    "ShapeError",
    "Sink",
    "StandardScaler",
    "StructuredLogger",
    "Timer",
    "TimerStats",
    "TrackingServerError",
    "UndefinedMetricWarning",
    "accuracy",
    "active_run",
    "check_data_types",
    "check_missing_values",
    "classification_report",
    "clip_outliers",
    "configure_json_logging",
    "confusion_matrix",
    "end_run",
    "f1_score",
    "fbeta_score",
    "list_runs",
    "load_run",
    "log_context",
    "log_metric",
    "log_metrics",
    "log_ml_event",
    "log_params",
    "log_result",
    "normalize",
    "precision",
    "recall",
    "reset_timer_stats",
    "retry",
    "retry_on_condition",
    "retry_testing",
    "send_spooled",
    "set_retry_testing",
    "standardize",
    "start_run",
    "timer",
    "timer_stats",
    "timer_with_units",
    "validate_range",
]

# The subpackages, in the order the docs and the command line present them.
_SUBPACKAGES = ("preprocessing", "metrics", "decorators", "logging")
