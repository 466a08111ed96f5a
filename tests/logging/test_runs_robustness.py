"""Run robustness: out-of-range values, a bad record in a batch, races with the end."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from ml_infra_utils import (
    InvalidParameterError,
    MemorySink,
    RecordBatch,
    Run,
    RunStateError,
    RunStoreSink,
    TrackedDict,
    end_run,
    load_run,
)
from ml_infra_utils.logging import _lifecycle
from ml_infra_utils.logging import _run as _run_module

SLOW = 3600.0  # a flush interval that never elapses during a test
HUGE = 10**5000  # an int Python refuses to turn into a decimal string
FLOAT_MAX_INT = int(sys.float_info.max)


@pytest.fixture(autouse=True)
def _no_leftover_runs() -> Iterator[None]:
    """Each test ends every run it opened."""
    yield
    end_run()
    for run in _lifecycle.open_runs():
        run._end("finished", None)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- values beyond floats
@pytest.mark.parametrize(
    "value",
    [HUGE, -HUGE, FLOAT_MAX_INT + 2**971, Fraction(10**400), 2**1024],
    ids=["10**5000", "-10**5000", "just-past-max", "fraction", "2**1024"],
)
def test_a_value_beyond_the_float_range_is_refused_at_the_call(value: object) -> None:
    """metric, metrics and result refuse it naming the argument; nothing is logged."""
    sink = MemorySink()
    with Run("exp", sink=sink, flush_interval=SLOW) as run:
        with pytest.raises(InvalidParameterError, match="value must be a real number"):
            run.metric("big", value)  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterError, match=r"mapping\['big'\]"):
            run.metrics({"ok": 1.0, "big": value})  # type: ignore[dict-item]
        with pytest.raises(InvalidParameterError, match="value must be a real number"):
            run.result("big", value)  # type: ignore[arg-type]
        run.metric("loss", 0.5)
    assert [(n, v) for n, v, _, _ in sink.records] == [("loss", 0.5)]
    assert run.results == {}


def test_ints_up_to_the_largest_float_are_kept_exactly(tmp_path: Path) -> None:
    """The bound is the float range, inclusive: such ints stay ints, on both sides."""
    with Run("exp", runs_dir=tmp_path, flush_interval=SLOW) as run:
        run.metric("edge", FLOAT_MAX_INT)
        run.metric("edge", -FLOAT_MAX_INT)
        run.metric("edge", 2**63)
        run.result("edge", FLOAT_MAX_INT)
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["metrics"]["edge"]["values"] == [FLOAT_MAX_INT, -FLOAT_MAX_INT, 2**63]
    assert data["results"] == {"edge": FLOAT_MAX_INT}
    assert data["status"] == "finished"


def test_a_refused_huge_value_does_not_poison_the_run(tmp_path: Path) -> None:
    """review-1 #1: the good records around the refused one are stored, status ends."""
    run = Run("poison", runs_dir=tmp_path, flush_interval=0.05)
    run.metric("loss", 0.5)
    with pytest.raises(InvalidParameterError):
        run.metric("big", HUGE)
    for i in range(3):
        run.metric("loss", 0.1 * i)
    run.shutdown()
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["status"] == "finished"
    assert data["metrics"]["loss"]["values"] == [0.5, 0.0, 0.1, 0.2]
    assert "big" not in data["metrics"]


def test_huge_ints_in_params_and_tags_never_raise(tmp_path: Path) -> None:
    """They map through the package's JSON mapping (a "0x..." string), never repr()."""
    with Run("exp", runs_dir=tmp_path, flush_interval=SLOW) as run:
        run.log_params({"h": HUGE, "nested": [HUGE]})
        run.set_tags({"t": HUGE})
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["status"] == "finished"
    assert data["params"]["h"].startswith("0x")
    assert data["params"]["nested"][0] == data["params"]["h"]
    assert data["tags"]["t"] == data["params"]["h"]


# ------------------------------------------------------------ a bad record in a batch
def test_a_record_that_cannot_be_formatted_is_dropped_not_blocking_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A record no JSON line can be made of is dropped and logged; the others are kept.

    Validation at the call keeps such records out; this is the safety net for
    one that got in anyway (simulated by appending to the buffer directly).
    """
    run = Run("exp", runs_dir=tmp_path, flush_interval=SLOW)
    run.metric("loss", 0.5)
    run._buf += ("big", HUGE, 0, 0)  # bypasses validation on purpose
    run._result_buf.append(("bad", HUGE, None, 0))
    run._results["bad"] = HUGE
    run.result("good", 1)
    run.metric("loss", 0.25)
    with caplog.at_level(logging.ERROR, logger="ml_infra_utils.logging.runs"):
        run.flush()
        run.metric("loss", 0.125)
        run.shutdown()
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["status"] == "finished"
    assert data["metrics"]["loss"]["values"] == [0.5, 0.25, 0.125]
    assert data["metrics"]["loss"]["steps"] == [0, 1, 2]
    assert data["results"] == {"good": 1}
    dropped = [r for r in caplog.records if "cannot be written as JSON" in r.message]
    assert [r.name for r in dropped] == ["ml_infra_utils.logging.runs"] * 2
    assert "'big'" in dropped[0].message
    assert "'bad'" in dropped[1].message


def test_a_batch_of_only_bad_records_is_dropped_with_a_bounded_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Ten records are described one by one, the rest counted; nothing is written."""
    run = Run("exp", runs_dir=tmp_path, flush_interval=SLOW)
    for step in range(12):
        run._buf += ("big", HUGE, step, 0)  # bypasses validation on purpose
    with caplog.at_level(logging.ERROR, logger="ml_infra_utils.logging.runs"):
        run.shutdown()
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["status"] == "finished"
    assert data["metrics"] == {}
    messages = [r.getMessage() for r in caplog.records]
    assert sum("cannot be written as JSON" in m for m in messages) == 10
    assert any("dropped 2 more such records" in m for m in messages)


def test_a_sink_failing_with_an_os_error_keeps_every_record() -> None:
    """An OSError is the sink's failure, not the records': nothing is dropped."""

    class Down(MemorySink):
        failures = 1

        def write(self, batch: object) -> None:
            if self.failures:
                self.failures -= 1
                msg = "disk full"
                raise OSError(msg)
            super().write(batch)  # type: ignore[arg-type]

    sink = Down()
    run = Run("exp", sink=sink, flush_interval=SLOW)
    run.metric("loss", 0.5)
    with pytest.raises(OSError, match="disk full"):
        run.flush()
    run.shutdown()
    assert [(n, v) for n, v, _, _ in sink.records] == [("loss", 0.5)]


def test_a_sink_error_that_is_not_about_a_record_is_raised_and_retried() -> None:
    """A ValueError of the sink's own, with every record valid, keeps the batch."""

    class Picky(MemorySink):
        failures = 1

        def write(self, batch: object) -> None:
            if self.failures:
                self.failures -= 1
                msg = "not today"
                raise ValueError(msg)
            super().write(batch)  # type: ignore[arg-type]

    sink = Picky()
    run = Run("exp", sink=sink, flush_interval=SLOW)
    run.metric("loss", 0.5)
    with pytest.raises(ValueError, match="not today"):
        run.flush()
    run.shutdown()
    assert [(n, v) for n, v, _, _ in sink.records] == [("loss", 0.5)]


# ---------------------------------------------------------------- racing the end
def _end_while_logging(monkeypatch: pytest.MonkeyPatch, run: Run) -> None:
    """Make the next clock read (inside metric/result) end *run* from a thread.

    That is the interleaving of review-1 #11: the logger has read the buffer
    and not yet appended when another thread ends the run.
    """
    real = _run_module._clock_ns
    fired = []

    def clock() -> int:
        if not fired:
            fired.append(True)
            ender = threading.Thread(target=run.shutdown)
            ender.start()
            ender.join()
        return real()

    monkeypatch.setattr(_run_module, "_clock_ns", clock)


def test_a_metric_racing_the_end_raises_instead_of_vanishing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """review-1 #11: the caller gets persistence or a RunStateError, never silence."""
    run = Run("race", runs_dir=tmp_path, flush_interval=SLOW, fsync=False)
    run.metric("loss", 0.5)
    _end_while_logging(monkeypatch, run)
    with pytest.raises(RunStateError, match="not stored"):
        run.metric("loss", 1.0)
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["status"] == "finished"
    assert data["metrics"]["loss"]["values"] == [0.5]


def test_a_result_racing_the_end_raises_instead_of_vanishing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for result(): and the lost result leaves run.results."""
    run = Run("race", runs_dir=tmp_path, flush_interval=SLOW, fsync=False)
    _end_while_logging(monkeypatch, run)
    with pytest.raises(RunStateError, match="not stored"):
        run.result("acc", 0.9)
    assert run.results == {}
    assert load_run(run.path)["results"] == {}  # type: ignore[arg-type]


def test_a_record_appended_before_the_final_drain_returns_normally() -> None:
    """A logger that saw the end but whose record a final drain took is not told off."""
    sink = GatedSink()
    run = Run("race", sink=sink, flush_interval=SLOW)
    run.metric("loss", 0.5)
    writer = threading.Thread(target=run.flush)
    writer.start()
    assert sink.entered.wait(10)  # a drain is in the sink, holding the I/O lock
    ender = threading.Thread(target=run.shutdown)
    ender.start()
    while not run.closed:
        time.sleep(0.001)
    # The run has ended but its final drain waits for the I/O lock: a record
    # that got into the old buffer now (as a racing logger's would) is stored.
    record = ("loss", 0.25, 1, 0)
    run._records += record
    outcome: list[object] = []

    def check() -> None:
        try:
            run._on_full(record)
        except RunStateError as exc:  # pragma: no cover - the failure shown
            outcome.append(exc)
        else:
            outcome.append("returned")

    checker = threading.Thread(target=check)
    checker.start()
    sink.gate.set()
    for thread in (writer, ender, checker):
        thread.join(10)
    assert [(n, v) for n, v, _, _ in sink.records] == [("loss", 0.5), ("loss", 0.25)]
    assert outcome == ["returned"]


class GatedSink(MemorySink):
    """A MemorySink whose write blocks until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def write(self, batch: RecordBatch) -> None:
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        super().write(batch)


# ---------------------------------------------------------------- watched params
def test_watched_params_end_with_the_latest_state_when_threads_race(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """review-2 B9: an older snapshot of a TrackedDict never overwrites a newer one.

    Thread A changes "a" and its observer call is held right after reading
    the mapping; the main thread then changes "b". Before the fix A's stale
    snapshot ({"a": 1, "b": 0}) was written last.
    """
    config = TrackedDict({"a": 0, "b": 0})
    b_changed = threading.Event()
    a_read = threading.Event()

    def first_observer(change: Any) -> None:  # runs before the run's watcher
        if change.path == ("b",):
            b_changed.set()

    config.add_observer(first_observer)
    run = Run("watch", runs_dir=tmp_path, flush_interval=SLOW, params=config)
    real = Run._clean_params

    def held(self: Run, mapping: Any) -> dict[str, Any]:
        clean = real(self, mapping)
        if threading.current_thread().name == "A":
            a_read.set()
            b_changed.wait(5)  # the main thread changes "b" now
        return clean

    monkeypatch.setattr(Run, "_clean_params", held)
    a = threading.Thread(target=config.__setitem__, args=("a", 1), name="A")
    a.start()
    assert a_read.wait(10)
    config["b"] = 1
    a.join(10)
    assert run.params == {"a": 1, "b": 1}
    run.shutdown()
    assert load_run(run.path)["params"] == {"a": 1, "b": 1}  # type: ignore[arg-type]


def test_a_snapshot_cut_by_a_concurrent_resize_is_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dict resized while the run reads it (RuntimeError) is read again."""
    config = TrackedDict({"a": 0})
    run = Run("watch", sink=MemorySink(), flush_interval=SLOW, params=config)
    real = Run._clean_params
    failures = [RuntimeError("dictionary changed size during iteration")]

    def flaky(self: Run, mapping: Any) -> dict[str, Any]:
        if failures:
            raise failures.pop()
        return real(self, mapping)

    monkeypatch.setattr(Run, "_clean_params", flaky)
    config["a"] = 1
    assert not failures
    assert run.params == {"a": 1}
    assert config.observer_errors == 0


# ---------------------------------------------------------------- a stuck sink
class StuckSink(MemorySink):
    """A MemorySink whose write blocks until *release* is set."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, batch: RecordBatch) -> None:
        self.entered.set()
        self.release.wait(30)
        super().write(batch)


def test_a_stuck_sink_bounds_shutdown_and_says_what_is_not_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """review-1 #16: shutdown returns after shutdown_timeout and logs the count."""
    sink = StuckSink()
    run = Run("stuck", sink=sink, flush_interval=SLOW, shutdown_timeout=0.2)
    run.metric("loss", 0.5)
    flusher = threading.Thread(target=run.flush)
    flusher.start()
    assert sink.entered.wait(10)  # one record is now in the stuck write
    run.metric("loss", 0.25)
    run.result("acc", 0.9)
    with caplog.at_level(logging.ERROR, logger="ml_infra_utils.logging.runs"):
        run.shutdown()  # returns: no hang
    assert run.closed
    assert run.status == "finished"
    messages = [r for r in caplog.records if r.name == "ml_infra_utils.logging.runs"]
    assert len(messages) == 1
    text = messages[0].getMessage()
    assert "still writing after 0.2 s (shutdown_timeout)" in text
    assert "3 records were not written: 1 in the sink's stuck write, 2 still" in text
    sink.release.set()
    flusher.join(10)


def test_a_stuck_sink_cannot_hang_interpreter_exit() -> None:
    """The atexit end is bounded the same way; the error reaches stderr."""
    code = textwrap.dedent(
        """
        import threading
        from ml_infra_utils import MemorySink, Run

        class Stuck(MemorySink):
            def write(self, batch):
                threading.Event().wait()  # forever

        run = Run("stuck", sink=Stuck(), flush_interval=0.01, shutdown_timeout=0.3)
        run.metric("loss", 0.5)
        print("logged", flush=True)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "logged\n"
    assert "still writing after 0.3 s" in proc.stderr
    assert "1 records were not written" in proc.stderr


# ------------------------------------------------------- a writer thread that dies
class ExitingSink(RunStoreSink):
    """A store sink whose first write raises SystemExit (a library's sys.exit)."""

    def __init__(self, runs_dir: Path) -> None:
        super().__init__(runs_dir, fsync=False)
        self.exits = 1

    def write(self, batch: RecordBatch) -> None:
        if self.exits:
            self.exits -= 1
            raise SystemExit(3)
        super().write(batch)


def test_a_sink_raising_system_exit_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Review-3 F0: a BaseException from the sink in the writer thread is logged
    and retried like any error; the end stores every record and the status."""
    sink = ExitingSink(tmp_path)
    run = Run("exits", sink=sink, flush_interval=0.01)
    for i in range(10):
        run.metric("loss", float(i))
    deadline = time.monotonic() + 10
    while sink.exits and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sink.exits == 0
    run.result("acc", 0.9)
    with caplog.at_level(logging.ERROR, logger="ml_infra_utils"):
        run.shutdown()
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["status"] == "finished"
    assert data["metrics"]["loss"]["values"] == [float(i) for i in range(10)]
    assert data["results"] == {"acc": 0.9}


def test_the_end_is_written_when_the_writer_thread_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review-3 F0: if the writer thread has ended (for any reason), shutdown()
    does the final write itself: every record, the result and the status."""
    from ml_infra_utils.logging._buffer import BufferedRun

    monkeypatch.setattr(BufferedRun, "_writer", lambda _self: None)
    run = Run("no-writer", runs_dir=tmp_path, flush_interval=SLOW, fsync=False)
    for i in range(5):
        run.metric("loss", float(i))
    run.result("acc", 0.5)
    run.shutdown()
    assert run.status == "finished"
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["status"] == "finished"
    assert data["metrics"]["loss"]["values"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert data["results"] == {"acc": 0.5}


class SlowCloseSink(MemorySink):
    """Its close() takes a while, as a network sink's last request might."""

    def close(self) -> None:
        time.sleep(0.3)
        super().close()


def test_a_second_shutdown_returns_only_once_the_run_has_ended() -> None:
    """Review-3 F13: shutdown() called while another thread is ending the run
    waits for that end (bounded), so the caller finds the run ended."""
    run = Run("twice", sink=SlowCloseSink(), flush_interval=SLOW)
    run.metric("loss", 1.0)
    first = threading.Thread(target=run.shutdown)
    first.start()
    deadline = time.monotonic() + 10
    while not run.closed and time.monotonic() < deadline:
        time.sleep(0.005)
    run.shutdown()
    assert run.status == "finished"
    first.join()


def test_an_empty_fsync_variable_keeps_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review-3 F10: `export ML_INFRA_UTILS_RUNS_FSYNC=` is unset, not "off"."""
    monkeypatch.setenv("ML_INFRA_UTILS_RUNS_FSYNC", "")
    with Run("fsync", runs_dir=tmp_path) as run:
        assert run.sink.fsync is True  # type: ignore[attr-defined]
    monkeypatch.setenv("ML_INFRA_UTILS_RUNS_FSYNC", "  ")
    with Run("fsync", runs_dir=tmp_path) as run:
        assert run.sink.fsync is True  # type: ignore[attr-defined]
