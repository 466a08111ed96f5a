"""The buffering machinery under a :class:`~ml_infra_utils.Run`.

Loggers append to a plain list, without a lock: metrics flat, four items per
record (``name, value, step, timestamp``), so logging is one C-level ``+=``;
results go to a second list. A writer thread takes a prefix of both lists every
``flush_interval`` seconds, or when the buffer passes a size, and hands it to
the sink; when the buffer is full the logging thread writes it itself
(backpressure), so memory is bounded and nothing is dropped. Taking a prefix
(``records[:n]`` then ``del records[:n]``) is safe against concurrent appends
because each is one atomic list operation and appends only add at the end. A
batch the sink refuses is put back in front and retried, unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from ml_infra_utils._errors import RunStateError

from . import _lifecycle
from ._json import safe_repr, type_name
from ._records import Record, RecordBatch, split_unwritable
from .sinks import Sink

__all__ = ["BufferedRun", "describe"]

_log = logging.getLogger("ml_infra_utils.logging.runs")


class _Refusing(list[Any]):
    """Stands in for a run's buffer once logging is no longer allowed."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def __iadd__(self, _items: Any, /) -> _Refusing:  # type: ignore[misc]
        raise RunStateError(self.reason)

    def extend(self, _items: object, /) -> None:
        raise RunStateError(self.reason)


class BufferedRun:
    """The buffer, the writer thread and the ending of a run (a base class).

    A subclass calls :meth:`_init_buffer`, then :meth:`_start`, from its
    ``__init__``, and provides :meth:`_info`, the run record for the sink.
    """

    __slots__ = (
        "_buf",
        "_closing",
        "_dirty",
        "_duration",
        "_end_error",
        "_ended",
        "_ender",
        "_error",
        "_exc_at_start",
        "_final_ran",
        "_flush_interval",
        "_inflight",
        "_io",
        "_max_buffer",
        "_pid",
        "_records",
        "_result_buf",
        "_seq",
        "_shutdown_timeout",
        "_sigterm",
        "_sink",
        "_start_perf",
        "_state",
        "_status",
        "_stop",
        "_thread",
        "_trigger",
        "_wake",
        "_wake_size",
        "_writer_ident",
        "end_time",
        "id",
    )

    def _init_buffer(
        self,
        run_id: str,
        sink: Sink,
        *,
        flush_interval: float,
        max_buffer: int,
        shutdown_timeout: float = 10.0,
    ) -> None:
        self.id: str = run_id
        self._sink = sink
        self._flush_interval = flush_interval
        self._shutdown_timeout = shutdown_timeout
        # Both in buffer items (4 per record): write synchronously when the
        # buffer is full, wake the writer at an eighth (at most 10,000 records).
        self._max_buffer = 4 * max_buffer
        self._wake_size = 4 * max(1, min(10_000, max_buffer // 8))
        self._records: list[Any] = []
        self._buf: list[Any] = self._records
        self._result_buf: list[Record] = []
        self._trigger = self._wake_size
        self._seq = 0
        self._inflight = 0  # records handed to a sink.write that has not returned
        self._dirty = False
        self._state = threading.RLock()
        self._io = threading.RLock()
        self._wake = threading.Event()
        self._ended = threading.Event()  # set once the end is complete
        self._ender: int | None = None  # the thread that ends the run
        self._writer_ident: int | None = None
        self._final_ran = False  # the end's I/O has run
        # Set when the run ends: (status, error) for the writer thread to end it.
        self._stop: tuple[str, dict[str, str] | None] | None = None
        self._end_error: BaseException | None = None
        self._closing = False  # the end has reached the sink's close()
        self._thread: threading.Thread | None = None
        self._sigterm = False
        self._start_perf = time.perf_counter()
        self.end_time: str | None = None
        self._duration: float | None = None
        self._status = "running"
        self._error: dict[str, str] | None = None
        self._exc_at_start = _uncaught()
        self._pid = os.getpid()

    def _info(self) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - every subclass has one

    def _start(self, *, sigterm: bool) -> None:
        with _lifecycle.critical():  # a SIGTERM now waits until the run is started
            self._start_now(sigterm=sigterm)

    def _start_now(self, *, sigterm: bool) -> None:
        if sigterm:
            _lifecycle.acquire_sigterm()
            self._sigterm = True
        try:
            self._sink.open(self._info())
        except BaseException:
            if self._sigterm:
                _lifecycle.release_sigterm()
            raise
        _lifecycle.register(self)
        self._thread = threading.Thread(
            target=self._writer, name=f"ml_infra_utils-run-{self.id}", daemon=True
        )
        self._thread.start()

    @property
    def closed(self) -> bool:
        """Whether the run has ended (or belongs to the parent of a fork)."""
        return self._buf is not self._records

    def flush(self) -> None:
        """Return when everything logged so far has been handed to the sink.

        Raises:
            OSError (or the sink's error): the sink failed; the records stay
                buffered and are retried.
        """
        if os.getpid() != self._pid:
            return
        with _lifecycle.guarded(self._io):
            self._drain()

    def _require_open(self) -> None:
        buf = self._buf
        if isinstance(buf, _Refusing):
            raise RunStateError(buf.reason)

    def _on_full(self, mine: Any = None) -> None:
        # Called by a logger after its append when the buffer passed the
        # trigger, and always once the run has ended (the trigger is then -1):
        # *mine* is the record just appended (a flat metric tuple or a result).
        if self.closed:
            self._check_late(mine)
            return
        # Critical: Event.set holds a lock that a SIGTERM handler ending the
        # run would take again in this same thread.
        with _lifecycle.critical():
            if len(self._records) + 4 * len(self._result_buf) >= self._max_buffer:
                with self._io:  # backpressure: the logging thread writes
                    self._drain()
            else:
                with self._state:
                    if not self.closed:
                        self._trigger = self._max_buffer
                self._wake.set()

    def _check_late(self, mine: Any) -> None:
        # A logger raced the end: it read the buffer before the run ended and
        # appended after. Wait until the end is complete; if the record is
        # still in the old buffer, no drain took it: say so, never drop it
        # silently. (A record a final drain took was stored: return.)
        ended = self._ended.wait(2 * self._shutdown_timeout + 1.0)
        buf = self._buf
        reason = buf.reason if isinstance(buf, _Refusing) else "the run has ended"
        with self._state:
            lost = ended and _remove_record(self._records, self._result_buf, mine)
            if lost and mine[2] is None:
                self._forget_results([mine])
        if lost or not ended:
            msg = f"{reason}; this record was logged as it ended and is not stored"
            raise RunStateError(msg)

    def _drain(self) -> None:
        # Called with self._io held. Lock-free against loggers: they only append
        # at the end, and we take and delete a prefix (each one atomic op).
        records, results = self._records, self._result_buf
        count, n_results = len(records), len(results)
        if count or n_results:
            batch = records[:count]
            del records[:count]
            done = results[:n_results]
            del results[:n_results]
            self._inflight = count // 4 + n_results
            try:
                try:
                    self._sink.write(RecordBatch(self.id, self._seq, batch, done))
                except Exception as exc:
                    # A bad record must not block the records behind it: drop
                    # those no JSON line can be made of and write the rest.
                    if isinstance(exc, OSError) or not self._isolate(batch, done):
                        raise
                    if batch or done:
                        self._sink.write(RecordBatch(self.id, self._seq, batch, done))
            except BaseException:
                records[0:0] = batch  # keep them, in order, for the next try
                results[0:0] = done
                raise
            finally:
                self._inflight = 0
            self._seq += len(batch) // 4 + len(done)
        with self._state:
            if not self.closed:  # an ended run keeps -1: every append checks in
                self._trigger = self._wake_size
        if self._dirty:
            self._dirty = False
            try:
                self._sink.update(self._info())
            except BaseException:
                self._dirty = True
                raise

    def _isolate(self, batch: list[Any], done: list[Record]) -> bool:
        # The sink failed, but not with an OSError: look for records that
        # cannot be formatted. Drop them (in place), loudly; False if none.
        good, good_results, bad = split_unwritable(batch, done)
        if not bad:
            return False
        batch[:] = good
        done[:] = good_results
        with self._state:
            self._forget_results([record for record, _ in bad if record[2] is None])
        for record, error in bad[:10]:
            _log.error(
                "run %s: dropped a record that cannot be written as JSON "
                "(name %s, step %s, value of type %s): %s",
                self.id,
                safe_repr(record[0])[:80],
                safe_repr(record[2])[:40],
                type_name(type(record[1])),
                error,
            )
        if len(bad) > 10:
            _log.error("run %s: dropped %d more such records", self.id, len(bad) - 10)
        return True

    def _forget_results(self, records: list[Record]) -> None:
        # Called with self._state held: a subclass drops the dropped results
        # from its run record too.
        del records

    def _writer(self) -> None:
        self._writer_ident = threading.get_ident()
        failures = 0
        while True:
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            if self._stop is not None:
                self._final(*self._stop)
                return
            try:
                with self._io:
                    self._drain()
                failures = 0
            except BaseException:
                failures += 1
                if failures == 1:
                    _log.exception(
                        "run %s: writing to %r failed; records stay buffered and are "
                        "retried every %.3g s",
                        self.id,
                        self._sink,
                        self._flush_interval,
                    )

    def _end(self, status: str, error: dict[str, str] | None) -> None:
        if os.getpid() != self._pid:
            return  # a forked child never ends its parent's run
        with _lifecycle.critical():  # a SIGTERM now waits until the run has ended
            self._end_now(status, error)

    def _end_now(self, status: str, error: dict[str, str] | None) -> None:
        with self._state:
            if self.closed:
                ender = self._ender
            else:
                ender = None
                self._ender = threading.get_ident()
                self._buf = _Refusing(
                    f"run {self.id} has ended ({status}); start a new Run"
                )
                self._trigger = -1  # a logger that raced the end must check in
        if ender is not None:
            # Ended already, maybe still ending in another thread: wait (as
            # long as that end may take) so that a caller returning from
            # shutdown() finds the run ended, unless the wait would be on
            # itself (the sink's close() or the writer thread ending the run).
            if threading.get_ident() not in (ender, self._writer_ident):
                self._ended.wait(2 * self._shutdown_timeout + 1.0)
            return
        try:
            self._end_unless_stuck(status, error)
        finally:
            self._ended.set()

    def _end_unless_stuck(self, status: str, error: dict[str, str] | None) -> None:
        # Bounded: a sink stuck in a write (a hung network file system, a
        # custom sink) must not hang the end of the program. The writer thread
        # does the end's I/O, the ending thread waits for it with a timeout
        # (and starts no thread: impossible at interpreter exit on 3.12+).
        # So the ending thread must not hold _io or _state while it waits: in
        # the main thread they are only held in critical sections, which a
        # SIGTERM handler ending the run waits for.
        thread, self._thread = self._thread, None
        self._end_error = None
        self._final_ran = False
        self._stop = (status, error)
        self._wake.set()
        timeout = self._shutdown_timeout
        if (
            thread is not None
            and thread is not threading.current_thread()
            and thread.is_alive()
        ):
            thread.join(timeout)
            if thread.is_alive() and self._closing:
                thread.join(timeout)  # the sink's close() has its own bound
            if thread.is_alive():
                self._abandon(status)
                return
        if not self._final_ran:  # no (live) writer thread did it: end here
            if not self._io.acquire(timeout=timeout):
                self._abandon(status)
                return
            try:
                self._final(status, error)
            finally:
                self._io.release()
        self._release()
        failure, self._end_error = self._end_error, None
        if failure is not None:
            raise failure

    def _final(self, status: str, error: dict[str, str] | None) -> None:
        # The end's I/O (in the writer thread, or the ending thread when there
        # is none); an error is kept for the ending thread to raise.
        self._final_ran = True
        try:
            with self._io:
                self._end_locked(status, error)
        except BaseException as exc:  # handed to the ending thread
            self._end_error = exc

    def _release(self) -> None:
        # In the ending thread (the SIGTERM handler is restored from the main
        # thread): the run leaves the process hooks.
        _lifecycle.unregister(self)
        if self._sigterm:
            self._sigterm = False
            _lifecycle.release_sigterm()

    def _abandon(self, status: str) -> None:
        # The sink is stuck (a hung file system or server, a custom sink):
        # never hang the program's end; say loudly what is not written.
        writing = self._inflight
        buffered = len(self._records) // 4 + len(self._result_buf)
        spool = getattr(self._sink, "spool_path", None)
        _log.error(
            "run %s: the sink %r is still writing after %.3g s (shutdown_timeout); "
            "the run ends without its final status (%s) in the sink. %d records "
            "were not written: %d in the sink's stuck write, %d still in this "
            "process's memory, lost when it exits.%s",
            self.id,
            self._sink,
            self._shutdown_timeout,
            status,
            writing + buffered,
            writing,
            buffered,
            f" Records the sink accepted earlier wait in {spool}." if spool else "",
        )
        with self._state:
            self._status = status
            self.end_time = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        self._release()

    def _end_locked(self, status: str, error: dict[str, str] | None) -> None:
        try:
            self._drain()
            time.sleep(0)  # let a logger that raced with us append its record
            self._drain()
        finally:
            with self._state:
                self._status = status
                self._error = error
                self.end_time = dt.datetime.now(dt.UTC).isoformat(
                    timespec="microseconds"
                )
                self._duration = round(time.perf_counter() - self._start_perf, 6)
                self._dirty = True
            try:
                self._drain()
            finally:
                self._closing = True
                self._sink.close()

    # ------------------------------------------------------------------ process hooks
    def _end_at_exit(self) -> None:
        exc = _uncaught()
        if exc is not None and exc is not self._exc_at_start:
            self._end(
                "killed" if isinstance(exc, KeyboardInterrupt) else "failed",
                describe(exc),
            )
        else:
            self._end("finished", None)

    def _flush_for_signal(self) -> None:
        self.flush()

    def _end_for_signal(self, signum: int) -> None:
        name = _signal_name(signum)
        self._end("killed", {"type": name, "message": f"terminated by {name}"})

    def _detach_after_fork(self) -> None:
        reason = (
            f"run {self.id} belongs to process {self._pid}; a forked child cannot "
            "log to it (start a new Run in the child)"
        )
        self._buf = _Refusing(reason)
        self._records = []
        self._result_buf = []
        self._thread = None
        self._io = threading.RLock()
        self._state = threading.RLock()
        self._wake = threading.Event()
        self._ended = threading.Event()
        self._ended.set()


def _remove_record(records: list[Any], results: list[Record], mine: Any) -> bool:
    # Remove *mine* from what is left in the buffers after the end; whether
    # it was there. *mine* is a result record (step None), found by identity,
    # or the flat items a logger appended in one operation (a metric record,
    # or a batch of them), found by the first record's name object and fields.
    if not isinstance(mine, tuple) or len(mine) < 4:
        return False
    if mine[2] is None:
        for i, record in enumerate(results):
            if record is mine:
                del results[i]
                return True
        return False
    name, value, step, ts = mine[:4]
    for i in range(0, len(records) - 3, 4):
        if (
            records[i] is name
            and records[i + 1] is value
            and records[i + 2] == step
            and records[i + 3] == ts
        ):
            del records[i : i + len(mine)]
            return True
    return False


def _uncaught() -> BaseException | None:
    # The exception the interpreter last reported as uncaught (3.12+ names it
    # sys.last_exc; sys.last_value is the older spelling, still set).
    exc = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    return exc if isinstance(exc, BaseException) else None


def describe(exc: BaseException) -> dict[str, str]:
    """The ``error`` field of a run record for *exc*.

    The type is named as in every JSON record of the package: ``module.qualname``,
    bare for builtins.

    Examples:
        >>> describe(ValueError("boom")), describe(KeyError("k"))["type"]
        ({'type': 'ValueError', 'message': 'boom'}, 'KeyError')
    """
    return {"type": type_name(type(exc)), "message": str(exc)}


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:  # pragma: no cover - every signal we handle has a name
        return f"signal {signum}"
