"""Where JSON lines go (logging/_output.py): re-entrant writes, closing files."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from ml_infra_utils import StructuredLogger
from ml_infra_utils.logging._output import StreamWriter

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
