"""The tracking server: Tora's HTTP protocol in front of the local run store.

``ml-infra-utils serve`` (or :func:`serve`, or :class:`TrackingServer` in your
own program) accepts runs from the Tora SDK and from our
:class:`~ml_infra_utils.HttpSink`, and stores them in the same local run store
a :class:`~ml_infra_utils.Run` writes: :func:`~ml_infra_utils.list_runs`,
:func:`~ml_infra_utils.load_run` and the command line see remote runs exactly
like local ones. Standard library only (``http.server``), one thread per
connection, HTTP/1.1 keep-alive.

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

import hmac
import http
import http.server
import json
import logging
import os
import signal
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from ml_infra_utils._errors import InputTypeError, InvalidParameterError
from ml_infra_utils._version import __version__

from ._protocol import (
    API_KEY_HEADER,
    DEFAULT_MAX_BODY,
    ProtocolError,
    parse_experiment,
    parse_json,
    parse_logs,
    parse_run_record,
    parse_workspace,
    run_path,
    tora_view,
)
from ._server_store import RemoteStore, valid_run_id
from ._settings import runs_dir_setting

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_PORT", "TrackingServer", "serve"]

DEFAULT_PORT = 8787
_log = logging.getLogger("ml_infra_utils.logging.server")
_DRAIN_LIMIT = 64 * 1024 * 1024  # an unwanted body up to this is read and dropped


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    app: TrackingServer


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"ml-infra-utils/{__version__}"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection or a stalled client
    disable_nagle_algorithm = True  # answers go out at once
    server: _HTTPServer
    _body_read = False  # per request: whether the body was read (nothing to drain)
    _bytes_in = 0

    def setup(self) -> None:
        super().setup()
        self.server.app._connected()

    def do_GET(self) -> None:
        self.server.app._serve(self, "GET")

    def do_POST(self) -> None:
        self.server.app._serve(self, "POST")

    def do_PUT(self) -> None:
        self.server.app._serve(self, "PUT")

    def do_DELETE(self) -> None:
        self.server.app._serve(self, "DELETE")

    def do_PATCH(self) -> None:
        self.server.app._serve(self, "PATCH")

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        # http.server's own errors (a malformed request line, a header too
        # long...) as JSON too, and the connection closed.
        del explain
        self.close_connection = True
        _send(
            self,
            code,
            {"error": {"status": code, "message": message or ""}},
            close=True,
        )
        _log.warning(
            "%d %s",
            code,
            message,
            extra={"status": code, "client": self.client_address[0]},
        )

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        _log.debug(format, *args)


def _send(
    handler: http.server.BaseHTTPRequestHandler,
    status: int,
    payload: object,
    *,
    close: bool = False,
    headers: dict[str, str] | None = None,
) -> int:
    """Answer with a JSON body, head and body in one write (no Nagle delay)."""
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    reason = http.HTTPStatus(status).phrase if status in _PHRASES else ""
    lines = [
        f"HTTP/1.1 {status} {reason}",
        f"Server: {handler.version_string()}",
        f"Date: {handler.date_time_string()}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if close:
        lines.append("Connection: close")
        handler.close_connection = True
    head = "\r\n".join([*lines, "", ""]).encode("latin-1")
    try:
        handler.wfile.write(head + body)
    except OSError:  # the client went away; nothing to answer to
        handler.close_connection = True
    return len(body)


_PHRASES = frozenset(int(s) for s in http.HTTPStatus)


class TrackingServer:
    """A tracking server on a local run store (see the module docs).

    The socket is bound when the object is made (so ``port=0`` picks a free
    port, readable from :attr:`port` and :attr:`url`); :meth:`start` serves in
    a background thread, :meth:`serve_forever` in the calling one. As a context
    manager it starts and stops.

    Args:
        runs_dir: the store's root; default ``$ML_INFRA_UTILS_RUNS_DIR`` or
            ``./runs``.
        host: the address to bind (default 127.0.0.1: this machine only; use
            0.0.0.0 deliberately, with an API key).
        port: the port (default 8787; 0 for any free one).
        api_key: if given, required on every request but ``GET /health``.
        max_body: the largest request body accepted, in bytes (413 above).
        fsync: fsync ``run.json`` on every change and the metrics when a run
            is closed (at :meth:`stop`).
        max_workers: requests handled at once (more wait); bounds memory.

    Raises:
        OSError: the address cannot be bound (e.g. the port is in use).
        InputTypeError, InvalidParameterError: a bad argument.
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
    ) -> None:
        for value, argument in (
            (port, "port"),
            (max_body, "max_body"),
            (max_workers, "max_workers"),
        ):
            if isinstance(value, bool) or not isinstance(value, int):
                msg = f"{argument} must be an int, got {type(value).__name__}"
                raise InputTypeError(msg)
        if not 0 <= port <= 65535:
            msg = f"port must be between 0 and 65535, got {port}"
            raise InvalidParameterError(msg)
        if max_body < 1 or max_workers < 1:
            msg = (
                "max_body and max_workers must be >= 1, "
                f"got {max_body} and {max_workers}"
            )
            raise InvalidParameterError(msg)
        given: object = api_key  # users without a type checker pass anything
        if given is not None and (not isinstance(given, str) or not given):
            msg = "api_key must be a non-empty string or None"
            raise InvalidParameterError(msg)
        self.runs_dir = runs_dir_setting(runs_dir)
        self.max_body = max_body
        self._key = None if api_key is None else api_key.encode("utf-8")
        self.store = RemoteStore(self.runs_dir, fsync=fsync)
        self._slots = threading.BoundedSemaphore(max_workers)
        self._cond = threading.Condition()
        self._busy = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._serving = False
        self.stats = {"connections": 0, "requests": 0, "stored": 0, "duplicates": 0}
        server_class: type[_HTTPServer] = _HTTPServer
        if ":" in host:
            server_class = type(
                "_HTTPServer6", (_HTTPServer,), {"address_family": socket.AF_INET6}
            )
        self._httpd = server_class((host, port), _Handler)
        self._httpd.app = self

    def __repr__(self) -> str:
        return (
            f"TrackingServer(url={self.url!r}, runs_dir={str(self.runs_dir)!r}, "
            f"api_key={'required' if self._key else 'none'})"
        )

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
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
        if self._serving:
            self._httpd.shutdown()
        self._httpd.server_close()
        with self._cond:
            if not self._cond.wait_for(lambda: self._busy == 0, timeout):
                _log.error(
                    "%d requests still running after %.3g s", self._busy, timeout
                )
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

    # ------------------------------------------------------------ requests
    def _connected(self) -> None:
        with self._cond:
            self.stats["connections"] += 1

    def _serve(self, handler: _Handler, method: str) -> None:
        start = time.perf_counter()
        handler._body_read = False
        handler._bytes_in = 0
        with self._cond:
            stopping = self._stopping
            if not stopping:
                self._busy += 1
            self.stats["requests"] += 1
        status, sent = 500, 0
        info: dict[str, Any] = {}
        try:
            if stopping:
                raise ProtocolError(503, "the server is shutting down")
            status, payload = self._answer(handler, method, info)
            sent = _send(handler, status, payload)
        except ProtocolError as exc:
            status = exc.status
            self._discard_body(handler)
            headers = {"Retry-After": "1"} if status == 503 else {}
            if status == 405:
                headers["Allow"] = info.get("allow", "")
            sent = _send(
                handler,
                status,
                {"error": {"status": status, "message": exc.message}},
                close=status in (503, 411, 413) or handler.close_connection,
                headers=headers,
            )
        except Exception:
            status = 500
            _log.exception("internal error in %s %s", method, handler.path)
            sent = _send(
                handler,
                500,
                {
                    "error": {
                        "status": 500,
                        "message": "internal error (see the server log)",
                    }
                },
                close=True,
            )
        finally:
            if not stopping:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()
            _log.info(
                "%s %s %d",
                method,
                handler.path,
                status,
                extra={
                    "method": method,
                    "path": handler.path[:300],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                    "bytes_in": handler._bytes_in,
                    "bytes_out": sent,
                    "client": handler.client_address[0],
                    **{k: v for k, v in info.items() if k != "allow"},
                },
            )

    def _answer(
        self, handler: _Handler, method: str, info: dict[str, Any]
    ) -> tuple[int, object]:
        route, run_id = _route(urllib.parse.urlsplit(handler.path).path)
        if route == "health":
            _allow(method, "GET", info)
            return 200, {"status": "ok", "version": __version__}
        if not self._authorized(handler):
            raise ProtocolError(401, f"a valid {API_KEY_HEADER} header is required")
        allowed = {
            "experiments": "POST",
            "workspaces": "POST",
            "run": "GET, PUT",
            "logs": "POST",
        }
        _allow(method, allowed[route], info)
        body = self._read_body(handler) if method in ("POST", "PUT") else b""
        with self._slots:
            return self._dispatch(
                route, method, run_id, body, handler=handler, info=info
            )

    def _dispatch(
        self,
        route: str,
        method: str,
        run_id: str | None,
        body: bytes,
        *,
        handler: _Handler,
        info: dict[str, Any],
    ) -> tuple[int, object]:
        store = self.store
        if route == "experiments":
            record = store.create(
                parse_experiment(parse_json(body)), host=handler.client_address[0]
            )
            info["run"] = record["id"]
            return 201, {
                "data": tora_view(record, self._run_url(handler, record["id"]))
            }
        if route == "workspaces":
            name, description = parse_workspace(parse_json(body))
            return 201, {"data": store.create_workspace(name, description)}
        assert run_id is not None  # noqa: S101 - the router gives one
        info["run"] = run_id
        if route == "logs":
            logs = parse_logs(
                parse_json(body),
                now_ms=time.time_ns() // 1_000_000,
                known_names=store.names,
            )
            stored, duplicates = store.append(run_id, logs)
            with self._cond:
                self.stats["stored"] += stored
                self.stats["duplicates"] += duplicates
            info.update(records=len(logs), stored=stored, duplicates=duplicates)
            return 200, {
                "data": {
                    "received": len(logs),
                    "stored": stored,
                    "duplicates": duplicates,
                }
            }
        if method == "PUT":
            record, created = store.put(parse_run_record(parse_json(body), run_id))
            return (201 if created else 200), {
                "data": tora_view(record, self._run_url(handler, run_id))
            }
        return 200, {
            "data": tora_view(store.info(run_id), self._run_url(handler, run_id))
        }

    def _run_url(self, handler: _Handler, run_id: str) -> str:
        host = handler.headers.get("Host") or f"{self.host}:{self.port}"
        return f"http://{host}{run_path(run_id)}"

    def _authorized(self, handler: _Handler) -> bool:
        if self._key is None:
            return True
        given = handler.headers.get(API_KEY_HEADER)
        if given is None:
            auth = handler.headers.get("Authorization", "")
            given = auth[7:] if auth[:7].lower() == "bearer " else None
        if given is None:
            return False
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._key)

    def _length(self, handler: _Handler) -> int | None:
        if handler.headers.get("Transfer-Encoding"):
            return None
        raw = handler.headers.get("Content-Length")
        if raw is None or not raw.strip().isdigit():
            return None
        return int(raw)

    def _read_body(self, handler: _Handler) -> bytes:
        length = self._length(handler)
        if length is None:
            handler.close_connection = True
            raise ProtocolError(
                411, "a Content-Length header is required (no chunked bodies)"
            )
        if length > self.max_body:
            msg = (
                f"the body has {length} bytes; the limit is {self.max_body} "
                "(send smaller batches)"
            )
            raise ProtocolError(413, msg)
        body = handler.rfile.read(length)
        if len(body) != length:
            handler.close_connection = True
            raise ProtocolError(
                400, f"the body ended after {len(body)} of {length} bytes"
            )
        handler._body_read = True
        handler._bytes_in = length
        return body

    def _discard_body(self, handler: _Handler) -> None:
        """Read and drop a body we did not want, so the client sees our answer."""
        if handler._body_read or handler.command not in (
            "POST",
            "PUT",
            "PATCH",
            "DELETE",
        ):
            return
        length = self._length(handler)
        if length is None or length > _DRAIN_LIMIT:
            handler.close_connection = True
            return
        remaining = length
        try:
            while remaining:
                chunk = handler.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
        except OSError:
            handler.close_connection = True
        handler._bytes_in = length - remaining


def _route(path: str) -> tuple[str, str | None]:
    parts = path.strip("/").split("/")
    if parts == ["health"]:
        return "health", None
    if parts == ["experiments"]:
        return "experiments", None
    if parts == ["workspaces"]:
        return "workspaces", None
    if len(parts) in (2, 4) and parts[0] == "experiments":
        run_id = urllib.parse.unquote(parts[1])
        if len(parts) == 4 and parts[2:] != ["logs", "batch"]:
            raise ProtocolError(404, f"no such endpoint: {path[:200]}")
        if not valid_run_id(run_id):
            raise ProtocolError(404, f"experiment {run_id[:200]!r} not found")
        return ("logs" if len(parts) == 4 else "run"), run_id
    raise ProtocolError(404, f"no such endpoint: {path[:200]}")


def _allow(method: str, allowed: str, info: dict[str, Any]) -> None:
    if method not in allowed.split(", "):
        info["allow"] = allowed
        raise ProtocolError(405, f"{method} is not allowed here (allowed: {allowed})")


def serve(
    runs_dir: str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    api_key: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    fsync: bool = True,
    ready: Callable[[TrackingServer], object] | None = None,
) -> None:
    """Run a :class:`TrackingServer` until SIGINT or SIGTERM; then stop gracefully.

    What ``ml-infra-utils serve`` does. The signal handlers are installed only
    when called from the main thread (and restored at the end); *ready* is
    called with the server once it accepts connections.

    Raises:
        OSError: the address cannot be bound.
    """
    server = TrackingServer(
        runs_dir, host=host, port=port, api_key=api_key, max_body=max_body, fsync=fsync
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
                "api_key_required": server._key is not None,
                "max_body": server.max_body,
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
