"""Remote runs end to end: our Run and the real Tora SDK against our server, and faults.

Servers run on 127.0.0.1 (port 0), in this process or as ``ml-infra-utils
serve`` subprocesses; the results are read back with ``list_runs``/``load_run``.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ml_infra_utils import (
    HttpSink,
    InvalidParameterError,
    OutputClosedError,
    RecordBatch,
    Run,
    RunStoreSink,
    list_runs,
    load_run,
    retry_testing,
    send_spooled,
)
from ml_infra_utils.logging._protocol import ProtocolError
from ml_infra_utils.logging.server import TrackingServer

KEY = "remote-k3y"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TrackingServer]:
    with TrackingServer(tmp_path / "server", port=0, fsync=False) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_tracking_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ML_INFRA_UTILS_TRACKING_URL",
        "ML_INFRA_UTILS_API_KEY",
        "ML_INFRA_UTILS_SHUTDOWN_TIMEOUT",
        "ML_INFRA_UTILS_RUNS_DIR",
    ):
        monkeypatch.delenv(name, raising=False)


def stored(root: Path) -> dict[str, Any]:
    """The only run of a store, with its metrics."""
    runs = list_runs(root)
    assert len(runs) == 1, runs
    return load_run(runs[0]["path"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], object], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            pytest.fail("the condition never held")
        time.sleep(0.01)


def sink(url: str, root: Path, **options: Any) -> HttpSink:
    """An HttpSink that retries quickly (tests also run under retry_testing)."""
    options.setdefault("max_retry_delay", 0.05)
    return HttpSink(url, runs_dir=root, **options)


# ---------------------------------------------------------------- our own runs
def test_a_run_sent_over_http_looks_like_a_local_one(
    tmp_path: Path, server: TrackingServer
) -> None:
    """Metrics, NaN, results, params, tags, status: the server's store = a local one."""

    def train(run: Run) -> None:
        run.log_params({"lr": 0.1, "layers": [64, 64]})
        run.set_tags({"team": "vision"})
        for step in range(500):
            run.metric("loss", 1 / (step + 1))
        run.metric("grad", math.nan)
        run.metric("grad", math.inf, step=7)
        run.metrics({"acc": 0.5, "f1": 1}, step=3)
        run.result("acc", 0.97)

    with Run(
        "mnist", tracking_url=server.url, runs_dir=tmp_path / "client", name="r1"
    ) as remote:
        train(remote)
    with Run("mnist", runs_dir=tmp_path / "local", name="r1") as local:
        train(local)
    got, want = stored(server.runs_dir), stored(tmp_path / "local")
    for key in (
        "experiment",
        "name",
        "status",
        "params",
        "tags",
        "results",
        "host",
        "python",
    ):
        assert got[key] == want[key], key
    assert got["id"] == remote.id
    assert got["start_time"] == remote._start_time
    assert got["end_time"] == remote.end_time
    assert got["metrics"].keys() == want["metrics"].keys()
    for name, history in want["metrics"].items():
        assert got["metrics"][name]["steps"] == history["steps"]
        assert [repr(v) for v in got["metrics"][name]["values"]] == [
            repr(v) for v in history["values"]
        ]
    assert isinstance(remote.sink, HttpSink)
    assert remote.path is None
    assert remote.sink.run_url == f"{server.url}/experiments/{remote.id}"
    assert remote.sink.delivered
    assert server.stats["connections"] == 1  # one kept-alive connection for it all
    assert not (tmp_path / "client").exists()  # nothing spooled, nothing written


def test_the_environment_chooses_the_server_when_the_run_starts(
    tmp_path: Path, server: TrackingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ML_INFRA_UTILS_TRACKING_URL/API_KEY are read at Run(), not at import."""
    secured = TrackingServer(
        tmp_path / "secured", port=0, api_key=KEY, fsync=False
    ).start()
    try:
        monkeypatch.setenv("ML_INFRA_UTILS_TRACKING_URL", secured.url)
        monkeypatch.setenv("ML_INFRA_UTILS_API_KEY", KEY)
        monkeypatch.setenv("ML_INFRA_UTILS_RUNS_DIR", str(tmp_path / "spool"))
        with Run("env") as run:
            run.metric("x", 1)
        assert isinstance(run.sink, HttpSink)
        assert not run.sink.errors
        assert stored(secured.runs_dir)["metrics"]["x"]["values"] == [1]
        with Run("local", tracking_url="", runs_dir=tmp_path / "local") as local:
            local.metric("x", 2)
        assert isinstance(local.sink, RunStoreSink)
    finally:
        secured.stop()


def test_a_sink_and_a_tracking_url_do_not_mix(server: TrackingServer) -> None:
    """sink= and tracking_url= together are refused."""
    with pytest.raises(InvalidParameterError, match="not both"):
        Run("x", sink=HttpSink(server.url), tracking_url=server.url)


def test_a_wrong_key_is_reported_once_and_never_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """401s surface as one clear error, kept in sink.errors; the key appears nowhere."""
    with (
        TrackingServer(
            tmp_path / "server", port=0, api_key="right", fsync=False
        ) as server,
        caplog.at_level(logging.DEBUG),
        Run("x", tracking_url=server.url, api_key=KEY, runs_dir=tmp_path / "c") as run,
    ):
        for step in range(10):
            run.metric("loss", step)
            run.flush()
    assert isinstance(run.sink, HttpSink)
    errors = run.sink.errors
    assert errors
    assert {e.status for e in errors} == {401}
    assert "HTTP 401: " in str(errors[0])
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
    everything = caplog.text + repr(run) + repr(run.sink) + "".join(map(str, errors))
    for path in (tmp_path / "c").rglob("*"):
        if path.is_file():
            everything += path.read_text()
    assert KEY not in everything
    assert (tmp_path / "c" / ".spool" / f"{run.id}.rejected").exists()


# ---------------------------------------------------------------- the Tora SDK
@pytest.fixture
def tora() -> Any:
    """The real Tora SDK from PyPI (tora==0.0.12, in the test extra)."""
    return pytest.importorskip("tora")


def test_the_tora_sdk_logs_to_our_server(tora: Any, server: TrackingServer) -> None:
    """create_experiment, metric, result, log_metrics, shutdown: all in our store."""
    client = tora.Tora.create_experiment(
        "tora-exp",
        description="from the SDK",
        hyperparams={"lr": 0.01, "optimizer": "adam", "epochs": 3},
        tags=["sdk", "v1.0"],
        server_url=server.url,
        max_buffer_len=7,
    )
    for step in range(100):
        client.metric("train/loss", 1 / (step + 1), step)
        client.metric("val.acc", step, step)
    client.log_metrics({"lr": 0.5, "momentum": 0.9}, step=3)
    client.log_metrics({"lr": 0.25})  # no step: the next one for that name
    client.result("test_acc", 0.93)
    client.result("best_epoch", 2)
    client.shutdown()
    run = stored(server.runs_dir)
    assert run["id"] == client.experiment_id
    assert client.url == f"{server.url}/experiments/{run['id']}"
    assert run["experiment"] == "tora-exp"
    assert run["description"] == "from the SDK"
    assert run["params"] == {"lr": 0.01, "optimizer": "adam", "epochs": 3}
    assert run["tags"] == {"sdk": "", "v1.0": ""}
    assert run["results"] == {"test_acc": 0.93, "best_epoch": 2}
    metrics = run["metrics"]
    assert metrics["train/loss"]["steps"] == list(range(100))
    assert metrics["train/loss"]["values"] == [1 / (s + 1) for s in range(100)]
    assert metrics["val.acc"]["values"] == list(range(100))
    assert metrics["lr"] == {**metrics["lr"], "steps": [3, 4], "values": [0.5, 0.25]}
    assert metrics["momentum"]["steps"] == [3]
    assert server.stats["duplicates"] == 0


def test_the_tora_global_wrapper_works_too(
    tora: Any, server: TrackingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """setup / tmetric / tresult / shutdown (one POST per metric) against our server."""
    experiment_id = tora.setup("wrapped", server_url=server.url, api_key=None)
    try:
        for step in range(20):
            tora.tmetric("loss", 20 - step, step)
        tora.tresult("final", 1.5)
    finally:
        tora.shutdown()
    assert f"/experiments/{experiment_id}" in capsys.readouterr().out
    run = stored(server.runs_dir)
    assert run["metrics"]["loss"]["values"] == [20 - s for s in range(20)]
    assert run["results"] == {"final": 1.5}


def test_tora_workspaces_and_loading_an_experiment(tora: Any, tmp_path: Path) -> None:
    """create_workspace, create_experiment in it, load_experiment, log more."""
    with TrackingServer(tmp_path, port=0, api_key=KEY, fsync=False) as server:
        workspace = tora.create_workspace(
            "team", "ours", api_key=KEY, server_url=server.url
        )
        first = tora.Tora.create_experiment(
            "exp", workspace_id=workspace["id"], hyperparams={"a": 1}, tags=["t"],
            api_key=KEY, server_url=server.url,
        )  # fmt: skip
        first.metric("m", 1.0, 0)
        first.shutdown()
        again = tora.Tora.load_experiment(
            first.experiment_id, api_key=KEY, server_url=server.url
        )
        assert again.url == first.url
        assert again._hyperparams == {"a": 1}
        assert again._tags == ["t"]
        again.metric("m", 2.0, 1)
        again.shutdown()
        with pytest.raises(tora.ToraExperimentError):
            tora.Tora.load_experiment(
                "20260101-000000-00000000", api_key=KEY, server_url=server.url
            )
    run = stored(tmp_path)
    assert run["workspace_id"] == workspace["id"]
    assert run["metrics"]["m"]["values"] == [1.0, 2.0]


def test_tora_sees_our_status_codes_as_it_expects(tora: Any, tmp_path: Path) -> None:
    """401 -> ToraAuthenticationError, 400 -> ToraValidationError, 404 workspace."""
    with TrackingServer(tmp_path, port=0, api_key=KEY, fsync=False) as server:
        with pytest.raises(tora.ToraAuthenticationError):
            tora.Tora.create_experiment("x", api_key="wrong", server_url=server.url)
        with pytest.raises(tora.ToraValidationError, match="Invalid experiment data"):
            tora.Tora.create_experiment(".hidden", api_key=KEY, server_url=server.url)
        with pytest.raises(tora.ToraValidationError, match="Workspace not found"):
            tora.Tora.create_experiment(
                "x", workspace_id="missing-1", api_key=KEY, server_url=server.url
            )


def test_tora_loads_a_run_of_ours_and_adds_to_it(
    tora: Any, tmp_path: Path, server: TrackingServer
) -> None:
    """Our runs are Tora experiments: load_experiment finds them; logs append."""
    with Run(
        "ours", tracking_url=server.url, runs_dir=tmp_path, params={"lr": 0.1}
    ) as run:
        run.metric("loss", 0.5)
    client = tora.Tora.load_experiment(run.id, server_url=server.url)
    assert client._hyperparams == {"lr": 0.1}
    client.metric("loss", 0.25, 1)
    client.shutdown()
    assert stored(server.runs_dir)["metrics"]["loss"]["values"] == [0.5, 0.25]


# ---------------------------------------------------------------- faults
def lines_stored(store: Path) -> int:
    """Metric lines the server has written so far (0 before the run exists)."""
    return sum(
        len(p.read_bytes().splitlines()) for p in store.glob("*/*/metrics.jsonl")
    )


def test_a_server_restarted_mid_run_loses_and_repeats_nothing(tmp_path: Path) -> None:
    """Stopped while batches flow, restarted on the same port: every record once."""
    store = tmp_path / "server"
    first = TrackingServer(store, port=0, fsync=False).start()
    port = first.port
    http_sink = sink(first.url, tmp_path / "client", max_batch=50)
    with retry_testing():
        run = Run("restart", sink=http_sink, flush_interval=0.002)
        for step in range(3000):
            run.metric("loss", step)
            if step % 100 == 99:
                time.sleep(0.005)  # let batches flow while we log
            if step == 1500:
                wait_for(lambda: lines_stored(store) > 0)
                first.stop()
        run.result("acc", 1.0)
        run.flush()
        assert http_sink.spool_path is not None
        wait_for(http_sink.spool_path.exists)  # type: ignore[union-attr]
        assert 0 < lines_stored(store) < 3000
        second = TrackingServer(store, port=port, fsync=False).start()
        try:
            run.shutdown()
        finally:
            second.stop()
    assert http_sink.delivered
    data = stored(store)
    assert data["metrics"]["loss"]["steps"] == list(range(3000))
    assert data["status"] == "finished"
    assert data["results"] == {"acc": 1.0}
    assert not http_sink.spool_path.exists()


def test_answers_lost_after_the_records_were_stored(
    tmp_path: Path, server: TrackingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server writes, then the connection dies before the answer: the client
    sends again and the server keeps one copy of each record."""
    dispatch = server.app._dispatch
    cuts = {"left": 5}

    def write_then_cut(*args: Any, **kwargs: Any) -> tuple[int, object]:
        answer = dispatch(*args, **kwargs)
        if args[0] == "logs" and cuts["left"] > 0:
            cuts["left"] -= 1
            kwargs["handler"].connection.shutdown(socket.SHUT_RDWR)
            msg = "cut after the write"
            raise ConnectionResetError(msg)
        return answer

    monkeypatch.setattr(server.app, "_dispatch", write_then_cut)
    with (
        retry_testing(),
        Run("cut", sink=sink(server.url, tmp_path, max_batch=100)) as run,
    ):
        for step in range(1000):
            run.metric("loss", step)
            if step % 100 == 99:
                run.flush()
        run.result("acc", 0.5)
    assert cuts["left"] == 0
    assert server.stats["duplicates"] >= 5 * 100 - 100  # the repeats were dropped
    data = stored(server.runs_dir)
    assert data["metrics"]["loss"]["steps"] == list(range(1000))
    assert data["results"] == {"acc": 0.5}


def wait_for_health(port: int, proc: subprocess.Popen[bytes]) -> None:
    """Wait until `ml-infra-utils serve` answers GET /health."""
    import http.client

    def up() -> bool:
        assert proc.poll() is None, "the server exited"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            ok = conn.getresponse().status == 200
            conn.close()
        except OSError:
            return False
        return ok

    wait_for(up)


@pytest.mark.slow
def test_a_killed_server_process_restarted_mid_run_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    """kill -9 of `ml-infra-utils serve` while batches flow, then a restart."""
    store, port = tmp_path / "server", free_port()
    serve = [sys.executable, "-m", "ml_infra_utils", "serve", "--port", str(port),
             "--runs-dir", str(store), "--no-fsync"]  # fmt: skip
    http_sink = sink(f"http://127.0.0.1:{port}", tmp_path / "client", max_batch=100)
    first = subprocess.Popen(serve, stderr=subprocess.DEVNULL)
    try:
        wait_for_health(port, first)
        with retry_testing():
            run = Run("killed", sink=http_sink, flush_interval=0.002)
            for step in range(20_000):
                run.metric("loss", step)
                if step % 200 == 199:
                    time.sleep(0.002)
                if step == 10_000:
                    wait_for(lambda: lines_stored(store) > 0)
                    first.kill()
            run.flush()
            first.wait(30)
            killed_at = lines_stored(store)
            second = subprocess.Popen(serve, stderr=subprocess.DEVNULL)
            try:
                run.shutdown()
            finally:
                second.send_signal(signal.SIGTERM)
                assert second.wait(30) == 0
    finally:
        if first.poll() is None:
            first.kill()
    assert 0 < killed_at < 20_000
    assert http_sink.delivered
    data = stored(store)
    assert data["metrics"]["loss"]["steps"] == list(range(20_000))
    assert data["status"] == "finished"


def test_a_server_answering_500_and_503_for_a_while(
    tmp_path: Path, server: TrackingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errors for the first requests (then healthy): everything arrives once."""
    answer = server.app._answer
    failures = {"left": 12}

    def flaky(handler: Any, method: str, info: dict[str, Any]) -> tuple[int, object]:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise ProtocolError(503 if failures["left"] % 2 else 500, "busy")
        return answer(handler, method, info)

    monkeypatch.setattr(server.app, "_answer", flaky)
    with (
        retry_testing(),
        Run(
            "flaky", sink=sink(server.url, tmp_path, max_batch=50), flush_interval=0.01
        ) as run,
    ):
        for step in range(1000):
            run.metric("loss", step)
        run.result("done", 1)
    data = stored(server.runs_dir)
    assert failures["left"] == 0
    assert data["metrics"]["loss"]["steps"] == list(range(1000))
    assert data["results"] == {"done": 1}
    assert server.stats["duplicates"] == 0


def spooled_records(path: Path) -> list[dict[str, Any]]:
    """Every log in an outbox (its POST bodies)."""
    logs = []
    for line in path.read_bytes().splitlines()[1:]:
        method, _, _, body = line.split(b" ", 3)
        if method == b"POST":
            logs += json.loads(body)["logs"]
    return logs


def test_a_server_that_never_answers_cannot_hang_shutdown(tmp_path: Path) -> None:
    """Connections accepted, no answer: shutdown returns in its bound; data on disk."""
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)
        url = f"http://127.0.0.1:{hole.getsockname()[1]}"
        http_sink = sink(url, tmp_path, timeout=60, shutdown_timeout=1.0)
        run = Run("hole", sink=http_sink)
        for step in range(2000):
            run.metric("loss", step)
        run.result("acc", 0.5)
        start = time.monotonic()
        run.shutdown()
        elapsed = time.monotonic() - start
    assert elapsed < 15  # the bound is 1 s; a hang would be 60 s or forever
    assert run.status == "finished"
    assert http_sink.delivered is False
    assert http_sink.spool_path is not None
    logs = spooled_records(http_sink.spool_path)
    assert [log["step"] for log in logs if log["name"] == "loss"] == list(range(2000))
    with TrackingServer(tmp_path / "server", port=0, fsync=False) as server:
        assert send_spooled(tmp_path, url=server.url) == 2001
    data = stored(tmp_path / "server")
    assert data["status"] == "finished"
    assert data["metrics"]["loss"]["steps"] == list(range(2000))


def test_no_server_at_all_never_blocks_or_raises_in_the_training_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Server down from the start, tiny buffer (backpressure): no error, bounded end."""
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("ML_INFRA_UTILS_TRACKING_URL", url)
    monkeypatch.setenv("ML_INFRA_UTILS_SHUTDOWN_TIMEOUT", "0.5")
    with retry_testing():
        with Run("offline", runs_dir=tmp_path, max_buffer=50) as run:
            for step in range(5000):
                run.metric("loss", step)  # writes itself every 50 records
        with TrackingServer(tmp_path / "server", port=0, fsync=False) as server:
            send_spooled(tmp_path, url=server.url)
    data = stored(tmp_path / "server")
    assert data["metrics"]["loss"]["steps"] == list(range(5000))
    assert data["status"] == "finished"


def test_a_stuck_custom_sink_cannot_hang_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Any sink: shutdown waits at most shutdown_timeout, then logs and returns."""
    release = threading.Event()

    class Stuck:
        def open(self, info: Any) -> None:
            pass

        def write(self, batch: RecordBatch) -> None:
            del batch
            release.wait(30)

        def update(self, info: Any) -> None:
            pass

        def close(self) -> None:
            pass

    run = Run("stuck", sink=Stuck(), flush_interval=0.01, shutdown_timeout=0.3)
    run.metric("x", 1)
    time.sleep(0.1)  # the writer is now inside write()
    start = time.monotonic()
    run.shutdown()
    elapsed = time.monotonic() - start
    release.set()
    assert elapsed < 10
    assert run.closed
    assert "still writing after 0.3 s" in caplog.text


def test_an_environment_timeout_must_be_a_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A malformed ML_INFRA_UTILS_SHUTDOWN_TIMEOUT is refused naming the variable."""
    monkeypatch.setenv("ML_INFRA_UTILS_SHUTDOWN_TIMEOUT", "soon")
    with pytest.raises(InvalidParameterError, match="ML_INFRA_UTILS_SHUTDOWN_TIMEOUT"):
        Run("x", sink=HttpSink("http://127.0.0.1:9"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_batch": 0}, "max_batch"),
        ({"max_batch": 1.5}, "max_batch"),
        ({"shutdown_timeout": -1}, "shutdown_timeout"),
        ({"timeout": 0}, "timeout"),
        ({"api_key": 5}, "api_key"),
    ],
)
def test_bad_sink_options_are_refused_at_once(
    options: dict[str, Any], message: str
) -> None:
    """HttpSink checks its options when made, not when the run starts."""
    with pytest.raises((TypeError, ValueError), match=message):
        HttpSink("http://127.0.0.1:9", **options)


def test_a_sink_that_is_not_open_refuses_writes() -> None:
    """write before open is a programming error."""
    http_sink = HttpSink("http://127.0.0.1:9")
    with pytest.raises(OutputClosedError, match="not open"):
        http_sink.write(RecordBatch("r", 0))
    assert http_sink.flush() is True
    assert http_sink.errors == []
    assert http_sink.spool_path is None
    assert http_sink.run_url is None
    http_sink.close()


def test_the_run_directory_is_not_needed_for_a_healthy_server(
    tmp_path: Path, server: TrackingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is written locally when every batch is delivered."""
    monkeypatch.chdir(tmp_path)
    with Run("x", tracking_url=server.url) as run:
        run.metric("a", 1)
    assert not (tmp_path / "runs").exists()
