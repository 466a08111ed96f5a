"""The request side of the tracking server: routes, key, limits, answers, log.

:class:`App` handles each request of the ``http.server`` machinery
(:class:`HTTPServer` and :class:`Handler`, one thread per connection, at most
*max_connections* of them: :mod:`._server_conns`): checks
the route, the API key and the body's size, validates the payload completely
(:mod:`._payloads`), stores it (:mod:`._server_store`) and answers JSON in one
write. Every request is logged on ``ml_infra_utils.logging.server`` with its
method, path, status, sizes, duration and client. See ``server.py`` for the
public :class:`~ml_infra_utils.logging.server.TrackingServer`.
"""

from __future__ import annotations

import email.utils
import hmac
import http
import http.server
import io
import json
import logging
import socket
import threading
import time
import urllib.parse
from typing import Any

from ml_infra_utils._version import __version__

from ._payloads import (
    parse_experiment,
    parse_json,
    parse_logs,
    parse_run_record,
    parse_workspace,
    tora_view,
)
from ._protocol import API_KEY_HEADER, ProtocolError, run_path
from ._server_conns import DEFAULT_MAX_CONNECTIONS, ConnectionCap
from ._server_store import RemoteStore, valid_run_id

__all__ = ["App", "HTTPServer", "Handler", "send"]

_log = logging.getLogger("ml_infra_utils.logging.server")
# Seconds a request waits for body budget or a worker slot, then 503 (read at
# each wait, so a test can shorten it).
_SLOT_WAIT = 30.0
DEFAULT_REQUEST_TIMEOUT = 60.0  # seconds for a request's head and body


class _DeadlineReader(io.RawIOBase):
    """The connection's bytes, read under the handler's request deadline.

    Between requests a read waits up to ``Handler.timeout`` (an idle
    keep-alive connection); the first bytes of a request start its deadline,
    and from then on a read raises ``TimeoutError`` once the deadline has
    passed, however slowly the client trickles its head and body.
    """

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        handler = self.handler
        sock: socket.socket = handler.connection
        deadline = handler.deadline
        if deadline is None:
            sock.settimeout(handler.timeout)
            n = sock.recv_into(buffer)
            if n:
                handler.deadline = time.monotonic() + handler.server.app.request_timeout
            return n
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            msg = "the request's deadline passed"
            raise TimeoutError(msg)
        sock.settimeout(min(remaining, handler.timeout))
        return sock.recv_into(buffer)


class HTTPServer(http.server.ThreadingHTTPServer):
    """One thread per connection, at most ``app.connections.limit`` of them.

    A connection over the cap gets no thread: it is answered 503 at once from
    the accepting thread and closed, its request unread.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    app: App

    def process_request(self, request: Any, client_address: Any) -> None:
        cap = self.app.connections
        if not cap.admit(str(client_address[0])):
            _refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: nothing else gives it back
            cap.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:  # however the connection ended: closed, failed, timed out
            self.app.connections.release()


def _refuse(sock: socket.socket) -> None:
    """Answer 503 to a connection over the cap and close it, never waiting.

    Runs in the accepting thread, so nothing here may block on the client:
    the answer is one non-blocking send (a new connection's send buffer holds
    it), and the request is not read; only bytes already received are
    dropped, so that closing sends a FIN rather than a reset that could
    destroy the answer before the client reads it.
    """
    status = 503
    body, head = _response(
        status,
        {"error": {"status": status, "message": _REFUSED}},
        server=Handler.server_version,
        date=email.utils.formatdate(usegmt=True),
        headers={"Retry-After": "1"},
        close=True,
    )
    try:
        sock.setblocking(False)
        sock.send(head + body)
        sock.shutdown(socket.SHUT_WR)
        for _ in range(16):  # at most 1 MiB already there, then let it go
            if not sock.recv(1 << 16):
                break
    except OSError:  # would block, or the client went away: nothing to do
        pass
    finally:
        sock.close()


_REFUSED = "too many connections (max_connections); retry later"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"ml-infra-utils/{__version__}"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection or a stalled client
    disable_nagle_algorithm = True  # answers go out at once
    server: HTTPServer
    _body_read = False  # per request: whether the body was read (nothing to drain)
    _bytes_in = 0
    deadline: float | None = None  # per request: when reading it must end

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self.rfile = io.BufferedReader(_DeadlineReader(self))
        self.server.app.connected()

    def handle_one_request(self) -> None:
        self.deadline = None  # started by the request's first bytes
        super().handle_one_request()

    def do_GET(self) -> None:
        self.server.app.serve(self, "GET")

    def do_POST(self) -> None:
        self.server.app.serve(self, "POST")

    def do_PUT(self) -> None:
        self.server.app.serve(self, "PUT")

    def do_DELETE(self) -> None:
        self.server.app.serve(self, "DELETE")

    def do_PATCH(self) -> None:
        self.server.app.serve(self, "PATCH")

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        # http.server's own errors (a malformed request line, a header too
        # long...) as JSON too, and the connection closed.
        del explain
        self.close_connection = True
        send(
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


def send(
    handler: http.server.BaseHTTPRequestHandler,
    status: int,
    payload: object,
    *,
    close: bool = False,
    headers: dict[str, str] | None = None,
) -> int:
    """Answer with a JSON body, head and body in one write (no Nagle delay)."""
    body, head = _response(
        status,
        payload,
        server=handler.version_string(),
        date=handler.date_time_string(),
        headers=headers,
        close=close,
    )
    if close:
        handler.close_connection = True
    try:
        handler.wfile.write(head + body)
    except OSError:  # the client went away; nothing to answer to
        handler.close_connection = True
    return len(body)


def _response(
    status: int,
    payload: object,
    *,
    server: str,
    date: str,
    headers: dict[str, str] | None,
    close: bool,
) -> tuple[bytes, bytes]:
    """The body and the head of a JSON answer."""
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    reason = http.HTTPStatus(status).phrase if status in _PHRASES else ""
    lines = [
        f"HTTP/1.1 {status} {reason}",
        f"Server: {server}",
        f"Date: {date}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if close:
        lines.append("Connection: close")
    return body, "\r\n".join([*lines, "", ""]).encode("latin-1")


_PHRASES = frozenset(int(s) for s in http.HTTPStatus)


class App:
    """What a tracking server does with each request (private; see ``server.py``).

    Thread-safe: the HTTP server calls :meth:`serve` from one thread per
    connection. Before a body is read its ``Content-Length`` bytes are
    reserved from a budget of ``max_workers * max_body`` bytes (so bodies in
    memory stay bounded however many clients upload), and only once it has
    fully arrived does the request take one of *max_workers* slots to decode
    and store it: slow or idle uploads hold budget, not the slots every other
    client needs. A request that waits more than 30 s for budget or a slot
    gets 503 with ``Retry-After``; so does one still waiting when the server
    stops. :attr:`connections` caps the connections open at once (see
    :class:`HTTPServer`).
    """

    def __init__(
        self,
        store: RemoteStore,
        *,
        api_key: str | None,
        max_body: int,
        max_workers: int,
        address: str,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.store = store
        self.connections = ConnectionCap(max_connections)
        self.max_body = max_body
        self.request_timeout = request_timeout
        self.address = address  # host:port for URLs when a request has no Host
        self.key = None if api_key is None else api_key.encode("utf-8")
        self._slots = threading.BoundedSemaphore(max_workers)
        self._budget = max_workers * max_body  # bytes of bodies in memory at most
        self._reserved = 0
        self._cond = threading.Condition()
        self._busy = 0
        self._stopping = False
        self.stats = {"connections": 0, "requests": 0, "stored": 0, "duplicates": 0}

    def begin_stop(self) -> bool:
        """Refuse new requests (503); False if that had begun already."""
        with self._cond:
            if self._stopping:
                return False
            self._stopping = True
            self._cond.notify_all()  # requests waiting for budget answer 503
            return True

    def wait_idle(self, timeout: float) -> None:
        """Wait up to *timeout* seconds for the requests in progress."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._busy == 0, timeout):
                _log.error(
                    "%d requests still running after %.3g s", self._busy, timeout
                )

    def connected(self) -> None:
        with self._cond:
            self.stats["connections"] += 1

    def serve(self, handler: Handler, method: str) -> None:
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
            sent = send(handler, status, payload)
        except ProtocolError as exc:
            status = exc.status
            try:
                self._discard_body(handler)
            except Exception:  # the answer must still go out; then close
                _log.exception("could not drop the body of %s", method)
                handler.close_connection = True
            headers = {"Retry-After": "1"} if status == 503 else {}
            if status == 405:
                headers["Allow"] = info.get("allow", "")
            sent = send(
                handler,
                status,
                {"error": {"status": status, "message": exc.message}},
                close=status in (503, 411, 413) or handler.close_connection,
                headers=headers,
            )
        except Exception:
            status = 500
            _log.exception("internal error in %s %s", method, handler.path)
            sent = send(
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
        self, handler: Handler, method: str, info: dict[str, Any]
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
        # The body's bytes are reserved from the memory budget, then the body
        # is read (under the request's deadline), and only then is a worker
        # slot taken: a slow upload holds budget, never a slot.
        length = self._checked_length(handler) if method in ("POST", "PUT") else 0
        self._reserve(handler, length)
        try:
            body = (
                self._read_body(handler, length) if method in ("POST", "PUT") else b""
            )
            if not self._slots.acquire(timeout=_SLOT_WAIT):
                raise ProtocolError(503, "the server is busy; retry later")
            try:
                if self._stopping:
                    raise ProtocolError(503, "the server is shutting down")
                return self._dispatch(
                    route, method, run_id, body, handler=handler, info=info
                )
            finally:
                self._slots.release()
        finally:
            with self._cond:
                self._reserved -= length
                self._cond.notify_all()

    def _reserve(self, handler: Handler, length: int) -> None:
        """Reserve *length* bytes of the body budget (503 after 30 s or on stop)."""
        waited = time.monotonic()
        with self._cond:
            self._cond.wait_for(
                lambda: self._stopping or self._reserved + length <= self._budget,
                _SLOT_WAIT,
            )
            if self._stopping:
                raise ProtocolError(503, "the server is shutting down")
            if self._reserved + length > self._budget:
                raise ProtocolError(503, "the server is busy; retry later")
            self._reserved += length
        if handler.deadline is not None:  # the wait is the server's, not the client's
            handler.deadline += time.monotonic() - waited

    def _dispatch(
        self,
        route: str,
        method: str,
        run_id: str | None,
        body: bytes,
        *,
        handler: Handler,
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

    def _run_url(self, handler: Handler, run_id: str) -> str:
        host = handler.headers.get("Host") or self.address
        return f"http://{host}{run_path(run_id)}"

    def _authorized(self, handler: Handler) -> bool:
        if self.key is None:
            return True
        given = handler.headers.get(API_KEY_HEADER)
        if given is None:
            auth = handler.headers.get("Authorization", "")
            given = auth[7:] if auth[:7].lower() == "bearer " else None
        if given is None:
            return False
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self.key)

    def _length(self, handler: Handler) -> int | None:
        if handler.headers.get("Transfer-Encoding"):
            return None
        raw = handler.headers.get("Content-Length")
        if raw is None:
            return None
        raw = raw.strip()
        # ASCII digits only: "²".isdigit() holds (headers are latin-1) but
        # int("²") raises.
        if not (raw.isascii() and raw.isdigit()):
            return None
        return int(raw)

    def _checked_length(self, handler: Handler) -> int:
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
        return length

    def _read_body(self, handler: Handler, length: int) -> bytes:
        try:
            body = handler.rfile.read(length)
        except TimeoutError:
            handler.close_connection = True
            handler._body_read = True  # nothing to drain: the connection closes
            msg = (
                f"the request was not received within {self.request_timeout:g} s "
                "(head and body)"
            )
            raise ProtocolError(408, msg) from None
        if len(body) != length:
            handler.close_connection = True
            raise ProtocolError(
                400, f"the body ended after {len(body)} of {length} bytes"
            )
        handler._body_read = True
        handler._bytes_in = length
        return body

    def _discard_body(self, handler: Handler) -> None:
        """Read and drop a body we did not want, so the client sees our answer."""
        if handler._body_read or handler.command not in (
            "POST",
            "PUT",
            "PATCH",
            "DELETE",
        ):
            return
        length = self._length(handler)
        if length is None or length > self.max_body:  # closed, not read
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
