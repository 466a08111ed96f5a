"""The package's exceptions.

Every error the package raises on purpose derives from :class:`MLInfraError`.
Each concrete error also subclasses the builtin exception it refines, so callers
can catch either our class or the builtin they already handle::

    MLInfraError(Exception)
    ├── InputTypeError(MLInfraError, TypeError)      wrong kind of input
    ├── MissingValueError(MLInfraError, ValueError)  None or NaN where a value is needed
    ├── InvalidParameterError(MLInfraError, ValueError)  an option outside its range
    └── RetryError(MLInfraError, RuntimeError)  retry_on_condition gave up
"""

from __future__ import annotations

__all__ = [
    "InputTypeError",
    "InvalidParameterError",
    "MLInfraError",
    "MissingValueError",
    "RetryError",
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

    Raised when a function or decorator is configured, e.g. ``retry(max_attempts=0)``
    or ``timer_with_units("minutes")``. The message names the option, what it
    accepts and the value that arrived.
    """


class RetryError(MLInfraError, RuntimeError):
    """:func:`~ml_infra_utils.retry_on_condition` gave up: the condition still held.

    Attributes:
        last_result: what the function returned on the last attempt.
        attempts: how many attempts were made.

    Examples:
        >>> err = RetryError("gave up", last_result="pending", attempts=3)
        >>> err.last_result, err.attempts
        ('pending', 3)
    """

    def __init__(
        self, message: str, *, last_result: object = None, attempts: int = 0
    ) -> None:
        super().__init__(message)
        self.last_result = last_result
        self.attempts = attempts


# Show the public location in tracebacks and reprs (``ml_infra_utils.InputTypeError``
# rather than the private module); the root re-exports every class, so pickling
# by that name works too.
for _cls in (
    MLInfraError,
    InputTypeError,
    MissingValueError,
    InvalidParameterError,
    RetryError,
):
    _cls.__module__ = "ml_infra_utils"
