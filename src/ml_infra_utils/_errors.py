"""The package's exceptions.

Every error the package raises on purpose derives from :class:`MLInfraError`.
Each concrete error also subclasses the builtin exception it refines, so callers
can catch either our class or the builtin they already handle::

    MLInfraError(Exception)
    ├── InputTypeError(MLInfraError, TypeError)      wrong kind of input
    ├── MissingValueError(MLInfraError, ValueError)  None or NaN where a value is needed
    ├── InvalidParameterError(MLInfraError, ValueError)  right type, value not accepted
    ├── LengthMismatchError(MLInfraError, ValueError)    inputs that must pair up don't
    ├── LoggingConfigError(MLInfraError, ValueError) a logging option it cannot take
    ├── RunStateError(MLInfraError, RuntimeError)    a run used in the wrong state
    ├── RunNotFoundError(MLInfraError, FileNotFoundError)  no run at that path
    ├── CorruptRunError(MLInfraError, ValueError)    a run's run.json is unreadable
    ├── EmptyInputError(MLInfraError, ValueError)    no values where some are needed
    ├── ConstantInputError(MLInfraError, ValueError) all values identical: no spread
    ├── InfiniteValueError(MLInfraError, ValueError) inf where finite values are needed
    ├── ShapeError(MLInfraError, ValueError)         ragged rows, wrong column count
    ├── NotFittedError(MLInfraError, ValueError, AttributeError)  scaler not fitted
    ├── OutOfRangeError(MLInfraError, ValueError)    values outside validate_range
    ├── RetryError(MLInfraError, RuntimeError)  retry_on_condition gave up
    ├── OutputClosedError(MLInfraError, ValueError)  written to after close()
    ├── TrackingServerError(MLInfraError, RuntimeError)  a server refused, or no answer
    ├── UndefinedMetricWarning(MLInfraError, UserWarning)  a score divided 0 by 0
    └── ChangeHistoryError(MLInfraError, LookupError)  undo/revert past the history
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = [
    "ChangeHistoryError",
    "ConstantInputError",
    "CorruptRunError",
    "EmptyInputError",
    "InfiniteValueError",
    "InputTypeError",
    "InvalidParameterError",
    "LengthMismatchError",
    "LoggingConfigError",
    "MLInfraError",
    "MissingValueError",
    "NotFittedError",
    "OutOfRangeError",
    "OutputClosedError",
    "RetryError",
    "RunNotFoundError",
    "RunStateError",
    "ShapeError",
    "TrackingServerError",
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
    """An argument or option has the right type but a value that is not accepted.

    Raised, e.g., for an unknown ``average``, a negative step, a non-positive
    flush interval, or a metric name that breaks the documented naming rules. The
    message names the argument, lists (or states the rule for) the valid values,
    and shows the value that arrived.
    """


class UndefinedMetricWarning(MLInfraError, UserWarning):  # noqa: N818 - a warning, named as scikit-learn's
    """A metric divided by zero and was set to 0.0 (``zero_division="warn"``).

    Only issued when the caller asks for it with ``zero_division="warn"``, as
    scikit-learn's warning of the same name; the default ``zero_division=0.0``
    is silent.
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

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the keyword-only attributes when the error crosses a process
        # boundary (pickle rebuilds exceptions from ``args`` alone by default).
        rebuild = functools.partial(
            RetryError, last_result=self.last_result, attempts=self.attempts
        )
        return (rebuild, self.args)


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


class OutputClosedError(MLInfraError, ValueError):
    """A file, stream or sink was written to after it was closed.

    A :class:`ValueError`, as the standard library's "I/O operation on closed
    file". Logging calls never raise it into the caller: a
    :class:`~ml_infra_utils.StructuredLogger` or a handler reports it on stderr
    as ``logging.Handler.handleError`` does.
    """


class TrackingServerError(MLInfraError, RuntimeError):
    """A tracking server refused a request, or could not be reached in time.

    Kept in :attr:`HttpSink.errors <ml_infra_utils.HttpSink.errors>` (and logged
    once) when the server answers a batch with a 4xx status other than 408/429;
    raised by :func:`~ml_infra_utils.send_spooled` when spooled requests cannot
    be delivered. The message names the request and the server's own error text;
    it never contains the API key.

    Attributes:
        status: the HTTP status, or ``None`` when no answer arrived.
        method: the request method ("POST", "PUT", ...).
        path: the request path.

    Examples:
        >>> err = TrackingServerError("refused", status=400, method="POST", path="/x")
        >>> err.status, str(err)
        (400, 'refused')
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        rebuild = functools.partial(
            TrackingServerError, status=self.status, method=self.method, path=self.path
        )
        return (rebuild, self.args)


class ChangeHistoryError(MLInfraError, LookupError):
    """A tracked container cannot undo or revert: the change is not in its history.

    Raised by ``undo()`` on an empty history, by ``revert(to)`` when changes
    after *to* were dropped by ``max_history``, and when a recorded change no
    longer applies (the container was changed behind the tracker's back).
    """


# Show the public location in tracebacks and reprs (``ml_infra_utils.InputTypeError``
# rather than the private module); the root re-exports every class, so pickling
# by that name works too.
for _name in __all__:
    globals()[_name].__module__ = "ml_infra_utils"
