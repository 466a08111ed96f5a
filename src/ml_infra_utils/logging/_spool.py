"""The outbox: requests that could not be sent yet, on local disk, in order.

When the server cannot be reached, a :class:`~._http.BatchSender` moves its
pending requests here and appends every new one, so memory stays bounded and a
crash of the client loses nothing already spooled. The file is plain text, one
request per line, each written with one ``write()``::

    #ml-infra-utils-outbox 1 {"url": "http://127.0.0.1:8787"}
    PUT /experiments/<id> 0 {"run": {...}}
    POST /experiments/<id>/logs/batch 5000 {"logs": [...]}

(method, path, number of records, JSON body). An open outbox is locked
(``flock``, exclusive, on POSIX): one sender at a time, in this process or
another, owns it; :func:`~ml_infra_utils.send_spooled` skips an outbox a live
sender still writes. (Windows has no such lock: there, do not run
``send_spooled`` on a directory where runs are spooling.)
``<name>.outbox.sent`` holds the byte offset of the first line not yet
acknowledged, replaced atomically after each acknowledged request; a request
sent again after a crash is harmless because the server stores each message
id once. A last line without its newline (a crash in the middle of an append)
is ignored.

Examples:
    >>> import tempfile
    >>> from pathlib import Path
    >>> box = Outbox(Path(tempfile.mkdtemp()), "run-1", "http://127.0.0.1:1")
    >>> box.open()
    >>> box.append([Request("POST", "/x", b'{"logs":[]}', 0)])
    >>> request = box.read()
    >>> request.method, request.path, request.body
    ('POST', '/x', b'{"logs":[]}')
    >>> box.mark_sent(request.end)
    >>> box.finished()
    True
    >>> box.remove()
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from ._records import write_all, write_json_atomic

__all__ = ["HEADER", "Outbox", "OutboxInUseError", "Request", "read_header"]

HEADER = b"#ml-infra-utils-outbox 1 "
SUFFIX = ".outbox"
SENT_SUFFIX = ".outbox.sent"
REJECTED_SUFFIX = ".rejected"
_claims: set[str] = set()  # the outbox paths of this process's live senders
_claims_lock = threading.Lock()

_log = logging.getLogger("ml_infra_utils.logging.sinks")


class OutboxInUseError(BlockingIOError):
    """Another sender (in this process or another) has the outbox open (private)."""


if sys.platform != "win32":
    import fcntl

    def _lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

else:  # pragma: no cover - no advisory lock on Windows (see the module docs)

    def _lock(fd: int) -> bool:
        del fd
        return True


class Request:
    """One request to send (private): method, path, JSON body, record count.

    ``end`` is the byte offset just past the request's line once it is in an
    outbox, ``None`` while it lives in memory only.
    """

    __slots__ = ("body", "end", "method", "path", "records")

    def __init__(
        self, method: str, path: str, body: bytes, records: int, end: int | None = None
    ) -> None:
        self.method = method
        self.path = path
        self.body = body
        self.records = records
        self.end = end

    def __repr__(self) -> str:
        return f"Request({self.method} {self.path}, {self.records} records)"

    def line(self) -> bytes:
        """The request as one outbox line."""
        head = f"{self.method} {self.path} {self.records} ".encode()
        return head + self.body + b"\n"


def parse_line(line: bytes, end: int) -> Request | None:
    """The request of an outbox line, ``None`` if it is not one."""
    parts = line.rstrip(b"\n").split(b" ", 3)
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    method, path = (
        parts[0].decode("ascii", "replace"),
        parts[1].decode("utf-8", "replace"),
    )
    return Request(method, path, parts[3], int(parts[2]), end)


def read_header(path: Path) -> dict[str, str]:
    """The metadata in an outbox's first line (``{"url": ...}``), or ``{}``."""
    try:
        with path.open("rb") as file:
            first = file.readline(65536)
    except OSError:
        return {}
    if not first.startswith(HEADER):
        return {}
    try:
        data = json.loads(first[len(HEADER) :])
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


class Outbox:
    """An append-only file of pending requests and the offset of the first unsent.

    Not thread-safe: its owner (a sender) calls it under its own lock.
    """

    def __init__(self, directory: Path, name: str, url: str) -> None:
        self.path = directory / f"{name}{SUFFIX}"
        self._sent_path = directory / f"{name}{SENT_SUFFIX}"
        self.rejected_path = directory / f"{name}{REJECTED_SUFFIX}"
        self._url = url
        self._claim: str | None = None
        self._fd: int | None = None
        self._reader: IO[bytes] | None = None
        self.size = 0
        self.sent = 0
        self.read_pos = 0

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r}, sent={self.sent}, size={self.size})"

    @property
    def is_open(self) -> bool:
        """Whether the file is open (the sender is spooling)."""
        return self._fd is not None

    def exists(self) -> bool:
        """Whether an outbox file (maybe left by an earlier process) is there."""
        return self.path.is_file()

    def claim(self) -> None:
        """Reserve the name among this process's live senders, whether or not
        it ever spools (no file is written); :meth:`release` ends the claim.

        Another process's sender of the same name is found by the outbox's
        file lock, once either of them spools.

        Raises:
            OutboxInUseError: a live sender of this process has the name.
        """
        key = os.path.abspath(self.path)
        with _claims_lock:
            if key in _claims:
                msg = f"{self.path} is in use by another sender"
                raise OutboxInUseError(errno.EWOULDBLOCK, msg)
            _claims.add(key)
        self._claim = key

    def release(self) -> None:
        """End the claim of :meth:`claim`; idempotent."""
        key, self._claim = self._claim, None
        if key is not None:
            with _claims_lock:
                _claims.discard(key)

    def open(self, *, create: bool = True) -> None:
        """Open (create) and lock the file; continue after the last acknowledged
        request.

        Raises:
            OutboxInUseError: another sender has it open.
            FileNotFoundError: *create* is false and there is no outbox (any
                more: its owner delivered it and deleted it).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT if create else 0)
        while True:
            fd = os.open(self.path, flags, 0o600)
            if not _lock(fd):
                os.close(fd)
                msg = f"{self.path} is in use by another sender"
                raise OutboxInUseError(errno.EWOULDBLOCK, msg)
            try:  # its owner may have deleted it before we locked it
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
            if not create:
                raise FileNotFoundError(errno.ENOENT, "no outbox", str(self.path))
        try:
            size = os.lseek(fd, 0, os.SEEK_END)
            self._reader = self.path.open("rb")
            size = self._drop_torn_tail(fd, size)
            if size == 0:
                header = json.dumps({"url": self._url}, separators=(",", ":"))
                write_all(fd, HEADER + header.encode() + b"\n")
                size = os.lseek(fd, 0, os.SEEK_END)
        except BaseException:
            os.close(fd)
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            raise
        self._fd = fd
        self.size = size
        self.sent = self.read_pos = self._read_sent()

    def _drop_torn_tail(self, fd: int, size: int) -> int:
        # A crash in the middle of an append leaves a last line without its
        # newline: cut it, or the next append would glue a request to it.
        assert self._reader is not None  # noqa: S101 - opened first
        if size == 0:
            return 0
        self._reader.seek(max(0, size - 1))
        if self._reader.read(1) == b"\n":
            return size
        start = max(0, size - 65536)
        while True:
            self._reader.seek(start)
            chunk = self._reader.read(size - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0 or start == 0:
                end = start + cut + 1 if cut >= 0 else 0
                break
            start = max(0, start - 65536)
        os.ftruncate(fd, end)
        _log.warning("dropped a torn last line of %s (%d bytes)", self.path, size - end)
        return end

    def _read_sent(self) -> int:
        try:
            offset = int(self._sent_path.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            offset = 0
        if not 0 <= offset <= self.size:
            offset = 0
        if offset == 0:  # skip the header line
            assert self._reader is not None  # noqa: S101 - opened first
            self._reader.seek(0)
            offset = len(self._reader.readline())
        return offset

    def append(self, requests: Sequence[Request]) -> None:
        """Append *requests* with one ``write()``; set each one's ``end``.

        A write that fails half-way is truncated away before the error
        propagates, so the file never holds a partial request line.
        """
        fd = self._fd
        assert fd is not None  # noqa: S101 - opened first
        lines = [r.line() for r in requests]
        start = self.size
        try:
            write_all(fd, b"".join(lines))
        except BaseException:
            os.ftruncate(fd, start)
            raise
        end = start
        for request, line in zip(requests, lines, strict=True):
            end += len(line)
            request.end = end
        self.size = end

    def read(self) -> Request | None:
        """The next request after ``read_pos``, or ``None`` at the end."""
        reader = self._reader
        assert reader is not None  # noqa: S101 - opened first
        while self.read_pos < self.size:
            reader.seek(self.read_pos)
            line = reader.readline()
            if not line.endswith(b"\n"):
                return None  # torn by a crash of an earlier process
            self.read_pos += len(line)
            request = parse_line(line, self.read_pos)
            if request is not None:
                return request
            _log.warning("skipping an unreadable line of %s", self.path)
        return None

    def mark_sent(self, end: int) -> None:
        """Record that every request up to byte *end* was acknowledged."""
        self.sent = max(self.sent, end)
        write_json_atomic(self._sent_path, str(self.sent).encode(), fsync=False)

    def finished(self) -> bool:
        """Whether every request in the file was acknowledged."""
        return self.sent >= self.size

    def pending_records(self) -> int:
        """Records in the requests not acknowledged yet (reads the file)."""
        assert self._reader is not None  # noqa: S101 - opened first
        self._reader.seek(self.sent)
        total = 0
        for line in self._reader:
            request = parse_line(line, 0)
            if request is not None and line.endswith(b"\n"):
                total += request.records
        return total

    def close(self) -> None:
        """Close the file (it stays on disk)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()

    def remove(self) -> None:
        """Close and delete the outbox: everything in it was acknowledged."""
        self.close()
        self.path.unlink(missing_ok=True)
        self._sent_path.unlink(missing_ok=True)
        self.size = self.sent = self.read_pos = 0

    def reject(self, request: Request, status: int | None, message: str) -> None:
        """Keep a request the server refused in ``<name>.rejected``, with why."""
        self.rejected_path.parent.mkdir(parents=True, exist_ok=True)
        note = json.dumps({"status": status, "error": message}, separators=(",", ":"))
        data = b"# " + note.encode() + b"\n" + request.line()
        fd = os.open(self.rejected_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
