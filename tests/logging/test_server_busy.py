"""The tracking server's 503 "busy" answers: a request that waits too long for
body budget or for a worker slot.

The wait (30 s in a server) is shortened for these tests through the module
constant ``_SLOT_WAIT``; what holds the budget or the slot is a real request,
stalled on purpose and released with events, on a real server on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ml_infra_utils import list_runs
from ml_infra_utils.logging import _server_app
from ml_infra_utils.logging.server import TrackingServer


@pytest.fixture(autouse=True)
def _short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_server_app, "_SLOT_WAIT", 0.2)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TrackingServer]:
    """One worker slot; a budget of one 1000-byte body."""
    with TrackingServer(
        tmp_path, port=0, fsync=False, max_workers=1, max_body=1000
    ) as running:
        yield running


def post(
    server: TrackingServer, payload: object
) -> tuple[int, Any, http.client.HTTPResponse]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/experiments",
            body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read()), response
    finally:
        connection.close()


def assert_busy(status: int, answer: Any, response: http.client.HTTPResponse) -> None:
    assert status == 503
    assert answer == {
        "error": {"status": 503, "message": "the server is busy; retry later"}
    }
    assert response.getheader("Retry-After") == "1"
    assert response.getheader("Connection") == "close"


def test_a_request_waiting_too_long_for_body_budget_gets_503(
    server: TrackingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stalled upload holds the whole body budget: the next request with a
    body waits for budget, then gets 503 'busy' with Retry-After, and nothing
    of it is stored; the stalled upload, once sent, is stored, and then the
    budget serves new requests again."""
    app = server.app
    reserved = threading.Event()
    reserve = app._reserve

    def reserve_and_tell(handler: Any, length: int) -> None:
        reserve(handler, length)
        if length == 1000:
            reserved.set()

    monkeypatch.setattr(app, "_reserve", reserve_and_tell)
    body = b'{"name": "stalled"}'.ljust(1000)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as stalled:
        stalled.sendall(
            b"POST /experiments HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
        )
        assert reserved.wait(10)  # its head is in: the budget is spent
        assert_busy(*post(server, {"name": "refused"}))
        stalled.sendall(body)
        answer = stalled.recv(65536)
    assert answer.startswith(b"HTTP/1.1 201 ")
    assert post(server, {"name": "after"})[0] == 201
    assert sorted(run["experiment"] for run in list_runs(server.runs_dir)) == [
        "after",
        "stalled",
    ]


def test_a_request_waiting_too_long_for_a_worker_slot_gets_503(
    server: TrackingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the only worker slot is held by a request being stored, another
    request whose body has arrived waits for the slot, then gets 503 'busy'
    with Retry-After; the held request then completes."""
    app = server.app
    entered, release = threading.Event(), threading.Event()
    dispatch = app._dispatch

    def held_dispatch(*args: Any, **kwargs: Any) -> Any:
        if not entered.is_set():  # the first request keeps the slot
            entered.set()
            assert release.wait(30)
        return dispatch(*args, **kwargs)

    monkeypatch.setattr(app, "_dispatch", held_dispatch)
    answers: list[int] = []
    holder = threading.Thread(
        target=lambda: answers.append(post(server, {"name": "held"})[0])
    )
    holder.start()
    try:
        assert entered.wait(10)
        assert_busy(*post(server, {"name": "refused"}))
    finally:
        release.set()
        holder.join(30)
    assert answers == [201]
    [run] = list_runs(server.runs_dir)
    assert run["experiment"] == "held"
