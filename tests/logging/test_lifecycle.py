"""The process hooks, driven in process: exit, SIGTERM, fork, deferred signals.

The same hooks are proven end to end in real processes by
test_runs_process.py; here they are called directly, so every branch is seen.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

import pytest

from ml_infra_utils import (
    MemorySink,
    Run,
    RunStateError,
    active_run,
    end_run,
    log_metric,
    start_run,
)
from ml_infra_utils.logging import _lifecycle

SLOW = 3600.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Restore SIGTERM and end every run a test leaves open."""
    monkeypatch.delenv("ML_INFRA_UTILS_RUNS_HANDLE_SIGTERM", raising=False)
    before = signal.getsignal(signal.SIGTERM)
    yield
    end_run()
    for run in _lifecycle.open_runs():
        run._end("finished", None)  # type: ignore[attr-defined]
    signal.signal(signal.SIGTERM, before)


def metric_count(sink: MemorySink) -> int:
    return sum(1 for r in sink.records if r[2] is not None)


# ---------------------------------------------------------------- exit
def test_exit_hook_ends_open_runs_finished() -> None:
    """At interpreter exit every open run is flushed and ended "finished"."""
    sinks = [MemorySink(), MemorySink()]
    runs = [Run("exp", sink=s, flush_interval=SLOW) for s in sinks]
    for run in runs:
        run.metric("loss", 1.0)
    _lifecycle._at_exit()
    for run, sink in zip(runs, sinks, strict=True):
        assert run.closed
        assert metric_count(sink) == 1
        assert sink.info is not None
        assert sink.info["status"] == "finished"


@pytest.mark.parametrize(
    ("exc", "status"), [(ValueError("bad"), "failed"), (KeyboardInterrupt(), "killed")]
)
def test_exit_hook_marks_runs_ended_by_an_uncaught_exception(
    monkeypatch: pytest.MonkeyPatch, exc: BaseException, status: str
) -> None:
    """An exception that is ending the interpreter marks the runs failed/killed."""
    sink = MemorySink()
    Run("exp", sink=sink, flush_interval=SLOW)
    monkeypatch.setattr(sys, "last_value", exc, raising=False)
    _lifecycle._at_exit()
    assert sink.info is not None
    assert sink.info["status"] == status
    assert sink.info["error"]["type"] == type(exc).__name__


def test_an_exception_from_before_the_run_does_not_fail_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """sys.last_value left over from earlier (a REPL) does not mark a new run failed."""
    monkeypatch.setattr(sys, "last_value", ValueError("old"), raising=False)
    sink = MemorySink()
    Run("exp", sink=sink, flush_interval=SLOW)
    _lifecycle._at_exit()
    assert sink.info is not None
    assert sink.info["status"] == "finished"


def test_exit_hook_logs_a_run_that_cannot_end(caplog: pytest.LogCaptureFixture) -> None:
    """A sink failing at exit is logged; the other runs still end."""

    class Failing(MemorySink):
        def write(self, _batch: object) -> None:
            msg = "disk gone"
            raise OSError(msg)

    bad = Run("exp", sink=Failing(), flush_interval=SLOW)
    bad.metric("loss", 1.0)
    good_sink = MemorySink()
    Run("exp", sink=good_sink, flush_interval=SLOW)
    _lifecycle._at_exit()
    assert "could not flush and end a run" in caplog.text
    assert good_sink.closed
    assert bad.closed


# ---------------------------------------------------------------- fork
def test_fork_hook_detaches_inherited_runs() -> None:
    """In a forked child the parent's runs drop their buffer and refuse to log."""
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=SLOW)
    start_run("global", sink=MemorySink(), flush_interval=SLOW)
    run.metric("loss", 1.0)
    parked = run._wake  # the (parent's) writer thread waits on this event
    _lifecycle._after_fork_in_child()
    try:
        assert run.closed
        assert _lifecycle.open_runs() == []
        assert active_run() is None
        with pytest.raises(RunStateError, match="belongs to process"):
            run.metric("loss", 2.0)
        with pytest.raises(RunStateError, match="no active run"):
            log_metric("loss", 1.0)
        run.flush()
        run.shutdown()
        assert sink.batches == []  # the parent's buffered record is never written
    finally:
        run._stop = ("finished", None)  # let the parked writer thread end
        parked.set()


def test_a_forked_child_never_ends_the_parents_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """flush and shutdown are no-ops in another process than the run's own."""
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=SLOW)
    run.metric("loss", 1.0)
    real_pid = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: real_pid + 1)
    run.flush()
    run.shutdown()
    assert sink.batches == []
    assert not run.closed
    monkeypatch.setattr(os, "getpid", lambda: real_pid)
    run.shutdown()
    assert metric_count(sink) == 1


# ---------------------------------------------------------------- SIGTERM
def test_sigterm_with_a_previous_python_handler_flushes_then_calls_it() -> None:
    """Our handler flushes every open run, then hands over; the runs stay open."""
    calls: list[int] = []

    def previous(signum: int, frame: FrameType | None) -> None:
        calls.append(signum)

    signal.signal(signal.SIGTERM, previous)
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=SLOW, handle_sigterm=True)
    assert signal.getsignal(signal.SIGTERM) is _lifecycle._on_sigterm
    other = Run("exp", sink=MemorySink(), flush_interval=SLOW, handle_sigterm=True)
    for i in range(10):
        run.metric("loss", float(i))
    signal.raise_signal(signal.SIGTERM)
    assert calls == [signal.SIGTERM]
    assert metric_count(sink) == 10
    assert not run.closed
    other.shutdown()
    assert signal.getsignal(signal.SIGTERM) is _lifecycle._on_sigterm  # still needed
    run.shutdown()
    assert signal.getsignal(signal.SIGTERM) is previous  # restored when none needs it


def test_sigterm_inside_a_write_section_waits_for_its_end() -> None:
    """A signal arriving in a critical section is handled when the section ends."""
    calls: list[int] = []
    signal.signal(signal.SIGTERM, lambda s, _f: calls.append(s))
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=SLOW, handle_sigterm=True)
    run.metric("loss", 1.0)
    with _lifecycle.critical():
        with _lifecycle.critical():
            signal.raise_signal(signal.SIGTERM)
            assert calls == []
        assert calls == []  # still inside the outer section
    assert calls == [signal.SIGTERM]
    assert metric_count(sink) == 1


def test_sigterm_while_waking_the_writer_waits_for_the_wake_up() -> None:
    """A signal that lands inside Event.set() (which holds a lock) is deferred.

    Handling it right there would take the same lock again from the same
    thread: the deadlock this test guards against.
    """
    calls: list[str] = []
    signal.signal(signal.SIGTERM, lambda _s, _f: calls.append("handler"))
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=SLOW, max_buffer=80, handle_sigterm=True)
    real_wake = run._wake

    class SignallingEvent:
        def set(self) -> None:
            signal.raise_signal(signal.SIGTERM)
            calls.append("set")
            real_wake.set()

        def __getattr__(self, name: str) -> object:
            return getattr(real_wake, name)

    run._wake = SignallingEvent()  # type: ignore[assignment]
    for i in range(10):  # the 10th record wakes the writer (an eighth of 80)
        run.metric("loss", float(i))
    assert calls == ["set", "handler"]
    run._wake = real_wake
    run.shutdown()
    assert metric_count(sink) == 10


def test_sigterm_with_the_default_action_ends_runs_killed_and_redelivers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With SIG_DFL before, the runs end "killed" and SIGTERM is sent again."""
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(_lifecycle.os, "kill", lambda pid, sig: sent.append((pid, sig)))
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=SLOW, handle_sigterm=True)
    run.metric("loss", 1.0)
    _lifecycle._handle_signal(signal.SIGTERM, None)
    assert sent == [(os.getpid(), signal.SIGTERM)]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert run.closed
    assert sink.info is not None
    assert sink.info["status"] == "killed"
    assert sink.info["error"] == {"type": "SIGTERM", "message": "terminated by SIGTERM"}
    assert metric_count(sink) == 1


def test_sigterm_handling_logs_runs_that_fail(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A run whose sink fails on the signal is logged; the signal is still handled."""

    class Failing(MemorySink):
        def write(self, _batch: object) -> None:
            msg = "disk gone"
            raise OSError(msg)

    monkeypatch.setattr(_lifecycle.os, "kill", lambda _pid, _sig: None)
    calls: list[int] = []
    signal.signal(signal.SIGTERM, lambda s, _f: calls.append(s))
    run = Run("exp", sink=Failing(), flush_interval=SLOW, handle_sigterm=True)
    run.metric("loss", 1.0)
    signal.raise_signal(signal.SIGTERM)
    assert calls == [signal.SIGTERM]
    assert "could not flush a run" in caplog.text
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _lifecycle._sigterm_previous = signal.SIG_DFL
    _lifecycle._handle_signal(signal.SIGTERM, None)
    assert "could not end a run" in caplog.text


def test_an_ignored_sigterm_stays_ignored() -> None:
    """If the process ignores SIGTERM, asking for handling does not change that."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    run = Run("exp", sink=MemorySink(), flush_interval=SLOW, handle_sigterm=True)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    run.shutdown()


def test_sigterm_handling_needs_the_main_thread() -> None:
    """handle_sigterm=True from another thread is a clear error, no run is left."""
    errors: list[BaseException] = []

    def start() -> None:
        try:
            Run("exp", sink=MemorySink(), handle_sigterm=True)
        except RunStateError as exc:
            errors.append(exc)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert "main thread" in str(errors[0])
    assert _lifecycle.open_runs() == []


def test_sigterm_is_released_when_the_sink_cannot_open() -> None:
    """A run that fails to start gives back its claim on SIGTERM."""

    class Broken(MemorySink):
        def open(self, _info: object) -> None:
            msg = "cannot open"
            raise OSError(msg)

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(OSError, match="cannot open"):
        Run("exp", sink=Broken(), handle_sigterm=True)
    assert signal.getsignal(signal.SIGTERM) == before


def test_environment_turns_sigterm_handling_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """ML_INFRA_UTILS_RUNS_HANDLE_SIGTERM=1 installs the handler."""
    monkeypatch.setenv("ML_INFRA_UTILS_RUNS_HANDLE_SIGTERM", "true")
    run = Run("exp", sink=MemorySink())
    assert signal.getsignal(signal.SIGTERM) is _lifecycle._on_sigterm
    run.shutdown()


# ---------------------------------------------------------------- odds and ends
def test_a_stale_counter_jump_retries_until_above_the_top() -> None:
    """The auto-step counter jump copes with a counter replaced meanwhile."""
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=SLOW)
    slot = run._slot("m", "name")
    slot[1] = 10  # explicit steps went up to 10
    slot[0] = itertools.count(0)  # replaced by "another thread", still low
    assert run._jump(slot, itertools.count(0)) == 11
    run.shutdown()


def test_metrics_mapping_triggers_backpressure() -> None:
    """log_metrics also writes synchronously when the buffer is full."""
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=SLOW, max_buffer=4)
    run._wake_size = run._trigger = run._max_buffer
    run.metrics({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0})
    assert metric_count(sink) == 4
    run.shutdown()


def test_ending_from_the_writer_thread_does_not_join_itself() -> None:
    """A sink may end its run from inside write() without a deadlock."""

    class Ending(MemorySink):
        run: Run | None = None

        def write(self, batch: object) -> None:
            super().write(batch)  # type: ignore[arg-type]
            if self.run is not None and threading.current_thread().name.startswith(
                "ml_infra_utils-run-"
            ):
                self.run.shutdown(status="failed")

    sink = Ending()
    run = Run("exp", sink=sink, flush_interval=0.01)
    sink.run = run
    run.metric("loss", 1.0)
    for _ in range(3000):
        if sink.closed:
            break
        threading.Event().wait(0.01)
    assert run.closed
    assert sink.info is not None
    assert sink.info["status"] == "failed"
