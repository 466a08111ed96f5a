"""Where a run's records go: the Sink protocol, the local run store, memory.

A :class:`~ml_infra_utils.Run` buffers its records in memory and hands them to
its sink in batches (:class:`RecordBatch`), from one thread at a time. A sink is
any object with four methods (:class:`Sink`):

* ``open(info)`` once, when the run starts; *info* is the run record (the
  content of ``run.json``: id, experiment, params, tags, status, ...);
* ``write(batch)`` for each batch of metric and result records, in order;
* ``update(info)`` when the run record changed (params, tags, the final status);
* ``close()`` once, after the last ``update``.

Every record carries a unique, stable message id (``batch.msg_id(i)``:
``"<run id>:<seq>"``), so a receiver that sees a batch twice (a retried HTTP
request, a spooled batch sent again) can store each record once. If ``write``
raises, the run keeps the batch and calls ``write`` again later with the *same*
batch, so a sink must leave no partial effect behind (the local store truncates a
half-written batch) or deduplicate by message id.

Three sinks ship here: :class:`RunStoreSink`, the local store under ``./runs/``
(the default, no server needed; its layout is documented in ``docs/runs.md``),
:class:`HttpSink`, which sends the batches to a tracking server
(``ml-infra-utils serve``; the wire format is ``docs/protocol.md``), and
:class:`MemorySink`, which keeps everything in memory for tests.
:func:`send_spooled` delivers what an :class:`HttpSink` could not.

Examples:
    >>> sink = MemorySink()
    >>> sink.open({"id": "r1", "experiment": "demo"})
    >>> sink.write(RecordBatch("r1", 0, ["loss", 0.5, 0, 1700000000000]))
    >>> sink.records, sink.batches[0].msg_id(0)
    ([('loss', 0.5, 0, 1700000000000)], 'r1:0')
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ml_infra_utils._errors import InvalidParameterError, OutputClosedError
from ml_infra_utils._sequences import check_flag

from ._http_sink import HttpSink, send_spooled
from ._json import dumps_line
from ._records import (
    CHANGES_FILE,
    METRICS_FILE,
    RUN_FILE,
    Record,
    RecordBatch,
    format_metric_lines,
    info_bytes,
    write_all,
    write_json_atomic,
)
from ._validators import check_experiment

__all__ = [
    "HttpSink",
    "MemorySink",
    "RecordBatch",
    "RunStoreSink",
    "Sink",
    "send_spooled",
]


@runtime_checkable
class Sink(Protocol):
    """Where a run's records and run record go (see the module docs).

    A run calls a sink from one thread at a time, in the order ``open``, any
    number of ``write``/``update``, then ``close`` once. ``write`` must either
    store the whole batch or raise with no partial effect (or deduplicate by
    message id), because the run retries a failed batch as it is.
    """

    def open(self, info: Mapping[str, Any]) -> None:
        """Start storing the run described by *info* (the run record)."""

    def write(self, batch: RecordBatch) -> None:
        """Store a batch of metric and result records."""

    def update(self, info: Mapping[str, Any]) -> None:
        """Store the changed run record (params, tags, status, end time...)."""

    def close(self) -> None:
        """Make everything durable and release resources; called once."""


class RunStoreSink:
    """The local run store: ``<runs_dir>/<experiment>/<run id>/``.

    ``run.json`` holds the run record and is replaced atomically on every
    change; ``metrics.jsonl`` gets one JSON line per metric record, appended a
    batch at a time with one unbuffered ``write`` (a half-written batch is
    truncated away before the error propagates, so a retry writes it cleanly).
    Records reach the operating system at every batch, so a killed process
    loses nothing already handed to the sink. With ``fsync=True`` (the default)
    ``run.json`` is fsynced on every change and ``metrics.jsonl`` at ``close()``,
    so a finished run also survives a power cut.

    The experiment and the run id become path components: both are validated,
    and the run directory must resolve inside *runs_dir*.

    Args:
        runs_dir: the root directory of the store (created if missing).
        fsync: whether to fsync as described above.

    Examples:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> sink = RunStoreSink(root, fsync=False)
        >>> sink.open({"id": "r1", "experiment": "demo", "results": {}})
        >>> sink.write(RecordBatch("r1", 0, ["loss", 0.5, 0, 1000]))
        >>> sink.close()
        >>> print((sink.path / "metrics.jsonl").read_text(), end="")
        {"name":"loss","value":0.5,"step":0,"timestamp":1000}
    """

    def __init__(self, runs_dir: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.runs_dir = Path(runs_dir)
        self.fsync = check_flag("fsync", fsync)
        self.path: Path | None = None
        self._info: dict[str, Any] = {}
        self._fd: int | None = None
        self._torn: int | None = None  # where a failed batch must be cut off

    def __repr__(self) -> str:
        return f"RunStoreSink(runs_dir={str(self.runs_dir)!r}, path={self.path!r})"

    def open(self, info: Mapping[str, Any]) -> None:
        """Create the run directory, an empty ``metrics.jsonl`` and ``run.json``.

        Opening a run directory that exists already continues it (appends),
        after cutting a last line without its newline: a process killed in the
        middle of a ``write`` (Linux may stop a write between pages on SIGKILL)
        leaves one, and appending to it would spoil the next record too.
        """
        experiment = check_experiment(info.get("experiment"), "experiment")
        run_id = check_experiment(info.get("id"), "run id")
        root = self.runs_dir.resolve()
        path = root / experiment / run_id
        if path.resolve().parent.parent != root:  # pragma: no cover - defence
            msg = f"run directory {path} escapes the runs directory {root}"
            raise InvalidParameterError(msg)
        path.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(
            path / METRICS_FILE, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644
        )
        _cut_torn_line(self._fd)
        self.path = path
        self._info = copy.deepcopy(dict(info))
        self._info.setdefault("results", {})
        self._write_info()

    def write(self, batch: RecordBatch) -> None:
        """Append the batch's metric lines; fold its results into ``run.json``.

        All or nothing: if any part fails (a short write, a full disk while
        ``run.json`` is replaced), the lines already appended are cut off again
        and ``run.json`` keeps its old results before the error propagates, so
        the run's retry of the same batch stores every record once.
        """
        fd = self._require_open()
        self._commit(fd, format_metric_lines(batch).encode("utf-8"), batch.results)

    def update(self, info: Mapping[str, Any]) -> None:
        """Replace ``run.json`` by the new run record."""
        self._require_open()
        results = self._info.get("results", {})
        self._info = copy.deepcopy(dict(info))
        if "results" not in self._info:
            self._info["results"] = results
        self._write_info()

    def write_changes(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Append change records to ``changes.jsonl`` (optional sink method).

        A run calls it with the ``to_dict()`` of each change of a tracked params
        mapping (see :meth:`~ml_infra_utils.Run.log_params`). One unbuffered
        append per batch; a half-written batch is truncated away.
        """
        self._require_open()
        assert self.path is not None  # noqa: S101 - set by open()
        data = "".join(dumps_line(record) for record in records).encode("utf-8")
        fd = os.open(
            self.path / CHANGES_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )
        try:
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                write_all(fd, data)
            except BaseException:
                os.ftruncate(fd, start)
                raise
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Fsync (when enabled) and close ``metrics.jsonl``; idempotent."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def _require_open(self) -> int:
        if self._fd is None:
            if self.path is None:
                msg = "RunStoreSink is not open: call open(info) first"
            else:
                msg = f"RunStoreSink of {self.path} is closed"
            raise OutputClosedError(msg)
        return self._fd

    def _commit(self, fd: int, data: bytes, results: Sequence[Record]) -> None:
        # Append the lines and fold the results into run.json, or neither.
        if self._torn is not None:  # a failed batch could not be cut off: now
            os.ftruncate(fd, self._torn)
            self._torn = None
        start = os.lseek(fd, 0, os.SEEK_END) if data else 0
        try:
            if data:
                write_all(fd, data)
            if results:
                merged = dict(self._info["results"])
                merged.update((r[0], r[1]) for r in results)
                self._write_info(results=merged)
                self._info["results"] = merged
        except BaseException:
            if data:
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    self._torn = start  # cut before anything else is appended
            raise

    def _write_info(self, *, results: dict[str, Any] | None = None) -> None:
        assert self.path is not None  # noqa: S101 - set by open()
        info = self._info if results is None else {**self._info, "results": results}
        write_json_atomic(self.path / RUN_FILE, info_bytes(info), fsync=self.fsync)


def _cut_torn_line(fd: int) -> None:
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return
    end = size
    while end > 0:
        start = max(0, end - 65536)
        cut = os.pread(fd, end - start, start).rfind(b"\n")
        if cut >= 0:
            os.ftruncate(fd, start + cut + 1)
            return
        end = start
    os.ftruncate(fd, 0)


class MemorySink:
    """A sink that keeps the run record and every batch in memory (for tests).

    Attributes:
        info: the latest run record (``None`` before ``open``).
        batches: every batch written, in order.
        changes: every change record written (see ``write_changes``).
        closed: whether ``close()`` was called.

    Examples:
        >>> sink = MemorySink()
        >>> sink.open({"id": "r", "status": "running"})
        >>> sink.update({"id": "r", "status": "finished"})
        >>> sink.close()
        >>> sink.info["status"], sink.closed
        ('finished', True)
    """

    def __init__(self) -> None:
        self.info: dict[str, Any] | None = None
        self.batches: list[RecordBatch] = []
        self.changes: list[dict[str, Any]] = []
        self.closed = False

    def __repr__(self) -> str:
        return f"MemorySink(batches={len(self.batches)}, closed={self.closed})"

    @property
    def records(self) -> list[Record]:
        """Every record written, in order."""
        return [record for batch in self.batches for record in batch.records]

    def open(self, info: Mapping[str, Any]) -> None:
        """Keep a copy of the run record."""
        self.info = copy.deepcopy(dict(info))

    def write(self, batch: RecordBatch) -> None:
        """Keep the batch."""
        self.batches.append(batch)

    def update(self, info: Mapping[str, Any]) -> None:
        """Keep a copy of the new run record."""
        self.info = copy.deepcopy(dict(info))

    def write_changes(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Keep copies of change records (optional sink method)."""
        self.changes.extend(copy.deepcopy(dict(record)) for record in records)

    def close(self) -> None:
        """Mark the sink closed."""
        self.closed = True
