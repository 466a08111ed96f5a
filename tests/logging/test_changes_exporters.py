"""Exporters: JSON Lines file, HTTP (real local server), S3 (moto), Kafka."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ml_infra_utils import (
    Change,
    HttpExporter,
    InputTypeError,
    InvalidParameterError,
    JsonLinesExporter,
    KafkaExporter,
    S3Exporter,
    TrackedDict,
    TrackedList,
    replay,
)


def test_json_lines_exporter_writes_one_line_per_change(tmp_path: Path) -> None:
    """Every change is a strict JSON line; replaying the file rebuilds the state."""
    path = tmp_path / "deep" / "dir" / "changes.jsonl"
    with JsonLinesExporter(path) as export:
        d = TrackedDict({"opt": {"lr": 0.1}}, observers=[export])
        d["opt"]["lr"] = float("nan")
        d["layers"] = [1, 2]
        d["layers"].sort(reverse=True)
        assert repr(export) == f"JsonLinesExporter({str(path)!r})"
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert records[0]["new"] == "NaN"
    rebuilt = replay(records, {"opt": {"lr": 0.1}})
    assert rebuilt == {"opt": {"lr": "NaN"}, "layers": [2, 1]}
    d["after"] = "close"  # the file is closed: the failure is counted, not raised
    assert d.observer_errors == 1
    assert len(path.read_text().splitlines()) == 3


def test_json_lines_exporter_from_several_processes_keeps_whole_lines(
    tmp_path: Path,
) -> None:
    """O_APPEND: two writers on one file never tear a line."""
    path = tmp_path / "shared.jsonl"
    first, second = JsonLinesExporter(path), JsonLinesExporter(path)
    a = TrackedList(observers=[first])
    b = TrackedList(observers=[second])
    for i in range(100):
        a.append("a" * i)
        b.append("b" * i)
    first.close()
    second.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 200
    assert all(json.loads(line)["action"] == "add" for line in lines)


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            msg = "condition not met in time"
            raise AssertionError(msg)
        time.sleep(0.01)


# ---------------------------------------------------------------- HTTP
class Receiver(ThreadingHTTPServer):
    """A local endpoint answering `statuses` first (then 204), keeping the bodies."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.batches: list[list[dict[str, Any]]] = []
        self.requests: list[tuple[str, str | None]] = []
        self.statuses: list[int] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/changes"


class Handler(BaseHTTPRequestHandler):
    server: Receiver
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.path, self.headers.get("x-api-key")))
        status = self.server.statuses.pop(0) if self.server.statuses else 204
        if status == 204:
            self.server.batches.append(json.loads(body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(server: Receiver) -> Iterator[Receiver]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver()) as server:
        yield server


def sent(server: Receiver) -> list[dict[str, Any]]:
    return [record for batch in server.batches for record in batch]


def test_http_exporter_posts_batches_in_order(
    receiver: Receiver, tmp_path: Path
) -> None:
    """Full batches go out at once, the rest at close; the key is in a header."""
    exporter = HttpExporter(
        receiver.url,
        api_key="s3cret",
        runs_dir=tmp_path,
        batch_size=10,
        flush_interval=30,
    )
    d = TrackedList(observers=[exporter])
    for i in range(25):
        d.append(i)
    exporter.close()
    assert exporter.delivered is True
    assert [len(b) for b in receiver.batches] == [10, 10, 5]
    assert [r["new"] for r in sent(receiver)] == list(range(25))
    assert set(receiver.requests) == {("/v1/changes", "s3cret")}
    assert exporter.sent == 25
    assert exporter.errors == []
    assert "s3cret" not in repr(exporter)


def test_http_exporter_retries_through_the_shared_sender(
    receiver: Receiver, tmp_path: Path
) -> None:
    """5xx and 429 answers are retried; nothing is lost or reordered."""
    receiver.statuses = [503, 429, 500]
    exporter = HttpExporter(
        receiver.url,
        runs_dir=tmp_path,
        batch_size=3,
        flush_interval=0.01,
        max_retry_delay=0.05,
    )
    d = TrackedDict(observers=[exporter])
    for i in range(7):
        d[f"k{i}"] = i
    assert exporter.flush(timeout=30)
    exporter.close()
    assert [r["path"][0] for r in sent(receiver)] == [f"k{i}" for i in range(7)]
    assert len(receiver.requests) >= 6


def test_http_exporter_lists_refused_requests(
    receiver: Receiver, tmp_path: Path
) -> None:
    """A 400 is not retried: the request is set aside and reported."""
    receiver.statuses = [400]
    exporter = HttpExporter(receiver.url, runs_dir=tmp_path, batch_size=1)
    d = TrackedList(observers=[exporter])
    d.append("refused")
    d.append("accepted")
    exporter.close()
    assert [r["new"] for r in sent(receiver)] == ["accepted"]
    assert len(exporter.errors) == 1
    assert exporter.errors[0].status == 400


def test_http_exporter_spools_while_the_endpoint_is_down(tmp_path: Path) -> None:
    """Undelivered at close: spooled, and sent by the next exporter of that name."""
    server = Receiver()
    url = server.url
    server.server_close()  # nobody listens on that port now
    exporter = HttpExporter(
        url,
        name="audit",
        runs_dir=tmp_path,
        batch_size=2,
        max_retry_delay=0.05,
        shutdown_timeout=0.5,
    )
    d = TrackedList(observers=[exporter])
    for i in range(3):
        d.append(i)
    exporter.close()
    assert exporter.delivered is False
    assert list((tmp_path / ".spool").glob("audit.outbox*"))
    again = Receiver.__new__(Receiver)
    ThreadingHTTPServer.__init__(
        again, ("127.0.0.1", int(url.split(":")[2].split("/")[0])), Handler
    )
    again.batches, again.requests, again.statuses = [], [], []
    with serving(again):
        later = HttpExporter(url, name="audit", runs_dir=tmp_path)
        assert later.flush(timeout=30)
        later.close()
    assert [r["new"] for r in sent(again)] == [0, 1, 2]


def test_http_exporter_arguments_are_checked(tmp_path: Path) -> None:
    """A URL must be http(s) with a host; names and sizes are checked."""
    with pytest.raises(InvalidParameterError, match="url"):
        HttpExporter("ftp://example.com/changes")
    with pytest.raises(InputTypeError, match="url"):
        HttpExporter(42)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="name"):
        HttpExporter("http://127.0.0.1:9/", name=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="batch_size"):
        HttpExporter("http://127.0.0.1:9/", batch_size=0)
    with pytest.raises(InvalidParameterError, match="flush_interval"):
        HttpExporter("http://127.0.0.1:9/", flush_interval=0)


def test_closing_an_http_exporter_whose_constructor_raised_is_harmless(
    tmp_path: Path,
) -> None:
    """An HttpExporter whose sender could not be made (a bad timeout, checked
    after the exporter registered for the exit-time flush) still closes
    cleanly, as the flush at interpreter exit does with it: nothing sent,
    nothing raised, delivered left unknown; closing again is a no-op."""
    from ml_infra_utils.logging import _exporters

    exporter = HttpExporter.__new__(HttpExporter)
    with pytest.raises(InvalidParameterError, match="timeout"):
        exporter.__init__(  # type: ignore[misc]
            "http://127.0.0.1:9/", runs_dir=tmp_path, timeout=0
        )
    assert exporter in _exporters._live  # the exit-time flush will close it
    assert not hasattr(exporter, "_sender")
    exporter.close(quiet=True)
    exporter.close()
    assert exporter.delivered is None
    assert (exporter.sent, exporter.dropped) == (0, 0)
    assert not (tmp_path / ".spool").exists()


class _Keys:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def put_object(self, **kwargs: Any) -> None:
        self.keys.append(kwargs["Key"])


@pytest.mark.parametrize(
    ("interval", "error"),
    [
        (float("inf"), InvalidParameterError),
        (float("nan"), InvalidParameterError),
        (-1.0, InvalidParameterError),
        (0, InvalidParameterError),
        (True, InputTypeError),
        ("5", InputTypeError),
        (None, InputTypeError),
    ],
)
def test_a_batch_exporter_refuses_a_flush_interval_that_is_not_finite_seconds(
    interval: Any, error: type[Exception]
) -> None:
    """inf, NaN, <= 0, a bool or a non-number: a clear error naming the argument."""
    with pytest.raises(error, match="flush_interval"):
        S3Exporter(_Keys(), "b", flush_interval=interval)


def test_a_batch_exporter_with_a_huge_flush_interval_keeps_its_thread() -> None:
    """A finite interval beyond what a wait can take still leaves a working thread."""
    client = _Keys()
    exporter = S3Exporter(client, "b", batch_size=1, flush_interval=1e300)
    d = TrackedList(observers=[exporter])
    d.append(1)
    wait_for(lambda: exporter.sent == 1)
    d.append(2)
    wait_for(lambda: exporter.sent == 2)
    exporter.close()
    assert len(client.keys) == 2


class _Stuck:
    """A put_object that blocks until released (a black-holed endpoint)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.keys: list[str] = []

    def put_object(self, **kwargs: Any) -> None:
        self.entered.set()
        self.release.wait()
        self.keys.append(kwargs["Key"])


def test_s3_object_names_span_the_lowest_and_highest_seq_of_the_batch() -> None:
    """Records of two threads may arrive out of order; the name still sorts."""
    client = _Keys()
    exporter = S3Exporter(client, "b", prefix="", batch_size=10, flush_interval=60)
    for seq in (5, 3, 4):
        exporter(Change(seq, 0.0, "add", ("k",), None, seq, None))
    exporter.close()
    assert [k.rsplit("-", 1)[0] for k in client.keys] == ["000000000003-000000000005"]


def test_close_gives_up_at_its_timeout_while_a_send_is_stuck(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stuck put_object: close(quiet=True) returns, counts and logs the loss."""
    client = _Stuck()
    exporter = S3Exporter(client, "b", batch_size=1, flush_interval=0.01)
    d = TrackedList(observers=[exporter])
    d.append(0)
    assert client.entered.wait(10)  # the thread is inside put_object
    d.append(1)
    d.append(2)
    with caplog.at_level(logging.ERROR, logger="ml_infra_utils.logging.changes"):
        exporter.close(timeout=0.05, quiet=True)
    assert not client.release.is_set()  # close did not wait for the send
    assert (exporter.sent, exporter.dropped, exporter.buffered) == (0, 3, 0)
    assert "3 change(s) not exported" in caplog.text
    client.release.set()  # the send in progress completes after all
    wait_for(lambda: exporter.sent == 1)
    assert exporter.dropped == 2
    assert len(client.keys) == 1


def test_close_raises_timeout_error_and_keeps_the_records_when_not_quiet() -> None:
    """Without quiet, running out of time is a TimeoutError; nothing is lost."""
    client = _Stuck()
    exporter = S3Exporter(
        client, "b", batch_size=1, flush_interval=0.01, shutdown_timeout=0.05
    )
    d = TrackedList(observers=[exporter])
    d.append(0)
    assert client.entered.wait(10)
    d.append(1)
    with pytest.raises(TimeoutError, match="2 change"):
        exporter.close()
    assert exporter.buffered == 2
    client.release.set()  # the thread goes on sending them
    wait_for(lambda: exporter.sent == 2)
    exporter.close()
    assert (exporter.sent, exporter.dropped, exporter.buffered) == (2, 0, 0)


def test_interpreter_exit_is_bounded_by_shutdown_timeout(tmp_path: Path) -> None:
    """A client that never returns: the process still exits and says what was lost."""
    script = tmp_path / "stuck.py"
    script.write_text(
        "import threading\n"
        "from ml_infra_utils import S3Exporter, TrackedDict\n"
        "class Stuck:\n"
        "    def put_object(self, **kw):\n"
        "        threading.Event().wait()\n"
        "e = S3Exporter(Stuck(), 'b', batch_size=1, flush_interval=0.01,\n"
        "               shutdown_timeout=0.2)\n"
        "d = TrackedDict(observers=[e])\n"
        "for i in range(4):\n"
        "    d[str(i)] = i\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard only: unbounded, it never exits
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "change(s) not exported" in done.stderr


def test_a_batch_exporter_keeps_a_failed_batch_and_bounds_its_buffer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A client that fails keeps the batch for a retry; beyond max_buffer, drops."""

    class Flaky:
        def __init__(self) -> None:
            self.failures = 2
            self.keys: list[str] = []

        def put_object(self, **kwargs: Any) -> None:
            if self.failures:
                self.failures -= 1
                msg = "S3 is down"
                raise ConnectionError(msg)
            self.keys.append(kwargs["Key"])

    client = Flaky()
    exporter = S3Exporter(client, "b", batch_size=2, flush_interval=0.01, max_buffer=5)
    d = TrackedList(observers=[exporter])
    for i in range(4):
        d.append(i)
    wait_for(lambda: exporter.sent == 4)
    assert exporter.failures == 2
    assert "sending changes failed" in caplog.text
    exporter.close()
    down = Flaky()
    down.failures = 10**6
    blocked = S3Exporter(down, "b", batch_size=100, flush_interval=60, max_buffer=3)
    d = TrackedList(observers=[blocked])
    for i in range(5):
        d.append(i)
    assert blocked.dropped == 2
    with pytest.raises(ConnectionError):
        blocked.flush()
    with pytest.raises(ConnectionError):
        blocked.close()
    blocked.close(quiet=True)
    assert blocked.dropped == 5
    d.append("after close")
    assert blocked.dropped == 6


# ---------------------------------------------------------------- S3
@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's in-process S3: no network, no credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="changes")
        yield client


def test_s3_exporter_writes_one_json_lines_object_per_batch(s3: Any) -> None:
    """Objects named by seq range hold the batch's records, in order."""
    exporter = S3Exporter(
        s3, "changes", prefix="run1/", batch_size=2, flush_interval=60
    )
    d = TrackedDict(observers=[exporter])
    for i in range(5):
        d["lr"] = i
    exporter.flush()
    listing = s3.list_objects_v2(Bucket="changes", Prefix="run1/")
    keys = [item["Key"] for item in listing["Contents"]]
    assert len(keys) == 3
    assert keys == sorted(keys)
    records = []
    for key in keys:
        body = s3.get_object(Bucket="changes", Key=key)["Body"].read().decode()
        records += [json.loads(line) for line in body.splitlines()]
    assert [r["new"] for r in records] == [0, 1, 2, 3, 4]
    first, last = records[0]["seq"], records[1]["seq"]
    assert keys[0].startswith(f"run1/{first:012d}-{last:012d}-")
    exporter.close()
    assert "S3Exporter" in repr(exporter)


def test_s3_exporter_arguments_are_checked(s3: Any) -> None:
    """A client without put_object, or a bucket that is not a str, is refused."""
    with pytest.raises(InputTypeError, match="put_object"):
        S3Exporter(object(), "b")
    with pytest.raises(InputTypeError, match="bucket"):
        S3Exporter(s3, 42)  # type: ignore[arg-type]


# ---------------------------------------------------------------- Kafka
class FakeProducer:
    """kafka-python's KafkaProducer surface: send(topic, value=...) and flush()."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.flushed = 0

    def send(self, topic: str, value: bytes) -> None:
        self.sent.append((topic, value))

    def flush(self) -> None:
        self.flushed += 1


def test_kafka_exporter_sends_each_record_as_json_bytes() -> None:
    """One send per change on the topic; flush/close flush the producer."""
    producer = FakeProducer()
    with KafkaExporter(producer, "config-changes") as exporter:
        d = TrackedList(observers=[exporter])
        d.append({"a": 1})
        d[0]["a"] = 2
        assert repr(exporter) == "KafkaExporter(topic='config-changes')"
    assert [t for t, _ in producer.sent] == ["config-changes"] * 2
    assert [json.loads(v)["path"] for _, v in producer.sent] == [[0], [0, "a"]]
    assert producer.flushed == 1
    KafkaExporter(FakeClientWithoutFlush(), "t").close()
    with pytest.raises(InputTypeError, match="send"):
        KafkaExporter(object(), "t")
    with pytest.raises(InputTypeError, match="topic"):
        KafkaExporter(producer, b"t")  # type: ignore[arg-type]


class FakeClientWithoutFlush:
    def send(self, *args: Any, **kwargs: Any) -> None:
        pass
