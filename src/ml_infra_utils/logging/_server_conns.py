"""The tracking server's cap on open connections (private; see ``server.py``).

Each connection the server accepts holds a thread until it closes (an idle
keep-alive connection up to 120 s), so their number is what bounds the
server's threads. :class:`ConnectionCap` counts them: :meth:`~ConnectionCap.admit`
takes a place for a new connection (or refuses it when *limit* are open) and
:meth:`~ConnectionCap.release` gives it back when the connection's thread ends,
however it ends. Refusals are logged at WARNING on
``ml_infra_utils.logging.server``, at most one line every few seconds (with
how many were refused meanwhile), so a flood of connections cannot flood the
log too.

Examples:
    >>> cap = ConnectionCap(1)
    >>> cap.admit("127.0.0.1"), cap.admit("127.0.0.1")
    (True, False)
    >>> cap.release()
    >>> cap.admit("127.0.0.1"), cap.open, cap.refused
    (True, 1, 1)
"""

from __future__ import annotations

import logging
import threading
import time

__all__ = ["DEFAULT_MAX_CONNECTIONS", "ConnectionCap"]

DEFAULT_MAX_CONNECTIONS = 256  # connections open at once (a thread each)

_log = logging.getLogger("ml_infra_utils.logging.server")
_WARN_EVERY = 5.0  # seconds between two warnings about refused connections


class ConnectionCap:
    """At most *limit* connections open at once; thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0  # connections admitted and not yet released
        self.refused = 0  # connections refused so far
        self._lock = threading.Lock()
        self._unlogged = 0  # refusals since the last warning
        self._warned: float | None = None  # when the last warning went out

    def admit(self, client: str) -> bool:
        """Take a place for a connection from *client*; False if *limit* are open.

        A refusal is logged (rate-limited): the caller answers 503 and closes.
        """
        with self._lock:
            if self.open < self.limit:
                self.open += 1
                return True
            self.refused += 1
            self._unlogged += 1
            now = time.monotonic()
            if self._warned is not None and now - self._warned < _WARN_EVERY:
                return False
            refused, self._unlogged, self._warned = self._unlogged, 0, now
            open_now = self.open
        _log.warning(
            "refused %d connection(s) with 503: %d open, max_connections=%d "
            "(the last from %s)",
            refused,
            open_now,
            self.limit,
            client,
            extra={
                "event": "refused",
                "status": 503,
                "client": client,
                "refused": refused,
                "max_connections": self.limit,
            },
        )
        return False

    def release(self) -> None:
        """Give back the place of a connection that has closed."""
        with self._lock:
            assert self.open > 0  # noqa: S101 - one release per admitted connection
            self.open -= 1
