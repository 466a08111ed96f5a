"""The package's exceptions.

Every error the package raises on purpose derives from :class:`MLInfraError`.
Each concrete error also subclasses the builtin exception it refines, so callers
can catch either our class or the builtin they already handle::

    MLInfraError(Exception)
    ├── InputTypeError(MLInfraError, TypeError)      wrong kind of input
    ├── MissingValueError(MLInfraError, ValueError)  None or NaN where a value is needed
    ├── LoggingConfigError(MLInfraError, ValueError) a logging option it cannot take
    ├── LengthMismatchError(MLInfraError, ValueError)    inputs that must pair up don't
    ├── InvalidParameterError(MLInfraError, ValueError)  an option outside its values
    └── UndefinedMetricWarning(MLInfraError, UserWarning)  a score divided 0 by 0
"""

from __future__ import annotations

__all__ = [
    "InputTypeError",
    "InvalidParameterError",
    "LengthMismatchError",
    "LoggingConfigError",
    "MLInfraError",
    "MissingValueError",
    "UndefinedMetricWarning",
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


class LoggingConfigError(MLInfraError, ValueError):
    """A logging option has a value it cannot take.

    Raised, e.g., for an unknown level name, two fields renamed to the same
    output name, or a static field that would overwrite a built-in one. The
    message names the option and lists what is accepted.
    """


class LengthMismatchError(MLInfraError, ValueError):
    """Two inputs that must pair up element by element differ in length.

    The metrics raise it as ``"Predictions and labels must have same length
    (got 3 predictions and 2 labels)"``; the message always states both lengths.
    """


class InvalidParameterError(MLInfraError, ValueError):
    """An option is outside its valid values; the message lists the valid ones."""


class UndefinedMetricWarning(MLInfraError, UserWarning):  # noqa: N818 - a warning, named as scikit-learn's
    """A metric divided by zero and was set to 0.0 (``zero_division="warn"``).

    Only issued when the caller asks for it with ``zero_division="warn"``, as
    scikit-learn's warning of the same name; the default ``zero_division=0.0``
    is silent.
    """


# Show the public location in tracebacks and reprs (``ml_infra_utils.InputTypeError``
# rather than the private module); the root re-exports every class, so pickling
# by that name works too.
for _name in __all__:
    globals()[_name].__module__ = "ml_infra_utils"
