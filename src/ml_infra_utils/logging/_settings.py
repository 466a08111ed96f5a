"""A run's configuration: arguments first, then environment variables.

The variables are read when a run starts (never at import), so a script or a
job scheduler may set them at any time before. Every variable is documented in
``docs/runs.md``:

=========================================  ==============================  ========
variable                                   meaning                         default
=========================================  ==============================  ========
``ML_INFRA_UTILS_EXPERIMENT``              experiment when none is given   default
``ML_INFRA_UTILS_RUN_NAME``                display name of the run         (none)
``ML_INFRA_UTILS_RUNS_DIR``                root of the local run store     ./runs
``ML_INFRA_UTILS_RUNS_FLUSH_INTERVAL``     seconds between writes          1.0
``ML_INFRA_UTILS_RUNS_MAX_BUFFER``         records held before backpressure 100000
``ML_INFRA_UTILS_RUNS_HANDLE_SIGTERM``     flush and end runs on SIGTERM   0
``ML_INFRA_UTILS_RUNS_FSYNC``              fsync run.json and the metrics  1
``ML_INFRA_UTILS_TRACKING_URL``            send runs to this server        (none)
``ML_INFRA_UTILS_API_KEY``                 the server's API key            (none)
``ML_INFRA_UTILS_SHUTDOWN_TIMEOUT``        longest wait of shutdown()      10.0
=========================================  ==============================  ========

Examples:
    >>> env_bool("X", None, False, environ={"X": "yes"})
    True
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

from ml_infra_utils._errors import InputTypeError, InvalidParameterError
from ml_infra_utils._sequences import check_flag

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DEFAULT_FLUSH_INTERVAL",
    "DEFAULT_MAX_BUFFER",
    "DEFAULT_RUNS_DIR",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "ENV_API_KEY",
    "ENV_EXPERIMENT",
    "ENV_FLUSH_INTERVAL",
    "ENV_FSYNC",
    "ENV_HANDLE_SIGTERM",
    "ENV_MAX_BUFFER",
    "ENV_RUNS_DIR",
    "ENV_RUN_NAME",
    "ENV_SHUTDOWN_TIMEOUT",
    "ENV_TRACKING_URL",
    "env_bool",
    "env_str",
    "flush_interval_setting",
    "max_buffer_setting",
    "runs_dir_setting",
    "seconds_setting",
    "shutdown_timeout_setting",
]

ENV_EXPERIMENT = "ML_INFRA_UTILS_EXPERIMENT"
ENV_RUN_NAME = "ML_INFRA_UTILS_RUN_NAME"
ENV_RUNS_DIR = "ML_INFRA_UTILS_RUNS_DIR"
ENV_FLUSH_INTERVAL = "ML_INFRA_UTILS_RUNS_FLUSH_INTERVAL"
ENV_MAX_BUFFER = "ML_INFRA_UTILS_RUNS_MAX_BUFFER"
ENV_HANDLE_SIGTERM = "ML_INFRA_UTILS_RUNS_HANDLE_SIGTERM"
ENV_FSYNC = "ML_INFRA_UTILS_RUNS_FSYNC"
ENV_TRACKING_URL = "ML_INFRA_UTILS_TRACKING_URL"
ENV_API_KEY = "ML_INFRA_UTILS_API_KEY"
ENV_SHUTDOWN_TIMEOUT = "ML_INFRA_UTILS_SHUTDOWN_TIMEOUT"

DEFAULT_EXPERIMENT = "default"
DEFAULT_RUNS_DIR = "runs"
DEFAULT_FLUSH_INTERVAL = 1.0
DEFAULT_MAX_BUFFER = 100_000
DEFAULT_SHUTDOWN_TIMEOUT = 10.0

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(
    name: str, default: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The variable's value, or *default* when it is unset or empty."""
    value = (os.environ if environ is None else environ).get(name, "")
    return value or default


def env_bool(
    name: str,
    argument: bool | None,
    default: bool,
    environ: Mapping[str, str] | None = None,
    *,
    option: str = "option",
) -> bool:
    """*argument* if given, else the variable read as a boolean, else *default*.

    A variable set to nothing (``export X=``) counts as unset: it never turns
    a safe default such as fsync off.

    The argument itself must be ``True``, ``False`` or ``None`` (unset): a
    string such as ``"false"`` is refused rather than read by its truthiness,
    and only the environment variable is parsed from text.

    Raises:
        InputTypeError: *argument* (named *option* in the message) is neither
            a bool nor None.
        InvalidParameterError: the variable holds something other than
            1/0, true/false, yes/no or on/off.

    Examples:
        >>> env_bool("X", "false", False, option="fsync")
        Traceback (most recent call last):
        ...
        ml_infra_utils.InputTypeError: fsync must be True or False, got 'false'
    """
    if argument is not None:
        return check_flag(option, argument)
    raw = (os.environ if environ is None else environ).get(name)
    text = "" if raw is None else raw.strip().lower()
    if not text:  # unset, or set to nothing (`export X=`): the default
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    msg = (
        f"environment variable {name} must be 1/0, true/false, yes/no or on/off, "
        f"got {raw!r}"
    )
    raise InvalidParameterError(msg)


def runs_dir_setting(argument: str | os.PathLike[str] | None) -> Path:
    """The runs directory: *argument*, ``$ML_INFRA_UTILS_RUNS_DIR`` or ``./runs``.

    Raises:
        InputTypeError: *argument* is neither None, a str nor a path.
    """
    given: object = argument  # users without a type checker pass anything
    if given is not None:
        if not isinstance(given, str | os.PathLike):
            msg = f"runs_dir must be a str or path, got {type(given).__name__}"
            raise InputTypeError(msg)
        return Path(given)
    return Path(env_str(ENV_RUNS_DIR, DEFAULT_RUNS_DIR) or DEFAULT_RUNS_DIR)


def flush_interval_setting(argument: float | None) -> float:
    """Seconds between background writes: > 0 and finite.

    Raises:
        InputTypeError: the argument is not a real number.
        InvalidParameterError: it (or the variable) is not > 0 and finite.
    """
    return seconds_setting(
        argument, "flush_interval", ENV_FLUSH_INTERVAL, DEFAULT_FLUSH_INTERVAL
    )


def shutdown_timeout_setting(argument: float | None) -> float:
    """The longest ``shutdown()`` waits for its sink: > 0 and finite.

    Raises:
        InputTypeError: the argument is not a real number.
        InvalidParameterError: it (or the variable) is not > 0 and finite.
    """
    return seconds_setting(
        argument, "shutdown_timeout", ENV_SHUTDOWN_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT
    )


def _given_or_env(
    argument: object,
    source: str,
    variable: str,
    parse: type[float] | type[int],
    what: str,
) -> tuple[object, str] | None:
    """``(argument, source)``; for a None argument the *variable* parsed with
    *parse* and named as its source; ``None`` when that is unset too.

    Raises:
        InvalidParameterError: the variable is not *what* (e.g. "an integer").

    Examples:
        >>> _given_or_env(None, "max_buffer", "UNSET_VARIABLE", int, "an integer")
        >>> _given_or_env(3, "max_buffer", "UNSET_VARIABLE", int, "an integer")
        (3, 'max_buffer')
    """
    if argument is not None:
        return argument, source
    raw = env_str(variable, None)
    if raw is None:
        return None
    source = f"environment variable {variable}"
    try:
        return parse(raw), source
    except ValueError:
        msg = f"{source} must be {what}, got {raw!r}"
        raise InvalidParameterError(msg) from None


def seconds_setting(
    argument: float | None, source: str, variable: str, default: float
) -> float:
    """*argument*, else the *variable* read as seconds, else *default*: > 0, finite.

    Raises:
        InputTypeError: the argument is not a real number.
        InvalidParameterError: it (or the variable) is not > 0 and finite.

    Examples:
        >>> seconds_setting(2, "timeout", "UNSET_VARIABLE", 1.0)
        2.0
    """
    found = _given_or_env(argument, source, variable, float, "a number of seconds")
    if found is None:
        return default
    value, source = found
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{source} must be a number of seconds, got {type(value).__name__}"
        raise InputTypeError(msg)
    if not (math.isfinite(value) and value > 0):
        msg = f"{source} must be > 0 and finite, got {value!r}"
        raise InvalidParameterError(msg)
    return float(value)


def max_buffer_setting(argument: int | None) -> int:
    """Records a run holds in memory before logging writes synchronously: >= 1.

    Raises:
        InputTypeError: the argument is not an int.
        InvalidParameterError: it (or the variable) is < 1.
    """
    found = _given_or_env(argument, "max_buffer", ENV_MAX_BUFFER, int, "an integer")
    if found is None:
        return DEFAULT_MAX_BUFFER
    value, source = found
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{source} must be an int, got {type(value).__name__}"
        raise InputTypeError(msg)
    if value < 1:
        msg = f"{source} must be >= 1, got {value}"
        raise InvalidParameterError(msg)
    return value
