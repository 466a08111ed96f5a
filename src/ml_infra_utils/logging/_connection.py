"""One kept-alive HTTP(S) connection, and how to read a server's answers.

Examples:
    >>> retryable_status(503), retryable_status(404)
    (True, False)
    >>> retry_after_seconds("2")
    2.0
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import http.client
import socket
import ssl
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_RETRY_AFTER",
    "Connection",
    "error_text",
    "retry_after_seconds",
    "retryable_status",
]

MAX_RETRY_AFTER = 60.0


def retryable_status(status: int) -> bool:
    """Whether an HTTP status says "try again later" (408, 425, 429, 5xx but 501/505).

    Examples:
        >>> [s for s in (200, 400, 401, 408, 429, 500, 501, 503) if retryable_status(s)]
        [408, 429, 500, 503]
    """
    return status in (408, 425, 429) or (
        500 <= status < 600 and status not in (501, 505)
    )


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """The delay a ``Retry-After`` header asks for, in seconds (``None``: unusable).

    Accepts delta-seconds and HTTP dates; the result is clamped to
    [0, 60] seconds.

    Examples:
        >>> retry_after_seconds("2"), retry_after_seconds("soon")
        (2.0, None)
        >>> retry_after_seconds("Thu, 01 Jan 1970 00:00:10 GMT", now=4.0)
        6.0
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def error_text(data: bytes) -> str:
    text = data[:2000].decode("utf-8", "replace").strip()
    return " ".join(text.split())[:500] or "(no body)"


# ---------------------------------------------------------------- the connection
class Connection:
    """One kept-alive HTTP(S) connection to a server, reopened when it breaks.

    Not thread-safe (one sender thread uses it); :meth:`abort` may be called
    from another thread to cut a request short.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname or "", parts.port
        if parts.scheme == "https":
            context = ssl_context or ssl.create_default_context()
            self._factory: Any = functools.partial(
                http.client.HTTPSConnection, host, port, context=context
            )
        else:
            self._factory = functools.partial(http.client.HTTPConnection, host, port)
        self._base = parts.path.rstrip("/")
        self._headers = dict(headers)
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None, *, timeout: float
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """Send one request and read the whole answer: ``(status, headers, body)``.

        Raises:
            OSError, http.client.HTTPException: the connection failed (it is
                closed, and the next request opens a new one).
        """
        conn = self._conn
        if conn is None:
            conn = self._conn = self._factory(timeout=timeout)
        else:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
        try:
            conn.request(method, self._base + path, body=body, headers=self._headers)
            response = conn.getresponse()
            data = response.read()
        except BaseException:
            self.close()
            raise
        if response.will_close:
            self.close()
        return response.status, response.headers, data

    def abort(self) -> None:
        """Cut the connection (from any thread): a request in flight fails now."""
        conn = self._conn
        sock = None if conn is None else conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
