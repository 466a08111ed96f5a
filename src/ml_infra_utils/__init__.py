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
    EmptyInputError,
    InfiniteValueError,
    InputTypeError,
    InvalidParameterError,
    MissingValueError,
    MLInfraError,
    NotFittedError,
    OutOfRangeError,
    ShapeError,
)
from ._version import __version__ as __version__
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
    "ConstantInputError",
    "EmptyInputError",
    "InfiniteValueError",
    "InputTypeError",
    "InvalidParameterError",
    "MLInfraError",
    "MinMaxScaler",
    "MissingValueError",
    "NotFittedError",
    "OutOfRangeError",
    "ShapeError",
    "StandardScaler",
    "check_data_types",
    "check_missing_values",
    "clip_outliers",
    "normalize",
    "standardize",
    "validate_range",
]

# The subpackages, in the order the docs and the command line present them.
_SUBPACKAGES = ("preprocessing", "metrics", "decorators", "logging")
