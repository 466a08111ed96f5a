"""Where JSON lines go: an O_APPEND file written with one ``write()`` per line.

Several processes may append to one file: the file is opened with
``O_APPEND``, so the kernel puts every ``write()`` at the current end of the
file, and each line is handed to the kernel in one ``write()`` call, so lines
are never overwritten and, on a local Linux file system, never torn. (POSIX
promises the atomic seek to the end; network file systems such as NFS promise
neither. Pipes are atomic only up to ``PIPE_BUF``, 4096 bytes on Linux.)

Examples:
    >>> import os, pathlib, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "log.jsonl")
    >>> out = AppendFile(path)
    >>> out.write('{"a":1}\\n')
    >>> out.close()
    >>> pathlib.Path(path).read_text()
    '{"a":1}\\n'
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
import weakref
from typing import IO, Protocol

from ml_infra_utils._errors import OutputClosedError

__all__ = ["AppendFile", "LineWriter", "StreamWriter", "report"]

_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class LineWriter(Protocol):
    """Something that takes whole lines: :class:`AppendFile`, :class:`StreamWriter`."""

    def write(self, line: str) -> None: ...  # pragma: no cover

    def close(self) -> None: ...  # pragma: no cover


def report(error: BaseException) -> None:
    """Tell stderr that a record could not be written, as ``Handler.handleError``.

    Silent when ``logging.raiseExceptions`` is false (production setting), like
    the stdlib. Never raises.
    """
    if not logging.raiseExceptions:
        return
    try:
        stderr = sys.stderr
        if stderr is not None:
            stderr.write("--- Logging error ---\n")
            traceback.print_exception(error, file=stderr)
    except Exception:  # noqa: S110 - nothing is left to report to
        pass


class AppendFile:
    """A file opened with ``O_APPEND``; :meth:`write` is one ``os.write`` per line.

    Text is encoded as UTF-8; characters UTF-8 cannot hold (lone surrogates)
    become ``\\udcxx`` escapes, which inside a JSON string are valid escapes, so
    a line is never lost to an encoding error. Thread-safe: the kernel
    serializes the appends of several processes, and a reentrant lock orders
    :meth:`write` and :meth:`close` within one, so a write never lands in a
    descriptor number that a concurrent close has freed and the system has
    handed to another file. The descriptor is also closed when the object is
    garbage-collected without :meth:`close` (not at interpreter exit, where
    the operating system closes it after the last records are written).

    Args:
        path: The file; created (mode 0o644 less the umask) if missing.
    """

    __slots__ = ("__weakref__", "_closer", "_fd", "_lock", "path")

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        fd = os.open(self.path, _FLAGS, 0o644)
        self._fd: int | None = fd
        self._lock = threading.RLock()  # reentrant: a signal handler may log
        self._closer = weakref.finalize(self, os.close, fd)
        self._closer.atexit = False

    def write(self, line: str) -> None:
        """Append *line* (which ends with a newline) in one system call.

        Raises:
            OutputClosedError: After :meth:`close`.
        """
        data = line.encode("utf-8", "backslashreplace")
        with self._lock:
            fd = self._fd
            if fd is None:
                msg = f"cannot write to {self.path!r}: the file is closed"
                raise OutputClosedError(msg)
            written = os.write(fd, data)
            while written < len(data):  # a short write (disk nearly full, signal)
                written += os.write(fd, data[written:])

    def close(self) -> None:
        """Close the file; later writes raise ``OutputClosedError``. Idempotent."""
        with self._lock:
            self._fd = None
            self._closer()  # closes the descriptor once; later calls do nothing

    def __repr__(self) -> str:
        state = "closed" if self._fd is None else "open"
        return f"<AppendFile {self.path!r} ({state})>"


class StreamWriter:
    """A text stream shared by several loggers: write + flush under one lock.

    The lock is reentrant (as ``logging.Handler``'s): a signal handler that logs
    to the same stream while the main thread is inside :meth:`write` (SIGALRM,
    SIGTERM, a SIGUSR1 "dump state" handler) writes its line instead of
    deadlocking on a lock its own thread holds. The stream is the caller's:
    :meth:`close` leaves it open.
    """

    __slots__ = ("_lock", "stream")

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._lock = threading.RLock()

    def write(self, line: str) -> None:
        """Write *line* in one ``write`` call and flush it, atomically."""
        with self._lock:
            self.stream.write(line)
            self.stream.flush()

    def close(self) -> None:
        """Nothing to do: the stream belongs to whoever passed it in."""

    def __repr__(self) -> str:
        return f"<StreamWriter {self.stream!r}>"
