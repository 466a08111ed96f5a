"""The tracking server: endpoints, auth, limits, errors, each record once, stopping.

Every test talks to a real TrackingServer on 127.0.0.1 (port 0) with
``http.client`` or a raw socket, and reads the results back with the store's
own readers.
"""

from __future__ import annotations

import http.client
import io
import itertools
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_infra_utils import (
    InputTypeError,
    InvalidParameterError,
    JsonFormatter,
    list_runs,
    load_run,
)
from ml_infra_utils.logging._payloads import parse_experiment
from ml_infra_utils.logging._protocol import ProtocolError
from ml_infra_utils.logging._server_store import SeqRanges
from ml_infra_utils.logging.server import TrackingServer

KEY = "s3rver-key"


class Client:
    """A kept-alive http.client connection with JSON in and out."""

    def __init__(self, server: TrackingServer, key: str | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        self.key = key

    def __call__(
        self,
        method: str,
        path: str,
        payload: object = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, http.client.HTTPResponse]:
        all_headers = {"Content-Type": "application/json"}
        if self.key is not None:
            all_headers["x-api-key"] = self.key
        all_headers.update(headers or {})
        body = (
            raw
            if raw is not None
            else (None if payload is None else json.dumps(payload).encode())
        )
        self.conn.request(method, path, body=body, headers=all_headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None, response

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TrackingServer]:
    with TrackingServer(tmp_path / "runs", port=0, fsync=False) as running:
        yield running


@pytest.fixture
def client(server: TrackingServer) -> Iterator[Client]:
    connection = Client(server)
    yield connection
    connection.close()


def logs(run_id: str, n: int, *, start: int = 0, name: str = "loss") -> dict[str, Any]:
    """A logs/batch payload of our own client's shape: ids <run>:<seq>."""
    return {
        "logs": [
            {
                "name": name,
                "msg_id": f"{run_id}:{i}",
                "value": i / 2,
                "step": i,
                "timestamp": 1000 + i,
                "metadata": {"type": "metric"},
            }
            for i in range(start, start + n)
        ]
    }


def create(client: Client, **fields: Any) -> str:
    status, answer, _ = client("POST", "/experiments", {"name": "exp", **fields})
    assert status == 201, answer
    return str(answer["data"]["id"])


def only_run(root: Path) -> dict[str, Any]:
    runs = list_runs(root)
    assert len(runs) == 1
    return load_run(runs[0]["path"])


# ---------------------------------------------------------------- endpoints
def test_health_answers_without_a_key(tmp_path: Path) -> None:
    """GET /health needs no key (a liveness probe reveals nothing)."""
    with TrackingServer(tmp_path, port=0, api_key=KEY, fsync=False) as server:
        connection = Client(server)
        status, answer, _ = connection("GET", "/health")
        connection.close()
    assert status == 200
    assert answer["status"] == "ok"


def test_a_tora_experiment_is_a_run_of_the_store(
    server: TrackingServer, client: Client
) -> None:
    """POST /experiments creates a running run; the answer has Tora's id and url."""
    status, answer, _ = client(
        "POST",
        "/experiments",
        {
            "name": "mnist",
            "description": "first try",
            "hyperparams": [{"key": "lr", "value": 0.01}],
            "tags": ["baseline"],
        },
    )
    assert status == 201
    data = answer["data"]
    assert data["url"] == f"http://127.0.0.1:{server.port}/experiments/{data['id']}"
    run = only_run(server.runs_dir)
    assert run["id"] == data["id"]
    assert run["experiment"] == "mnist"
    assert run["status"] == "running"
    assert run["params"] == {"lr": 0.01}
    assert run["tags"] == {"baseline": ""}
    assert run["description"] == "first try"
    assert run["host"] == "127.0.0.1"
    status, answer, _ = client("GET", f"/experiments/{data['id']}")
    assert status == 200
    assert answer["data"]["hyperparams"] == [{"key": "lr", "value": 0.01}]
    assert answer["data"]["tags"] == ["baseline"]


def test_logs_are_stored_as_metrics_and_results(
    server: TrackingServer, client: Client
) -> None:
    """Metrics go to metrics.jsonl (with msg_id), results to run.json."""
    run_id = create(client)
    payload = logs(run_id, 3)
    payload["logs"].append(
        {"name": "acc", "msg_id": "m", "value": "NaN", "step": None,
         "metadata": {"type": "result"}}
    )  # fmt: skip
    status, answer, _ = client("POST", f"/experiments/{run_id}/logs/batch", payload)
    assert status == 200
    assert answer["data"] == {"received": 4, "stored": 4, "duplicates": 0}
    run = only_run(server.runs_dir)
    assert run["metrics"]["loss"] == {
        "steps": [0, 1, 2],
        "values": [0.0, 0.5, 1.0],
        "timestamps": [1000, 1001, 1002],
    }
    assert list(run["results"]) == ["acc"]
    line = Path(run["path"], "metrics.jsonl").read_text().splitlines()[0]
    assert json.loads(line)["msg_id"] == f"{run_id}:0"


def test_metrics_without_a_step_take_the_next_step(
    server: TrackingServer, client: Client
) -> None:
    """Tora's log_metrics(step=None): each name counts on from its highest step."""
    run_id = create(client)
    path = f"/experiments/{run_id}/logs/batch"

    def stepless(*names: str) -> dict[str, Any]:
        return {
            "logs": [
                {"name": n, "msg_id": str(uuid.uuid4()), "value": 1, "step": None}
                for n in names
            ]
        }

    client("POST", path, logs(run_id, 2, start=5))  # loss: steps 5 and 6
    client("POST", path, stepless("loss", "new", "new"))
    client("POST", path, stepless("loss"))
    run = only_run(server.runs_dir)
    assert run["metrics"]["loss"]["steps"] == [5, 6, 7, 8]
    assert run["metrics"]["new"]["steps"] == [0, 1]


def test_put_creates_then_updates_a_run_with_the_clients_id(
    server: TrackingServer, client: Client
) -> None:
    """PUT /experiments/{id}: 201 with a new id, 200 after; results merge."""
    record = {
        "id": "20260101-000000-aaaaaaaa",
        "experiment": "mine",
        "status": "running",
        "params": {"lr": 1},
        "results": {"a": 1},
        "start_time": "2026-01-01T00:00:00+00:00",
    }
    status, answer, _ = client("PUT", f"/experiments/{record['id']}", {"run": record})
    assert status == 201
    assert answer["data"]["id"] == record["id"]
    finished = record | {"status": "finished", "results": {"b": 2}}
    status, _, _ = client("PUT", f"/experiments/{record['id']}", {"run": finished})
    assert status == 200
    run = only_run(server.runs_dir)
    assert run["status"] == "finished"
    assert run["results"] == {"a": 1, "b": 2}
    moved = record | {"experiment": "other"}
    status, answer, _ = client("PUT", f"/experiments/{record['id']}", {"run": moved})
    assert status == 409
    assert "belongs to experiment 'mine'" in answer["error"]["message"]


def test_workspaces_are_created_and_checked(
    server: TrackingServer, client: Client
) -> None:
    """POST /workspaces gives an id; experiments in unknown workspaces are 404."""
    status, answer, _ = client(
        "POST", "/workspaces", {"name": "team", "description": None}
    )
    assert status == 201
    workspace = answer["data"]["id"]
    assert answer["data"]["name"] == "team"
    create(client, workspaceId=workspace)
    assert only_run(server.runs_dir)["workspace_id"] == workspace
    status, answer, _ = client(
        "POST", "/experiments", {"name": "x", "workspaceId": "nope"}
    )
    assert status == 404
    assert "workspace 'nope' not found" in answer["error"]["message"]


# ---------------------------------------------------------------- each record once
def test_a_repeated_batch_is_stored_once(
    server: TrackingServer, client: Client
) -> None:
    """The same request twice (a lost answer): the second stores nothing."""
    run_id = create(client)
    path = f"/experiments/{run_id}/logs/batch"
    client("POST", path, logs(run_id, 10))
    status, answer, _ = client("POST", path, logs(run_id, 15))
    assert status == 200
    assert answer["data"] == {"received": 15, "stored": 5, "duplicates": 10}
    assert only_run(server.runs_dir)["metrics"]["loss"]["steps"] == list(range(15))


def test_random_ids_repeated_inside_one_batch_are_stored_once(
    server: TrackingServer, client: Client
) -> None:
    """Tora's UUID ids: repeats in a batch and across batches are dropped."""
    run_id = create(client)
    path = f"/experiments/{run_id}/logs/batch"
    entries = [
        {"name": "a", "msg_id": f"id-{i % 3}", "value": i, "step": i, "metadata": None}
        for i in range(6)
    ]
    _, answer, _ = client("POST", path, {"logs": entries})
    assert answer["data"]["stored"] == 3
    _, answer, _ = client("POST", path, {"logs": entries})
    assert answer["data"]["stored"] == 0
    result = {"name": "r", "msg_id": "res", "value": 1, "metadata": {"type": "result"}}
    _, answer, _ = client("POST", path, {"logs": [result, result]})
    assert answer["data"] == {"received": 2, "stored": 1, "duplicates": 1}


@pytest.mark.parametrize("kind", ["sequence ids", "uuids"])
def test_duplicates_are_recognised_after_a_restart(tmp_path: Path, kind: str) -> None:
    """A batch sent again to a restarted server is not stored twice."""

    def batch(run_id: str) -> dict[str, Any]:
        payload = logs(run_id, 20)
        if kind == "uuids":
            for i, log in enumerate(payload["logs"]):
                log["msg_id"] = str(uuid.UUID(int=i))
        return payload

    with TrackingServer(tmp_path, port=0, fsync=False) as first:
        client = Client(first)
        run_id = create(client)
        client("POST", f"/experiments/{run_id}/logs/batch", batch(run_id))
        client.close()
    with TrackingServer(tmp_path, port=0, fsync=False) as second:
        client = Client(second)
        _, answer, _ = client(
            "POST", f"/experiments/{run_id}/logs/batch", batch(run_id)
        )
        client.close()
    assert answer["data"]["duplicates"] == 20
    assert only_run(tmp_path)["metrics"]["loss"]["steps"] == list(range(20))


@pytest.mark.parametrize("numbered", [False, True])
def test_results_are_recognised_after_a_restart(tmp_path: Path, numbered: bool) -> None:
    """A result's msg_id is kept on disk too: the same result sent again to a
    restarted server is a duplicate, not stored (and counted) again."""
    with TrackingServer(tmp_path, port=0, fsync=True) as first:
        client = Client(first)
        run_id = create(client)
        path = f"/experiments/{run_id}/logs/batch"
        msg_id = f"{run_id}:7" if numbered else "res-1"
        result = {
            "name": "acc",
            "msg_id": msg_id,
            "value": 0.9,
            "metadata": {"type": "result"},
        }
        once = client("POST", path, {"logs": [result]})[1]["data"]
        client.close()
    with TrackingServer(tmp_path, port=0, fsync=False) as second:
        client = Client(second)
        again = client("POST", path, {"logs": [result]})[1]["data"]
        client.close()
    assert once == {"received": 1, "stored": 1, "duplicates": 0}
    assert again == {"received": 1, "stored": 0, "duplicates": 1}
    assert only_run(tmp_path)["results"] == {"acc": 0.9}


def test_a_torn_result_id_line_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line of the result-id file cut by a crash is ignored, the others read;
    of a long file only the tail is read."""
    from ml_infra_utils.logging._server_store import _result_ids

    path = tmp_path / ".result_ids"
    path.write_bytes(b'"a"\n"b"\n5\n"c')
    assert _result_ids(path) == ["a", "b"]
    assert _result_ids(tmp_path / "missing") == []
    monkeypatch.setattr("ml_infra_utils.logging._server_store.TAIL_BYTES", 10)
    path.write_bytes(b'"first"\n"second"\n"third"\n')
    assert _result_ids(path) == ["third"]


def test_runs_closed_to_save_memory_keep_their_ids(tmp_path: Path) -> None:
    """With one run open at a time, switching runs rebuilds what each stored."""
    with TrackingServer(tmp_path, port=0, fsync=False) as server:
        server.store.max_open = 1
        client = Client(server)
        ids = [create(client), create(client)]
        for _ in range(2):
            for run_id in ids:
                _, answer, _ = client(
                    "POST", f"/experiments/{run_id}/logs/batch", logs(run_id, 4)
                )
        client.close()
    assert answer["data"]["duplicates"] == 4
    for run in list_runs(tmp_path):
        assert load_run(run["path"])["metrics"]["loss"]["steps"] == [0, 1, 2, 3]


# ---------------------------------------------------------------- refusals
def test_requests_without_the_key_get_401(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A key is required (x-api-key or Authorization: Bearer); it is never logged."""
    with (
        caplog.at_level(logging.DEBUG),
        TrackingServer(tmp_path, port=0, api_key=KEY, fsync=False) as server,
    ):
        anonymous, wrong, right = (
            Client(server),
            Client(server, "nope"),
            Client(server, KEY),
        )
        assert anonymous("POST", "/experiments", {"name": "x"})[0] == 401
        assert wrong("POST", "/experiments", {"name": "x"})[0] == 401
        assert anonymous("GET", "/experiments/x")[0] == 401
        assert right("POST", "/experiments", {"name": "x"})[0] == 201
        bearer = anonymous(
            "POST",
            "/experiments",
            {"name": "y"},
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert bearer[0] == 201
        status, answer, _ = anonymous("POST", "/experiments", {"name": "x"})
        for connection in (anonymous, wrong, right):
            connection.close()
    assert status == 401  # the same connection still works after a 401
    assert answer["error"]["message"] == "a valid x-api-key header is required"
    assert KEY not in caplog.text
    assert KEY not in repr(server)
    assert len(list_runs(tmp_path)) == 2


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("POST", "/experiments", {"name": "a/b"}, 400),
        ("POST", "/nowhere", {}, 404),
        ("GET", "/experiments/..", None, 404),
        ("GET", "/experiments/20260101-000000-00000000", None, 404),
        ("POST", "/experiments/20260101-000000-00000000/logs/batch", {"logs": []}, 404),
        ("POST", "/experiments/x/logs/other", {}, 404),
        ("DELETE", "/experiments", None, 405),
        ("GET", "/experiments", None, 405),
        ("PATCH", "/health", None, 405),
        ("PUT", "/experiments/x", {"run": {"id": "y"}}, 400),
    ],
)
def test_errors_have_a_json_body(
    client: Client, method: str, path: str, payload: object, status: int
) -> None:
    """Errors answer {"error": {"status", "message"}}; the connection stays usable."""
    got, answer, response = client(method, path, payload)
    assert got == status
    assert answer["error"]["status"] == status
    assert answer["error"]["message"]
    if status == 405:
        assert response.getheader("Allow")
    assert client("GET", "/health")[0] == 200


def test_a_bad_batch_writes_nothing(server: TrackingServer, client: Client) -> None:
    """Validation comes first: one bad record and none of the batch is stored."""
    run_id = create(client)
    payload = logs(run_id, 5)
    payload["logs"][3]["value"] = "oops"
    status, answer, _ = client("POST", f"/experiments/{run_id}/logs/batch", payload)
    assert status == 400
    assert "logs[3].value" in answer["error"]["message"]
    assert only_run(server.runs_dir)["metrics"] == {}
    status, _, _ = client(
        "POST", f"/experiments/{run_id}/logs/batch", raw=b'{"logs": ['
    )
    assert status == 400


def test_bodies_over_the_limit_get_413(tmp_path: Path) -> None:
    """A body over max_body is refused with 413 (and the client reads the answer)."""
    with TrackingServer(tmp_path, port=0, max_body=1000, fsync=False) as server:
        client = Client(server)
        status, answer, response = client(
            "POST", "/experiments", raw=b"{" + b" " * 5000 + b"}"
        )
        client.close()
        client = Client(server)
        assert client("POST", "/experiments", {"name": "small"})[0] == 201
        client.close()
    assert status == 413
    assert "the limit is 1000" in answer["error"]["message"]
    assert response.getheader("Connection") == "close"


def raw_exchange(server: TrackingServer, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_body_without_content_length_gets_411(server: TrackingServer) -> None:
    """Chunked or unannounced bodies are refused (411) and the connection closed."""
    answer = raw_exchange(
        server,
        b"POST /experiments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 411 ")
    assert b'"status":411' in answer


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", []), ("name", {}), ("msg_id", []), ("value", {}), ("step", [])],
)
def test_an_unhashable_log_field_gets_400_not_500(
    server: TrackingServer, client: Client, field: str, value: object
) -> None:
    """A list or an object where a string is expected is a bad field (400,
    named, nothing written), not an internal error."""
    run_id = create(client)
    payload = logs(run_id, 2)
    payload["logs"][1][field] = value
    status, answer, _ = client("POST", f"/experiments/{run_id}/logs/batch", payload)
    assert status == 400, answer
    assert f"logs[1].{field}" in answer["error"]["message"]
    assert only_run(server.runs_dir)["metrics"] == {}


@pytest.mark.parametrize("status_value", [[], {}, ["running"], 1])
def test_an_unhashable_run_status_gets_400_not_500(
    client: Client, status_value: object
) -> None:
    """PUT /experiments/{id} with a status that is not a string: 400."""
    run_id = "20260101-000000-0000abcd"
    run = {"id": run_id, "experiment": "exp", "status": status_value}
    status, answer, _ = client("PUT", f"/experiments/{run_id}", {"run": run})
    assert status == 400, answer
    assert "run.status" in answer["error"]["message"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(
        ["name", "value", "msg_id", "step", "timestamp", "metadata", "extra"]
    ),
    value=json_values,
)
def test_any_json_in_any_log_field_gets_an_answer_below_500(
    server: TrackingServer, client: Client, field: str, value: object
) -> None:
    """Whatever JSON a field holds, the server answers 200 or 400, never 500."""
    payload = logs("20260101-000000-0000abcd", 1)
    payload["logs"][0][field] = value
    try:
        raw = json.dumps(payload, allow_nan=False).encode()
    except ValueError:
        raw = json.dumps(payload).encode()  # bare NaN: the server refuses it
    status, answer, _ = client(
        "POST", "/experiments/20260101-000000-0000abcd/logs/batch", raw=raw
    )
    assert status in (200, 400, 404), answer


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(
        ["experiment", "name", "status", "start_time", "end_time", "duration",
         "params", "tags", "results", "error", "description"]
    ),
    value=json_values,
    nested=st.booleans(),
)  # fmt: skip
def test_any_json_in_any_run_or_experiment_field_gets_an_answer_below_500(
    client: Client, field: str, value: object, nested: bool
) -> None:
    """PUT /experiments/{id} and POST /experiments with any JSON in a field
    (or in a param, tag or hyperparameter) answer 2xx or 400, never 500."""
    run_id = "20260101-000000-0000abcd"
    run: dict[str, Any] = {"id": run_id, "experiment": "exp"}
    run[field] = {"k": value} if nested and field in ("params", "tags") else value
    experiment: dict[str, Any] = {"name": "exp"}
    experiment[field] = value
    if nested:
        experiment["hyperparams"] = [{"key": "k", "value": value}]
    for method, path, payload in (
        ("PUT", f"/experiments/{run_id}", {"run": run}),
        ("POST", "/experiments", experiment),
    ):
        try:
            raw = json.dumps(payload, allow_nan=False).encode()
        except ValueError:
            raw = json.dumps(payload).encode()
        status, answer, _ = client(method, path, raw=raw)
        assert status in (200, 201, 400, 409), answer


@pytest.mark.parametrize("key", [None, KEY])
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/experiments"), ("POST", "/health"), ("POST", "/nowhere")],
)
def test_a_non_ascii_content_length_gets_a_json_answer(
    tmp_path: Path, key: str | None, method: str, path: str
) -> None:
    """Content-Length: "²" (a latin-1 digit int() refuses) is answered with a
    JSON error on every path: the authorised one (411), and those refused
    before the body (401 without the key, 405, 404), which used to drop the
    connection unanswered."""
    with TrackingServer(tmp_path, port=0, api_key=KEY, fsync=False) as server:
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\n".encode()
        if key is not None:
            head += f"x-api-key: {key}\r\n".encode()
        answer = raw_exchange(server, head + b"Content-Length: \xb2\r\n\r\n{}")
        status = int(answer.split(b" ", 2)[1])
        expected = {"/health": 405, "/nowhere": 404}.get(
            path, 411 if key is not None else 401
        )
        assert status == expected, answer
        assert f'"status":{expected}'.encode() in answer
        assert list_runs(tmp_path) == []


def test_a_failure_while_dropping_a_body_still_answers(
    server: TrackingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If dropping an unwanted body fails, the error answer still goes out
    (then the connection closes)."""

    def broken(handler: Any) -> None:
        msg = "broken"
        raise ValueError(msg)

    monkeypatch.setattr(server.app, "_discard_body", broken)
    answer = raw_exchange(
        server, b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    )
    assert answer.startswith(b"HTTP/1.1 404 ")
    assert b"Connection: close" in answer


def test_a_malformed_request_line_gets_a_json_400(server: TrackingServer) -> None:
    """http.server's own errors are JSON too."""
    answer = raw_exchange(server, b"NONSENSE\r\n\r\n")
    assert b" 400 " in answer.split(b"\r\n")[0]
    assert b'"status":400' in answer


def test_an_internal_error_is_a_500_and_the_server_goes_on(
    server: TrackingServer,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug or a full disk answers 500 (logged with its traceback); nothing crashes."""
    run_id = create(client)

    def broken(*_: object) -> None:
        msg = "disk full"
        raise OSError(msg)

    monkeypatch.setattr(server.store, "append", broken)
    status, answer, _ = client(
        "POST", f"/experiments/{run_id}/logs/batch", logs(run_id, 1)
    )
    assert status == 500
    assert answer["error"]["message"] == "internal error (see the server log)"
    assert "disk full" in caplog.text
    client.close()
    fresh = Client(server)
    assert fresh("GET", "/health")[0] == 200
    fresh.close()


# ---------------------------------------------------------------- stopping, logging
def test_stop_finishes_requests_in_progress(
    server: TrackingServer, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stop() waits for a request being handled, which is stored and answered."""
    run_id = create(client)
    entered = threading.Event()
    append = server.store.append

    def slow(*args: Any) -> Any:
        entered.set()
        time.sleep(0.3)
        return append(*args)

    monkeypatch.setattr(server.store, "append", slow)
    answers: list[int] = []
    worker = threading.Thread(
        target=lambda: answers.append(
            client("POST", f"/experiments/{run_id}/logs/batch", logs(run_id, 3))[0]
        )
    )
    worker.start()
    assert entered.wait(20)
    server.stop()
    worker.join(20)
    assert answers == [200]
    assert only_run(server.runs_dir)["metrics"]["loss"]["steps"] == [0, 1, 2]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5)


def test_a_stopping_server_refuses_with_503(
    server: TrackingServer, client: Client
) -> None:
    """A kept-alive connection that sends during shutdown gets 503 + Retry-After."""
    create(client)
    server.app._stopping = True  # what stop() sets first
    try:
        status, _, response = client("POST", "/experiments", {"name": "late"})
    finally:
        server.app._stopping = False
    assert status == 503
    assert response.getheader("Retry-After") == "1"


def test_every_request_is_logged_as_json(
    server: TrackingServer, client: Client
) -> None:
    """One record per request with method, path, status, sizes, time and client."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ml_infra_utils.logging.server")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        run_id = create(client)
        client("POST", f"/experiments/{run_id}/logs/batch", logs(run_id, 2))
        end = time.monotonic() + 20  # logged just after the answer went out
        while stream.getvalue().count("\n") < 2 and time.monotonic() < end:
            time.sleep(0.01)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["method"], r["status"]) for r in records] == [
        ("POST", 201),
        ("POST", 200),
    ]
    last = records[-1]
    assert last["path"] == f"/experiments/{run_id}/logs/batch"
    assert last["stored"] == 2
    assert last["bytes_in"] > 0
    assert last["bytes_out"] > 0
    assert last["client"] == "127.0.0.1"
    assert last["duration_ms"] >= 0


def test_many_clients_at_once_lose_nothing(server: TrackingServer) -> None:
    """Concurrent connections writing to their own runs: every record stored."""

    def one_client(errors: list[BaseException]) -> None:
        try:
            client = Client(server)
            run_id = create(client)
            for start in range(0, 200, 50):
                client(
                    "POST",
                    f"/experiments/{run_id}/logs/batch",
                    logs(run_id, 50, start=start),
                )
            client.close()
        except BaseException as exc:
            errors.append(exc)

    errors: list[BaseException] = []
    threads = [threading.Thread(target=one_client, args=(errors,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    runs = list_runs(server.runs_dir)
    assert len(runs) == 8
    for run in runs:
        assert load_run(run["path"])["metrics"]["loss"]["steps"] == list(range(200))
    assert server.stats["stored"] == 1600


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"port": -1}, InvalidParameterError),
        ({"port": "80"}, InputTypeError),
        ({"max_body": 0}, InvalidParameterError),
        ({"max_open": 0}, InvalidParameterError),
        ({"max_open": 1.5}, InputTypeError),
        ({"api_key": ""}, InvalidParameterError),
    ],
)
def test_bad_options_are_refused(
    tmp_path: Path, options: dict[str, Any], error: type[Exception]
) -> None:
    """Options are checked before anything binds."""
    with pytest.raises(error):
        TrackingServer(tmp_path, **options)


def test_the_repr_shows_where_and_whether_a_key_is_needed(tmp_path: Path) -> None:
    """repr: URL, store, 'required' or 'none' (never the key)."""
    server = TrackingServer(tmp_path, port=0, api_key=KEY)
    try:
        assert repr(server) == (
            f"TrackingServer(url='{server.url}', runs_dir='{tmp_path}', "
            "api_key=required)"
        )
    finally:
        server.stop()


def test_protocol_errors_carry_their_status() -> None:
    """ProtocolError keeps the status and message for the answer."""
    error = ProtocolError(418, "teapot")
    assert (error.status, error.message, str(error)) == (418, "teapot", "teapot")


@pytest.mark.parametrize(
    ("batches", "expected_steps"),
    [
        ([range(10), range(5, 15)], list(range(15))),  # overlap: a repeat + more
        ([range(5, 10), range(5)], [*range(5, 10), *range(5)]),  # sent late
        (
            [range(10), range(20, 30), range(5, 25)],
            [*range(10), *range(20, 30), *range(10, 20)],
        ),  # a gap filled
        (
            [range(10), [12, 11, 14], [13, 10, 11, 15]],
            [*range(10), 12, 11, 14, 13, 10, 15],
        ),
        ([range(10), [12, 11, 14]], [*range(10), 12, 11, 14]),  # gaps, unordered
        ([[3, 1, 2], [1, 2, 3]], [3, 1, 2]),  # unordered, repeated
    ],
)
def test_sequence_ids_in_any_order_are_stored_once(
    server: TrackingServer,
    client: Client,
    batches: list[Any],
    expected_steps: list[int],
) -> None:
    """Our clients send contiguous ascending ids (the fast path); anything else
    still stores each new id once, also ids below the highest stored (a request
    refused once and sent again later)."""
    run_id = create(client)
    for seqs in batches:
        payload = {
            "logs": [
                {"name": "m", "msg_id": f"{run_id}:{n}", "value": n, "step": n}
                for n in seqs
            ]
            + [
                {
                    "name": "r",
                    "msg_id": "res",
                    "value": 1,
                    "metadata": {"type": "result"},
                }
            ]
        }
        status, answer, _ = client("POST", f"/experiments/{run_id}/logs/batch", payload)
        assert status == 200
        assert answer["data"]["received"] == len(seqs) + 1
    assert only_run(server.runs_dir)["metrics"]["m"]["steps"] == expected_steps


def test_an_ipv6_address_can_be_bound(tmp_path: Path) -> None:
    """host='::1' binds IPv6; the URL brackets the address."""
    try:
        server = TrackingServer(tmp_path, host="::1", port=0, fsync=False)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        assert server.url == f"http://[::1]:{server.port}"
        conn = http.client.HTTPConnection("::1", server.port, timeout=20)
        conn.request("GET", "/health")
        assert conn.getresponse().status == 200
        conn.close()


def test_a_body_shorter_than_announced_is_400(server: TrackingServer) -> None:
    """Content-Length larger than what arrives: 400, the connection closed."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(
            b"POST /experiments HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}"
        )
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"the body ended after 2 of 100 bytes" in answer


def test_stop_gives_up_waiting_after_its_timeout(
    server: TrackingServer,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A request slower than stop()'s timeout is logged, not waited for forever."""
    run_id = create(client)
    entered, release = threading.Event(), threading.Event()
    append = server.store.append

    def stuck(*args: Any) -> Any:
        entered.set()
        release.wait(20)
        return append(*args)

    monkeypatch.setattr(server.store, "append", stuck)
    worker = threading.Thread(
        target=client,
        args=("POST", f"/experiments/{run_id}/logs/batch", logs(run_id, 1)),
    )
    worker.start()
    assert entered.wait(20)
    server.stop(timeout=0.05)
    release.set()
    worker.join(20)
    assert "1 requests still running after 0.05 s" in caplog.text


def test_a_request_outliving_stop_is_refused_and_writes_nothing(
    server: TrackingServer, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After stop() gave up waiting and closed the store, a late request gets
    503 (the client retries elsewhere/later) instead of reopening the run and
    writing behind the closed store's back."""
    run_id = create(client)
    entered, release = threading.Event(), threading.Event()
    append = server.store.append

    def stuck(*args: Any) -> Any:
        entered.set()
        release.wait(20)
        return append(*args)

    monkeypatch.setattr(server.store, "append", stuck)
    answers: list[int] = []
    worker = threading.Thread(
        target=lambda: answers.append(
            client("POST", f"/experiments/{run_id}/logs/batch", logs(run_id, 2))[0]
        )
    )
    worker.start()
    assert entered.wait(20)
    server.stop(timeout=0.05)
    release.set()
    worker.join(20)
    assert answers == [503]
    assert only_run(server.runs_dir)["metrics"] == {}
    assert server.store._runs == {}
    store = server.store
    with pytest.raises(ProtocolError) as refused:
        store.put({"id": run_id, "experiment": "exp"})
    assert refused.value.status == 503
    for call in (
        lambda: store.create_workspace("w", None),
        lambda: store.info(run_id),
        lambda: store.create(parse_experiment({"name": "late"}), host=None),
    ):
        with pytest.raises(ProtocolError, match="shutting down"):
            call()


def test_an_empty_api_key_is_refused(tmp_path: Path) -> None:
    """api_key="" is not "no key": a clear error, nothing served."""
    with pytest.raises(InvalidParameterError, match="api_key must be a non-empty"):
        TrackingServer(tmp_path, port=0, api_key="")


def test_a_runs_dir_that_is_not_a_writable_directory_is_refused(
    tmp_path: Path,
) -> None:
    """A file as runs_dir, or one under a file, is refused before binding; a
    missing directory is created."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(InvalidParameterError, match="is not a directory"):
        TrackingServer(afile, port=0)
    with pytest.raises(InvalidParameterError, match="cannot be created"):
        TrackingServer(afile / "runs", port=0)
    fresh = tmp_path / "a" / "b"
    TrackingServer(fresh, port=0).stop()
    assert fresh.is_dir()


def test_a_runs_dir_that_is_not_writable_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory the server could not write is refused before binding (the
    check is os.access: faked here, since root may write anywhere)."""
    import ml_infra_utils.logging.server as server_module

    def no_access(path: object, mode: int) -> bool:
        del path, mode
        return False

    monkeypatch.setattr(server_module.os, "access", no_access)
    with pytest.raises(InvalidParameterError, match="is not writable"):
        TrackingServer(tmp_path, port=0)


def test_starting_twice_serves_from_one_thread(tmp_path: Path) -> None:
    """start() on a started server returns it and starts no second loop."""
    with TrackingServer(tmp_path, port=0, fsync=False) as server:
        thread = server._thread
        assert server.start() is server
        assert server._thread is thread
        connection = Client(server)
        assert connection("GET", "/health")[0] == 200
        connection.close()


def test_the_body_budget_bounds_the_bodies_held_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With max_workers=1 the budget is one max_body: with bodies of more than
    half of it and several clients posting at once, one body at a time is in
    memory: the others wait for budget before reading theirs."""
    import ml_infra_utils.logging._server_app as server_app

    clients = 4
    payloads = []
    for i in range(clients):
        payload = logs("r", 5, start=5 * i)
        for log in payload["logs"]:  # any order: Tora's random ids
            log["msg_id"] = str(uuid.uuid4())
        payloads.append(payload)
    largest = max(len(json.dumps(p).encode()) for p in payloads) + 200
    with TrackingServer(
        tmp_path, port=0, fsync=False, max_workers=1, max_body=largest * 3 // 2
    ) as server:
        app = server.app
        first = Client(server)
        run_id = create(first)
        first.close()
        lock = threading.Lock()
        held: list[int] = [0, 0]  # now, peak
        read_body, dispatch = app._read_body, app._dispatch

        def counted_read(handler: Any, length: int) -> bytes:
            data = read_body(handler, length)
            with lock:
                held[0] += 1
                held[1] = max(held)
            return data

        waited = threading.Event()

        def slow_dispatch(*args: Any, **kwargs: Any) -> Any:
            if not waited.is_set():  # the first: until every client is in
                end = time.monotonic() + 20
                while app._busy < clients and time.monotonic() < end:
                    time.sleep(0.01)
                time.sleep(0.2)  # time for the others to read a body (if they could)
                waited.set()
            try:
                return dispatch(*args, **kwargs)
            finally:
                with lock:
                    held[0] -= 1

        monkeypatch.setattr(app, "_read_body", counted_read)
        monkeypatch.setattr(app, "_dispatch", slow_dispatch)
        statuses: list[int] = []

        def post(payload: dict[str, Any]) -> None:
            client = Client(server)
            for log in payload["logs"]:
                log["msg_id"] = log["msg_id"].replace("r:", f"{run_id}:")
            path = f"/experiments/{run_id}/logs/batch"
            statuses.append(client("POST", path, payload)[0])
            client.close()

        threads = [threading.Thread(target=post, args=(p,)) for p in payloads]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert statuses == [200] * clients
        assert held[1] == 1
        monkeypatch.setattr(server_app, "_SLOT_WAIT", 0.05)
        app._slots.acquire()  # every slot taken: the next request waits, then 503
        try:
            client = Client(server)
            status, answer, response = client(
                "POST", f"/experiments/{run_id}/logs/batch", logs(run_id, 1)
            )
            client.close()
        finally:
            app._slots.release()
    assert status == 503
    assert "busy" in answer["error"]["message"]
    assert response.getheader("Retry-After") == "1"
    assert len(only_run(tmp_path)["metrics"]["loss"]["steps"]) == 5 * clients


def idle_upload(server: TrackingServer, length: int) -> socket.socket:
    """A connection that sent a POST's head announcing *length* bytes, no body."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    sock.sendall(
        b"POST /experiments HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(length).encode() + b"\r\n\r\n"
    )
    return sock


def test_idle_uploads_do_not_starve_other_clients(tmp_path: Path) -> None:
    """As many stalled uploads as worker slots (each announcing a small body
    it never sends) leave the server answering every other client: a slow
    upload holds bytes of the body budget, not a worker slot."""
    with TrackingServer(tmp_path, port=0, fsync=False, max_workers=2) as server:
        stalled = [idle_upload(server, 100) for _ in range(4)]
        try:
            time.sleep(0.2)  # the stalled requests are in, reading their body
            client = Client(server)
            status, answer, _ = client("POST", "/experiments", {"name": "fast"})
            client.close()
        finally:
            for sock in stalled:
                sock.close()
    assert status == 201, answer


def test_a_request_waiting_for_budget_gets_503_when_the_server_stops(
    tmp_path: Path,
) -> None:
    """A stalled upload holding the whole body budget makes the next request
    wait; stopping the server answers that one 503 'shutting down' at once
    (not 'busy' after the 30 s wait)."""
    server = TrackingServer(
        tmp_path, port=0, fsync=False, max_workers=1, max_body=1000
    ).start()
    stalled = idle_upload(server, 1000)
    answers: list[tuple[int, Any]] = []

    def post() -> None:
        client = Client(server)
        status, answer, _ = client("POST", "/experiments", {"name": "waits"})
        answers.append((status, answer))
        client.close()

    thread = threading.Thread(target=post)
    try:
        time.sleep(0.2)
        thread.start()
        end = time.monotonic() + 20
        while server.app._busy < 2 and time.monotonic() < end:
            time.sleep(0.01)
        server.stop(timeout=0.2)
        thread.join(20)
    finally:
        stalled.close()
        server.stop()
    assert answers[0][0] == 503
    assert "shutting down" in answers[0][1]["error"]["message"]


def test_the_dedup_window_keeps_the_last_request_and_forgets_the_oldest(
    server: TrackingServer, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random ids are remembered for the run's latest requests: the whole last
    request always (even above the window), older ones while they fit."""
    monkeypatch.setattr("ml_infra_utils.logging._server_store.SMALL_WINDOW", 3)
    run_id = create(client)
    path = f"/experiments/{run_id}/logs/batch"

    def send(*ids: str) -> int:
        entries = [{"name": "a", "msg_id": i, "value": 1, "step": 0} for i in ids]
        return int(client("POST", path, {"logs": entries})[1]["data"]["stored"])

    assert send("u1", "u2", "u3", "u4") == 4
    assert send("u2", "u3", "u4", "u1") == 0  # the last request, kept whole
    assert send("u5") == 1
    assert send("u5") == 0
    assert send("u1") == 1  # its request fell out of the window of 3


def test_the_dedup_window_is_bounded_and_exact_for_its_ids() -> None:
    """IdWindow: every id of the latest requests is found, none other; it never
    holds more than its bounds (but always the last request whole)."""
    from ml_infra_utils.logging._server_store import (
        DEDUP_WINDOW,
        SMALL_REQUEST,
        SMALL_WINDOW,
        IdWindow,
    )

    window = IdWindow()
    requests = [[str(uuid.uuid4()) for _ in range(n)] for n in (3, 5000, 1, 20_000)]
    for ids in requests:
        window.add(ids)
        assert all(i in window for i in ids)
        assert window.array_size <= DEDUP_WINDOW
    assert all(i in window for ids in requests for i in ids)
    assert window.find([i for ids in requests for i in ids]) == {
        i for ids in requests for i in ids
    }
    assert not any(str(uuid.uuid4()) in window for _ in range(1000))
    for _ in range(30):
        window.add([str(uuid.uuid4()) for _ in range(5000)])
    assert window.array_size <= DEDUP_WINDOW
    assert not any(i in window for i in requests[1])  # the oldest: dropped
    assert all(i in window for i in requests[0] + requests[2])  # another tier
    big = [str(uuid.uuid4()) for _ in range(DEDUP_WINDOW + 5)]
    window.add(big)  # above the window: kept whole, the other large ones dropped
    assert window.array_size == len(big)
    assert all(i in window for i in big[::997])
    smalls = [[str(uuid.uuid4()) for _ in range(SMALL_REQUEST)] for _ in range(40)]
    for ids in smalls:
        window.add(ids)
        assert window.small_size <= max(SMALL_WINDOW, len(ids))
        assert all(i in window for i in ids)
    assert not any(i in window for i in smalls[0] + requests[0])  # dropped
    assert window.find(smalls[-1] + big[:10]) == set(smalls[-1] + big[:10])


def test_the_dedup_window_of_small_requests_is_found_without_the_arrays() -> None:
    """Small requests' ids are in the set, large ones' in the arrays: a lookup
    of many ids against both finds exactly the held ones."""
    from ml_infra_utils.logging._server_store import IdWindow

    window = IdWindow()
    held = [str(uuid.uuid4()) for _ in range(50)]
    window.add(held[:25])
    window.add(held[25:])
    large = [str(uuid.uuid4()) for _ in range(3000)]
    window.add(large)
    fresh = [str(uuid.uuid4()) for _ in range(3000)]
    assert window.find(held + fresh) == set(held)
    assert window.find(large[::7] + fresh[:3]) == set(large[::7])
    assert len(window) == 3050


def test_a_full_dedup_window_of_uuids_costs_8_bytes_an_id() -> None:
    """A run's window of DEDUP_WINDOW Tora UUIDs (requests of 5,000) holds
    digests, not the ids: at most 8 bytes an id plus a little (was ~13 MiB)."""
    import tracemalloc

    from ml_infra_utils.logging._server_store import DEDUP_WINDOW, IdWindow

    requests = [
        [str(uuid.uuid4()) for _ in range(5000)]
        for _ in range(2 * DEDUP_WINDOW // 5000)
    ]
    tracemalloc.start()
    try:
        window = IdWindow()
        for ids in requests:
            window.add(ids)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(window) == DEDUP_WINDOW
    assert held <= 8 * DEDUP_WINDOW + 64 * 1024


def test_a_full_window_of_small_requests_is_bounded() -> None:
    """Tora's default requests of 25 ids, twice the small window's worth: the
    window holds SMALL_WINDOW ids in at most 200 bytes each (~1.6 MB)."""
    import tracemalloc

    from ml_infra_utils.logging._server_store import SMALL_WINDOW, IdWindow

    requests = [
        [str(uuid.uuid4()) for _ in range(25)] for _ in range(2 * SMALL_WINDOW // 25)
    ]
    tracemalloc.start()
    try:
        window = IdWindow()
        for ids in requests:
            window.add(ids)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert SMALL_WINDOW - 25 < len(window) <= SMALL_WINDOW  # whole requests
    assert held <= 200 * SMALL_WINDOW


def test_uuids_are_stored_once_across_eviction_and_restart(tmp_path: Path) -> None:
    """Tora-style random ids (metrics and results) sent again after their run
    was closed to save memory, and again after a restart, are duplicates."""
    run_id = ""
    entries = [
        {"name": "loss", "msg_id": str(uuid.uuid4()), "value": i, "step": i}
        for i in range(50)
    ] + [
        {
            "name": "acc",
            "msg_id": str(uuid.uuid4()),
            "value": 0.5,
            "metadata": {"type": "result"},
        }
    ]
    with TrackingServer(tmp_path, port=0, fsync=False, max_open=1) as server:
        client = Client(server)
        run_id = create(client)
        path = f"/experiments/{run_id}/logs/batch"
        assert client("POST", path, {"logs": entries})[1]["data"]["stored"] == 51
        other = create(client)  # evicts the first run
        client("POST", f"/experiments/{other}/logs/batch", logs(other, 2))
        assert client("POST", path, {"logs": entries})[1]["data"]["duplicates"] == 51
        client.close()
    with TrackingServer(tmp_path, port=0, fsync=False) as server:
        client = Client(server)
        assert client("POST", path, {"logs": entries})[1]["data"]["duplicates"] == 51
        client.close()
    run = next(r for r in list_runs(tmp_path) if r["id"] == run_id)
    assert load_run(run["path"])["metrics"]["loss"]["steps"] == list(range(50))


@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 20)).map(
            lambda t: (t[0], t[0] + t[1])
        ),
        max_size=30,
    )
)
def test_seq_ranges_hold_exactly_the_numbers_added(
    ranges: list[tuple[int, int]],
) -> None:
    """SeqRanges against a plain set: same members, disjoint sorted ranges
    that never touch."""
    seqs = SeqRanges()
    members: set[int] = set()
    for lo, hi in ranges:
        seqs.add(lo, hi)
        members.update(range(lo, hi + 1))
    assert [n for n in range(-1, 230) if n in seqs] == sorted(members)
    assert seqs.top == max(members, default=-1)
    pairs = list(zip(seqs.starts, seqs.ends, strict=True))
    assert all(lo <= hi for lo, hi in pairs)
    assert all(a[1] + 1 < b[0] for a, b in itertools.pairwise(pairs))


def test_too_many_gaps_fill_the_oldest(
    monkeypatch: pytest.MonkeyPatch, server: TrackingServer, client: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Beyond MAX_GAPS gaps in a run, the oldest gap counts as stored (a
    warning says so): memory per run stays bounded."""
    monkeypatch.setattr("ml_infra_utils.logging._server_store.MAX_GAPS", 2)
    seqs = SeqRanges()
    for n in (0, 2, 4, 6):
        seqs.add(n, n)
    assert repr(seqs) == "SeqRanges([(0, 2), (4, 4), (6, 6)])"
    assert seqs.filled == 1
    run_id = create(client)
    path = f"/experiments/{run_id}/logs/batch"
    for seqs_sent in ([0, 2, 4], [6]):
        payload = {
            "logs": [
                {"name": "m", "msg_id": f"{run_id}:{n}", "value": n, "step": n}
                for n in seqs_sent
            ]
        }
        client("POST", path, payload)
    assert "the 1 oldest count as stored" in caplog.text
    payload = {"logs": [{"name": "m", "msg_id": f"{run_id}:1", "value": 1, "step": 1}]}
    assert client("POST", path, payload)[1]["data"]["duplicates"] == 1


def test_a_late_range_is_stored_once_across_a_restart(tmp_path: Path) -> None:
    """Ids sent late (below the highest stored) are stored, and recognised as
    duplicates after a restart, from the file."""
    with TrackingServer(tmp_path, port=0, fsync=False) as first:
        client = Client(first)
        run_id = create(client)
        path = f"/experiments/{run_id}/logs/batch"
        client("POST", path, logs(run_id, 5, start=10))
        client.close()
    with TrackingServer(tmp_path, port=0, fsync=False) as second:
        client = Client(second)
        late = client("POST", path, logs(run_id, 5, start=3))[1]["data"]
        again = client("POST", path, logs(run_id, 15))[1]["data"]
        client.close()
    assert late == {"received": 5, "stored": 5, "duplicates": 0}
    assert again == {"received": 15, "stored": 5, "duplicates": 10}
    steps = only_run(tmp_path)["metrics"]["loss"]["steps"]
    assert sorted(steps) == list(range(15))


def test_ids_older_than_the_tail_read_count_as_stored_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the tail read after a restart is not the whole file, sequence ids
    below the lowest one in it count as stored (the documented limit)."""
    monkeypatch.setattr("ml_infra_utils.logging._server_store.TAIL_BYTES", 300)
    with TrackingServer(tmp_path, port=0, fsync=False) as first:
        client = Client(first)
        run_id = create(client)
        path = f"/experiments/{run_id}/logs/batch"
        client("POST", path, logs(run_id, 20))
        client.close()
    with TrackingServer(tmp_path, port=0, fsync=False) as second:
        client = Client(second)
        _, answer, _ = client("POST", path, logs(run_id, 21))
        client.close()
    assert answer["data"] == {"received": 21, "stored": 1, "duplicates": 20}


def test_reopening_reads_only_the_tail_and_unescapes_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a restart the ids come from the last bytes; escaped ids are decoded."""
    monkeypatch.setattr("ml_infra_utils.logging._server_store.TAIL_BYTES", 300)
    ids = [f'id"{i}' for i in range(20)]  # quotes: stored escaped
    batch = {"logs": [{"name": "a", "msg_id": i, "value": 1, "step": 0} for i in ids]}
    with TrackingServer(tmp_path, port=0, fsync=False) as first:
        client = Client(first)
        run_id = create(client)
        client("POST", f"/experiments/{run_id}/logs/batch", batch)
        client.close()
    with TrackingServer(tmp_path, port=0, fsync=False) as second:
        client = Client(second)
        _, answer, _ = client("POST", f"/experiments/{run_id}/logs/batch", batch)
        client.close()
    # The last ids (inside the 300-byte tail) are known; the first are not.
    assert 0 < answer["data"]["duplicates"] < 20
    assert answer["data"]["stored"] == 20 - answer["data"]["duplicates"]


def test_a_moved_run_is_found_again(server: TrackingServer, client: Client) -> None:
    """A run directory renamed on disk is looked up again, not served stale."""
    run_id = create(client)
    store = server.store
    for run in store._runs.values():  # evicted, as max_open does (close() refuses)
        run.closed = True
        run.sink.close()
    store._runs.clear()
    old = next(server.runs_dir.glob(f"*/{run_id}"))
    new = old.parent.parent / "renamed" / run_id
    new.parent.mkdir()
    old.rename(new)
    status, answer, _ = client("GET", f"/experiments/{run_id}")
    assert status == 200
    assert answer["data"]["name"] == "renamed"


# ---------------------------------------------------------------- reopening runs
class _BlockedLoad:
    """Makes the store's tail read of one run wait until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, run_id: str) -> None:
        from ml_infra_utils.logging import _server_store

        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        real = _server_store._tail_ids

        def tail_ids(path: Path) -> tuple[list[str], bool]:
            if path.parent.name == run_id:
                self.calls += 1
                self.entered.set()
                assert self.release.wait(30)
            return real(path)

        monkeypatch.setattr(_server_store, "_tail_ids", tail_ids)


def test_loading_an_evicted_run_does_not_hold_up_other_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one evicted run is read again from its files, requests for other
    runs are answered (the load runs outside the store's lock)."""
    with TrackingServer(tmp_path, port=0, fsync=False, max_open=1) as server:
        client = Client(server)
        first, second = create(client), create(client)  # the second evicts
        blocked = _BlockedLoad(monkeypatch, first)
        answers: list[Any] = []

        def load() -> None:
            connection = Client(server)
            path = f"/experiments/{first}/logs/batch"
            answers.append(connection("POST", path, logs(first, 3))[:2])
            connection.close()

        loader = threading.Thread(target=load)
        loader.start()
        try:
            assert blocked.entered.wait(10)
            other = Client(server)
            other.conn.timeout = 10  # before the fix: stuck behind the load
            status, answer, _ = other(
                "POST", f"/experiments/{second}/logs/batch", logs(second, 2)
            )
            assert (status, answer["data"]["stored"]) == (200, 2)
            assert other("GET", f"/experiments/{first}x")[0] == 404
            other.close()
        finally:
            blocked.release.set()
            loader.join(30)
        assert answers[0][0] == 200
        assert answers[0][1]["data"]["stored"] == 3
        client.close()


def test_two_requests_for_an_evicted_run_load_it_once_and_store_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same batch of random ids sent twice at once to a run being loaded:
    the run is read once, one request stores the batch, the other finds it
    stored; a GET meanwhile sees the run's record."""
    entries = [
        {"name": "loss", "msg_id": str(uuid.uuid4()), "value": i, "step": i}
        for i in range(20)
    ]
    with TrackingServer(tmp_path, port=0, fsync=False, max_open=1) as server:
        client = Client(server)
        first = create(client, tags=["a"])
        create(client)  # evicts the first
        blocked = _BlockedLoad(monkeypatch, first)
        answers: list[Any] = []

        def send(method: str, path: str, payload: object = None) -> None:
            connection = Client(server)
            answers.append(connection(method, path, payload)[:2])
            connection.close()

        path = f"/experiments/{first}/logs/batch"
        threads = [
            threading.Thread(target=send, args=("POST", path, {"logs": entries}))
        ]
        threads[0].start()
        assert blocked.entered.wait(10)
        threads += [
            threading.Thread(target=send, args=("POST", path, {"logs": entries})),
            threading.Thread(target=send, args=("GET", f"/experiments/{first}")),
        ]
        for thread in threads[1:]:
            thread.start()
        time.sleep(0.2)  # let them queue on the run (passes in any order)
        blocked.release.set()
        for thread in threads:
            thread.join(30)
        client.close()
    assert blocked.calls == 1
    posts = sorted(
        a[1]["data"]["stored"] for a in answers if "received" in a[1]["data"]
    )
    assert posts == [0, 20]
    (get,) = [a for a in answers if "received" not in a[1]["data"]]
    assert get[0] == 200
    assert get[1]["data"]["tags"] == ["a"]
    run = next(r for r in list_runs(tmp_path) if r["id"] == first)
    assert load_run(run["path"])["metrics"]["loss"]["steps"] == list(range(20))


def test_a_failed_load_leaves_no_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run id that does not exist is 404 (and a PUT then creates it); a load
    that fails is 500 and the next request loads the run afresh."""
    from ml_infra_utils.logging import _server_store

    with TrackingServer(tmp_path, port=0, fsync=False, max_open=1) as server:
        client = Client(server)
        missing = "20260101-000000-0000abcd"
        assert client("GET", f"/experiments/{missing}")[0] == 404
        assert missing not in server.store._runs
        record = {"id": missing, "experiment": "exp", "status": "running"}
        assert client("PUT", f"/experiments/{missing}", {"run": record})[0] == 201
        create(client)  # evicts it
        real = _server_store._tail_ids

        def broken(path: Path) -> tuple[list[str], bool]:
            msg = "disk gone"
            raise OSError(msg)

        monkeypatch.setattr(_server_store, "_tail_ids", broken)
        assert client("GET", f"/experiments/{missing}")[0] == 500
        assert missing not in server.store._runs
        monkeypatch.setattr(_server_store, "_tail_ids", real)
        client.close()
        client = Client(server)  # the 500 closed the connection
        status, answer, _ = client("GET", f"/experiments/{missing}")
        assert (status, answer["data"]["id"]) == (200, missing)
        client.close()


def test_a_load_finishing_after_close_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run loaded while the store closes is dropped with 503 (its sink
    closed), not kept open by a closed store."""
    from ml_infra_utils.logging._payloads import parse_logs
    from ml_infra_utils.logging._server_store import RemoteStore

    store = RemoteStore(tmp_path, fsync=False, max_open=1)
    first = store.create(parse_experiment({"name": "exp"}), host=None)["id"]
    store.create(parse_experiment({"name": "exp"}), host=None)
    blocked = _BlockedLoad(monkeypatch, first)
    errors: list[int] = []

    def append() -> None:
        try:
            store.append(first, parse_logs(logs(first, 2), now_ms=0))
        except ProtocolError as exc:
            errors.append(exc.status)

    loader = threading.Thread(target=append)
    loader.start()
    assert blocked.entered.wait(10)
    closer = threading.Thread(target=store.close)
    closer.start()
    time.sleep(0.1)  # close() waits for the run being loaded
    blocked.release.set()
    loader.join(30)
    closer.join(30)
    assert errors == [503]
    run = next(r for r in list_runs(tmp_path) if r["id"] == first)
    assert "loss" not in load_run(run["path"])["metrics"]


# ---------------------------------------------------------------- slow clients
def _trickle(
    sock: socket.socket, head: bytes, drip: bytes, *, times: int
) -> tuple[bytes, int]:
    """Send *head*, then *drip* every 0.05 s until the server answers or
    closes (or *times* drips); what it answered (b"" for a bare close) and
    how many drips went out."""
    import select

    sock.sendall(head)
    sent = 0
    while sent < times:
        if select.select([sock], [], [], 0.05)[0]:
            break
        try:
            sock.sendall(drip)
        except OSError:  # closed by the server
            break
        sent += 1
    sock.settimeout(10)
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError:
        pass
    return answer, sent


def test_a_body_trickled_past_the_deadline_gets_408(tmp_path: Path) -> None:
    """A client sending its body a byte at a time, each well within the idle
    timeout, is cut off at the request deadline with 408 and a closed
    connection (it used to hold its thread and slot for as long as it liked)."""
    with TrackingServer(tmp_path, port=0, fsync=False, request_timeout=0.3) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            head = (
                b"POST /experiments HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
            )
            answer, sent = _trickle(sock, head, b" ", times=400)
        assert sent < 400
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"Connection: close" in answer
        assert b"0.3 s" in answer
        assert list_runs(tmp_path) == []


def test_a_head_trickled_past_the_deadline_is_cut_off(tmp_path: Path) -> None:
    """Header lines trickled forever: the connection is closed at the deadline."""
    with (
        TrackingServer(tmp_path, port=0, fsync=False, request_timeout=0.3) as server,
        socket.create_connection(("127.0.0.1", server.port)) as sock,
    ):
        head = b"GET /health HTTP/1.1\r\nX-A: "
        answer, sent = _trickle(sock, head, b"b", times=400)  # one long header
    assert sent < 400
    assert answer == b""  # cut off: no answer, the connection closed


def test_the_deadline_is_per_request_on_a_kept_alive_connection(
    tmp_path: Path,
) -> None:
    """Each request has its own deadline: a connection kept alive longer than
    the deadline serves request after request."""
    with TrackingServer(tmp_path, port=0, fsync=False, request_timeout=0.3) as server:
        client = Client(server)
        for _ in range(3):
            assert client("GET", "/health")[0] == 200
            time.sleep(0.2)
        client.close()


def test_an_unwanted_body_over_max_body_is_not_drained(tmp_path: Path) -> None:
    """A refused request (401) announcing a body over max_body is answered and
    its connection closed at once, not drained at the client's pace."""
    with (
        TrackingServer(
            tmp_path, port=0, fsync=False, api_key=KEY, max_body=1000
        ) as server,
        socket.create_connection(("127.0.0.1", server.port)) as sock,
    ):
        sock.settimeout(10)  # before: the server waited for 5,000 bytes
        sock.sendall(
            b"POST /experiments HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 5000\r\n\r\n" + b" " * 10
        )
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"Connection: close" in answer


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, InvalidParameterError),
        (float("inf"), InvalidParameterError),
        ("60", InputTypeError),
        (True, InputTypeError),
    ],
)
def test_bad_request_timeouts_are_refused(
    tmp_path: Path, value: object, error: type[Exception]
) -> None:
    """request_timeout is a positive, finite number of seconds."""
    with pytest.raises(error, match="request_timeout"):
        TrackingServer(tmp_path, port=0, request_timeout=value)  # type: ignore[arg-type]


def test_closing_an_evicted_run_does_not_hold_up_other_runs(tmp_path: Path) -> None:
    """The run evicted for a new one is closed (an fsync) outside the store's
    lock: a request for another run is answered meanwhile."""
    with TrackingServer(tmp_path, port=0, fsync=False, max_open=1) as server:
        client = Client(server)
        third, first = create(client), create(client)  # the first evicts the third
        victim = server.store._runs[first]
        entered, release = threading.Event(), threading.Event()
        real_close = victim.sink.close

        def slow_close() -> None:
            entered.set()
            assert release.wait(30)
            real_close()

        victim.sink.close = slow_close  # type: ignore[method-assign]

        def create_one() -> None:
            connection = Client(server)
            create(connection)
            connection.close()

        creator = threading.Thread(target=create_one)
        creator.start()
        try:
            assert entered.wait(10)
            other = Client(server)
            other.conn.timeout = 10  # before: stuck behind the close
            status, answer, _ = other("GET", f"/experiments/{third}")
            assert (status, answer["data"]["id"]) == (200, third)
            other.close()
        finally:
            release.set()
            creator.join(30)
        status, answer, _ = client("GET", f"/experiments/{first}")  # read again
        assert (status, answer["data"]["id"]) == (200, first)
        client.close()
    assert len(list_runs(tmp_path)) == 3
