"""`ml-infra-utils serve`: options, errors and exit codes, and a real server process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ml_infra_utils import Run, list_runs, load_run
from ml_infra_utils.cli import main

KEY = "cli-k3y"


def test_serve_help_lists_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    """serve --help documents host, port, runs dir, key and the body limit."""
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in (
        "--host",
        "--port",
        "--runs-dir",
        "--api-key",
        "--max-body",
        "--max-open",
        "--request-timeout",
        "--max-connections",
    ):
        assert option in out
    assert "127.0.0.1" in out


def test_the_top_level_help_lists_the_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The command list shows serve."""
    assert main([]) == 0
    assert "serve" in capsys.readouterr().out


def test_an_unknown_command_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exit 2 with the usage on stderr."""
    with pytest.raises(SystemExit) as exc:
        main(["nonsense"])
    assert exc.value.code == 2
    assert "usage: ml-infra-utils" in capsys.readouterr().err


def test_a_bad_option_value_fails_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Exit 1, one line on stderr, no traceback (unless --debug)."""
    assert main(["serve", "--port", "70000", "--runs-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == "ml-infra-utils: error: port must be between 0 and 65535, got 70000\n"
    assert main(["--debug", "serve", "--port", "70000"]) == 1
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5", ""])
def test_max_connections_must_be_a_whole_number_of_at_least_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, value: str
) -> None:
    """--max-connections 0, negative or not an int: a usage error (exit 2)
    naming the option and the value, before anything is bound."""
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--max-connections", value, "--runs-dir", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --max-connections: must be" in err
    assert repr(value) in err or f"got {value}" in err
    assert "Traceback" not in err


def test_max_connections_is_passed_to_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --max-connections 3` calls serve(max_connections=3); without the
    option, the default 256."""
    import ml_infra_utils.logging.server as server_module

    calls: list[dict[str, Any]] = []

    def fake_serve(runs_dir: str, **kwargs: Any) -> None:
        assert runs_dir == str(tmp_path)
        calls.append(kwargs)

    monkeypatch.setattr(server_module, "serve", fake_serve)
    argv = ["serve", "--port", "0", "--runs-dir", str(tmp_path)]
    assert main([*argv, "--max-connections", "3"]) == 0
    assert main(argv) == 0
    assert [call["max_connections"] for call in calls] == [3, 256]


def test_a_port_in_use_fails_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Binding a busy port: exit 1 and the system's reason."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code = main(["serve", "--port", str(port), "--runs-dir", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("ml-infra-utils: error: ")
    assert "in use" in err
    assert "Traceback" not in err


def test_an_empty_api_key_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`--api-key ""` (an unset variable) never serves without a key: exit 2
    naming --api-key."""
    with pytest.raises(SystemExit) as exc:
        # (port 70000: before the fix it failed there instead of serving open)
        main(["serve", "--api-key", "", "--port", "70000", "--runs-dir", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --api-key: is empty" in err
    assert "omit --api-key to serve without a key" in err


def test_an_empty_api_key_variable_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A set but empty $ML_INFRA_UTILS_API_KEY is a misconfiguration, not "no
    key": exit 1 naming the variable, before anything is served."""
    monkeypatch.setenv("ML_INFRA_UTILS_API_KEY", "")
    assert main(["serve", "--port", "70000", "--runs-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ml-infra-utils: error: $ML_INFRA_UTILS_API_KEY is set")
    assert "empty" in err


def test_debug_is_accepted_after_serve(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`serve ... --debug` works like `--debug serve ...`: the traceback."""
    code = main(["serve", "--port", "70000", "--runs-dir", str(tmp_path), "--debug"])
    assert code == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_runs_dir_that_is_a_file_is_refused_at_start(tmp_path: Path) -> None:
    """`serve --runs-dir FILE` exits 1 with one line at once (it served 500 to
    every request before)."""
    afile = tmp_path / "afile"
    afile.write_text("not a store")
    done = subprocess.run(
        [sys.executable, "-m", "ml_infra_utils", "serve", "--port", "0",
         "--runs-dir", str(afile)],
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == (
        f"ml-infra-utils: error: runs_dir {str(afile)!r} is not a directory\n"
    )


def start_server(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    """`python -m ml_infra_utils serve --port 0 ...`; returns it and its port."""
    env = {**os.environ, "ML_INFRA_UTILS_API_KEY": KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ml_infra_utils", "serve", "--port", "0",
         "--runs-dir", str(tmp_path / "store"), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()
    try:
        started = json.loads(line)
    except ValueError:
        proc.kill()
        pytest.fail(f"no start record: {line!r} {proc.communicate()}")
    assert started["event"] == "started"
    assert started["api_key_required"] is True
    assert started["max_connections"] == (
        int(args[args.index("--max-connections") + 1])
        if "--max-connections" in args
        else 256
    )
    return proc, int(started["port"])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_server_process_stores_runs_and_stops_gracefully(
    tmp_path: Path, signum: int
) -> None:
    """A run logs to it; on SIGTERM/SIGINT it exits 0 with all written, logs JSON."""
    proc, port = start_server(tmp_path)
    try:
        with Run(
            "cli",
            tracking_url=f"http://127.0.0.1:{port}",
            api_key=KEY,
            runs_dir=tmp_path / "client",
        ) as run:
            for step in range(1000):
                run.metric("loss", step)
            run.result("acc", 0.75)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert out == ""
    records: list[dict[str, Any]] = [json.loads(line) for line in err.splitlines()]
    assert records[-1]["event"] == "stopped"
    assert records[-1]["stored"] == 1001
    assert records[-2]["event"] == "stopping"
    requests = [r for r in records if "method" in r]
    assert {r["status"] for r in requests} <= {200, 201}
    assert all(r["logger"] == "ml_infra_utils.logging.server" for r in records)
    assert KEY not in err
    [info] = list_runs(tmp_path / "store")
    data = load_run(info["path"])
    assert data["status"] == "finished"
    assert data["metrics"]["loss"]["steps"] == list(range(1000))
    assert data["results"] == {"acc": 0.75}


def test_max_connections_reaches_the_server(tmp_path: Path) -> None:
    """`serve --max-connections 1`: with one connection held open, the next
    is answered 503 and the refusal is logged."""
    proc, port = start_server(tmp_path, "--max-connections", "1")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as held:
            held.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert held.recv(65536).startswith(b"HTTP/1.1 200 ")
            with socket.create_connection(("127.0.0.1", port), timeout=20) as other:
                answer = b""
                while chunk := other.recv(65536):
                    answer += chunk
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert answer.startswith(b"HTTP/1.1 503 ")
    assert b"Retry-After: 1\r\n" in answer
    records = [json.loads(line) for line in err.splitlines()]
    [refusal] = [r for r in records if r.get("event") == "refused"]
    assert (refusal["level"], refusal["max_connections"]) == ("WARNING", 1)
    assert records[-1]["refused"] == 1


def test_the_request_log_can_go_to_a_file(tmp_path: Path) -> None:
    """--log-file: JSON lines appended to a file, stderr stays quiet."""
    log = tmp_path / "server.log"
    env = {**os.environ, "ML_INFRA_UTILS_API_KEY": KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ml_infra_utils", "serve", "--port", "0",
         "--runs-dir", str(tmp_path), "--log-file", str(log)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and log.read_text()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the server never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert err == ""
    events = [json.loads(line).get("event") for line in log.read_text().splitlines()]
    assert events == ["started", "stopping", "stopped"]


def interrupt_when_serving() -> threading.Thread:
    """SIGINT this process once `serve` has installed its handler."""
    default = signal.getsignal(signal.SIGINT)

    def wait_then_interrupt() -> None:
        deadline = time.monotonic() + 60
        while signal.getsignal(signal.SIGINT) is default:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=wait_then_interrupt, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("to_file", [False, True])
def test_serve_runs_in_process_until_sigint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], to_file: bool
) -> None:
    """main(['serve', ...]): JSON records to stderr (or --log-file), SIGINT ends it."""
    log = tmp_path / "server.log"
    argv = ["serve", "--port", "0", "--runs-dir", str(tmp_path), "--no-fsync"]
    previous = signal.getsignal(signal.SIGINT)
    thread = interrupt_when_serving()
    code = main([*argv, "--log-file", str(log)] if to_file else argv)
    thread.join(5)
    assert code == 0
    assert signal.getsignal(signal.SIGINT) is previous  # restored
    text = log.read_text() if to_file else capsys.readouterr().err
    events = [json.loads(line).get("event") for line in text.splitlines()]
    assert events == ["started", "stopping", "stopped"]
