"""Exporters: observers that write change records to a sink.

Private: the public names are re-exported by :mod:`ml_infra_utils.logging.changes`.

Every exporter writes ``record.to_dict()`` (the JSON-safe form documented in
``docs/changes.md``). :class:`JsonLinesExporter` writes one line per change
straight to an ``O_APPEND`` file (the writer the structured logger and the run
store share). The remote ones never block the changing thread on the network:
:class:`HttpExporter` and :class:`S3Exporter` buffer records and a background
thread hands them over in batches (:class:`HttpExporter` to the package's
shared HTTP sender, which retries and spools; :class:`S3Exporter` to the
client, retrying a failed batch with backoff);
:class:`KafkaExporter` hands each record to the producer, which batches on its
own. S3 and Kafka take the user's own client object (boto3-style
``put_object``, kafka-python-style ``send``), so the package stays
dependency-free.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ml_infra_utils._errors import (
    InputTypeError,
    InvalidParameterError,
    TrackingServerError,
)

from ._change import Change
from ._json import dumps, dumps_line
from ._output import AppendFile
from ._urls import positive_seconds
from ._urls import redact_url as redact

if TYPE_CHECKING:
    import ssl

__all__ = [
    "HttpExporter",
    "JsonLinesExporter",
    "KafkaExporter",
    "S3Exporter",
]

_log = logging.getLogger("ml_infra_utils.logging.changes")
_MAX_BACKOFF = 60.0


class _Closing:
    """Context-manager support: ``with Exporter(...) as e:`` closes at the end."""

    def close(self) -> None:
        raise NotImplementedError  # pragma: no cover

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class JsonLinesExporter(_Closing):
    """Appends every record to a JSON Lines file, one ``write()`` per line.

    The file is opened with ``O_APPEND`` (created with its parent directories
    if missing), so several processes can export to one file without tearing
    lines. Each change is on disk (in the OS) before the mutating call
    returns.

    Args:
        path: the file.

    Examples:
        >>> import json, os, tempfile
        >>> from ml_infra_utils import TrackedDict
        >>> path = os.path.join(tempfile.mkdtemp(), "changes.jsonl")
        >>> with JsonLinesExporter(path) as export:
        ...     config = TrackedDict({"lr": 0.1}, observers=[export])
        ...     config["lr"] = 0.2
        >>> with open(path) as file:
        ...     line = json.loads(file.read())
        >>> line["action"], line["path"], line["old"], line["new"]
        ('replace', ['lr'], 0.1, 0.2)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        parent = os.path.dirname(os.fspath(path))
        if parent:
            os.makedirs(parent, exist_ok=True)
        self.path = os.fspath(path)
        self._file = AppendFile(path)

    def __call__(self, record: Change) -> None:
        self._file.write(dumps_line(record.to_dict()))

    def close(self) -> None:
        """Close the file (later records raise, which the container counts)."""
        self._file.close()

    def __repr__(self) -> str:
        return f"JsonLinesExporter({self.path!r})"


_live: weakref.WeakSet[_BatchExporter] = weakref.WeakSet()


def _flush_all_at_exit() -> None:
    # Each exporter waits at most its shutdown_timeout, then logs what it
    # could not export: a slow or unreachable sink never holds the exit.
    for exporter in list(_live):
        exporter.close(quiet=True)


atexit.register(_flush_all_at_exit)


class _BatchExporter(_Closing):
    """Buffers records; a daemon thread sends them in batches (the base class)."""

    def __init__(
        self,
        *,
        batch_size: int,
        flush_interval: float,
        max_buffer: int,
        shutdown_timeout: float,
    ) -> None:
        for name, value in (("batch_size", batch_size), ("max_buffer", max_buffer)):
            if type(value) is not int:
                msg = f"{name} must be an int >= 1, got {type(value).__name__}"
                raise InputTypeError(msg)
            if value < 1:
                msg = f"{name} must be an int >= 1, got {value!r}"
                raise InvalidParameterError(msg)
        self.batch_size = batch_size
        # A finite number > 0 (not a bool): inf or NaN would kill the thread.
        self.flush_interval = positive_seconds(flush_interval, "flush_interval")
        self.shutdown_timeout = positive_seconds(shutdown_timeout, "shutdown_timeout")
        self.max_buffer = max_buffer
        self.sent = 0
        self.dropped = 0
        self.failures = 0
        self._buffer: list[Change] = []
        self._lock = threading.Lock()
        self._io = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._given_up = False
        self._error: Exception | None = None
        _live.add(self)

    def _send(self, batch: list[dict[str, Any]]) -> None:
        raise NotImplementedError  # pragma: no cover - each exporter has one

    def __call__(self, record: Change) -> None:
        with self._lock:
            if self._closed or len(self._buffer) >= self.max_buffer:
                self.dropped += 1
                return
            self._buffer.append(record)
            size = len(self._buffer)
            if self._thread is None:
                self._start()
        if size >= self.batch_size:
            self._wake.set()

    def _start(self) -> threading.Thread:
        """Start the background thread (lock held)."""
        thread = self._thread = threading.Thread(
            target=self._run,
            name=f"ml_infra_utils-{type(self).__name__}",
            daemon=True,
        )
        thread.start()
        return thread

    def _run(self) -> None:
        delay = self.flush_interval
        while True:
            self._wake.wait(min(delay, threading.TIMEOUT_MAX))
            self._wake.clear()
            if self._closed:  # the last hand-over, for close() to wait on
                try:
                    self._hand_over()
                except Exception as exc:  # close() raises or logs it
                    self._error = exc
                return
            try:
                self._hand_over()
            except Exception:
                self.failures += 1
                if self.failures & (self.failures - 1) == 0:
                    _log.exception(
                        "%r: sending changes failed (%d failures); %d buffered, "
                        "retrying in %.3g s",
                        self,
                        self.failures,
                        len(self._buffer),
                        min(delay * 2, _MAX_BACKOFF),
                    )
                delay = min(delay * 2, _MAX_BACKOFF)
            else:
                delay = self.flush_interval

    def flush(self) -> None:
        """Send everything buffered now, in batches; raises if a batch fails.

        A failed batch stays buffered (in order) and is retried.
        """
        self._hand_over()

    def _hand_over(self) -> None:
        with self._io:
            while True:
                with self._lock:
                    batch = self._buffer[: self.batch_size]
                if not batch:
                    return
                self._send([record.to_dict() for record in batch])
                with self._lock:
                    if self._given_up:  # close() counted them as dropped
                        self.dropped -= len(batch)
                    else:
                        del self._buffer[: len(batch)]
                    self.sent += len(batch)

    def close(self, *, timeout: float | None = None, quiet: bool = False) -> None:
        """Stop the background thread and send what is left; idempotent.

        The background thread sends the rest while this waits at most
        *timeout* seconds (default :attr:`shutdown_timeout`), so a send that
        never returns cannot hold the caller (or the interpreter's exit).
        Raises the sender's error if the final send fails, and
        :class:`TimeoutError` if time runs out (the records stay buffered and
        the thread goes on sending them). With *quiet* it raises neither: the
        records left are counted in :attr:`dropped` and logged as not
        exported.
        """
        limit = self.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        with self._lock:
            self._closed = True
            thread = self._thread
            if self._buffer and (thread is None or not thread.is_alive()):
                thread = self._start()  # e.g. a second close after a failure
        self._wake.set()
        if thread is threading.current_thread():
            return  # called by a client from the thread: it finishes the job
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            error, self._error = self._error, None
            left = len(self._buffer)
        if error is not None:
            if not quiet:
                raise error
            lost = self._give_up()
            _log.error(
                "%r: the last changes could not be sent; %d change(s) not exported",
                self,
                lost,
                exc_info=error,
            )
        elif left:
            if not quiet:
                msg = (
                    f"{self!r}: {left} change(s) not exported within {limit:g} s "
                    "(they stay buffered and are still being sent; give the "
                    "sink's client its own timeouts)"
                )
                raise TimeoutError(msg)
            lost = self._give_up()
            _log.error(
                "%r: gave up after %g s; %d change(s) not exported "
                "(give the sink's client its own timeouts)",
                self,
                limit,
                lost,
            )
        _live.discard(self)

    def _give_up(self) -> int:
        """Count what is left as dropped; a send in progress settles it later."""
        with self._lock:
            lost = len(self._buffer)
            self.dropped += lost
            self._buffer.clear()
            self._given_up = True
        return lost

    @property
    def buffered(self) -> int:
        """Records waiting to be sent."""
        return len(self._buffer)


class HttpExporter(_BatchExporter):
    """POSTs records in JSON batches to an HTTP endpoint, never blocking a change.

    Every *batch_size* records, or every *flush_interval* seconds, the records
    gathered so far go to *url* as one JSON array of their ``to_dict()``. Each
    request is handed to the package's HTTP sender, the transport under
    :class:`~ml_infra_utils.HttpSink`: it returns at once, and a background
    thread delivers the requests in order over one kept-alive connection,
    retries connection errors, timeouts, 408/425/429 and 5xx (honouring
    ``Retry-After``), and while the endpoint is down spools them to
    ``<runs_dir>/.spool/<name>.outbox``, sent when it answers again (or by a
    later exporter of the same *name*, or :func:`~ml_infra_utils.send_spooled`).
    A request refused with another 4xx is set aside and listed in
    :attr:`errors`. The rest is sent at :meth:`close` and at interpreter exit,
    waiting at most *shutdown_timeout*; what is left stays spooled.

    Args:
        url: the endpoint, e.g. ``https://audit.example.com/v1/changes``.
        api_key: sent in the ``x-api-key`` header (never logged or spooled).
        name: names the outbox; give a fixed one to have a later process send
            what this one could not (default: unique per exporter).
        runs_dir: the local store whose ``.spool/`` holds undelivered requests;
            default ``$ML_INFRA_UTILS_RUNS_DIR`` or ``./runs``.
        batch_size: records per request (default 100).
        flush_interval: seconds between requests while changes trickle in
            (default 1.0).
        timeout: seconds one request may take.
        max_retry_delay: the longest pause between two attempts.
        shutdown_timeout: the longest :meth:`close` waits for the endpoint.
        ssl_context: for ``https://`` with your own CA.

    Raises:
        InputTypeError, InvalidParameterError: a bad argument.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        name: str | None = None,
        runs_dir: str | os.PathLike[str] | None = None,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        timeout: float = 10.0,
        max_retry_delay: float = 10.0,
        shutdown_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        from ._http import BatchSender  # http.client and ssl: only when used
        from ._http_sink import SPOOL_DIR
        from ._settings import runs_dir_setting
        from ._urls import check_url

        parts = urllib.parse.urlsplit(check_url(url))
        given: object = name  # users without a type checker pass anything
        if given is not None and not isinstance(given, str):
            msg = f"name must be a string or None, got {type(given).__name__}"
            raise InputTypeError(msg)
        super().__init__(
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_buffer=100_000,
            shutdown_timeout=shutdown_timeout,
        )
        self.url = url
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.delivered: bool | None = None
        self._sender = BatchSender(
            f"{parts.scheme}://{parts.netloc}",
            name=name or f"changes-{secrets.token_hex(4)}",
            spool_dir=runs_dir_setting(runs_dir) / SPOOL_DIR,
            api_key=api_key,
            timeout=timeout,
            max_retry_delay=max_retry_delay,
            ssl_context=ssl_context,
        )

    def _send(self, batch: list[dict[str, Any]]) -> None:
        body = dumps(batch).encode("utf-8")
        self._sender.send("POST", self._path, body, records=len(batch))

    @property
    def errors(self) -> list[TrackingServerError]:
        """The requests the endpoint refused (a 4xx but 408/429), oldest first."""
        return list(self._sender.errors)

    def flush(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Send what is buffered and wait until the endpoint has it all.

        Returns:
            Whether everything was delivered within *timeout* seconds.
        """
        self._hand_over()
        return self._sender.flush(timeout)

    def close(self, *, timeout: float | None = None, quiet: bool = False) -> None:
        """Send the rest, waiting at most *shutdown_timeout*; idempotent.

        Sets :attr:`delivered`; what the endpoint did not take is spooled.
        """
        super().close(timeout=timeout, quiet=quiet)
        sender = getattr(self, "_sender", None)  # None: its constructor raised
        if sender is not None:
            self.delivered = sender.close(self.shutdown_timeout)

    def __repr__(self) -> str:
        return f"HttpExporter({redact(self.url)!r}, sent={self.sent})"


class S3Exporter(_BatchExporter):
    """Writes records to S3 (or any store with a boto3-style ``put_object``).

    Each batch becomes one JSON Lines object named
    ``<prefix><lowest seq>-<highest seq>-<exporter id>.jsonl`` (seqs zero-padded,
    so names sort in order; the random exporter id keeps processes apart).
    Batching, retries and the buffer bound are as for :class:`HttpExporter`;
    ``batch_size=1`` writes one object per change.

    Args:
        client: e.g. ``boto3.client("s3")``; called as
            ``client.put_object(Bucket=..., Key=..., Body=bytes, ContentType=...)``.
        bucket: the bucket.
        prefix: the key prefix (default ``"changes/"``).
        batch_size: records per object (default 1000).
        flush_interval: seconds between writes (default 5.0).
        max_buffer: records held while S3 is unreachable (default 100,000).
        shutdown_timeout: the longest :meth:`close` (and the exit hook) waits
            for the last batches, including a ``put_object`` in progress
            (default 10.0); what is left is logged as not exported. Give the
            client its own timeouts too (botocore's ``connect_timeout``,
            ``read_timeout`` and ``retries``): a call in progress cannot be
            stopped, only abandoned at exit.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        prefix: str = "changes/",
        batch_size: int = 1000,
        flush_interval: float = 5.0,
        max_buffer: int = 100_000,
        shutdown_timeout: float = 10.0,
    ) -> None:
        if not callable(getattr(client, "put_object", None)):
            msg = (
                "client must have a boto3-style put_object method, "
                f"got {type(client).__name__}"
            )
            raise InputTypeError(msg)
        given: tuple[tuple[str, object], ...] = (("bucket", bucket), ("prefix", prefix))
        for name, value in given:
            if not isinstance(value, str):
                msg = f"{name} must be a str, got {type(value).__name__}"
                raise InputTypeError(msg)
        super().__init__(
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_buffer=max_buffer,
            shutdown_timeout=shutdown_timeout,
        )
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.exporter_id = secrets.token_hex(4)

    def _send(self, batch: list[dict[str, Any]]) -> None:
        # Observers run outside the lock, so two threads' records may arrive
        # out of seq order: name the object by the batch's lowest and highest.
        seqs = [item["seq"] for item in batch]
        first, last = min(seqs), max(seqs)
        key = f"{self.prefix}{first:012d}-{last:012d}-{self.exporter_id}.jsonl"
        body = "".join(dumps_line(item) for item in batch).encode("utf-8")
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="application/x-ndjson"
        )

    def __repr__(self) -> str:
        return (
            f"S3Exporter(bucket={self.bucket!r}, prefix={self.prefix!r}, "
            f"sent={self.sent})"
        )


class KafkaExporter(_Closing):
    """Sends each record to a Kafka topic through a kafka-python-style producer.

    Calls ``producer.send(topic, value=<JSON bytes>)`` per change; the
    producer batches and retries on its own (configure it with ``acks`` and
    ``retries``). :meth:`flush` and :meth:`close` call ``producer.flush()``.

    Args:
        producer: e.g. ``kafka.KafkaProducer(...)`` (or confluent-style
            wrappers with the same ``send``).
        topic: the topic.
    """

    def __init__(self, producer: Any, topic: str) -> None:
        if not callable(getattr(producer, "send", None)):
            msg = (
                "producer must have a kafka-python-style send method, "
                f"got {type(producer).__name__}"
            )
            raise InputTypeError(msg)
        given: object = topic  # users without a type checker pass anything
        if not isinstance(given, str):
            msg = f"topic must be a str, got {type(given).__name__}"
            raise InputTypeError(msg)
        self.producer = producer
        self.topic = topic

    def __call__(self, record: Change) -> None:
        self.producer.send(self.topic, value=dumps(record.to_dict()).encode("utf-8"))

    def flush(self) -> None:
        """Wait until the producer has delivered everything sent so far."""
        flush: Callable[[], object] | None = getattr(self.producer, "flush", None)
        if flush is not None:
            flush()

    def close(self) -> None:
        """Flush the producer (it stays open: it is yours)."""
        self.flush()

    def __repr__(self) -> str:
        return f"KafkaExporter(topic={self.topic!r})"
