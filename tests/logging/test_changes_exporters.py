"""Exporters: JSON Lines file, HTTP (real local server), S3 (moto), Kafka."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ml_infra_utils import (
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


# ---------------------------------------------------------------- HTTP
class Receiver(ThreadingHTTPServer):
    """A local endpoint that fails the first `fail` requests with a 500."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.batches: list[list[dict[str, Any]]] = []
        self.fail = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/changes"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.fail > 0:
            self.server.fail -= 1
            self.send_response(500)
        else:
            self.server.batches.append(json.loads(body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class UrllibSender:
    """The smallest sender: one POST per batch, raises on a non-2xx answer.

    Stands in for the shared HTTP sink of logging.sinks (issue 8), which
    HttpExporter takes through the same ``send(batch)`` method.
    """

    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, batch: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(  # noqa: S310 - our own local server
            self.url,
            data=json.dumps(batch).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our own local server
            response.read()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            msg = "condition not met in time"
            raise AssertionError(msg)
        time.sleep(0.01)


def test_http_exporter_sends_batches_in_the_background(receiver: Receiver) -> None:
    """Full batches go out without waiting for the interval; all arrive in order."""
    exporter = HttpExporter(
        UrllibSender(receiver.url), batch_size=10, flush_interval=30
    )
    d = TrackedList(observers=[exporter])
    for i in range(25):
        d.append(i)
    wait_for(lambda: sum(len(b) for b in receiver.batches) >= 20)
    exporter.close()
    sent = [r for batch in receiver.batches for r in batch]
    assert [len(b) for b in receiver.batches] == [10, 10, 5]
    assert [r["new"] for r in sent] == list(range(25))
    assert exporter.sent == 25
    assert exporter.buffered == 0
    assert "HttpExporter" in repr(exporter)


def test_http_exporter_retries_a_failed_batch(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed batch is kept and retried with backoff; nothing lost or reordered."""
    receiver.fail = 2
    exporter = HttpExporter(
        UrllibSender(receiver.url), batch_size=3, flush_interval=0.01
    )
    d = TrackedDict(observers=[exporter])
    for i in range(7):
        d[f"k{i}"] = i
    wait_for(lambda: exporter.sent == 7)
    exporter.close()
    assert exporter.failures == 2
    sent = [r["path"][0] for batch in receiver.batches for r in batch]
    assert sent == [f"k{i}" for i in range(7)]
    assert "sending changes failed" in caplog.text


def test_http_exporter_bounds_its_buffer_and_close_reports(receiver: Receiver) -> None:
    """Endpoint down: at most max_buffer records wait; close raises or counts."""
    receiver.fail = 10**6
    exporter = HttpExporter(
        UrllibSender(receiver.url), batch_size=100, flush_interval=60, max_buffer=5
    )
    d = TrackedList(observers=[exporter])
    for i in range(8):
        d.append(i)
    assert exporter.dropped == 3
    with pytest.raises(urllib.error.HTTPError):
        exporter.flush()
    with pytest.raises(urllib.error.HTTPError):
        exporter.close()
    exporter.close(quiet=True)
    assert exporter.dropped == 8
    d.append("after close")
    assert exporter.dropped == 9


def test_http_exporter_arguments_are_checked() -> None:
    """The sender needs send(); sizes and intervals must make sense."""
    with pytest.raises(InputTypeError, match="send"):
        HttpExporter(object())  # type: ignore[arg-type]
    sender = UrllibSender("http://127.0.0.1:9/")
    with pytest.raises(InvalidParameterError, match="batch_size"):
        HttpExporter(sender, batch_size=0)
    with pytest.raises(InvalidParameterError, match="flush_interval"):
        HttpExporter(sender, flush_interval=0)


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
