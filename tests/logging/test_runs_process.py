"""Crash safety, proven with real processes: exit, exceptions, SIGTERM, kill -9, fork.

Each test runs a small script in a fresh interpreter, so interpreter exit,
signals and fork behave exactly as in a user's training job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from ml_infra_utils import load_run

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="POSIX signals and fork"
)

N = 20_000  # records logged before the event under test


def script(body: str) -> str:
    return "import os, sys, time\nfrom ml_infra_utils import *\n" + textwrap.dedent(
        body
    )


def start(code: str, root: Path, **env: str) -> subprocess.Popen[str]:
    environ = {
        **os.environ,
        "ML_INFRA_UTILS_RUNS_DIR": str(root),
        "ML_INFRA_UTILS_RUNS_FSYNC": "0",
        **env,
    }
    for var in (
        "ML_INFRA_UTILS_RUNS_FLUSH_INTERVAL",
        "ML_INFRA_UTILS_RUNS_HANDLE_SIGTERM",
    ):
        if var not in env:
            environ.pop(var, None)
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[str, str]:
    """Wait for *proc*; a process that hangs is killed and the test fails."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the script hung and was killed; stdout={out!r} stderr={err!r}")


def run_to_end(code: str, root: Path, **env: str) -> tuple[int, str, str]:
    proc = start(code, root, **env)
    out, err = finish(proc)
    return proc.returncode, out, err


def only_run(root: Path) -> dict[str, Any]:
    runs = list(root.glob("*/*/run.json"))
    assert len(runs) == 1, runs
    return load_run(runs[0].parent)


def wait_for_line(proc: subprocess.Popen[str], expected: str) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith(expected), (line, proc.stderr.read() if proc.stderr else "")
    return line


def test_normal_exit_without_shutdown_loses_nothing(tmp_path: Path) -> None:
    """A script that never ends its run or flushes still writes every record."""
    code, _, err = run_to_end(
        script(f"""
        run = Run("exp", flush_interval=3600)
        for i in range({N}):
            run.metric("loss", i * 0.5)
        run.result("acc", 0.75)
        start_run("global", flush_interval=3600)
        log_metric("x", 1.0)
        """),
        tmp_path,
    )
    assert code == 0, err
    for data in (load_run(p.parent) for p in tmp_path.glob("*/*/run.json")):
        assert data["status"] == "finished"
        assert data["skipped_lines"] == 0
        if data["experiment"] == "exp":
            assert data["metrics"]["loss"]["steps"] == list(range(N))
            assert data["results"] == {"acc": 0.75}
        else:
            assert data["metrics"]["x"]["values"] == [1.0]


def test_an_exception_escaping_with_loses_nothing_and_marks_failed(
    tmp_path: Path,
) -> None:
    """`with Run(...)`: an escaping exception ends the run "failed", records kept."""
    code, _, err = run_to_end(
        script(f"""
        with Run("exp", flush_interval=3600) as run:
            for i in range({N}):
                run.metric("loss", float(i))
            raise ValueError("diverged at step 7")
        """),
        tmp_path,
    )
    assert code == 1
    assert "diverged at step 7" in err
    data = only_run(tmp_path)
    assert data["status"] == "failed"
    assert data["error"] == {"type": "ValueError", "message": "diverged at step 7"}
    assert len(data["metrics"]["loss"]["steps"]) == N


def test_an_uncaught_exception_marks_the_global_run_failed(tmp_path: Path) -> None:
    """Without `with`, an uncaught exception still ends the active run "failed"."""
    code, _, _ = run_to_end(
        script("""
        start_run("exp", flush_interval=3600)
        log_metric("loss", 1.0)
        raise RuntimeError("out of memory")
        """),
        tmp_path,
    )
    assert code == 1
    data = only_run(tmp_path)
    assert data["status"] == "failed"
    assert data["error"] == {"type": "RuntimeError", "message": "out of memory"}
    assert data["metrics"]["loss"]["values"] == [1.0]


def test_sigterm_loses_nothing_and_marks_killed(tmp_path: Path) -> None:
    """With handle_sigterm, SIGTERM flushes, ends the run "killed" and still kills."""
    proc = start(
        script(f"""
        run = Run("exp", flush_interval=3600, handle_sigterm=True)
        for i in range({N}):
            run.metric("loss", float(i))
        run.result("best", 0.5)
        print("ready", flush=True)
        time.sleep(120)
        """),
        tmp_path,
    )
    wait_for_line(proc, "ready")
    proc.send_signal(signal.SIGTERM)
    finish(proc)
    assert proc.returncode == -signal.SIGTERM  # the process still dies of SIGTERM
    data = only_run(tmp_path)
    assert data["status"] == "killed"
    assert data["error"] == {"type": "SIGTERM", "message": "terminated by SIGTERM"}
    assert data["metrics"]["loss"]["steps"] == list(range(N))
    assert data["results"] == {"best": 0.5}


def test_sigterm_while_logging_flat_out_writes_whole_batches(tmp_path: Path) -> None:
    """SIGTERM in the middle of logging and writing: a gap-free prefix, no torn line."""
    proc = start(
        script("""
        run = Run("exp", flush_interval=0.001, max_buffer=500)
        print("ready", flush=True)
        i = 0
        while True:
            run.metric("loss", float(i))
            i += 1
        """),
        tmp_path,
        ML_INFRA_UTILS_RUNS_HANDLE_SIGTERM="1",
    )
    wait_for_line(proc, "ready")
    time.sleep(0.2)  # let it log and write a few batches
    proc.send_signal(signal.SIGTERM)
    finish(proc)
    assert proc.returncode == -signal.SIGTERM
    data = only_run(tmp_path)
    assert data["status"] == "killed"
    assert data["skipped_lines"] == 0
    steps = data["metrics"]["loss"]["steps"]
    assert steps == list(range(len(steps)))
    assert len(steps) > 0


def test_sigterm_with_a_python_handler_flushes_and_defers_to_it(tmp_path: Path) -> None:
    """A handler installed before the run is called after the flush; it decides."""
    proc = start(
        script(f"""
        import signal
        stop = []
        signal.signal(signal.SIGTERM, lambda s, f: stop.append(s))
        run = Run("exp", flush_interval=3600, handle_sigterm=True)
        for i in range({N}):
            run.metric("loss", float(i))
        print("ready", flush=True)
        while not stop:
            time.sleep(0.01)
        on_disk = len(load_run(run.path)["metrics"]["loss"]["steps"])
        run.metric("loss", -1.0)  # the run is still open: the user's handler decided
        run.shutdown()
        print("done", on_disk, run.status, flush=True)
        """),
        tmp_path,
    )
    wait_for_line(proc, "ready")
    proc.send_signal(signal.SIGTERM)
    out, err = finish(proc)
    assert proc.returncode == 0, err
    assert out.split() == ["done", str(N), "finished"]
    assert len(only_run(tmp_path)["metrics"]["loss"]["steps"]) == N + 1


def test_kill_9_loses_at_most_the_last_interval_and_leaves_readable_files(
    tmp_path: Path,
) -> None:
    """SIGKILL: records older than a few flush intervals are on disk; files readable.

    Phase 1 logs N records, then the script idles for five flush intervals
    without calling flush(): the writer thread alone must have written them.
    Phase 2 logs flat out and is killed mid-stream: what is on disk is a
    gap-free prefix with at most one torn line, and run.json is intact.
    """
    interval = 0.2
    proc = start(
        script(f"""
        run = Run("exp", flush_interval={interval})
        for i in range({N}):
            run.metric("loss", float(i))
        time.sleep({5 * interval})
        print("idle", flush=True)
        i = {N}
        while True:
            run.metric("loss", float(i))
            i += 1
            if i == {N} + 50_000:
                print("busy", flush=True)
        """),
        tmp_path,
    )
    wait_for_line(proc, "idle")
    wait_for_line(proc, "busy")
    proc.kill()
    finish(proc)
    assert proc.returncode == -signal.SIGKILL
    data = only_run(tmp_path)
    assert data["status"] == "running"  # nobody could mark it otherwise
    assert data["skipped_lines"] <= 1
    steps = data["metrics"]["loss"]["steps"]
    assert len(steps) >= N  # everything logged before the idle phase survived
    assert steps == list(range(len(steps)))  # no gap, no duplicate


def test_a_forked_child_never_writes_the_parents_buffer(tmp_path: Path) -> None:
    """After fork the child drops the inherited buffer, refuses to log, ends nothing."""
    code, out, err = run_to_end(
        script("""
        import warnings
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
        run = Run("exp", flush_interval=3600)
        for i in range(1000):
            run.metric("loss", float(i))
        start_run("global", flush_interval=3600)
        log_metric("g", 1.0)
        pid = os.fork()
        if pid == 0:
            try:
                run.metric("loss", -1.0)
                print("child logged", flush=True)
            except RunStateError as exc:
                print("child refused:", "belongs to process" in str(exc), flush=True)
            print("child active run:", active_run(), flush=True)
            run.flush()
            run.shutdown()
            with run:
                pass
            child = Run("exp", flush_interval=3600)  # the child may start its own
            child.metric("child", 1.0)
            sys.exit(0)  # a normal exit: atexit runs in the child too
        os.waitpid(pid, 0)
        print("parent sees:", load_run(run.path)["status"],
              len(load_run(run.path)["metrics"]), flush=True)
        """),
        tmp_path,
    )
    assert code == 0, err
    assert "child refused: True" in out
    assert "child active run: None" in out
    assert "parent sees: running 0" in out  # the child wrote nothing of the parent's
    runs = [load_run(p.parent) for p in tmp_path.glob("*/*/run.json")]
    by_metric = {next(iter(r["metrics"])): r for r in runs}
    assert by_metric["loss"]["metrics"]["loss"]["steps"] == list(range(1000))
    assert by_metric["loss"]["status"] == "finished"
    assert by_metric["g"]["metrics"]["g"]["values"] == [1.0]
    assert by_metric["child"]["status"] == "finished"
    assert len(runs) == 3
