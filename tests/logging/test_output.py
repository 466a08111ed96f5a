"""Where JSON lines go (logging/_output.py): reentrant writes, closing files."""

from __future__ import annotations

import gc
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from ml_infra_utils import OutputClosedError, StructuredLogger
from ml_infra_utils.logging import _output
from ml_infra_utils.logging._output import AppendFile, StreamWriter

# A handler for SIGALRM logs while the main thread is inside a slow write.
SIGNAL_SCRIPT = textwrap.dedent(
    """
    import io, signal, time
    from ml_infra_utils import StructuredLogger

    class SlowStream(io.StringIO):
        def write(self, s):
            time.sleep(0.3)
            return super().write(s)

    out = SlowStream()
    log = StructuredLogger("t", stream=out)
    signal.signal(signal.SIGALRM, lambda s, f: log.warning("got signal"))
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    log.info("main line")
    print(out.getvalue(), end="")
    """
)


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
def test_a_signal_handler_that_logs_during_a_write_does_not_deadlock() -> None:
    """A log call from a signal handler landing inside a write completes (no hang)."""
    done = subprocess.run(
        [sys.executable, "-c", SIGNAL_SCRIPT],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    messages = [json.loads(line)["message"] for line in done.stdout.splitlines()]
    assert sorted(messages) == ["got signal", "main line"]


def test_a_write_that_logs_again_on_the_same_thread_completes() -> None:
    """Re-entering the StreamWriter from its own thread writes both lines."""
    log: StructuredLogger | None = None

    class Reentrant(io.StringIO):
        def write(self, s: str) -> int:
            if "outer" in s and log is not None:
                log.warning("inner")  # as a signal handler would, mid-write
            return super().write(s)

    out = Reentrant()
    log = StructuredLogger("t", stream=out)
    worker = threading.Thread(target=log.info, args=("outer",), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "the nested write deadlocked"
    messages = [json.loads(line)["message"] for line in out.getvalue().splitlines()]
    assert messages == ["inner", "outer"]


def test_stream_writer_serializes_threads() -> None:
    """Lines written from many threads through one StreamWriter never interleave."""
    out = io.StringIO()
    writer = StreamWriter(out)
    line = "x" * 1000 + "\n"

    def write_many() -> None:
        for _ in range(200):
            writer.write(line)

    threads = [threading.Thread(target=write_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out.getvalue().splitlines() == [line[:-1]] * 800


def test_a_write_after_close_raises_output_closed_error(tmp_path: Path) -> None:
    """Writing to a closed AppendFile raises OutputClosedError, a ValueError."""
    out = AppendFile(tmp_path / "log.jsonl")
    out.close()
    out.close()  # idempotent
    with pytest.raises(OutputClosedError, match="closed") as caught:
        out.write("x\n")
    assert isinstance(caught.value, ValueError)


def test_the_descriptor_is_closed_when_the_logger_is_collected(tmp_path: Path) -> None:
    """A path logger dropped without close() does not leak its file descriptor."""
    path = tmp_path / "log.jsonl"
    log = StructuredLogger("t", stream=path)
    log.info("one")
    fd = log._writer._fd  # type: ignore[union-attr]
    assert fd is not None
    inode = os.fstat(fd).st_ino
    del log
    gc.collect()
    try:
        reused = os.fstat(fd).st_ino != inode  # the number went to another file
    except OSError:
        reused = True  # closed
    assert reused
    assert path.read_text().count("\n") == 1


def test_close_waits_for_a_write_in_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """close() in another thread cannot free the descriptor under a running write."""
    out = AppendFile(tmp_path / "log.jsonl")
    entered, release = threading.Event(), threading.Event()
    real_write = os.write

    def slow_write(fd: int, data: bytes) -> int:
        entered.set()
        release.wait(10)
        return real_write(fd, data)

    monkeypatch.setattr(_output.os, "write", slow_write)
    writer = threading.Thread(target=out.write, args=("line\n",))
    writer.start()
    assert entered.wait(10)
    closer = threading.Thread(target=out.close)
    closer.start()
    closer.join(0.2)
    still_blocked = closer.is_alive()
    release.set()
    writer.join(10)
    closer.join(10)
    assert still_blocked, "close() did not wait for the write in progress"
    assert (tmp_path / "log.jsonl").read_text() == "line\n"
