"""The package's exceptions.

Every error the package raises on purpose derives from :class:`MLInfraError`.
Each concrete error also subclasses the builtin exception it refines, so callers
can catch either our class or the builtin they already handle::

    MLInfraError(Exception)
    ├── InputTypeError(MLInfraError, TypeError)      wrong kind of input
    ├── MissingValueError(MLInfraError, ValueError)  None or NaN where a value is needed
    ├── InvalidParameterError(MLInfraError, ValueError)  an option outside its values
    ├── EmptyInputError(MLInfraError, ValueError)    no values where some are needed
    ├── ConstantInputError(MLInfraError, ValueError) all values identical: no spread
    ├── InfiniteValueError(MLInfraError, ValueError) inf where finite values are needed
    ├── ShapeError(MLInfraError, ValueError)         ragged rows, wrong column count
    ├── NotFittedError(MLInfraError, ValueError, AttributeError)  scaler not fitted
    └── OutOfRangeError(MLInfraError, ValueError)    values outside validate_range
"""

from __future__ import annotations

__all__ = [
    "ConstantInputError",
    "EmptyInputError",
    "InfiniteValueError",
    "InputTypeError",
    "InvalidParameterError",
    "MLInfraError",
    "MissingValueError",
    "NotFittedError",
    "OutOfRangeError",
    "ShapeError",
]


class MLInfraError(Exception):
    """Base class of every exception raised by ml-infra-utils on purpose.

    Concrete errors subclass it *and* a builtin, e.g.
    ``class EmptyInputError(MLInfraError, ValueError)``, so
    ``except ValueError`` keeps working for code that predates them.
    """


class InputTypeError(MLInfraError, TypeError):
    """The input, or one of its elements, is not of a kind the function accepts.

    Raised, e.g., for a string where a sequence of numbers is expected, or for an
    element that is not a real number. The message names the argument and, for
    an element, its position.
    """


class MissingValueError(MLInfraError, ValueError):
    """The input holds ``None`` or NaN where a value is required.

    The message names the argument and the first missing position.
    """


class InvalidParameterError(MLInfraError, ValueError):
    """An option has a value outside the range the function accepts.

    Raised, e.g., for ``normalize(data, feature_range=(1, 0))`` or
    ``clip_outliers(data, lower_percentile=120)``. The message names the option,
    what it accepts and the value that arrived.
    """


class EmptyInputError(MLInfraError, ValueError):
    """The input holds no values, but the computation needs at least one.

    Raised, e.g., as ``"Cannot normalize empty data"``.
    """


class ConstantInputError(MLInfraError, ValueError):
    """All values are identical, so a spread-based scaling is undefined.

    Raised, e.g., as ``"All values are identical, cannot normalize"``: min-max
    scaling divides by the range and z-scores by the standard deviation, both 0.
    """


class InfiniteValueError(MLInfraError, ValueError):
    """The input holds ``inf`` or ``-inf`` where the computation needs finite values.

    The message names the argument and the first infinite position. (NaN and
    ``None`` raise :class:`MissingValueError` instead.)
    """


class ShapeError(MLInfraError, ValueError):
    """2-D input whose shape does not fit: ragged rows, or a number of columns
    other than the one a scaler was fitted on.
    """


class NotFittedError(MLInfraError, ValueError, AttributeError):
    """A scaler was asked to transform (or for a fitted attribute) before fitting.

    Like scikit-learn's ``NotFittedError`` it is both a :class:`ValueError` and an
    :class:`AttributeError`, so ``hasattr(scaler, "mean_")`` is ``False`` on an
    unfitted scaler and ``except ValueError`` keeps working.
    """


class OutOfRangeError(MLInfraError, ValueError):
    """Values fall outside the range :func:`~ml_infra_utils.validate_range` allows.

    Attributes:
        positions: The positions of every value outside the range, in order.
    """

    def __init__(self, message: str, positions: list[int] | None = None) -> None:
        super().__init__(message)
        self.positions: list[int] = [] if positions is None else positions

    def __reduce__(self) -> tuple[type[OutOfRangeError], tuple[str, list[int]]]:
        # Keep the positions when the error crosses a process boundary.
        return type(self), (str(self), self.positions)


# Show the public location in tracebacks and reprs (``ml_infra_utils.InputTypeError``
# rather than the private module); the root re-exports every class, so pickling
# by that name works too.
for _cls in (
    MLInfraError,
    InputTypeError,
    MissingValueError,
    InvalidParameterError,
    EmptyInputError,
    ConstantInputError,
    InfiniteValueError,
    ShapeError,
    NotFittedError,
    OutOfRangeError,
):
    _cls.__module__ = "ml_infra_utils"
