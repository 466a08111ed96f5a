"""The tracking server: Tora's HTTP protocol in front of the local run store.

``ml-infra-utils serve`` (or :func:`serve`, or :class:`TrackingServer` in your
own program) accepts runs from the Tora SDK and from our
:class:`~ml_infra_utils.HttpSink`, and stores them in the same local run store
a :class:`~ml_infra_utils.Run` writes: :func:`~ml_infra_utils.list_runs`,
:func:`~ml_infra_utils.load_run` and the command line see remote runs exactly
like local ones. Standard library only (``http.server``), one thread per
connection (at most *max_connections* open: more are answered 503 at once and
closed), HTTP/1.1 keep-alive.

* binds 127.0.0.1 unless told otherwise; with an API key, every request but
  ``GET /health`` needs it (``x-api-key``, compared in constant time) or gets 401;
* a body over *max_body* bytes gets 413, malformed JSON or fields 400 with a
  JSON error body; a request is validated completely before anything is
  written, so nothing is stored partially;
* every record's ``msg_id`` is stored once, also across a restart;
* :meth:`TrackingServer.stop` (and SIGINT/SIGTERM under :func:`serve`) stops
  accepting, lets the requests in progress finish, then closes the store with
  everything written;
* every request is logged on ``ml_infra_utils.logging.server`` with its method,
  path, status, size, duration and client (the command line writes them to
  stderr as JSON lines through :class:`~ml_infra_utils.JsonFormatter`).

The protocol (every endpoint, payload, status code and limit) is
``docs/protocol.md``.

Examples:
    >>> import json, tempfile, urllib.request
    >>> with TrackingServer(tempfile.mkdtemp(), port=0, fsync=False) as server:
    ...     answer = urllib.request.urlopen(server.url + "/health").read()
    >>> json.loads(answer)["status"]
    'ok'
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from ml_infra_utils._errors import InputTypeError, InvalidParameterError

from ._protocol import DEFAULT_MAX_BODY
from ._server_app import DEFAULT_REQUEST_TIMEOUT, App, Handler, HTTPServer
from ._server_conns import DEFAULT_MAX_CONNECTIONS
from ._server_store import RemoteStore
from ._settings import runs_dir_setting
from ._urls import check_api_key

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_PORT", "TrackingServer", "serve"]

DEFAULT_PORT = 8787
_log = logging.getLogger("ml_infra_utils.logging.server")


class TrackingServer:
    """A tracking server on a local run store (see the module docs).

    The socket is bound when the object is made (so ``port=0`` picks a free
    port, readable from :attr:`port` and :attr:`url`); :meth:`start` serves in
    a background thread, :meth:`serve_forever` in the calling one. As a context
    manager it starts and stops.

    Args:
        runs_dir: the store's root; default ``$ML_INFRA_UTILS_RUNS_DIR`` or
            ``./runs``. Created if missing; it must be a writable directory.
        host: the address to bind (default 127.0.0.1: this machine only; use
            0.0.0.0 deliberately, with an API key).
        port: the port (default 8787; 0 for any free one).
        api_key: if given, required on every request but ``GET /health``
            (an empty string is refused: it is not "no key").
        max_body: the largest request body accepted, in bytes (413 above).
        fsync: fsync ``run.json`` on every change and the metrics when a run
            is closed (at :meth:`stop`).
        max_workers: requests handled at once, from a body having fully
            arrived to the answer; more wait for a slot (up to 30 s, then
            503). The bodies in memory are bounded by a budget of
            ``max_workers * max_body`` bytes (64 MiB by default), however
            many clients connect: a request reserves its ``Content-Length``
            from it before reading its body (waiting up to 30 s, then 503).
            A client that sends its body slowly holds only its bytes of the
            budget (up to *request_timeout*), not a slot.
        max_open: runs held open at once (a file descriptor and the ids
            stored, at most about 3.5 MB each); the least recently used is
            closed first and read again from its files when used again.
        request_timeout: seconds a client has to send a request's head and
            body, from its first byte (408 and the connection closed after;
            time spent waiting for body budget is not counted). Between
            requests an idle connection is closed after 120 s.
        max_connections: connections open at once (default 256), each
            holding a thread until it closes, idle keep-alive ones included.
            A connection arriving while that many are open gets no thread: it
            is answered 503 at once (``Retry-After: 1``, ``Connection:
            close``; our clients retry it), its request unread, and closed;
            refusals are logged at WARNING (one line every few seconds at
            most) and counted in :attr:`stats` (``refused``).

    Raises:
        OSError: the address cannot be bound (e.g. the port is in use).
        InputTypeError, InvalidParameterError: a bad argument (also a
            *runs_dir* that is not a writable directory and cannot be made
            one, refused before the socket is bound).
    """

    def __init__(
        self,
        runs_dir: str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        api_key: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        fsync: bool = True,
        max_workers: int = 4,
        max_open: int = 128,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        if isinstance(request_timeout, bool) or not isinstance(
            request_timeout, int | float
        ):
            msg = (
                "request_timeout must be a number of seconds, "
                f"got {type(request_timeout).__name__}"
            )
            raise InputTypeError(msg)
        if not 0 < request_timeout < math.inf:
            msg = f"request_timeout must be > 0 and finite, got {request_timeout}"
            raise InvalidParameterError(msg)
        for value, argument in (
            (port, "port"),
            (max_body, "max_body"),
            (max_workers, "max_workers"),
            (max_open, "max_open"),
            (max_connections, "max_connections"),
        ):
            if isinstance(value, bool) or not isinstance(value, int):
                msg = f"{argument} must be an int, got {type(value).__name__}"
                raise InputTypeError(msg)
        if not 0 <= port <= 65535:
            msg = f"port must be between 0 and 65535, got {port}"
            raise InvalidParameterError(msg)
        if max_body < 1 or max_workers < 1 or max_open < 1:
            msg = (
                "max_body, max_workers and max_open must be >= 1, "
                f"got {max_body}, {max_workers} and {max_open}"
            )
            raise InvalidParameterError(msg)
        if max_connections < 1:
            msg = f"max_connections must be >= 1, got {max_connections}"
            raise InvalidParameterError(msg)
        api_key = check_api_key(api_key, allow_empty=False)
        self.runs_dir = _usable_root(runs_dir_setting(runs_dir))
        self.max_body = max_body
        self._thread: threading.Thread | None = None
        self._serving = False
        server_class: type[HTTPServer] = HTTPServer
        if ":" in host:
            server_class = type(
                "HTTPServer6", (HTTPServer,), {"address_family": socket.AF_INET6}
            )
        self._httpd = server_class((host, port), Handler)
        self.app = App(
            RemoteStore(self.runs_dir, fsync=fsync, max_open=max_open),
            api_key=api_key,
            max_body=max_body,
            max_workers=max_workers,
            address=f"{self.host}:{self.port}",
            request_timeout=float(request_timeout),
            max_connections=max_connections,
        )
        self._httpd.app = self.app

    def __repr__(self) -> str:
        return (
            f"TrackingServer(url={self.url!r}, runs_dir={str(self.runs_dir)!r}, "
            f"api_key={'required' if self.app.key else 'none'})"
        )

    @property
    def store(self) -> RemoteStore:
        """The run store the server writes."""
        return self.app.store

    @property
    def stats(self) -> dict[str, int]:
        """Counts so far: connections, requests, records stored, duplicates,
        and connections refused (over *max_connections*)."""
        return {**self.app.stats, "refused": self.app.connections.refused}

    @property
    def host(self) -> str:
        """The bound address."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """The bound port (the real one when created with ``port=0``)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL clients use, e.g. ``http://127.0.0.1:8787``."""
        host = self.host
        return (
            f"http://[{host}]:{self.port}"
            if ":" in host
            else f"http://{host}:{self.port}"
        )

    # ------------------------------------------------------------ lifecycle
    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` is called from another."""
        self._serving = True
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._serving = False

    def start(self) -> TrackingServer:
        """Serve in a background thread; returns the server."""
        if self._thread is None:
            self._serving = True
            self._thread = threading.Thread(
                target=self.serve_forever, name="ml_infra_utils-server", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop gracefully: refuse new requests, finish those in progress (up to
        *timeout* seconds), then close the store with everything written.
        Idempotent."""
        if not self.app.begin_stop():
            return
        if self._serving:
            self._httpd.shutdown()
        self._httpd.server_close()
        self.app.wait_idle(timeout)
        self.store.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> TrackingServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _usable_root(root: Path) -> Path:
    """*root*, created if missing; refused unless a writable directory.

    Checked before the socket is bound, so a server that would answer 500 to
    every request never starts.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        msg = f"runs_dir {str(root)!r} is not a directory"
        raise InvalidParameterError(msg) from None
    except OSError as exc:
        msg = f"runs_dir {str(root)!r} cannot be created: {exc.strerror or exc}"
        raise InvalidParameterError(msg) from None
    if not root.is_dir():
        msg = f"runs_dir {str(root)!r} is not a directory"
        raise InvalidParameterError(msg)
    if not os.access(root, os.W_OK | os.X_OK):
        msg = f"runs_dir {str(root)!r} is not writable"
        raise InvalidParameterError(msg)
    return root


def serve(
    runs_dir: str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    api_key: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    fsync: bool = True,
    max_open: int = 128,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ready: Callable[[TrackingServer], object] | None = None,
) -> None:
    """Run a :class:`TrackingServer` until SIGINT or SIGTERM; then stop gracefully.

    What ``ml-infra-utils serve`` does. The signal handlers are installed only
    when called from the main thread (and restored at the end); *ready* is
    called with the server once it accepts connections.

    Raises:
        OSError: the address cannot be bound.
        InputTypeError, InvalidParameterError: a bad argument, as for
            :class:`TrackingServer`.
    """
    server = TrackingServer(
        runs_dir,
        host=host,
        port=port,
        api_key=api_key,
        max_body=max_body,
        fsync=fsync,
        max_open=max_open,
        request_timeout=request_timeout,
        max_connections=max_connections,
    )
    stop: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        stop.append(signum)  # no lock: safe whatever the main thread holds

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        server.start()
        _log.info(
            "serving %s on %s",
            server.runs_dir,
            server.url,
            extra={
                "event": "started",
                "url": server.url,
                "port": server.port,
                "runs_dir": str(server.runs_dir),
                "api_key_required": server.app.key is not None,
                "max_body": server.max_body,
                "max_connections": server.app.connections.limit,
                "pid": os.getpid(),
            },
        )
        if ready is not None:
            ready(server)
        while not stop:
            time.sleep(0.1)
        _log.info(
            "stopping on %s", signal.Signals(stop[0]).name, extra={"event": "stopping"}
        )
    finally:
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    _log.info("stopped", extra={"event": "stopped", **server.stats})
