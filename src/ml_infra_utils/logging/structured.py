"""Structured JSON logging that stays stdlib-native: one JSON object per line.

- :class:`JsonFormatter`: a ``logging.Formatter`` for any handler and for
  ``logging.config.dictConfig`` (with ``"()"``).
- :class:`StructuredLogger`: ``log.info("epoch end", loss=0.21)``; fields land
  in the record's ``context`` object, merged with what :meth:`~StructuredLogger.bind`
  and :func:`log_context` bound. It hands records to a stdlib logger, or, given
  a stream or a file path, writes the same JSON straight to it (the fast path).
- :func:`log_ml_event`, :func:`configure_json_logging`, :class:`AppendFileHandler`.
- :class:`JsonLogger`: a ``logging.Logger`` whose ``extra=`` renames a key that
  names a ``LogRecord`` attribute (``message`` -> ``message_``) instead of
  raising ``KeyError`` (``configure_json_logging(safe_extra=True)`` installs it).

Every line is strict RFC 8259 JSON whatever the values (NaN becomes ``"NaN"``,
numpy values stay numbers; the full mapping is in ``docs/logging.md``), and
writing a record never raises into the caller: what cannot be written (a value,
a broken or closed stream) is reported on stderr, as
``logging.Handler.handleError`` does. A bad call option (a level that is no
level, a ``stacklevel`` that is not an int) is a bug at the call site and
raises there, as in the standard library. See ``docs/logging.md`` for the field
list, the policy for clashing names and multi-process files.

Examples:
    >>> import io, json
    >>> out = io.StringIO()
    >>> log = StructuredLogger("train", stream=out, run="r1")
    >>> log.info("epoch end", epoch=3, loss=float("nan"))
    >>> record = json.loads(out.getvalue())
    >>> record["level"], record["message"], record["context"]
    ('INFO', 'epoch end', {'run': 'r1', 'epoch': 3, 'loss': 'NaN'})
"""

from __future__ import annotations

import logging
import os
import time
import types
from collections.abc import Mapping
from typing import IO, Any, Final

from ml_infra_utils._errors import InputTypeError
from ml_infra_utils.logging._calls import (
    caller_frame,
    exc_tuple,
    level_json,
    level_name,
    require_str,
    stacklevel_of,
    to_stdlib,
)
from ml_infra_utils.logging._context import CONTEXT, Captured, log_context
from ml_infra_utils.logging._formatter import JsonFormatter
from ml_infra_utils.logging._json import make_dumps, make_value_encoder, string_encoder
from ml_infra_utils.logging._logger import JsonLogger
from ml_infra_utils.logging._output import AppendFile, LineWriter, StreamWriter, report
from ml_infra_utils.logging._record import (
    RECORD_ATTRIBUTES,
    TS_CACHE,
    exc_info_to_dict,
    free_key,
    iso_utc,
    level_number,
    module_of,
    safe_str,
    stack_frames,
)
from ml_infra_utils.logging._setup import AppendFileHandler, configure_json_logging

__all__ = [
    "AppendFileHandler",
    "JsonFormatter",
    "JsonLogger",
    "StructuredLogger",
    "configure_json_logging",
    "log_context",
    "log_ml_event",
]

_DUMPS: Final = make_dumps()
_QUOTE: Final = string_encoder()
_VALUE: Final = make_value_encoder()
_OPTIONS: Final = frozenset({"exc_info", "stack_info", "stacklevel"})
# code object -> '"module":"...","function":"...",' (bounded: cleared when full)
_CODE_JSON: dict[types.CodeType, str] = {}


def _where(code: types.CodeType) -> str:
    text = (
        f'"module":{_QUOTE(module_of(code.co_filename))},'
        f'"function":{_QUOTE(code.co_name)},'
    )
    if len(_CODE_JSON) >= 4096:
        _CODE_JSON.clear()
    _CODE_JSON[code] = text
    return text


class StructuredLogger:
    """A logger whose calls take fields: ``log.info("epoch end", loss=0.21)``.

    Every record carries a ``context`` object: the :func:`log_context` fields,
    then the fields this logger was created or bound with, then the call's own
    fields (later ones win). Any field name works, ``message`` or ``module``
    included, since fields never touch the record's own attributes; only
    ``exc_info``, ``stack_info`` and ``stacklevel`` keep their stdlib meaning.

    Without a *stream* the records go to the stdlib logger *name*
    (``logging.getLogger(name)``), so the application's handlers and levels
    apply and a :class:`JsonFormatter` writes them. With a *stream* (a text
    stream, or a path: the file is opened in ``O_APPEND`` mode) each record is
    written straight to it as the same JSON line, one ``write`` per record:
    the fast path, independent of the logging configuration.

    Module, function and line are those of the code that called the logging
    method (``stacklevel=2`` names its caller, and so on). Thread-safe: bound
    loggers share nothing mutable, and writes to one stream are serialized.
    Writing never raises: a record that cannot be written is reported on
    stderr as ``logging.Handler.handleError`` does. A bad call option raises at
    the call, as in the stdlib: ``log.log("NOPE", ...)`` a
    :class:`~ml_infra_utils.LoggingConfigError`, ``stacklevel="a"`` an
    :class:`~ml_infra_utils.InputTypeError`.

    Args:
        name: The logger's name (the ``logger`` field, and the stdlib logger).
        level: This logger's threshold (name or number); calls below it cost
            almost nothing. Without a stream the stdlib logger's level applies too.
        stream: ``None``, a text stream (``sys.stdout``, an open file), or a path.
        **context: Fields bound to every record of this logger (``name``,
            ``level`` and ``stream`` themselves can be bound with :meth:`bind`).

    Examples:
        >>> import io
        >>> out = io.StringIO()
        >>> log = StructuredLogger("train", stream=out, level="DEBUG")
        >>> run_log = log.bind(run_id="r7")
        >>> run_log.debug("step", step=1, message="field named message")
        >>> print(out.getvalue().split('"module"')[1], end="")  # doctest: +ELLIPSIS
        :...,"context":{"run_id":"r7","step":1,"message":"field named message"}}
    """

    __slots__ = ("_context", "_levelno", "_logger", "_writer", "name")

    def __init__(
        self,
        name: str,
        *,
        level: int | str = "INFO",
        stream: IO[str] | str | os.PathLike[str] | None = None,
        **context: object,
    ) -> None:
        self.name = require_str(name, "name")
        self._levelno = level_number(level)
        self._context: dict[str, object] = context
        self._logger: logging.Logger | None = None
        self._writer: LineWriter | None = None
        if stream is None:
            self._logger = logging.getLogger(name)
        elif isinstance(stream, str | os.PathLike):
            self._writer = AppendFile(stream)
        elif callable(getattr(stream, "write", None)):
            self._writer = StreamWriter(stream)
        else:
            kind = type(stream).__name__
            msg = f"stream must be None, a text stream or a path (got {kind})"
            raise InputTypeError(msg)

    @property
    def level(self) -> int:
        """This logger's threshold as a number (``logging.INFO`` is 20)."""
        return self._levelno

    @property
    def context(self) -> dict[str, object]:
        """A copy of the fields this logger is bound with."""
        return dict(self._context)

    def bind(self, /, **fields: object) -> StructuredLogger:
        """A new logger with *fields* added to (or replacing) the bound ones.

        The new logger shares the name, level and output; this one is unchanged.
        """
        new = object.__new__(type(self))
        new.name, new._levelno = self.name, self._levelno
        new._logger, new._writer = self._logger, self._writer
        new._context = {**self._context, **fields}
        return new

    def unbind(self, /, *keys: str) -> StructuredLogger:
        """A new logger without the bound fields *keys* (missing keys are ignored)."""
        new = self.bind()
        new._context = {k: v for k, v in self._context.items() if k not in keys}
        return new

    def close(self) -> None:
        """Close the file this logger opened from a path (bound loggers share it).

        A stream passed in stays open; without a stream this does nothing.
        """
        if self._writer is not None:
            self._writer.close()

    def __repr__(self) -> str:
        level = level_name(self._levelno)
        out = self._writer if self._writer is not None else self._logger
        return (
            f"<StructuredLogger {self.name!r} {level} -> {out!r}"
            f" context={self._context!r}>"
        )

    def debug(self, message: object, /, **fields: object) -> None:
        """Log *message* with *fields* at DEBUG (see the class for ``exc_info``...)."""
        if self._levelno <= 10:  # logging.DEBUG, inlined: a filtered call is ~free
            self._log(10, message, fields)

    def info(self, message: object, /, **fields: object) -> None:
        """Log *message* with *fields* at INFO."""
        if self._levelno <= 20:
            self._log(20, message, fields)

    def warning(self, message: object, /, **fields: object) -> None:
        """Log *message* with *fields* at WARNING."""
        if self._levelno <= 30:
            self._log(30, message, fields)

    def error(self, message: object, /, **fields: object) -> None:
        """Log *message* with *fields* at ERROR."""
        if self._levelno <= 40:
            self._log(40, message, fields)

    def critical(self, message: object, /, **fields: object) -> None:
        """Log *message* with *fields* at CRITICAL."""
        if self._levelno <= 50:
            self._log(50, message, fields)

    def exception(self, message: object, /, **fields: object) -> None:
        """Log *message* at ERROR with the exception being handled, as structure.

        Call it in an ``except`` block; ``exc_info=`` names another exception.
        """
        if self._levelno <= 40:
            fields.setdefault("exc_info", True)
            self._log(40, message, fields)

    def log(self, level: int | str, message: object, /, **fields: object) -> None:
        """Log *message* with *fields* at *level* (a number or a level name)."""
        levelno = level_number(level)
        if self._levelno <= levelno:
            self._log(levelno, message, fields)

    def _log(
        self, levelno: int, message: object, fields: dict[str, object], depth: int = 2
    ) -> None:
        """Write one record; *depth* frames up from here is the caller."""
        exc_info: object = None
        stack_info: object = False
        if fields and not _OPTIONS.isdisjoint(fields):
            # A bad call option is the caller's bug: it raises, as in the stdlib.
            exc_info = fields.pop("exc_info", None)
            stack_info = fields.pop("stack_info", False)
            depth += stacklevel_of(fields.pop("stacklevel", 1)) - 1
        try:
            logger = self._logger
            if logger is not None and not logger.isEnabledFor(levelno):
                return
            frame = caller_frame(depth)
            outer = CONTEXT.get()
            if outer:
                context: dict[str, object] = Captured(
                    {**outer, **self._context, **fields}
                )
            elif fields:
                context = {**self._context, **fields} if self._context else fields
            else:
                context = self._context
            if logger is not None:
                if context and context is self._context:
                    context = dict(context)  # handlers and filters may change it
                to_stdlib(
                    logger, levelno, message, context, exc_info, stack_info, frame
                )
            elif exc_info or stack_info:
                self._writer.write(  # type: ignore[union-attr]
                    _DUMPS(
                        self._record(
                            levelno, message, frame, context, exc_info, stack_info
                        )
                    )
                    + "\n"
                )
            else:
                self._writer.write(self._line(levelno, message, frame, context))  # type: ignore[union-attr]
        except Exception as exc:  # logging must not raise into the caller
            report(exc)

    def _line(
        self,
        levelno: int,
        message: object,
        frame: types.FrameType,
        context: dict[str, object],
    ) -> str:
        """The JSON line of :meth:`_record`, written without a dict."""
        code = frame.f_code
        try:
            where = _CODE_JSON[code]
        except KeyError:
            where = _where(code)
        try:
            created = time.time()
            sec = int(created)
            cached = TS_CACHE[0]
            usec = (created - sec) * 1e6 + 0.5
            if cached[0] == sec and 0.0 <= usec < 1e6:
                stamp = "%s.%06d+00:00" % (cached[1], usec)  # noqa: UP031 - fastest
            else:
                stamp = iso_utc(created)
            text = (
                f'{{"timestamp":"{stamp}","level":{level_json(levelno)},'
                f'"logger":{_QUOTE(self.name)},"message":'
                f"{_QUOTE(message if type(message) is str else safe_str(message))}"
                f',{where}"line":{frame.f_lineno}'
            )
            if context:
                value = _VALUE
                items = ",".join(
                    [f"{_QUOTE(k)}:{value(v)}" for k, v in context.items()]
                )
                text += f',"context":{{{items}}}'
            return text + "}\n"
        except Exception:  # odd keys or values: the general encoder handles them
            record = self._record(levelno, message, frame, context, None, False)
            return _DUMPS(record) + "\n"

    def _record(  # noqa: PLR0917 - private, positional for speed
        self,
        levelno: int,
        message: object,
        frame: types.FrameType,
        context: dict[str, object],
        exc_info: object,
        stack_info: object,
    ) -> dict[str, object]:
        code = frame.f_code
        out: dict[str, object] = {
            "timestamp": iso_utc(time.time()),
            "level": level_name(levelno),
            "logger": self.name,
            "message": message if type(message) is str else safe_str(message),
            "module": module_of(code.co_filename),
            "function": code.co_name,
            "line": frame.f_lineno,
        }
        if context:
            out["context"] = context
        if exc_info:
            info = exc_info_to_dict(exc_tuple(exc_info))
            if info is not None:
                out["exception"] = info
        if stack_info:
            out["stack"] = stack_frames(frame)
        return out


def log_ml_event(
    logger: StructuredLogger | logging.Logger | logging.LoggerAdapter[Any],
    event: str,
    /,
    **fields: object,
) -> None:
    """Log an ML event at INFO: ``log_ml_event(log, "epoch_end", epoch=3, loss=0.21)``.

    The record's message is *event* and its ``context`` holds
    ``"event": event`` followed by *fields* (a field named ``event`` comes out
    as ``event_``). The same JSON results from a :class:`StructuredLogger`, a
    stdlib ``logging.Logger`` or a ``LoggerAdapter`` (whose ``extra`` stays at
    the top level, as the adapter itself puts it) formatted by
    :class:`JsonFormatter`. numpy and torch scalars stay numbers, NaN becomes
    ``"NaN"``. Module, function and line name the caller of ``log_ml_event``.

    Args:
        logger: Where the record goes.
        event: The event's name, e.g. ``"epoch_end"``.
        **fields: The event's values (metrics, step, epoch, ...).

    Raises:
        InputTypeError: *logger* is none of the above, or *event* is not a str.

    Examples:
        >>> import io
        >>> out = io.StringIO()
        >>> log = StructuredLogger("train", stream=out)
        >>> log_ml_event(log, "epoch_end", epoch=3, loss=0.21, accuracy=0.93)
        >>> print(out.getvalue().split('"context":')[1], end="")
        {"event":"epoch_end","epoch":3,"loss":0.21,"accuracy":0.93}}
    """
    require_str(event, "event")
    payload: dict[str, object] = {"event": event}
    for key, value in fields.items():
        payload[free_key(key, payload)] = value
    if isinstance(logger, StructuredLogger):
        if logger.level <= logging.INFO:
            logger._log(logging.INFO, event, payload)
        return
    extra: dict[str, object] = {}
    target: object = logger  # checked at run time: callers may pass anything
    if isinstance(target, logging.LoggerAdapter):
        adapter_extra = target.extra if isinstance(target.extra, Mapping) else {}
        base = target.logger
        while isinstance(base, logging.LoggerAdapter):
            base = base.logger
        for key, value in adapter_extra.items():
            if key in RECORD_ATTRIBUTES or key == "context":
                payload[free_key(key, payload)] = value
            else:
                extra[key] = value
    elif isinstance(target, logging.Logger):
        base = target
    else:
        msg = (
            "logger must be a StructuredLogger, logging.Logger or logging.LoggerAdapter"
            f" (got {type(logger).__name__})"
        )
        raise InputTypeError(msg)
    if not base.isEnabledFor(logging.INFO):
        return
    outer = CONTEXT.get()
    extra["context"] = Captured({**outer, **payload}) if outer else payload
    try:
        base.log(logging.INFO, event, extra=extra, stacklevel=2)
    except Exception as exc:  # logging must not raise into the caller
        report(exc)
