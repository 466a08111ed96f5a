"""The package's exceptions.

Every error the package raises on purpose derives from :class:`MLInfraError`.
Each concrete error also subclasses the builtin exception it refines, so callers
can catch either our class or the builtin they already handle::

    MLInfraError(Exception)
    ├── InputTypeError(MLInfraError, TypeError)      wrong kind of input
    ├── MissingValueError(MLInfraError, ValueError)  None or NaN where a value is needed
    └── LoggingConfigError(MLInfraError, ValueError) a logging option it cannot take
"""

from __future__ import annotations

__all__ = ["InputTypeError", "LoggingConfigError", "MLInfraError", "MissingValueError"]


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


# Show the public location in tracebacks and reprs (``ml_infra_utils.InputTypeError``
# rather than the private module); the root re-exports every class, so pickling
# by that name works too.
for _cls in (MLInfraError, InputTypeError, MissingValueError, LoggingConfigError):
    _cls.__module__ = "ml_infra_utils"
