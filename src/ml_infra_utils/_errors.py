"""The package's exceptions.

Every error the package raises on purpose derives from :class:`MLInfraError`.
Each concrete error also subclasses the builtin exception it refines, so callers
can catch either our class or the builtin they already handle::

    MLInfraError(Exception)
    ├── InputTypeError(MLInfraError, TypeError)      wrong kind of input
    ├── MissingValueError(MLInfraError, ValueError)  None or NaN where a value is needed
    ├── InvalidArgumentError(MLInfraError, ValueError)  right type, value not accepted
    ├── RunStateError(MLInfraError, RuntimeError)    a run used in the wrong state
    ├── RunNotFoundError(MLInfraError, FileNotFoundError)  no run at that path
    └── CorruptRunError(MLInfraError, ValueError)    a run's run.json is unreadable
"""

from __future__ import annotations

__all__ = [
    "CorruptRunError",
    "InputTypeError",
    "InvalidArgumentError",
    "MLInfraError",
    "MissingValueError",
    "RunNotFoundError",
    "RunStateError",
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


class InvalidArgumentError(MLInfraError, ValueError):
    """An argument (or the environment variable standing in for it) has the right
    type but a value the function does not accept.

    Raised, e.g., for a negative step, a non-positive flush interval, or a metric
    or experiment name that breaks the documented naming rules. The message names
    the argument, the rule and the value that arrived.
    """


class RunStateError(MLInfraError, RuntimeError):
    """An experiment run was used in a state that does not allow the operation.

    Raised when logging to a run that has ended, when calling ``start_run`` while
    another global run is active, when a global ``log_*`` function finds no
    active run, and when a forked child process logs to its parent's run.
    """


class RunNotFoundError(MLInfraError, FileNotFoundError):
    """No experiment run (a directory holding ``run.json``) exists at the path."""


class CorruptRunError(MLInfraError, ValueError):
    """A run's ``run.json`` cannot be read as a run record.

    The store writes ``run.json`` atomically, so this means the file was edited
    or damaged by something else. (A torn last line of ``metrics.jsonl`` after a
    crash is *not* an error: readers skip and count it.)
    """


# Show the public location in tracebacks and reprs (``ml_infra_utils.InputTypeError``
# rather than the private module); the root re-exports every class, so pickling
# by that name works too.
for _cls in (
    MLInfraError,
    InputTypeError,
    MissingValueError,
    InvalidArgumentError,
    RunStateError,
    RunNotFoundError,
    CorruptRunError,
):
    _cls.__module__ = "ml_infra_utils"
