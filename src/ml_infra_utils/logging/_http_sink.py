"""The HTTP sink: a run's batches sent to a tracking server (Tora's protocol).

Re-exported from :mod:`ml_infra_utils.logging.sinks`; the guide is the
"Remote runs" section of ``docs/runs.md``, the wire format ``docs/protocol.md``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_infra_utils._errors import (
    InputTypeError,
    InvalidParameterError,
    OutputClosedError,
    TrackingServerError,
)

from ._protocol import encode_logs, encode_run, logs_path, run_path
from ._records import RecordBatch
from ._settings import ENV_API_KEY, ENV_TRACKING_URL, env_str, runs_dir_setting
from ._spool import SUFFIX, OutboxInUseError, read_header
from ._urls import check_api_key, check_url, positive_seconds, redact_url
from ._validators import check_experiment

if TYPE_CHECKING:  # imported when a run opens: http.client and ssl cost ~30 ms
    import ssl

    from ._http import BatchSender

__all__ = ["SPOOL_DIR", "HttpSink", "send_spooled"]

SPOOL_DIR = ".spool"
_log = logging.getLogger("ml_infra_utils.logging.sinks")


class HttpSink:
    """Send a run to a tracking server (``ml-infra-utils serve``) over HTTP.

    The run's batches are handed to a background sender and this sink returns
    at once: the training loop never waits for the network and never sees a
    network error. The sender keeps one connection alive, retries connection
    errors, timeouts, 429 and 5xx (honouring ``Retry-After``) and, while the
    server cannot be reached, spools the requests to the local store
    (``<runs_dir>/.spool/<run id>.outbox``) and sends them later, in order.
    Every record carries a message id (``"<run id>:<seq>"``), so the server
    stores each record once even when a request is sent twice. A request the
    server refuses (a 4xx other than 408/429: a bad record, a wrong key) is
    logged once, kept in :attr:`errors` and in ``<run id>.rejected`` next to
    the outbox. ``close()`` (the end of the run) waits at most
    *shutdown_timeout* seconds; what is not delivered by then stays spooled
    for :func:`send_spooled`.

    The API key is sent in the ``x-api-key`` header and never appears in a
    repr, a log record, an error or a file.

    Args:
        url: the server's base URL, e.g. ``http://127.0.0.1:8787``
            (``https://`` supported).
        api_key: the server's key, if it has one.
        runs_dir: the local store whose ``.spool/`` directory holds requests
            not delivered yet; default ``$ML_INFRA_UTILS_RUNS_DIR`` or ``./runs``.
        timeout: seconds one request may take.
        shutdown_timeout: the longest ``close()`` waits for the server.
        max_batch: records per request (a run's batch is split).
        max_retry_delay: the longest pause between attempts.
        ssl_context: for ``https://`` with your own CA.

    Raises:
        InputTypeError, InvalidParameterError: a bad argument.

    Examples:
        >>> HttpSink("http://127.0.0.1:8787", api_key="s3cret")
        HttpSink(url='http://127.0.0.1:8787', run=None)
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        runs_dir: str | os.PathLike[str] | None = None,
        timeout: float = 10.0,
        shutdown_timeout: float = 10.0,
        max_batch: int = 5_000,
        max_retry_delay: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = check_url(url)
        api_key = check_api_key(api_key)
        if isinstance(max_batch, bool) or not isinstance(max_batch, int):
            msg = f"max_batch must be an int, got {type(max_batch).__name__}"
            raise InputTypeError(msg)
        if max_batch < 1:
            msg = f"max_batch must be >= 1, got {max_batch}"
            raise InvalidParameterError(msg)
        self.max_batch = max_batch
        self.shutdown_timeout = positive_seconds(shutdown_timeout, "shutdown_timeout")
        self.spool_dir = runs_dir_setting(runs_dir) / SPOOL_DIR
        self._options: dict[str, Any] = {
            "api_key": api_key,
            "timeout": timeout,
            "max_retry_delay": max_retry_delay,
            "ssl_context": ssl_context,
        }
        positive_seconds(timeout, "timeout")  # checked now, not when the run starts
        positive_seconds(max_retry_delay, "max_retry_delay")
        self._sender: BatchSender | None = None
        self._run_id: str | None = None
        self.delivered: bool | None = None

    def __repr__(self) -> str:
        return f"HttpSink(url={redact_url(self.url)!r}, run={self._run_id!r})"

    @property
    def run_url(self) -> str | None:
        """The run's address on the server (``GET`` answers it), once open."""
        if self._run_id is None:
            return None
        return redact_url(self.url) + run_path(self._run_id)

    @property
    def errors(self) -> list[TrackingServerError]:
        """The requests the server refused (see the class docs), oldest first."""
        return [] if self._sender is None else list(self._sender.errors)

    @property
    def spool_path(self) -> Path | None:
        """The outbox of this run (it exists only while requests wait in it)."""
        return None if self._sender is None else self._sender.spool_path

    def open(self, info: Mapping[str, Any]) -> None:
        """Queue the creation of the run on the server (no network wait)."""
        from ._http import BatchSender

        run_id = check_experiment(info.get("id"), "run id")
        self._run_id = run_id
        self._sender = BatchSender(
            self.url, name=run_id, spool_dir=self.spool_dir, **self._options
        )
        self._sender.send("PUT", run_path(run_id), encode_run(info))

    def write(self, batch: RecordBatch) -> None:
        """Queue the batch, split into requests of at most ``max_batch`` records."""
        sender = self._require_open()
        path = logs_path(batch.run_id)
        for body, count in encode_logs(batch, max_records=self.max_batch):
            sender.send("POST", path, body, records=count)

    def update(self, info: Mapping[str, Any]) -> None:
        """Queue the new run record (params, tags, results, status)."""
        sender = self._require_open()
        sender.send("PUT", run_path(str(info.get("id"))), encode_run(info))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the server acknowledged everything queued (or *timeout*).

        Returns:
            Whether everything was delivered.
        """
        return True if self._sender is None else self._sender.flush(timeout)

    def close(self) -> None:
        """Deliver what is queued within ``shutdown_timeout`` seconds; idempotent.

        What the server has not acknowledged by then stays in the outbox.
        """
        if self._sender is not None and self.delivered is None:
            self.delivered = self._sender.close(self.shutdown_timeout)

    def _require_open(self) -> BatchSender:
        if self._sender is None:
            msg = "HttpSink is not open: call open(info) first"
            raise OutputClosedError(msg)
        return self._sender


def send_spooled(
    runs_dir: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    api_key: str | None = None,
    timeout: float = 60.0,
) -> int:
    """Send the requests that runs left spooled (server away when they ended).

    Each outbox in ``<runs_dir>/.spool/`` is sent in order, oldest first, to the
    server it was meant for (or *url*), and deleted once delivered. An outbox
    that a live sender (a run still going, here or in another process) has
    open is skipped: that sender delivers it itself (not on Windows, which has
    no lock for it: see ``docs/runs.md``).

    Args:
        runs_dir: the local store; default ``$ML_INFRA_UTILS_RUNS_DIR`` or
            ``./runs``.
        url: send everything here instead of each outbox's own server.
        api_key: the server's key; default ``$ML_INFRA_UTILS_API_KEY``.
        timeout: the longest the whole call waits, in seconds.

    Returns:
        How many records were delivered.

    Raises:
        TrackingServerError: some requests could not be delivered in time (they
            stay spooled; call again later).

    Examples:
        >>> import tempfile
        >>> send_spooled(tempfile.mkdtemp())  # nothing spooled
        0
    """
    from ._http import BatchSender

    if api_key is not None:
        key = check_api_key(api_key)
    else:
        key = check_api_key(env_str(ENV_API_KEY, None), f"${ENV_API_KEY}")
    spool = runs_dir_setting(runs_dir) / SPOOL_DIR
    if not spool.is_dir():
        return 0
    deadline = time.monotonic() + timeout
    outboxes = sorted(spool.glob(f"*{SUFFIX}"), key=_mtime)
    delivered = 0
    for path in outboxes:
        target = url or read_header(path).get("url") or env_str(ENV_TRACKING_URL, None)
        if target is None:
            msg = f"{path} does not say which server it is for: pass url="
            raise TrackingServerError(msg)
        try:
            sender = BatchSender(
                target, name=path.name[: -len(SUFFIX)], spool_dir=spool, api_key=key
            )
        except InvalidParameterError as exc:
            if not isinstance(exc.__cause__, OutboxInUseError):
                raise
            _log.info("skipped %s: a live sender is still writing it", path)
            continue
        done = sender.close(max(0.0, deadline - time.monotonic()))
        delivered += sender.sent_records
        if not done:
            msg = (
                f"could not deliver the requests spooled in {path} to "
                f"{redact_url(target)} within {timeout:g} s; they stay there "
                "(call send_spooled again later)"
            )
            raise TrackingServerError(msg)
    return delivered


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # delivered and deleted by its sender meanwhile
        return 0.0
