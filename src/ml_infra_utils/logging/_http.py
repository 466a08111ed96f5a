"""Send JSON requests to an HTTP server: keep-alive, retries, bounded time, spool.

:class:`BatchSender` is the transport under :class:`~ml_infra_utils.HttpSink`
and any other exporter that posts JSON batches to a server. Its contract:

* :meth:`~BatchSender.send` never waits for the network: it queues the request
  in memory (or appends it to the outbox on local disk) and returns; requests
  are delivered by one background thread, **in order**, over **one kept-alive
  connection** (``http.client``; ``https://`` with the default SSL context or
  the one given);
* connection errors, timeouts, 408/425/429 and 5xx (but 501/505) are retried
  with :func:`~ml_infra_utils.retry` (full jitter, capped backoff, honouring
  ``Retry-After`` in seconds or as an HTTP date, capped at 60 s); at the first
  such failure every pending request moves to the outbox
  (``<spool_dir>/<name>.outbox``, see :mod:`._spool`) and new ones follow it
  there, so memory stays bounded while the server is away, and the outbox is
  replayed in order when it answers again;
* any other status (a 4xx: a bad request, a wrong API key) is not retried: the
  request is kept in ``<spool_dir>/<name>.rejected`` with the server's reason,
  a :class:`~ml_infra_utils.TrackingServerError` is appended to
  :attr:`~BatchSender.errors` and logged once per status at ERROR;
* a failure that is not the network (``http.client`` refusing the request
  before it leaves) is not retried either: the request is kept in
  ``<name>.rejected`` and reported the same way, with the exception's type
  only (its text could hold a header value);
* :meth:`~BatchSender.close` waits at most its *timeout*: whatever is not
  acknowledged by then stays in the outbox (and is sent by the next sender of
  the same name, or :func:`~ml_infra_utils.send_spooled`). Nothing is lost,
  and a request delivered twice is harmless because servers store each
  message id once;
* the API key travels in the ``x-api-key`` header only: never in a repr, a
  log line, an error or the outbox.

Logs go to ``ml_infra_utils.logging.sinks`` (each retry at DEBUG).

Examples:
    >>> import tempfile
    >>> sender = BatchSender(
    ...     "http://127.0.0.1:9",
    ...     name="demo",
    ...     spool_dir=tempfile.mkdtemp(),
    ...     api_key="secret",
    ... )
    >>> sender
    BatchSender(url='http://127.0.0.1:9', name='demo', pending=0)
    >>> sender.close(timeout=0.1)
    True
"""

from __future__ import annotations

import collections
import http.client
import logging
import os
import ssl
import threading
import time
import weakref
from pathlib import Path

from ml_infra_utils._errors import (
    InputTypeError,
    InvalidParameterError,
    OutputClosedError,
    TrackingServerError,
)
from ml_infra_utils._version import __version__
from ml_infra_utils.decorators.retry import RetryAttempt, retry

from ._connection import Connection, error_text, retry_after_seconds, retryable_status
from ._protocol import API_KEY_HEADER
from ._spool import Outbox, OutboxInUseError, Request
from ._urls import check_api_key, check_url, positive_seconds, redact_url

__all__ = ["BatchSender"]

_log = logging.getLogger("ml_infra_utils.logging.sinks")

_MAX_ERRORS = 100


class _RetryableStatusError(Exception):
    def __init__(self, status: int, retry_after: str | None, text: str) -> None:
        super().__init__(f"HTTP {status}: {text}")
        self.status = status
        self.retry_after = retry_after


class _RefusedError(Exception):
    """Not delivered for good: the server refused it, or it cannot be sent."""

    def __init__(self, status: int | None, text: str) -> None:
        super().__init__(f"HTTP {status}: {text}")
        self.status = status
        self.text = text


class _AbandonedError(Exception):
    """The sender was closed and its time is up: stop at once."""


# What a request may meet on the way that a later attempt may not: retried.
_NETWORK_ERRORS = (OSError, http.client.HTTPException, _RetryableStatusError)


# ---------------------------------------------------------------- the sender
class BatchSender:
    """Deliver JSON requests to one server in order, in the background (see module).

    Args:
        url: the server's base URL (``http://host:port[/prefix]``); request
            paths are appended to it.
        name: names the outbox (``<spool_dir>/<name>.outbox``) and the thread;
            a sender finding an outbox of its name left by an earlier process
            sends it first. A second live sender of the same name raises
            :class:`~ml_infra_utils.InvalidParameterError` when it is made: at
            once in the same process (until the first is closed), and in
            another process while an outbox of that name is open (it is
            locked); two processes that both start spooling under one name
            later: the second logs an error when it cannot open the outbox.
        spool_dir: where outboxes live (created when first needed).
        api_key: sent as ``x-api-key``; never shown anywhere. Visible ASCII
            only (a control character, such as a key file's newline, raises
            :class:`~ml_infra_utils.InvalidParameterError`).
        timeout: seconds one request may take (connect, send, answer).
        max_retry_delay: the longest pause between two attempts, and between
            two rounds of attempts while the server stays away.
        max_memory: bytes of requests held in memory before they go to the
            outbox even though the server answers (it is slower than the
            producer).
        ssl_context: for ``https://`` (default: ``ssl.create_default_context()``).

    Raises:
        InputTypeError, InvalidParameterError: a bad argument.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        spool_dir: str | os.PathLike[str],
        api_key: str | None = None,
        timeout: float = 10.0,
        max_retry_delay: float = 10.0,
        max_memory: int = 64 * 1024 * 1024,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = check_url(url)
        self.name = name
        self.timeout = positive_seconds(timeout, "timeout")
        self.max_retry_delay = positive_seconds(max_retry_delay, "max_retry_delay")
        if isinstance(max_memory, bool) or not isinstance(max_memory, int):
            msg = f"max_memory must be an int (bytes), got {type(max_memory).__name__}"
            raise InputTypeError(msg)
        self.max_memory = max_memory
        api_key = check_api_key(api_key)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"ml-infra-utils/{__version__}",
        }
        if api_key:
            headers[API_KEY_HEADER] = api_key
        self._conn = Connection(self.url, headers=headers, ssl_context=ssl_context)
        self._outbox = Outbox(Path(spool_dir), name, redact_url(self.url))
        self.errors: list[TrackingServerError] = []
        self.sent_requests = 0
        self.sent_records = 0
        self._refused_statuses: set[int | None] = set()
        self._cond = threading.Condition()
        self._mem: collections.deque[Request] = collections.deque()
        self._mem_bytes = 0
        self._spooling = False
        self._current: Request | None = None
        self._closing = False
        self._closed = False
        self._abandoned = False
        self._deadline = 0.0
        self._down_since: float | None = None
        self._pause = threading.Event()
        self._thread: threading.Thread | None = None
        self._send = retry(
            max_attempts=8,
            delay=min(0.25, self.max_retry_delay),
            backoff=2.0,
            exceptions=_NETWORK_ERRORS,
            max_delay=self.max_retry_delay,
            jitter="full",
            retry_if=self._may_retry,
            wait=self._wait,
            on_retry=self._on_retry,
            report=_log,
            level=logging.DEBUG,
        )(self._send_once)
        in_use = (
            f"name {name!r}: the outbox {self._outbox.path} is in use by "
            "another sender (in this process or another); a name must "
            "be unique among live senders"
        )
        try:  # the name, for this sender's life, even if it never spools
            self._outbox.claim()
        except OutboxInUseError as exc:
            raise InvalidParameterError(in_use) from exc
        weakref.finalize(self, self._outbox.release)  # never closed: freed when gone
        if self._outbox.exists():  # left by an earlier process: it goes first
            with self._cond:
                try:
                    self._outbox.open(create=False)
                except FileNotFoundError:  # delivered and deleted meanwhile
                    pass
                except OutboxInUseError as exc:
                    self._outbox.release()
                    raise InvalidParameterError(in_use) from exc
                else:
                    self._spooling = True
                    self._start()

    def __repr__(self) -> str:
        return (
            f"BatchSender(url={redact_url(self.url)!r}, name={self.name!r}, "
            f"pending={len(self._mem)}{', spooling' if self._spooling else ''})"
        )

    # ------------------------------------------------------------ the producer side
    @property
    def spool_path(self) -> Path:
        """The outbox file (it exists only while something is spooled)."""
        return self._outbox.path

    @property
    def rejected_path(self) -> Path:
        """Where refused requests are kept, with the server's reasons."""
        return self._outbox.rejected_path

    @property
    def spooling(self) -> bool:
        """Whether requests currently go to the outbox (the server is away)."""
        return self._spooling

    def send(self, method: str, path: str, body: bytes, *, records: int = 0) -> None:
        """Queue one request; returns without waiting for the network.

        Args:
            method: "POST", "PUT", ...
            path: appended to the base URL, e.g. ``/experiments/r1/logs/batch``.
            body: the JSON body (one line: no raw newline).
            records: how many records it carries (for reports).

        Raises:
            OutputClosedError: the sender is closed.
            OSError: the outbox could not be written (disk full); nothing was
                queued.
        """
        request = Request(method, path, body, records)
        with self._cond:
            if self._closing:
                msg = f"{self!r} is closed"
                raise OutputClosedError(msg)
            if self._spooling:
                self._outbox.append([request])
            else:
                self._mem.append(request)
                self._mem_bytes += len(body)
                if self._mem_bytes > self.max_memory:
                    try:
                        self._spill()
                    except BaseException:
                        self._mem.pop()
                        self._mem_bytes -= len(body)
                        raise
            self._start()
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued request is acknowledged (or *timeout* passes).

        Returns:
            Whether everything was delivered.
        """
        with self._cond:
            return self._cond.wait_for(self._idle, timeout)

    def _idle(self) -> bool:
        return not self._mem and not self._spooling and self._current is None

    def close(self, timeout: float = 10.0) -> bool:
        """Deliver what is queued, waiting at most *timeout* seconds; idempotent.

        Whatever is not acknowledged by then is in the outbox on local disk when
        this returns (a warning says where and how many records).

        Returns:
            Whether everything was delivered.
        """
        timeout = positive_seconds(timeout, "timeout", allow_zero=True)
        with self._cond:
            if self._closed:
                return self._idle()
            self._closing = True
            self._deadline = time.monotonic() + timeout
            self._cond.notify_all()
        self._pause.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            self._closed = True
            alive = thread is not None and thread.is_alive()
            if alive:
                self._abandoned = True
                self._cond.notify_all()
            delivered = self._idle()
            spooled = 0
            if not delivered:
                if self._mem:
                    self._spill()
                spooled = self._outbox.pending_records()
            self._outbox.close()
            self._outbox.release()
        if alive:
            self._conn.abort()
        else:
            self._conn.close()
        if not delivered:
            _log.warning(
                "%s: %d records not delivered to %s within %.3g s; they are kept in %s "
                "and sent later (send_spooled(), or the next sender named %r)",
                self.name,
                spooled,
                redact_url(self.url),
                timeout,
                self._outbox.path,
                self.name,
            )
        return delivered

    # ------------------------------------------------------------ internals (locked)
    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"ml_infra_utils-sender-{self.name}", daemon=True
            )
            self._thread.start()

    def _spill(self) -> None:
        """Move the requests in memory to the outbox; spool from now on."""
        if not self._outbox.is_open:
            self._outbox.open()
        requests = list(self._mem)
        if requests:
            self._outbox.append(requests)
            if requests[0] is self._current:  # the sender holds it: read after it
                self._outbox.read_pos = requests[0].end or self._outbox.read_pos
        self._mem.clear()
        self._mem_bytes = 0
        self._spooling = True

    def _next(self) -> Request | None:
        while True:
            if self._abandoned:
                return None
            if self._spooling:
                request = self._outbox.read()
                if request is not None:
                    return request
                if self._outbox.finished():
                    self._outbox.remove()
                    self._spooling = False
                    self._recovered()
                    continue
            elif self._mem:
                return self._mem[0]
            if self._closing:
                return None
            self._cond.wait()

    def _recovered(self) -> None:
        if self._down_since is not None:
            _log.info(
                "%s: %s answers again; every spooled request was delivered",
                self.name,
                redact_url(self.url),
            )
            self._down_since = None

    # ------------------------------------------------------------ the sender thread
    def _run(self) -> None:
        while True:
            with self._cond:
                if self._abandoned:
                    return
                request = self._current
                if request is None:
                    request = self._current = self._next()
                if request is None:
                    return
            try:
                self._send(request)
            except _AbandonedError:
                return
            except _RefusedError as exc:
                self._finish(request, exc)
            except _NETWORK_ERRORS as exc:
                self._gave_up(exc)
            except Exception as exc:  # any other: it would fail again
                # Not the network (e.g. http.client refusing a header): another
                # attempt would fail the same way, so the request is refused
                # here, once. Only the type is shown: the message may hold a
                # header value, such as the key.
                failed = _RefusedError(
                    None, f"it could not be sent ({type(exc).__name__})"
                )
                self._finish(request, failed)
            else:
                self._finish(request, None)

    def _send_once(self, request: Request) -> None:
        timeout = self.timeout
        if self._closing:
            remaining = self._deadline - time.monotonic()
            if self._abandoned or remaining <= 0:
                raise _AbandonedError
            timeout = min(timeout, remaining)
        status, headers, data = self._conn.request(
            request.method, request.path, request.body, timeout=timeout
        )
        if status < 300:
            return
        text = error_text(data)
        if retryable_status(status):
            raise _RetryableStatusError(status, headers.get("Retry-After"), text)
        if status < 400:
            text = f"redirect to {headers.get('Location')!r} not followed; use that URL"
        raise _RefusedError(status, text)

    def _may_retry(self, _exc: BaseException) -> bool:
        return not self._abandoned

    def _wait(self, attempt: RetryAttempt) -> float | None:
        exc = attempt.exception
        delay = attempt.delay
        if isinstance(exc, _RetryableStatusError):
            asked = retry_after_seconds(exc.retry_after)
            if asked is not None:
                delay = asked
        if self._closing:
            delay = min(delay, max(0.0, self._deadline - time.monotonic()))
        return delay

    def _on_retry(self, attempt: RetryAttempt) -> None:
        with self._cond:
            if self._abandoned or self._spooling:
                return
            try:
                self._spill()
            except OSError:
                _log.exception(
                    "%s: could not write the outbox %s", self.name, self.spool_path
                )
                return
        if self._down_since is None:
            self._down_since = time.monotonic()
            _log.warning(
                "%s: %s did not answer (%s); requests are spooled to %s and retried",
                self.name,
                redact_url(self.url),
                _short(attempt.exception),
                self.spool_path,
            )

    def _gave_up(self, exc: Exception) -> None:
        with self._cond:
            if self._abandoned:
                return
            if not self._spooling:
                try:
                    self._spill()
                except OSError:
                    _log.exception("%s: could not write the outbox", self.name)
            pause = self.max_retry_delay
            if self._closing:
                pause = min(pause, max(0.0, self._deadline - time.monotonic()))
        _log.debug("%s: a round of retries ended with %s", self.name, _short(exc))
        self._pause.wait(pause)
        if not self._closing:
            self._pause.clear()

    def _finish(self, request: Request, refused: _RefusedError | None) -> None:
        with self._cond:
            if self._abandoned:
                return
            if refused is not None:
                self._refuse(request, refused)
            else:
                self.sent_requests += 1
                self.sent_records += request.records
            if request.end is not None:
                self._outbox.mark_sent(request.end)
            else:
                self._mem.popleft()
                self._mem_bytes -= len(request.body)
            self._current = None
            self._cond.notify_all()

    def _refuse(self, request: Request, refused: _RefusedError) -> None:
        what = (
            f"{redact_url(self.url)} refused {request.method} {request.path} "
            f"({request.records} records) with HTTP {refused.status}: {refused.text}"
            if refused.status is not None
            else f"{request.method} {redact_url(self.url)}{request.path} "
            f"({request.records} records) failed: {refused.text}"
        )
        error = TrackingServerError(
            what,
            status=refused.status,
            method=request.method,
            path=request.path,
        )
        if len(self.errors) < _MAX_ERRORS:
            self.errors.append(error)
        try:
            self._outbox.reject(request, refused.status, refused.text)
            where = f"; the request is kept in {self.rejected_path}"
        except OSError as exc:
            where = f"; it could not be kept ({exc})"
        if refused.status not in self._refused_statuses:
            self._refused_statuses.add(refused.status)
            _log.error("%s: %s%s", self.name, error, where)
        else:
            _log.debug("%s: %s%s", self.name, error, where)


def _short(exc: BaseException | None) -> str:
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "no answer"
    return text[:300]
