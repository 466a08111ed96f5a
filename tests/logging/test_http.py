"""The HTTP sender: order, keep-alive, retries, refusals, the outbox, bounded close.

Servers are real (stdlib ``http.server`` on 127.0.0.1, port 0) and scripted:
each answers with the statuses a test lists, then 200.
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ml_infra_utils import (
    InputTypeError,
    InvalidParameterError,
    OutputClosedError,
    TrackingServerError,
    retry_testing,
    send_spooled,
)
from ml_infra_utils.logging._connection import retry_after_seconds, retryable_status
from ml_infra_utils.logging._http import BatchSender
from ml_infra_utils.logging._spool import Outbox, Request, read_header
from ml_infra_utils.logging._urls import check_url, positive_seconds, redact_url

KEY = "k3y-never-shown"
Answer = int | tuple[int, dict[str, str]]


class Recorder(http.server.ThreadingHTTPServer):
    """Records every request; answers with ``script`` (statuses), then 200."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0, context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", port), _RecordingHandler)
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.script: list[Answer] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def bodies(self, status: int | None = None) -> list[bytes]:
        """The bodies received (every attempt, in arrival order)."""
        del status
        return [r[3] for r in self.requests]

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Recorder

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.requests.append(
                (self.command, self.path, dict(self.headers), body)
            )
            answer = self.server.script.pop(0) if self.server.script else 200
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        data = json.dumps({"error": {"message": f"scripted {status}"}}).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_PUT = _answer  # noqa: N815 - the names http.server calls

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.stop()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    """Poll until *predicate* holds; fail the test if it never does."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            pytest.fail("the condition never held")
        time.sleep(0.01)


def make(url: str, spool: Path, name: str = "s", **options: Any) -> BatchSender:
    options.setdefault("max_retry_delay", 0.05)
    return BatchSender(url, name=name, spool_dir=spool, api_key=KEY, **options)


def body(i: int) -> bytes:
    return json.dumps({"i": i}).encode()


# ---------------------------------------------------------------- delivery
def test_requests_arrive_in_order_over_one_kept_alive_connection(
    recorder: Recorder, tmp_path: Path
) -> None:
    """Many requests, one connection, the order kept, the key in x-api-key."""
    sender = make(recorder.url, tmp_path)
    for i in range(50):
        sender.send("POST", f"/r/{i}", body(i), records=1)
    assert sender.close(timeout=20)
    assert [r[1] for r in recorder.requests] == [f"/r/{i}" for i in range(50)]
    assert recorder.bodies() == [body(i) for i in range(50)]
    assert recorder.connections == 1
    headers = recorder.requests[0][2]
    assert headers["x-api-key"] == KEY
    assert headers["Content-Type"] == "application/json"
    assert sender.sent_requests == 50
    assert sender.sent_records == 50
    assert not sender.spool_path.exists()


def test_a_base_path_prefixes_every_request(recorder: Recorder, tmp_path: Path) -> None:
    """http://host:port/api + /experiments -> /api/experiments (as Tora does)."""
    sender = make(recorder.url + "/api/", tmp_path)
    sender.send("POST", "/experiments", b"{}")
    assert sender.close(timeout=20)
    assert recorder.requests[0][1] == "/api/experiments"


def test_flush_waits_until_the_server_acknowledged(
    recorder: Recorder, tmp_path: Path
) -> None:
    """flush() returns True once every queued request is delivered."""
    sender = make(recorder.url, tmp_path)
    for i in range(5):
        sender.send("POST", "/x", body(i))
    assert sender.flush(timeout=20)
    assert len(recorder.requests) == 5
    sender.close()


# ---------------------------------------------------------------- retries
@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried_until_delivered(
    recorder: Recorder, tmp_path: Path, status: int
) -> None:
    """408, 429 and 5xx are retried; the request is delivered once it succeeds."""
    recorder.script = [status, status, status]
    sender = make(recorder.url, tmp_path)
    with retry_testing():
        sender.send("POST", "/x", body(1))
        sender.send("POST", "/y", body(2))
        assert sender.close(timeout=20)
    assert [r[1] for r in recorder.requests] == ["/x"] * 4 + ["/y"]
    assert not sender.errors


def test_retry_after_is_honoured(
    recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A Retry-After header sets the pause before the next attempt."""
    recorder.script = [(503, {"Retry-After": "7"})]
    sender = make(recorder.url, tmp_path, max_retry_delay=1.0)
    with (
        caplog.at_level(logging.DEBUG, "ml_infra_utils.logging.sinks"),
        retry_testing(),
    ):
        sender.send("POST", "/x", body(1))
        assert sender.close(timeout=20)
    assert "next in 7.00s" in caplog.text
    assert len(recorder.requests) == 2


def test_connection_errors_are_retried_and_spooled_until_the_server_is_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With the server away, requests go to the outbox; all arrive once, in order."""
    port = free_port()
    sender = make(f"http://127.0.0.1:{port}", tmp_path)
    with retry_testing():
        for i in range(5):
            sender.send("POST", f"/r/{i}", body(i), records=2)
        wait_for(lambda: sender.spooling)
        for i in range(5, 10):
            sender.send("POST", f"/r/{i}", body(i), records=2)
        assert sender.spool_path.exists()
        server = Recorder(port)
        try:
            assert sender.flush(timeout=20)
            sender.send("POST", "/r/10", body(10), records=2)
            assert sender.close(timeout=20)
        finally:
            server.stop()
    assert [r[1] for r in server.requests] == [f"/r/{i}" for i in range(11)]
    assert not sender.spool_path.exists()
    assert "did not answer" in caplog.text
    assert sender.sent_records == 22


# ---------------------------------------------------------------- refusals
def test_a_refused_request_is_kept_logged_once_and_skipped(
    recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 4xx is not retried: kept in .rejected with the reason, logged once."""
    recorder.script = [400, 400]
    sender = make(recorder.url, tmp_path)
    with caplog.at_level(logging.DEBUG, "ml_infra_utils.logging.sinks"):
        for i in range(3):
            sender.send("POST", f"/r/{i}", body(i), records=4)
        assert sender.close(timeout=20)
    assert [r[1] for r in recorder.requests] == ["/r/0", "/r/1", "/r/2"]
    assert [e.status for e in sender.errors] == [400, 400]
    assert all(isinstance(e, TrackingServerError) for e in sender.errors)
    assert "refused POST /r/0 (4 records) with HTTP 400: " in str(sender.errors[0])
    assert "scripted 400" in str(sender.errors[0])
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    rejected = sender.rejected_path.read_bytes().splitlines()
    assert len(rejected) == 4
    assert json.loads(rejected[0][2:])["status"] == 400
    assert rejected[1] == b"POST /r/0 4 " + body(0)
    assert KEY not in caplog.text
    assert KEY.encode() not in sender.rejected_path.read_bytes()
    assert all(KEY not in str(e) for e in sender.errors)


def test_a_redirect_is_refused_with_the_location(
    recorder: Recorder, tmp_path: Path
) -> None:
    """3xx is not followed: the error says where the server pointed."""
    recorder.script = [(308, {"Location": "https://elsewhere/"})]
    sender = make(recorder.url, tmp_path)
    sender.send("POST", "/x", b"{}")
    assert sender.close(timeout=20)
    assert "redirect to 'https://elsewhere/' not followed" in str(sender.errors[0])


# ---------------------------------------------------------------- bounded close
def test_close_returns_within_its_bound_when_the_server_never_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that accepts but never answers: close() returns, requests spooled."""
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)  # never accepted: the kernel completes the handshakes
        sender = make(f"http://127.0.0.1:{hole.getsockname()[1]}", tmp_path, timeout=30)
        for i in range(3):
            sender.send("POST", f"/r/{i}", body(i), records=5)
        start = time.monotonic()
        delivered = sender.close(timeout=0.5)
        elapsed = time.monotonic() - start
    assert not delivered
    assert elapsed < 10  # bounded, not hung (the bound itself is 0.5 s)
    lines = sender.spool_path.read_bytes().splitlines()
    assert read_header(sender.spool_path) == {"url": sender.url}
    assert lines[1:] == [b"POST /r/%d 5 " % i + body(i) for i in range(3)]
    assert "15 records not delivered" in caplog.text


def test_requests_left_in_an_outbox_go_first_next_time(
    recorder: Recorder, tmp_path: Path
) -> None:
    """A new sender of the same name sends the old outbox before anything new."""
    old = make(f"http://127.0.0.1:{free_port()}", tmp_path, name="exporter")
    with retry_testing():
        old.send("POST", "/old/0", body(0))
        old.send("POST", "/old/1", body(1))
        assert not old.close(timeout=0.3)
    assert old.spool_path.exists()
    new = make(recorder.url, tmp_path, name="exporter")
    new.send("POST", "/new/0", body(2))
    assert new.close(timeout=20)
    assert [r[1] for r in recorder.requests] == ["/old/0", "/old/1", "/new/0"]
    assert not new.spool_path.exists()


def test_a_memory_limit_moves_requests_to_the_outbox(
    recorder: Recorder, tmp_path: Path
) -> None:
    """Over max_memory, requests wait on disk even with the server up; order kept."""
    sender = make(recorder.url, tmp_path, max_memory=30)
    for i in range(40):
        sender.send("POST", f"/r/{i}", body(i))
    assert sender.close(timeout=20)
    assert [r[1] for r in recorder.requests] == [f"/r/{i}" for i in range(40)]
    assert not sender.spool_path.exists()


def test_send_after_close_raises_and_close_is_idempotent(
    recorder: Recorder, tmp_path: Path
) -> None:
    """A closed sender refuses new requests; closing again changes nothing."""
    sender = make(recorder.url, tmp_path)
    assert sender.close()
    assert sender.close()
    with pytest.raises(OutputClosedError, match="closed"):
        sender.send("POST", "/x", b"{}")


def test_the_key_never_shows(tmp_path: Path) -> None:
    """repr() of the sender shows the URL without credentials and no key."""
    sender = make("http://127.0.0.1:9/api", tmp_path)
    assert KEY not in repr(sender)
    assert (
        repr(sender) == "BatchSender(url='http://127.0.0.1:9/api', name='s', pending=0)"
    )
    sender.close(timeout=0)


# ---------------------------------------------------------------- https
@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: (server context, client context)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def test_https_is_supported(
    tls: tuple[ssl.SSLContext, ssl.SSLContext], tmp_path: Path
) -> None:
    """https:// URLs work over one kept-alive TLS connection."""
    server_context, client_context = tls
    server = Recorder(context=server_context)
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        sender = make(url, tmp_path / "spool", ssl_context=client_context)
        for i in range(3):
            sender.send("POST", f"/r/{i}", body(i))
        assert sender.close(timeout=20)
    finally:
        server.stop()
    assert [r[1] for r in server.requests] == ["/r/0", "/r/1", "/r/2"]
    assert server.connections == 1


# ---------------------------------------------------------------- send_spooled
def test_send_spooled_delivers_what_runs_left(
    recorder: Recorder, tmp_path: Path
) -> None:
    """send_spooled sends each outbox under <runs_dir>/.spool and deletes it."""
    spool = tmp_path / ".spool"
    for name in ("a", "b"):
        sender = make(f"http://127.0.0.1:{free_port()}", spool, name=name)
        with retry_testing():
            sender.send("POST", f"/{name}", body(1), records=3)
            assert not sender.close(timeout=0.2)
    assert send_spooled(tmp_path, url=recorder.url, api_key=KEY) == 6
    assert sorted(r[1] for r in recorder.requests) == ["/a", "/b"]
    assert recorder.requests[0][2]["x-api-key"] == KEY
    assert list(spool.glob("*.outbox")) == []
    assert send_spooled(tmp_path / "nothing-here") == 0


def test_send_spooled_skips_the_outbox_of_a_sender_still_spooling(
    recorder: Recorder, tmp_path: Path
) -> None:
    """A live sender's outbox is locked: send_spooled (e.g. a cron job) leaves
    it alone, so the records the sender appends later are not lost; once the
    sender has closed, send_spooled delivers all of them."""
    spool = tmp_path / ".spool"
    dead = f"http://127.0.0.1:{free_port()}"
    sender = make(dead, spool, name="live", max_retry_delay=5)
    sender.send("POST", "/one", body(1), records=1)
    wait_for(lambda: sender.spooling and sender.spool_path.exists())
    assert send_spooled(tmp_path, url=recorder.url, api_key=KEY) == 0
    assert recorder.requests == []
    sender.send("POST", "/two", body(2), records=7)
    assert sender.spool_path.exists()
    with pytest.raises(InvalidParameterError, match="in use by another sender"):
        make(dead, spool, name="live")
    assert not sender.close(timeout=0.2)
    assert send_spooled(tmp_path, url=recorder.url, api_key=KEY) == 8
    assert [r[1] for r in recorder.requests] == ["/one", "/two"]
    assert list(spool.glob("*.outbox")) == []


def test_a_second_live_sender_of_a_name_raises_even_without_an_outbox(
    tmp_path: Path,
) -> None:
    """Two live senders of one name in a process: the second raises when made,
    though nothing was spooled yet (no outbox, no file written); once the
    first is closed (or gone) the name is free again."""
    import gc

    spool = tmp_path / ".spool"
    dead = f"http://127.0.0.1:{free_port()}"
    first = make(dead, spool, name="same")
    with pytest.raises(InvalidParameterError, match="unique among live senders"):
        make(dead, spool, name="same")
    assert not spool.exists()
    other = make(dead, spool, name="other")  # another name is fine
    assert other.close(timeout=0)
    assert first.close(timeout=0)
    again = make(dead, spool, name="same")
    del again
    gc.collect()
    make(dead, spool, name="same").close(timeout=0)


def test_an_outbox_deleted_by_its_owner_before_the_lock_is_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening an existing outbox (create=False) that its owner deleted in the
    meantime finds nothing; with create=True a fresh file is made."""
    from ml_infra_utils.logging import _spool

    owner = Outbox(tmp_path, "r", "http://h")
    owner.open()
    real_lock = _spool._lock

    def lock_after_the_owner_removed_it(fd: int) -> bool:
        if owner.is_open:
            owner.remove()
        return real_lock(fd)

    monkeypatch.setattr(_spool, "_lock", lock_after_the_owner_removed_it)
    with pytest.raises(FileNotFoundError):
        Outbox(tmp_path, "r", "http://h").open(create=False)
    owner.open()
    fresh = Outbox(tmp_path, "r", "http://h")
    fresh.open()
    assert fresh.exists()
    assert fresh.read() is None
    fresh.remove()


def test_send_spooled_raises_for_an_outbox_with_a_bad_url(tmp_path: Path) -> None:
    """Only a lock makes send_spooled skip an outbox: a bad URL in its header
    still raises."""
    spool = tmp_path / ".spool"
    spool.mkdir()
    (spool / "x.outbox").write_bytes(
        b'#ml-infra-utils-outbox 1 {"url": "ftp://h"}\nPOST /x 0 {}\n'
    )
    with pytest.raises(InvalidParameterError, match="http://"):
        send_spooled(tmp_path)


def test_an_outbox_gone_before_it_is_opened_is_not_spooled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outbox delivered and deleted by its owner between the look and the
    open: the new sender starts empty; send_spooled's sort copes with it."""
    from ml_infra_utils.logging import _http_sink

    monkeypatch.setattr(Outbox, "exists", lambda _self: True)
    sender = make("http://127.0.0.1:9", tmp_path, name="gone")
    assert not sender.spooling
    assert sender.close(timeout=0)
    assert _http_sink._mtime(tmp_path / "gone.outbox") == 0.0


def test_send_spooled_raises_when_the_server_stays_away(tmp_path: Path) -> None:
    """Undeliverable outboxes raise TrackingServerError and stay on disk."""
    sender = make(f"http://127.0.0.1:{free_port()}", tmp_path / ".spool")
    with retry_testing():
        sender.send("POST", "/x", body(1))
        assert not sender.close(timeout=0.2)
        with pytest.raises(TrackingServerError, match="stay there"):
            send_spooled(tmp_path, timeout=0.3)
    assert sender.spool_path.exists()


def test_send_spooled_needs_a_url_for_an_outbox_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outbox whose header lost its URL needs url= (or the variable)."""
    monkeypatch.delenv("ML_INFRA_UTILS_TRACKING_URL", raising=False)
    spool = tmp_path / ".spool"
    spool.mkdir()
    (spool / "x.outbox").write_bytes(b"POST /x 0 {}\n")
    with pytest.raises(TrackingServerError, match="pass url="):
        send_spooled(tmp_path)


# ---------------------------------------------------------------- the outbox file
def test_a_torn_last_line_is_cut_before_appending(tmp_path: Path) -> None:
    """A crash mid-append leaves a partial line; the next open removes it."""
    box = Outbox(tmp_path, "r", "http://h")
    box.open()
    box.append([Request("POST", "/a", b"{}", 1)])
    box.close()
    with box.path.open("ab") as file:
        file.write(b'POST /b 1 {"tor')
    box = Outbox(tmp_path, "r", "http://h")
    box.open()
    box.append([Request("POST", "/c", b"{}", 1)])
    assert [box.read().path, box.read().path, box.read()] == ["/a", "/c", None]  # type: ignore[union-attr]
    box.close()


def test_acknowledged_requests_are_not_read_again(tmp_path: Path) -> None:
    """The .sent offset survives a reopen: only unacknowledged requests remain."""
    box = Outbox(tmp_path, "r", "http://h")
    box.open()
    box.append([Request("POST", f"/{i}", b"{}", i) for i in range(3)])
    first = box.read()
    assert first is not None
    box.mark_sent(first.end)  # type: ignore[arg-type]
    box.close()
    box = Outbox(tmp_path, "r", "http://h")
    box.open()
    assert box.pending_records() == 3
    assert [box.read().path, box.read().path] == ["/1", "/2"]  # type: ignore[union-attr]
    assert not box.finished()
    box.remove()
    assert not box.exists()


def test_an_unreadable_line_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A line that is not a request is skipped with a warning."""
    box = Outbox(tmp_path, "r", "http://h")
    box.open()
    box.close()
    with box.path.open("ab") as file:
        file.write(b"garbage\nPOST /ok 1 {}\n")
    box.open()
    request = box.read()
    assert request is not None
    assert request.path == "/ok"
    assert "unreadable line" in caplog.text
    box.close()
    assert read_header(tmp_path / "missing") == {}


# ---------------------------------------------------------------- helpers
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("-4", 0.0),
        ("1e9", 60.0),
        ("nan", None),
        ("soon", None),
        (None, None),
        ("Thu, 01 Jan 1970 00:00:10 GMT", 6.0),
        ("Thu, 01 Jan 1970 00:00:01 GMT", 0.0),
    ],
)
def test_retry_after_values(value: str | None, expected: float | None) -> None:
    """Delta-seconds and HTTP dates, clamped to [0, 60]; junk means none."""
    assert retry_after_seconds(value, now=4.0) == expected


def test_which_statuses_are_retried() -> None:
    """408, 425, 429 and 5xx but 501/505."""
    retried = [s for s in range(100, 600) if retryable_status(s)]
    assert retried == [408, 425, 429] + [
        s for s in range(500, 600) if s not in (501, 505)
    ]


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (5, InputTypeError),
        ("ftp://h", InvalidParameterError),
        ("http://", InvalidParameterError),
        ("localhost:8787", InvalidParameterError),
        ("http://user:pw@h", InvalidParameterError),
        ("http://h:99999", InvalidParameterError),
        ("http://127.0.0.1:8787/my api", InvalidParameterError),
        ("http://127.0.0.1:8787/x\n", InvalidParameterError),
        ("http://127.0.0.1:8787/\x7f", InvalidParameterError),
        ("http://127.0.0.1:8787/caf\u00e9", InvalidParameterError),
        ("http://127.0.0.1:8787/?q=\u00e9", InvalidParameterError),
    ],
)
def test_bad_urls_are_refused(url: object, error: type[Exception]) -> None:
    """Only http(s) URLs with a host and no credentials are accepted."""
    with pytest.raises(error):
        check_url(url)


def test_a_non_ascii_host_name_is_accepted() -> None:
    """Only the path and query must be ASCII: http.client encodes a host (IDNA)."""
    assert (
        check_url("http://b\u00fccher.example/api") == "http://b\u00fccher.example/api"
    )


def test_urls_are_shown_without_secrets() -> None:
    """Credentials, query and fragment never reach a log line."""
    assert redact_url("http://u:p@[::1]:80/a?k=1#f") == "http://[::1]:80/a"
    assert redact_url("http://h:bad/x") == "http://h/x"


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), True, "1"])
def test_timeouts_must_be_positive_finite_numbers(value: object) -> None:
    """Timeouts are finite numbers > 0."""
    with pytest.raises((InputTypeError, InvalidParameterError)):
        positive_seconds(value, "timeout")
    assert positive_seconds(0, "timeout", allow_zero=True) == 0.0


# ---------------------------------------------------------------- local disk errors
def test_bad_sender_options_are_refused(tmp_path: Path) -> None:
    """max_memory must be an int; api_key a string."""
    with pytest.raises(InputTypeError, match="max_memory"):
        BatchSender("http://h", name="x", spool_dir=tmp_path, max_memory="1")  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="api_key"):
        BatchSender("http://h", name="x", spool_dir=tmp_path, api_key=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "where"),
    [
        ("s3cret-KEY\n", "control character at position 10"),
        ("s3cret-KEY\r\nX-Evil: 1", "control character at position 10"),
        ("s3cret KEY", "a space at position 6"),
        ("s3cret-KÉY", "non-ASCII character at position 8"),
    ],
)
def test_a_key_that_cannot_travel_in_a_header_is_refused_where_it_enters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, where: str
) -> None:
    """Every entry point refuses a key with a control character, a space or
    non-ASCII, naming the argument and the position, never echoing the key."""
    from ml_infra_utils import HttpExporter, HttpSink
    from ml_infra_utils.logging.server import TrackingServer

    makers: list[Callable[[], object]] = [
        lambda: BatchSender("http://h", name="x", spool_dir=tmp_path, api_key=key),
        lambda: HttpSink("http://h", api_key=key, runs_dir=tmp_path),
        lambda: HttpExporter("http://h", api_key=key, runs_dir=tmp_path),
        lambda: TrackingServer(tmp_path, port=0, api_key=key),
        lambda: send_spooled(tmp_path, url="http://h", api_key=key),
    ]
    for maker in makers:
        with pytest.raises(InvalidParameterError, match=where) as caught:
            maker()
        assert "api_key" in str(caught.value)
        assert key.strip() not in str(caught.value)
    (tmp_path / ".spool").mkdir()
    monkeypatch.setenv("ML_INFRA_UTILS_API_KEY", key)
    with pytest.raises(InvalidParameterError, match="ML_INFRA_UTILS_API_KEY"):
        send_spooled(tmp_path, url="http://h")


def test_a_key_read_from_a_file_gets_a_hint_about_its_newline(tmp_path: Path) -> None:
    """The usual cause (Path.read_text() keeps the newline) is named."""
    with pytest.raises(InvalidParameterError, match="strip its trailing newline"):
        BatchSender("http://h", name="x", spool_dir=tmp_path, api_key="k3y\n")


def test_a_request_that_cannot_be_sent_is_refused_once_not_retried(
    recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure that is not the network (here http.client refusing a header
    value) is not retried in a loop: the request is kept as rejected, reported
    once with the exception's type only (its text may hold a header value),
    and the next request is delivered."""
    sender = make(recorder.url, tmp_path)
    real = sender._conn.request
    calls = []

    def request(method: str, path: str, data: bytes, **kw: Any) -> Any:
        calls.append(path)
        if path == "/bad":
            msg = "Invalid header value b'SECRET-VALUE\\n'"
            raise ValueError(msg)
        return real(method, path, data, **kw)

    sender._conn.request = request  # type: ignore[method-assign]
    with caplog.at_level(logging.DEBUG, logger="ml_infra_utils"):
        sender.send("POST", "/bad", body(0), records=3)
        sender.send("POST", "/good", body(1), records=1)
        assert sender.close(timeout=10)
    assert calls == ["/bad", "/good"]
    assert [r[1] for r in recorder.requests] == ["/good"]
    [error] = sender.errors
    assert error.status is None
    assert "ValueError" in str(error)
    assert "SECRET" not in caplog.text
    assert "SECRET" not in sender.rejected_path.read_text()
    assert "/bad" in sender.rejected_path.read_text()
    assert [r.levelname for r in caplog.records if "ValueError" in r.getMessage()] == [
        "ERROR"
    ]


def full_disk(*_: object) -> None:
    raise OSError(28, "No space left on device")


def test_a_full_disk_while_spooling_is_raised_to_the_producer(
    recorder: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """send() raises OSError and queues nothing, so the run keeps the batch."""
    sender = make(recorder.url, tmp_path, max_memory=1)  # every request spills
    monkeypatch.setattr(Outbox, "append", full_disk)
    with pytest.raises(OSError, match="No space left"):
        sender.send("POST", "/x", body(1))
    assert sender.flush(timeout=20)  # nothing was queued
    monkeypatch.undo()
    sender.send("POST", "/y", body(2))
    assert sender.close(timeout=20)
    assert [r[1] for r in recorder.requests] == ["/y"]


def test_a_full_disk_when_the_server_goes_away_keeps_requests_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No outbox can be written: logged; requests wait in memory and still arrive."""
    port = free_port()
    monkeypatch.setattr(Outbox, "open", full_disk)
    sender = make(f"http://127.0.0.1:{port}", tmp_path)
    with retry_testing():
        sender.send("POST", "/a", body(1))
        wait_for(lambda: "could not write the outbox" in caplog.text)
        server = Recorder(port)
        try:
            assert sender.close(timeout=20)
        finally:
            server.stop()
    assert [r[1] for r in server.requests] == ["/a"]


def test_a_refused_request_that_cannot_be_kept_is_still_reported(
    recorder: Recorder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Writing .rejected fails: the error says so; the sender goes on."""
    recorder.script = [422]
    monkeypatch.setattr(Outbox, "reject", full_disk)
    sender = make(recorder.url, tmp_path)
    sender.send("POST", "/x", body(1))
    sender.send("POST", "/y", body(2))
    assert sender.close(timeout=20)
    assert "it could not be kept" in caplog.text
    assert [e.status for e in sender.errors] == [422]


# ---------------------------------------------------------------- outbox edge cases
def test_a_torn_line_longer_than_the_read_chunk_is_cut(tmp_path: Path) -> None:
    """The search for the last newline walks back over a long torn line."""
    box = Outbox(tmp_path, "r", "http://h")
    box.open()
    box.append([Request("POST", "/a", b"{}", 1)])
    box.close()
    with box.path.open("ab") as file:
        file.write(b"POST /b 1 " + b"x" * 200_000)
    box.open()
    assert box.pending_records() == 1
    assert box.read().path == "/a"  # type: ignore[union-attr]
    assert box.read() is None
    box.close()
    box.path.write_bytes(b"no newline at all")
    box.open()
    assert box.path.read_bytes().startswith(b"#ml-infra-utils-outbox 1 ")
    box.remove()


def test_a_bad_sent_offset_starts_after_the_header(tmp_path: Path) -> None:
    """A .sent file out of range or unreadable means: nothing was acknowledged."""
    box = Outbox(tmp_path, "r", "http://h")
    box.open()
    box.append([Request("POST", "/a", b"{}", 1)])
    box.close()
    for junk in ("-5", "99999999", "x"):
        (tmp_path / "r.outbox.sent").write_text(junk)
        box.open()
        assert box.read().path == "/a"  # type: ignore[union-attr]
        box.close()


@pytest.mark.parametrize(
    "first",
    [b"#ml-infra-utils-outbox 1 {bad\n", b"#ml-infra-utils-outbox 1 [1]\n", b"x\n"],
)
def test_an_unreadable_header_has_no_url(tmp_path: Path, first: bytes) -> None:
    """read_header gives {} for a header it cannot read."""
    path = tmp_path / "x.outbox"
    path.write_bytes(first)
    assert read_header(path) == {}


def test_an_outbox_request_has_a_short_repr() -> None:
    """Request repr: method, path and records (never the body)."""
    assert (
        repr(Request("POST", "/x", b'{"secret":1}', 3)) == "Request(POST /x, 3 records)"
    )


def test_an_append_that_fails_half_way_leaves_no_partial_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write error mid-append truncates the file back: whole requests only."""
    box = Outbox(tmp_path, "r", "http://h")
    box.open()
    size = box.size

    def half_then_fail(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ml_infra_utils.logging._spool.write_all", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        box.append([Request("POST", "/a", b"{}", 1)])
    assert box.path.stat().st_size == size
    assert repr(box) == f"Outbox({str(box.path)!r}, sent={size}, size={size})"
    box.close()


def test_an_outbox_that_cannot_be_prepared_is_closed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error while opening closes what was opened; the outbox stays closed."""
    box = Outbox(tmp_path, "r", "http://h")
    monkeypatch.setattr(Outbox, "_drop_torn_tail", full_disk)
    with pytest.raises(OSError, match="No space"):
        box.open()
    assert not box.is_open


def test_a_line_still_being_written_is_not_read(tmp_path: Path) -> None:
    """read() stops at a line without its newline (another writer's, or torn)."""
    box = Outbox(tmp_path, "r", "http://h")
    box.open()
    with box.path.open("ab") as file:
        file.write(b"POST /x 1 {")
    box.size = box.path.stat().st_size
    assert box.read() is None
    box.close()
