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
    LengthMismatchError,
    LoggingConfigError,
    MissingValueError,
    MLInfraError,
    UndefinedMetricWarning,
)
from ._version import __version__ as __version__
from .logging import (
    AppendFileHandler,
    JsonFormatter,
    StructuredLogger,
    configure_json_logging,
    log_context,
    log_ml_event,
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

__all__ = [
    "AppendFileHandler",
    "ConfusionCounts",
    "InputTypeError",
    "InvalidParameterError",
    "JsonFormatter",
    "LengthMismatchError",
    "LoggingConfigError",
    "MLInfraError",
    "MissingValueError",
    "StructuredLogger",
    "UndefinedMetricWarning",
    "accuracy",
    "classification_report",
    "configure_json_logging",
    "confusion_matrix",
    "f1_score",
    "fbeta_score",
    "log_context",
    "log_ml_event",
    "precision",
    "recall",
]

# The subpackages, in the order the docs and the command line present them.
_SUBPACKAGES = ("preprocessing", "metrics", "decorators", "logging")
