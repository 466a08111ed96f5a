"""Run and the global run API, in process: semantics, threads, buffering, config."""

from __future__ import annotations

import json
import math
import signal
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ml_infra_utils
from ml_infra_utils import (
    InputTypeError,
    InvalidParameterError,
    MemorySink,
    RecordBatch,
    Run,
    RunStateError,
    RunStoreSink,
    active_run,
    end_run,
    load_run,
    log_metric,
    log_metrics,
    log_params,
    log_result,
    start_run,
)
from ml_infra_utils.logging import _lifecycle

SLOW = 3600.0  # a flush interval that never elapses during a test


@pytest.fixture(autouse=True)
def _no_leftover_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts without env configuration and ends every run it opened."""
    for var in (
        "ML_INFRA_UTILS_EXPERIMENT",
        "ML_INFRA_UTILS_RUN_NAME",
        "ML_INFRA_UTILS_RUNS_DIR",
        "ML_INFRA_UTILS_RUNS_FLUSH_INTERVAL",
        "ML_INFRA_UTILS_RUNS_MAX_BUFFER",
        "ML_INFRA_UTILS_RUNS_HANDLE_SIGTERM",
        "ML_INFRA_UTILS_RUNS_FSYNC",
    ):
        monkeypatch.delenv(var, raising=False)
    yield
    end_run()
    for run in _lifecycle.open_runs():
        run._end("finished", None)  # type: ignore[attr-defined]


def metric_records(sink: MemorySink) -> list[tuple[str, float, int | None]]:
    return [(n, v, s) for n, v, s, _ in sink.records if s is not None]


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


class FailingSink(MemorySink):
    """A MemorySink that refuses the first *failures* writes."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.attempts = 0

    def write(self, batch: RecordBatch) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            msg = "sink is down"
            raise OSError(msg)
        super().write(batch)


# ---------------------------------------------------------------- logging semantics
def test_auto_steps_count_per_name() -> None:
    """step=None takes 0, 1, 2, ... separately for each metric name."""
    sink = MemorySink()
    with Run("exp", sink=sink) as run:
        for _ in range(3):
            run.metric("loss", 1.0)
        run.metric("acc", 0.5)
    assert metric_records(sink) == [
        ("loss", 1.0, 0),
        ("loss", 1.0, 1),
        ("loss", 1.0, 2),
        ("acc", 0.5, 0),
    ]


def test_auto_steps_continue_after_the_highest_explicit_step() -> None:
    """After explicit steps, step=None continues one above the highest step seen."""
    sink = MemorySink()
    with Run("exp", sink=sink) as run:
        run.metric("loss", 1.0)  # 0
        run.metric("loss", 1.0, step=10)
        run.metric("loss", 1.0)  # 11
        run.metric("loss", 1.0, step=5)  # going back does not lower the next step
        run.metric("loss", 1.0)  # 12
        run.metrics({"loss": 1.0, "acc": 2.0}, step=20)
        run.metrics({"loss": 1.0, "acc": 2.0})  # 21 and 21
    assert [s for n, _, s in metric_records(sink) if n == "loss"] == [
        0,
        10,
        11,
        5,
        12,
        20,
        21,
    ]
    assert [s for n, _, s in metric_records(sink) if n == "acc"] == [20, 21]


def test_values_keep_their_kind_and_nonfinite_values_survive(tmp_path: Path) -> None:
    """ints stay ints, numpy scalars become floats, NaN and infinities round-trip."""
    with Run("exp", runs_dir=tmp_path, fsync=False) as run:
        run.metric("count", 3)
        run.metric("x", np.float32(0.5))
        run.metric("x", np.int64(2))
        run.metric("x", math.nan)
        run.metric("x", math.inf)
        run.metric("x", -math.inf)
        run.result("best", math.nan)
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["metrics"]["count"]["values"] == [3]
    assert type(data["metrics"]["count"]["values"][0]) is int
    values = data["metrics"]["x"]["values"]
    assert values[:2] == [0.5, 2]
    assert math.isnan(values[2])
    assert values[3:] == [math.inf, -math.inf]
    assert math.isnan(data["results"]["best"])


def test_bad_arguments_raise_clear_errors_and_log_nothing() -> None:
    """Bad names, values and steps raise; nothing is logged for the failed call."""
    sink = MemorySink()
    with Run("exp", sink=sink) as run:
        with pytest.raises(InvalidParameterError, match="name"):
            run.metric("bad name!", 1.0)
        with pytest.raises(InputTypeError, match="name"):
            run.metric(["loss"], 1.0)  # type: ignore[arg-type]
        with pytest.raises(InputTypeError, match="real number"):
            run.metric("loss", True)
        with pytest.raises(InputTypeError, match="real number"):
            run.metric("loss", "0.5")  # type: ignore[arg-type]
        with pytest.raises(InputTypeError, match="real number"):
            run.metric("loss", None)  # type: ignore[arg-type]
        with pytest.raises(InputTypeError, match="step"):
            run.metric("loss", 1.0, step=1.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterError, match="step"):
            run.metric("loss", 1.0, step=-1)
        with pytest.raises(InputTypeError, match="real number"):
            run.metrics({"a": 1.0, "b": "x"})  # type: ignore[dict-item]
        with pytest.raises(InputTypeError, match="mapping"):
            run.metrics([("a", 1.0)])  # type: ignore[arg-type]
        with pytest.raises(InputTypeError, match="real number"):
            run.result("acc", "high")  # type: ignore[arg-type]
        run.metric("loss", 1.0, step=np.int64(4))  # type: ignore[arg-type]
    assert metric_records(sink) == [("loss", 1.0, 4)]


def test_results_params_and_tags_reach_the_run_record(tmp_path: Path) -> None:
    """Results (last write wins), params (merged) and tags end up in run.json."""
    with Run(
        "exp", runs_dir=tmp_path, name="baseline", params={"lr": 0.1}, tags={"gpu": 1}
    ) as run:
        run.result("acc", 0.5)
        run.result("acc", 0.9)
        run.log_params({"lr": 0.01, "layers": (64, 64), "optimizer": object})
        run.set_tags({"team": "vision"})
        assert run.results == {"acc": 0.9}
        assert run.params["lr"] == 0.01
        assert run.tags == {"gpu": "1", "team": "vision"}
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["name"] == "baseline"
    assert data["results"] == {"acc": 0.9}
    assert data["params"] == {
        "lr": 0.01,
        "layers": [64, 64],
        "optimizer": "<class 'object'>",
    }
    assert data["tags"] == {"gpu": "1", "team": "vision"}
    assert data["status"] == "finished"
    assert data["end_time"] >= data["start_time"]
    assert data["duration"] >= 0
    assert data["error"] is None


def test_numpy_params_and_tags_are_stored_as_numbers_and_their_text(
    tmp_path: Path,
) -> None:
    """numpy params stay numbers (NaN "NaN"); numpy tags are accepted like int/float.

    (Review finding 14: they were repr strings, "nan", and np.int64 tags refused.)
    """
    params = {"batch": np.int64(32), "shape": np.array([2, 3]), "nan": float("nan")}
    with Run("exp", runs_dir=tmp_path, params=params) as run:
        run.set_tags({"seed": np.int64(3), "lr": np.float64(0.1)})
        run.log_params({"huge": 10**5000})
        assert run.params["batch"] == 32
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["params"] == {
        "batch": 32,
        "shape": [2, 3],
        "nan": "NaN",
        "huge": hex(10**5000),
    }
    assert data["tags"] == {"seed": "3", "lr": "0.1"}


def test_params_logged_mid_run_are_written_at_the_next_flush(tmp_path: Path) -> None:
    """log_params marks the run record dirty; flush() writes it."""
    with Run("exp", runs_dir=tmp_path, flush_interval=SLOW, fsync=False) as run:
        run.log_params({"lr": 0.5})
        run.flush()
        assert run.path is not None
        stored = json.loads((run.path / "run.json").read_text())
        assert stored["params"] == {"lr": 0.5}
        assert stored["status"] == "running"


def test_run_identity_and_repr(tmp_path: Path) -> None:
    """A run has an id, its experiment, a path in the store and a useful repr."""
    run = Run("exp", runs_dir=tmp_path)
    try:
        assert run.path == (tmp_path / "exp" / run.id).resolve()
        assert run.status == "running"
        assert repr(run) == (
            f"Run(experiment='exp', id='{run.id}', status='running', buffered=0)"
        )
    finally:
        run.shutdown()
    assert Run("exp", sink=MemorySink()).path is None


# ---------------------------------------------------------------- ending
def test_shutdown_is_idempotent_and_logging_after_it_raises() -> None:
    """shutdown() twice is fine; metric/result/params after it raise RunStateError."""
    sink = MemorySink()
    run = Run("exp", sink=sink)
    run.metric("loss", 1.0)
    run.shutdown()
    run.shutdown()
    assert run.closed
    assert sink.closed
    assert run.status == "finished"
    for call in (
        lambda: run.metric("loss", 1.0),
        lambda: run.metrics({"loss": 1.0}),
        lambda: run.result("acc", 1.0),
        lambda: run.log_params({"lr": 1}),
        lambda: run.set_tags({"a": "b"}),
    ):
        with pytest.raises(RunStateError, match="has ended"):
            call()
    run.flush()  # nothing left to write: a no-op
    assert metric_records(sink) == [("loss", 1.0, 0)]


def test_shutdown_status_can_be_chosen() -> None:
    """shutdown(status=...) records failed/killed; other statuses are refused."""
    sink = MemorySink()
    run = Run("exp", sink=sink)
    with pytest.raises(InvalidParameterError, match="status"):
        run.shutdown(status="done")
    run.shutdown(status="killed")
    assert sink.info is not None
    assert sink.info["status"] == "killed"


class DivergedError(Exception):
    """A user's own exception class (not a builtin)."""


@pytest.mark.parametrize(
    ("exc", "status", "error"),
    [
        (ValueError("boom"), "failed", {"type": "ValueError", "message": "boom"}),
        (
            DivergedError("nan loss"),
            "failed",
            {"type": f"{__name__}.DivergedError", "message": "nan loss"},
        ),
        (
            InvalidParameterError("bad"),
            "failed",
            {"type": "ml_infra_utils.InvalidParameterError", "message": "bad"},
        ),
        (KeyboardInterrupt(), "killed", {"type": "KeyboardInterrupt", "message": ""}),
        (SystemExit(0), "finished", None),
        (SystemExit(2), "failed", {"type": "SystemExit", "message": "2"}),
    ],
)
def test_context_manager_records_how_the_block_ended(
    exc: BaseException, status: str, error: dict[str, str] | None
) -> None:
    """An exception escaping `with` marks the run; everything logged is kept."""
    sink = MemorySink()

    def train() -> None:
        with Run("exp", sink=sink, flush_interval=SLOW) as run:
            for i in range(100):
                run.metric("loss", float(i))
            raise exc

    with pytest.raises(type(exc)):
        train()
    assert sink.info is not None
    assert sink.info["status"] == status
    assert sink.info["error"] == error
    assert len(metric_records(sink)) == 100


# ---------------------------------------------------------------- buffering
def test_metric_only_appends_to_memory_until_a_flush() -> None:
    """With a long interval nothing reaches the sink until flush()."""
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=SLOW)
    for i in range(10):
        run.metric("loss", float(i))
    assert sink.batches == []
    run.flush()
    assert len(metric_records(sink)) == 10
    run.flush()
    assert len(sink.batches) == 1  # nothing new: no empty batch
    run.shutdown()


def test_the_writer_thread_flushes_on_its_own() -> None:
    """Without any flush call, records reach the sink after flush_interval."""
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=0.01)
    run.metric("loss", 1.0)
    for _ in range(3000):
        if sink.batches:
            break
        threading.Event().wait(0.01)
    assert metric_records(sink) == [("loss", 1.0, 0)]
    run.shutdown()


def test_a_large_buffer_wakes_the_writer_without_blocking_the_logger() -> None:
    """Past the wake size the writer writes while logging continues into memory."""
    sink = GatedSink()
    run = Run("exp", sink=sink, flush_interval=SLOW, max_buffer=800)
    for i in range(100):  # the writer wakes at 100 records (1/8 of the buffer)
        run.metric("loss", float(i))
    assert sink.entered.wait(30)  # the writer is inside write() and blocked
    for i in range(100, 700):  # logging does not wait for the blocked write
        run.metric("loss", float(i))
    sink.gate.set()
    run.shutdown()
    assert [v for _, v, _ in metric_records(sink)] == [float(i) for i in range(700)]


def test_a_full_buffer_is_written_by_the_logging_thread() -> None:
    """Backpressure: at max_buffer records metric() writes synchronously; no drops."""
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=SLOW, max_buffer=10)
    run._wake_size = run._trigger = run._max_buffer  # never wake the writer early
    for i in range(25):
        run.metric("loss", float(i))
        if i == 9:
            assert len(metric_records(sink)) == 10  # written before metric() returned
    for i in range(25):
        run.result(f"r{i}", float(i))
    run.shutdown()
    assert [v for _, v, _ in metric_records(sink)] == [float(i) for i in range(25)]
    assert sink.info is not None
    assert len(sink.info["results"]) == 25


def test_a_failing_sink_keeps_the_records_and_retries_them() -> None:
    """A refused batch stays buffered, in order, and is written on the next try."""
    sink = FailingSink(failures=2)
    run = Run("exp", sink=sink, flush_interval=SLOW)
    run.metric("loss", 1.0)
    with pytest.raises(OSError, match="down"):
        run.flush()
    run.metric("loss", 2.0)
    with pytest.raises(OSError, match="down"):
        run.flush()
    run.metric("loss", 3.0)
    run.flush()
    run.shutdown()
    assert metric_records(sink) == [
        ("loss", 1.0, 0),
        ("loss", 2.0, 1),
        ("loss", 3.0, 2),
    ]
    assert [b.first_seq for b in sink.batches] == [0]


def test_a_batch_retried_after_a_failed_run_json_write_is_stored_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review finding 2, end to end: flush fails in run.json, the retry adds no
    duplicate metric lines."""
    from ml_infra_utils.logging import sinks

    real = sinks.write_json_atomic
    failures: list[OSError] = []

    def flaky(path: Path, data: bytes, *, fsync: bool) -> None:
        if failures:
            raise failures.pop()
        real(path, data, fsync=fsync)

    monkeypatch.setattr(sinks, "write_json_atomic", flaky)
    run = Run("partial", runs_dir=tmp_path, flush_interval=SLOW, fsync=False)
    run.metric("loss", 1.0)
    run.metric("loss", 2.0)
    run.result("acc", 0.5)
    failures.append(OSError(28, "No space left on device"))
    with pytest.raises(OSError, match="No space"):
        run.flush()
    run.flush()
    run.shutdown()
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["metrics"]["loss"]["steps"] == [0, 1]
    assert data["results"] == {"acc": 0.5}


def test_a_failed_run_record_update_is_retried() -> None:
    """If the sink cannot store the changed run record, the next flush tries again."""

    class FlakyUpdate(MemorySink):
        fail = True

        def update(self, info: Mapping[str, Any]) -> None:
            if self.fail:
                self.fail = False
                msg = "busy"
                raise OSError(msg)
            super().update(info)

    sink = FlakyUpdate()
    run = Run("exp", sink=sink, flush_interval=SLOW)
    run.log_params({"lr": 0.5})
    with pytest.raises(OSError, match="busy"):
        run.flush()
    run.flush()
    assert sink.info is not None
    assert sink.info["params"] == {"lr": 0.5}
    run.shutdown()


def test_the_writer_thread_survives_sink_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The writer logs a failure once, keeps the records and writes them later."""
    sink = FailingSink(failures=3)
    run = Run("exp", sink=sink, flush_interval=0.01)
    run.metric("loss", 1.0)
    for _ in range(3000):
        if sink.batches:
            break
        threading.Event().wait(0.01)
    run.shutdown()
    assert metric_records(sink) == [("loss", 1.0, 0)]
    assert sum("failed" in r.getMessage() for r in caplog.records) == 1


def test_many_threads_lose_nothing_and_get_unique_auto_steps() -> None:
    """8 threads x 10,000 metrics on one name: 80,000 records, steps 0..79,999."""
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=0.001, max_buffer=5000)
    barrier = threading.Barrier(8)

    def work(thread: int) -> None:
        barrier.wait()
        for i in range(10_000):
            run.metric("shared", float(thread))
            if i % 1000 == 0:
                run.metric(f"own.{thread}", float(i), step=i)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.shutdown()
    shared = [(v, s) for n, v, s in metric_records(sink) if n == "shared"]
    assert sorted(s for _, s in shared) == list(range(80_000))
    assert sorted(v for v, _ in shared) == sorted(
        float(t) for t in range(8) for _ in range(10_000)
    )
    for t in range(8):
        assert [s for n, _, s in metric_records(sink) if n == f"own.{t}"] == list(
            range(0, 10_000, 1000)
        )
    seqs = [b.first_seq for b in sink.batches]
    sizes = [len(b) for b in sink.batches]
    assert seqs == [sum(sizes[:i]) for i in range(len(sizes))]  # contiguous


def test_auto_steps_stay_unique_when_threads_mix_in_explicit_steps() -> None:
    """A jump of the counter (explicit step overtaking it) gives no duplicate."""
    sink = MemorySink()
    run = Run("exp", sink=sink, flush_interval=SLOW)
    run.metric("m", 0.0, step=1000)
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        for _ in range(2000):
            run.metric("m", 1.0)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.shutdown()
    auto = [s for _, v, s in metric_records(sink) if v == 1.0]
    assert sorted(auto) == list(range(1001, 1001 + 8000))


# ---------------------------------------------------------------- the global run
def test_global_run_api(tmp_path: Path) -> None:
    """start_run, log_*, active_run and end_run drive one run at a time."""
    assert active_run() is None
    run = start_run("exp", runs_dir=tmp_path, params={"lr": 0.1}, fsync=False)
    assert active_run() is run
    with pytest.raises(RunStateError, match="active already"):
        start_run("exp", runs_dir=tmp_path)
    for step in range(5):
        log_metric("loss", 1.0 / (step + 1))
    log_metrics({"acc": 0.5, "f1": 0.4}, step=4)
    log_result("acc", 0.9)
    log_params({"epochs": 5})
    end_run()
    assert active_run() is None
    end_run()  # no active run: a no-op
    data = load_run(run.path)  # type: ignore[arg-type]
    assert data["metrics"]["loss"]["steps"] == [0, 1, 2, 3, 4]
    assert data["metrics"]["f1"]["steps"] == [4]
    assert data["results"] == {"acc": 0.9}
    assert data["params"] == {"lr": 0.1, "epochs": 5}
    second = start_run("exp", runs_dir=tmp_path)  # a new run may start now
    assert second.id != run.id
    second.shutdown()  # ended directly, not through end_run
    assert active_run() is None
    start_run("exp", sink=MemorySink())  # allowed: the previous one has ended
    with pytest.raises(InvalidParameterError, match="status"):
        end_run(status="bogus")
    end_run(status="failed")


@pytest.mark.parametrize(
    "call",
    [
        lambda: log_metric("loss", 1.0),
        lambda: log_metrics({"loss": 1.0}),
        lambda: log_result("acc", 1.0),
        lambda: log_params({"lr": 1.0}),
    ],
)
def test_global_logging_without_a_run_raises(call: Any) -> None:
    """The log_* functions need start_run() first."""
    with pytest.raises(RunStateError, match="no active run"):
        call()


# ---------------------------------------------------------------- configuration
def test_environment_configures_a_run_when_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Env vars are read at start (not import); arguments win over them."""
    monkeypatch.setenv("ML_INFRA_UTILS_RUNS_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("ML_INFRA_UTILS_EXPERIMENT", "env-exp")
    monkeypatch.setenv("ML_INFRA_UTILS_RUN_NAME", "env-name")
    monkeypatch.setenv("ML_INFRA_UTILS_RUNS_FLUSH_INTERVAL", "0.25")
    monkeypatch.setenv("ML_INFRA_UTILS_RUNS_MAX_BUFFER", "64")
    monkeypatch.setenv("ML_INFRA_UTILS_RUNS_FSYNC", "no")
    run = Run()
    run.shutdown()
    assert run.path == (tmp_path / "from-env" / "env-exp" / run.id).resolve()
    assert run.name == "env-name"
    assert run._flush_interval == 0.25
    assert run._max_buffer == 4 * 64
    assert run._sink.fsync is False  # type: ignore[attr-defined]
    explicit = Run(
        "arg-exp",
        name="arg",
        runs_dir=tmp_path,
        flush_interval=2.0,
        max_buffer=8,
        fsync=True,
    )
    explicit.shutdown()
    assert explicit.path == (tmp_path / "arg-exp" / explicit.id).resolve()
    assert (explicit.name, explicit._flush_interval, explicit._max_buffer) == (
        "arg",
        2.0,
        32,
    )


def test_defaults_without_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Default experiment "default" under ./runs, 1 s interval, 100,000 records."""
    monkeypatch.chdir(tmp_path)
    run = Run()
    run.shutdown()
    assert run.path == (tmp_path / "runs" / "default" / run.id).resolve()
    assert run._flush_interval == 1.0
    assert run._max_buffer == 4 * 100_000


@pytest.mark.parametrize(
    ("var", "value", "match"),
    [
        ("ML_INFRA_UTILS_RUNS_FLUSH_INTERVAL", "soon", "number of seconds"),
        ("ML_INFRA_UTILS_RUNS_FLUSH_INTERVAL", "0", "> 0"),
        ("ML_INFRA_UTILS_RUNS_FLUSH_INTERVAL", "inf", "> 0"),
        ("ML_INFRA_UTILS_RUNS_MAX_BUFFER", "lots", "integer"),
        ("ML_INFRA_UTILS_RUNS_MAX_BUFFER", "0", ">= 1"),
        ("ML_INFRA_UTILS_RUNS_FSYNC", "maybe", "1/0"),
        ("ML_INFRA_UTILS_RUNS_HANDLE_SIGTERM", "2", "1/0"),
        ("ML_INFRA_UTILS_EXPERIMENT", "../x", "experiment"),
    ],
)
def test_bad_environment_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, var: str, value: str, match: str
) -> None:
    """A malformed variable is a ValueError naming it, raised when the run starts."""
    monkeypatch.setenv(var, value)
    with pytest.raises(InvalidParameterError, match=match):
        Run(runs_dir=tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"flush_interval": 0}, InvalidParameterError, "flush_interval"),
        ({"flush_interval": "1"}, InputTypeError, "flush_interval"),
        ({"flush_interval": True}, InputTypeError, "flush_interval"),
        ({"max_buffer": 0}, InvalidParameterError, "max_buffer"),
        ({"max_buffer": 1.5}, InputTypeError, "max_buffer"),
        ({"name": 3}, InputTypeError, "name"),
        ({"name": "x" * 251}, InvalidParameterError, "name"),
        ({"runs_dir": 3}, InputTypeError, "runs_dir"),
        ({"sink": object()}, InputTypeError, "sink"),
        ({"handle_sigterm": "false"}, InputTypeError, "handle_sigterm"),
        ({"handle_sigterm": 0}, InputTypeError, "handle_sigterm"),
        ({"fsync": "0"}, InputTypeError, "fsync"),
        ({"fsync": 1}, InputTypeError, "fsync"),
        ({"fsync": np.bool_(False)}, InputTypeError, "fsync"),
        ({"sink": MemorySink(), "runs_dir": "x"}, InvalidParameterError, "not both"),
        ({"params": [1]}, InputTypeError, "params"),
        ({"tags": {"t": None}}, InputTypeError, "tags"),
    ],
)
def test_bad_options_are_refused_before_anything_is_created(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kwargs: Mapping[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    """Options are validated up front: a clear error and no run directory."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=match):
        Run("exp", **kwargs)
    assert not (tmp_path / "runs").exists()
    assert _lifecycle.open_runs() == []


@pytest.mark.parametrize("value", ["false", "0", 0, 1])
def test_boolean_options_are_never_read_by_truthiness(value: object) -> None:
    """handle_sigterm and fsync take True, False or None: "false" is refused.

    (Review finding 6: ``handle_sigterm="false"`` installed the handler.)
    """
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(InputTypeError, match="handle_sigterm must be True or False"):
        Run("exp", sink=MemorySink(), handle_sigterm=value)  # type: ignore[arg-type]
    assert signal.getsignal(signal.SIGTERM) == before
    with pytest.raises(InputTypeError, match="fsync must be True or False"):
        Run("exp", sink=MemorySink(), fsync=value)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="fsync must be True or False"):
        RunStoreSink("runs", fsync=value)  # type: ignore[arg-type]
    assert _lifecycle.open_runs() == []


@pytest.mark.parametrize("call", [Run.shutdown, lambda _run, **kw: end_run(**kw)])
def test_a_status_that_is_not_a_string_is_a_type_error(call: Any) -> None:
    """shutdown(status=5) and end_run(status=5): the wrong kind is a TypeError."""
    run = start_run("exp", sink=MemorySink())
    with pytest.raises(InputTypeError, match="status"):
        call(run, status=5)
    with pytest.raises(InvalidParameterError, match="status"):
        call(run, status="done")
    assert not run.closed
    end_run()


def test_a_sink_that_cannot_open_leaves_no_open_run() -> None:
    """If the sink's open() fails, Run() raises it and nothing stays registered."""

    class Broken(MemorySink):
        def open(self, _info: Mapping[str, Any]) -> None:
            msg = "no space"
            raise OSError(msg)

    with pytest.raises(OSError, match="no space"):
        Run("exp", sink=Broken())
    assert _lifecycle.open_runs() == []


def test_the_public_names_are_the_runs_module_objects() -> None:
    """The root re-exports the logging.runs and logging.sinks objects."""
    from ml_infra_utils.logging import runs, sinks

    assert ml_infra_utils.Run is runs.Run
    assert ml_infra_utils.start_run is runs.start_run
    assert ml_infra_utils.RunStoreSink is sinks.RunStoreSink
