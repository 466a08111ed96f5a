"""The tracking server's cap on open connections (``max_connections``).

Real servers on 127.0.0.1 (port 0); connections are held open with
``http.client`` (kept alive) or raw sockets.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ml_infra_utils import (
    InputTypeError,
    InvalidParameterError,
    Run,
    list_runs,
    load_run,
)
from ml_infra_utils.logging import _server_conns
from ml_infra_utils.logging.server import TrackingServer, serve


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def refusals(self) -> list[logging.LogRecord]:
        return [r for r in self.records if getattr(r, "event", None) == "refused"]


@pytest.fixture
def server_log() -> Iterator[_Records]:
    """The records of the server's logger (whatever other tests did to it)."""
    logger = logging.getLogger("ml_infra_utils.logging.server")
    handler = _Records()
    level, disabled = logger.level, logger.disabled
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.disabled = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TrackingServer]:
    with TrackingServer(
        tmp_path / "runs", port=0, fsync=False, max_connections=2
    ) as running:
        yield running


def kept_alive(server: TrackingServer) -> http.client.HTTPConnection:
    """A connection that got an answer and stays open (so it holds a place)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/health")
    response = connection.getresponse()
    response.read()
    assert response.status == 200
    assert not response.will_close
    return connection


def refused_answer(server: TrackingServer, request: bytes = b"") -> bytes:
    """Everything a new raw connection receives until the server closes it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        if request:
            sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):  # b"": closed by the server
            data += chunk
    return data


def parse(answer: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    assert int(headers["Content-Length"]) == len(body)
    return int(status_line.split()[1]), headers, json.loads(body)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll *condition* (the server's own state) for up to 10 s."""
    end = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


def handler_threads() -> int:
    return sum(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    )


def test_a_connection_over_the_cap_gets_503_at_once_and_is_closed(
    server: TrackingServer, server_log: _Records
) -> None:
    """With two idle kept-alive connections open, a third is answered 503 with
    Retry-After and Connection: close, a JSON error body like every other, and
    closed without the server waiting for (or reading) a request."""
    held = [kept_alive(server), kept_alive(server)]
    try:
        # No request sent: the answer comes anyway and then the end of stream.
        status, headers, body = parse(refused_answer(server))
        assert status == 503
        assert headers["Retry-After"] == "1"
        assert headers["Connection"] == "close"
        assert headers["Content-Type"] == "application/json"
        assert body["error"]["status"] == 503
        assert "max_connections" in body["error"]["message"]
        # An HTTP client sending a request reads the same answer. (One still
        # sending a body when the connection closes may see it reset instead:
        # the body is not read. Our client retries both.)
        refused = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        refused.request("GET", "/health")
        response = refused.getresponse()
        assert (response.status, response.getheader("Retry-After")) == (503, "1")
        assert json.loads(response.read())["error"]["status"] == 503
        refused.close()
        # The held connections are still served.
        for connection in held:
            connection.request("GET", "/health")
            assert connection.getresponse().read()
    finally:
        for connection in held:
            connection.close()
    assert server.stats["refused"] == 2
    assert server.stats["connections"] == 2  # refused ones never reach a handler
    [warning, *_] = server_log.refusals()
    assert warning.levelno == logging.WARNING
    assert warning.name == "ml_infra_utils.logging.server"
    assert warning.__dict__["max_connections"] == 2
    assert warning.__dict__["client"] == "127.0.0.1"
    assert "503" in warning.getMessage()


def test_a_place_frees_when_a_connection_closes(server: TrackingServer) -> None:
    """After one of the two held connections closes, a new one is served."""
    first, second = kept_alive(server), kept_alive(server)
    assert parse(refused_answer(server))[0] == 503
    first.close()
    wait_for(lambda: server.app.connections.open < 2, "the closed one to count")
    third = kept_alive(server)
    third.close()
    second.close()


def test_refused_connections_start_no_thread(
    server: TrackingServer, server_log: _Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refusing 30 connections starts no handler thread, and a burst of
    refusals is logged as one warning (then one counting the rest)."""
    monkeypatch.setattr(_server_conns, "_WARN_EVERY", 3600.0)
    held = [kept_alive(server), kept_alive(server)]
    try:
        threads = handler_threads()
        assert threads >= 2
        for _ in range(30):
            answer = refused_answer(server, b"GET /health HTTP/1.1\r\n\r\n")
            assert parse(answer)[0] == 503
            assert handler_threads() <= threads
        assert len(server_log.refusals()) == 1
        monkeypatch.setattr(_server_conns, "_WARN_EVERY", 0.0)
        assert parse(refused_answer(server))[0] == 503
    finally:
        for connection in held:
            connection.close()
    first, last = server_log.refusals()
    assert first.__dict__["refused"] == 1
    assert last.__dict__["refused"] == 30  # 29 held back, and this one
    assert server.stats["refused"] == 31


def test_every_way_a_connection_ends_gives_its_place_back(tmp_path: Path) -> None:
    """Connections closed by the client, cut for a malformed request, for a
    request not sent within the deadline, or answered 'shutting down': the
    count returns to zero each time, and two new connections are served."""
    with TrackingServer(
        tmp_path, port=0, fsync=False, max_connections=2, request_timeout=0.3
    ) as server:
        cap = server.app.connections
        for _ in range(2):  # closed by the client
            kept_alive(server).close()
        wait_for(lambda: cap.open == 0, "closed connections")
        for _ in range(2):  # a malformed request line: 400 and closed
            answer = refused_answer(server, b"NONSENSE\r\n\r\n")
            assert parse(answer)[0] == 400
        wait_for(lambda: cap.open == 0, "malformed requests")
        stalled = [  # a head that never ends: cut off at the deadline
            socket.create_connection(("127.0.0.1", server.port), timeout=10)
            for _ in range(2)
        ]
        for sock in stalled:
            sock.sendall(b"GET /health HTTP/1.1\r\nX-A: b")
            assert sock.recv(100) == b""  # closed by the server
            sock.close()
        wait_for(lambda: cap.open == 0, "timed out requests")
        held = [kept_alive(server), kept_alive(server)]
        assert parse(refused_answer(server))[0] == 503
        server.stop()
        for connection in held:  # still open; told the server is stopping
            connection.request("GET", "/experiments/x")
            response = connection.getresponse()
            assert response.status == 503
            assert b"shutting down" in response.read()
            connection.close()
        wait_for(lambda: cap.open == 0, "connections after stop")
    assert server.stats["refused"] == 1


def test_a_run_logging_to_a_full_server_retries_until_it_is_served(
    server: TrackingServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our HTTP sink takes the refusal (503 or the connection cut) as
    retryable: once a place frees, the whole run arrives."""
    for name in ("TRACKING_URL", "API_KEY", "RUNS_DIR"):
        monkeypatch.delenv(f"ML_INFRA_UTILS_{name}", raising=False)
    held = [kept_alive(server), kept_alive(server)]
    with Run("full", tracking_url=server.url, runs_dir=tmp_path / "client") as run:
        try:
            for step in range(10):
                run.metric("loss", step)
            wait_for(lambda: server.stats["refused"] >= 1, "a refusal")
        finally:
            for connection in held:
                connection.close()
    [stored] = list_runs(server.runs_dir)
    data = load_run(stored["path"])
    assert data["metrics"]["loss"]["steps"] == list(range(10))
    assert data["status"] == "finished"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, InvalidParameterError),
        (-1, InvalidParameterError),
        (2.0, InputTypeError),
        ("2", InputTypeError),
        (True, InputTypeError),
    ],
)
def test_bad_max_connections_are_refused(
    tmp_path: Path, value: object, error: type[Exception]
) -> None:
    """max_connections must be an int >= 1; the message names it."""
    with pytest.raises(error, match="max_connections"):
        TrackingServer(tmp_path, port=0, max_connections=value)  # type: ignore[arg-type]


def test_a_thread_that_cannot_start_gives_its_place_back(
    server: TrackingServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """When no thread can be started for a connection (the system's limit),
    the connection is closed and its place is not lost."""
    real = socketserver.ThreadingMixIn.process_request
    failures = [RuntimeError("can't start new thread")]

    def process_request(self: Any, request: Any, client_address: Any) -> None:
        if failures:
            raise failures.pop()
        real(self, request, client_address)

    monkeypatch.setattr(socketserver.ThreadingMixIn, "process_request", process_request)
    assert refused_answer(server, b"GET /health HTTP/1.1\r\n\r\n") == b""
    assert server.app.connections.open == 0
    assert "can't start new thread" in capsys.readouterr().err  # socketserver's report
    kept_alive(server).close()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_serve_passes_max_connections_and_stops_on_sigint(tmp_path: Path) -> None:
    """serve(max_connections=3): the server it runs has the cap; ready() is
    called once it accepts connections; SIGINT stops it."""
    seen: list[int] = []

    def ready(server: TrackingServer) -> None:
        seen.append(server.app.connections.limit)
        kept_alive(server).close()
        os.kill(os.getpid(), signal.SIGINT)

    previous = signal.getsignal(signal.SIGINT)
    serve(tmp_path, port=0, fsync=False, max_connections=3, ready=ready)
    assert seen == [3]
    assert signal.getsignal(signal.SIGINT) is previous
