"""JsonLogger: a stdlib ``logging.Logger`` whose ``extra=`` never raises for a name.

The standard library refuses ``extra=`` keys that name a ``LogRecord``
attribute (``message``, ``name``, ``module``, ``asctime``, ...) with a
``KeyError`` in the caller, inside ``Logger.makeRecord``, before any handler or
formatter runs. :class:`JsonLogger` makes the record the same way but moves such
a key to a free name with ``_`` appended, the rule
:class:`~ml_infra_utils.JsonFormatter` applies to every clash: ``message``
becomes ``message_``, or ``message__`` when the call also passes ``message_``.

Nothing here runs on import. Use the class for your own loggers, or let
``configure_json_logging(safe_extra=True)`` install it process-wide
(:func:`install_json_logger_class`).

Examples:
    >>> import io, logging
    >>> from ml_infra_utils import JsonFormatter
    >>> log = JsonLogger("doc.safe")
    >>> handler = logging.StreamHandler(out := io.StringIO())
    >>> handler.setFormatter(JsonFormatter(fields=["message"]))
    >>> log.addHandler(handler)
    >>> log.warning("saved", extra={"message": "mine", "name": "ckpt"})
    >>> out.getvalue()
    '{"message":"saved","message_":"mine","name_":"ckpt"}\\n'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeAlias

from ml_infra_utils._errors import LoggingConfigError
from ml_infra_utils.logging._record import free_key

__all__ = ["JsonLogger", "install_json_logger_class"]

_ExcInfo: TypeAlias = (
    tuple[type[BaseException], BaseException, TracebackType | None]
    | tuple[None, None, None]
    | None
)
# Names the stdlib refuses besides the record's own attributes.
_RESERVED = frozenset({"message", "asctime"})


class JsonLogger(logging.Logger):
    """A ``logging.Logger`` whose ``extra=`` keys never clash with the record.

    A key naming a ``LogRecord`` attribute (or ``message``/``asctime``) is
    stored under the first free name with ``_`` appended, never one that
    another key of the same ``extra`` uses, instead of raising ``KeyError``.
    Everything else is ``logging.Logger``'s: levels, handlers, propagation,
    adapters. Install it with ``logging.setLoggerClass(JsonLogger)`` before
    loggers are created, or with ``configure_json_logging(safe_extra=True)``,
    which also converts the loggers that already exist.

    Examples:
        >>> record = JsonLogger("doc").makeRecord(
        ...     "doc",
        ...     logging.INFO,
        ...     "f.py",
        ...     1,
        ...     "m",
        ...     (),
        ...     None,
        ...     extra={"module": "data", "step": 3},
        ... )
        >>> record.module, record.module_, record.step
        ('f', 'data', 3)
    """

    def makeRecord(  # noqa: N802, PLR0917 - the signature of logging.Logger's
        self,
        name: str,
        level: int,
        fn: str,
        lno: int,
        msg: object,
        args: Any,
        exc_info: _ExcInfo,
        func: str | None = None,
        extra: Mapping[str, object] | None = None,
        sinfo: str | None = None,
    ) -> logging.LogRecord:
        """Make the record as ``logging.Logger`` does, renaming clashing keys."""
        record = logging.getLogRecordFactory()(
            name, level, fn, lno, msg, args, exc_info, func, sinfo
        )
        if extra is not None:
            d = record.__dict__
            for key in extra:
                if key in _RESERVED or key in d:
                    d[free_key(key, _RESERVED, d, extra)] = extra[key]
                else:
                    d[key] = extra[key]
        return record


class _JsonRootLogger(JsonLogger, logging.RootLogger):
    """The root logger's class once :func:`install_json_logger_class` ran."""


def install_json_logger_class() -> None:
    """Make every ``logging.Logger`` of the process a :class:`JsonLogger`.

    Sets the logger class for loggers created from now on
    (``logging.setLoggerClass``) and converts the existing plain loggers and
    the root logger in place (their state is untouched; the class adds no
    state). Loggers of other classes are left alone. Idempotent.

    Raises:
        LoggingConfigError: Another logger class is installed; make it subclass
            :class:`JsonLogger` instead.
    """
    current = logging.getLoggerClass()
    if not issubclass(current, JsonLogger):
        if current is not logging.Logger:
            msg = (
                f"safe_extra=True needs the standard logger class, but "
                f"{current.__qualname__} is installed; derive it from "
                "ml_infra_utils.JsonLogger instead"
            )
            raise LoggingConfigError(msg)
        logging.setLoggerClass(JsonLogger)
    root = logging.getLogger()
    if type(root) is logging.RootLogger:
        root.__class__ = _JsonRootLogger
    for existing in list(logging.Logger.manager.loggerDict.values()):
        if type(existing) is logging.Logger:
            existing.__class__ = JsonLogger


# Documented where users import it from.
JsonLogger.__module__ = "ml_infra_utils.logging.structured"
