"""Opt-in setup: an O_APPEND file handler and JSON logging in one call.

Re-exported by :mod:`ml_infra_utils.logging.structured` (the documented module).
Nothing here runs on import: an application calls :func:`configure_json_logging`.

Examples:
    >>> import io, logging
    >>> out = io.StringIO()
    >>> handler = configure_json_logging(stream=out, logger="doc.setup")
    >>> logging.getLogger("doc.setup").warning("ready")
    >>> '"message":"ready"' in out.getvalue()
    True
    >>> logging.getLogger("doc.setup").removeHandler(handler)
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any, Final

from ml_infra_utils._errors import LoggingConfigError
from ml_infra_utils._sequences import check_flag
from ml_infra_utils.logging._formatter import JsonFormatter
from ml_infra_utils.logging._logger import install_json_logger_class
from ml_infra_utils.logging._output import AppendFile
from ml_infra_utils.logging._record import level_number

__all__ = ["AppendFileHandler", "configure_json_logging"]


class AppendFileHandler(logging.Handler):
    """A logging handler that appends each record to a file in one ``write()``.

    The file is opened with ``O_APPEND`` and each record is one ``os.write`` of
    UTF-8 text, so several processes (e.g. the ranks of a distributed job) and
    threads can log to one file without torn or lost lines on a local file
    system (not NFS). Formats with a :class:`JsonFormatter` unless another
    formatter is set.

    Args:
        filename: The file to append to; created if missing.
        level: The handler's level (default: everything).

    Examples:
        >>> import logging, os, pathlib, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "train.jsonl")
        >>> handler = AppendFileHandler(path)
        >>> log = logging.getLogger("doc.append")
        >>> log.addHandler(handler)
        >>> log.warning("disk at %d%%", 91)
        >>> log.removeHandler(handler)
        >>> handler.close()
        >>> '"message":"disk at 91%"' in pathlib.Path(path).read_text()
        True
    """

    def __init__(
        self, filename: str | os.PathLike[str], *, level: int | str = 0
    ) -> None:
        super().__init__(level_number(level))
        self.baseFilename = os.path.abspath(filename)
        self._file = AppendFile(self.baseFilename)
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        """Format *record* and append it as one line; errors go to handleError."""
        try:
            self._file.write(self.format(record) + "\n")
        except Exception:  # the stdlib's contract for handlers
            self.handleError(record)

    def close(self) -> None:
        """Close the file and unregister the handler."""
        self.acquire()
        try:
            self._file.close()
        finally:
            self.release()
        super().close()

    def __repr__(self) -> str:
        level = logging.getLevelName(self.level)
        return f"<{type(self).__name__} {self.baseFilename} ({level})>"


_INSTALLED: Final = "_ml_infra_utils_json_handler"


def configure_json_logging(
    *,
    level: int | str = "INFO",
    stream: IO[str] | None = None,
    path: str | os.PathLike[str] | None = None,
    logger: str | None = None,
    force: bool = False,
    fields: Sequence[str] | None = None,
    rename_fields: Mapping[str, str] | None = None,
    static_fields: Mapping[str, Any] | None = None,
    ensure_ascii: bool = True,
    safe_extra: bool = False,
) -> logging.Handler:
    """Set up JSON logging for an application in one call (opt in; never on import).

    Installs one handler with a :class:`JsonFormatter` on the root logger (or
    the logger named *logger*) and sets that logger's level. Calling it again
    replaces the handler an earlier call installed; ``force=True`` also removes
    and closes every other handler there, as ``logging.basicConfig(force=True)``.

    Args:
        level: The logger's level.
        stream: Where lines go (default ``sys.stderr``).
        path: A file to append to instead (an :class:`AppendFileHandler`: safe
            for several processes).
        logger: The logger to configure; ``None`` for the root logger.
        force: Remove the logger's other handlers first.
        fields: As :class:`JsonFormatter`.
        rename_fields: As :class:`JsonFormatter`.
        static_fields: As :class:`JsonFormatter`.
        ensure_ascii: As :class:`JsonFormatter`.
        safe_extra: Make stdlib ``extra=`` keys that name a ``LogRecord``
            attribute (``message``, ``name``, ``module``, ...) come out renamed
            (``message_``) instead of raising ``KeyError`` in the caller: every
            plain ``logging.Logger`` of the process, existing and future,
            becomes a :class:`~ml_infra_utils.JsonLogger` (see
            :func:`~ml_infra_utils.logging._logger.install_json_logger_class`).
            Process-wide, like ``logging.setLoggerClass``; not undone by a later
            call without it.

    Returns:
        The installed handler (remove it with ``logging.getLogger().removeHandler``).

    Raises:
        LoggingConfigError: Both *stream* and *path* given, a bad option value,
            or ``safe_extra=True`` while another logger class is installed.
        InputTypeError: An option of the wrong type (``force="yes"``).

    Examples:
        >>> import io, logging
        >>> out = io.StringIO()
        >>> handler = configure_json_logging(stream=out, logger="doc.app")
        >>> logging.getLogger("doc.app.data").info("loaded %d rows", 120)
        >>> '"message":"loaded 120 rows"' in out.getvalue()
        True
        >>> logging.getLogger("doc.app").removeHandler(handler)
    """
    if stream is not None and path is not None:
        msg = "configure_json_logging takes stream or path, not both"
        raise LoggingConfigError(msg)
    check_flag("force", force)
    if check_flag("safe_extra", safe_extra):
        install_json_logger_class()
    levelno = level_number(level)
    formatter = JsonFormatter(
        fields=fields,
        rename_fields=rename_fields,
        static_fields=static_fields,
        ensure_ascii=ensure_ascii,
    )
    handler: logging.Handler = (
        AppendFileHandler(path)
        if path is not None
        else logging.StreamHandler(sys.stderr if stream is None else stream)
    )
    handler.setFormatter(formatter)
    setattr(handler, _INSTALLED, True)
    target = logging.getLogger(logger)
    for old in list(target.handlers):
        if force or getattr(old, _INSTALLED, False):
            target.removeHandler(old)
            old.close()
    target.addHandler(handler)
    target.setLevel(levelno)
    return handler
