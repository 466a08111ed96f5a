"""Several processes appending JSON lines to one file: no torn or lost lines."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ml_infra_utils import AppendFileHandler, OutputClosedError, StructuredLogger
from ml_infra_utils.logging._output import AppendFile, StreamWriter, report

PROCESSES = 4
RECORDS = 400

# Each writer process logs RECORDS lines of growing size (up to ~96 KB, far
# beyond PIPE_BUF and the io buffer size) through both file paths of the package.
WRITER = textwrap.dedent(
    """
    import logging, sys
    from ml_infra_utils import AppendFileHandler, StructuredLogger

    path, rank, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    direct = StructuredLogger("rank", stream=path, rank=rank)
    logger = logging.getLogger("stdlib")
    logger.addHandler(AppendFileHandler(path))
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for i in range(count):
        payload = "x" * (i * 241 % 97_000)
        if i % 2:
            direct.info("direct", i=i, payload=payload)
        else:
            logger.info("stdlib", extra={"rank": rank, "i": i, "payload": payload})
    """
)


def strict_loads(text: str) -> Any:
    def refuse(token: str) -> None:
        msg = f"non-standard JSON token {token}"
        raise ValueError(msg)

    return json.loads(text, parse_constant=refuse)


def test_four_processes_append_to_one_file_without_torn_or_lost_lines(
    tmp_path: Path,
) -> None:
    """4 processes x 400 records (up to 96 KB each): every line whole, none lost."""
    path = tmp_path / "shared.jsonl"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(path), str(rank), str(RECORDS)]
        )
        for rank in range(PROCESSES)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    seen = set()
    for line in lines[:-1]:
        record = strict_loads(line.decode("utf-8"))
        fields = record.get("context", record)
        rank, i = fields["rank"], fields["i"]
        assert len(fields["payload"]) == i * 241 % 97_000
        assert record["message"] == ("direct" if i % 2 else "stdlib")
        seen.add((rank, i))
    assert len(lines) - 1 == PROCESSES * RECORDS
    assert seen == {(r, i) for r in range(PROCESSES) for i in range(RECORDS)}


def test_append_file_is_opened_with_o_append(tmp_path: Path) -> None:
    """The file keeps earlier content and its descriptor has O_APPEND set."""
    import fcntl

    path = tmp_path / "f.jsonl"
    path.write_text("old\n")
    out = AppendFile(path)
    flags = fcntl.fcntl(out._fd, fcntl.F_GETFL)  # type: ignore[arg-type]
    assert flags & os.O_APPEND
    out.write("new\n")
    out.close()
    assert path.read_text() == "old\nnew\n"
    with pytest.raises(OutputClosedError, match="closed"):
        out.write("late\n")


def test_unencodable_text_is_escaped_not_lost(tmp_path: Path) -> None:
    """A lone surrogate (ensure_ascii=False text) becomes a JSON escape in the file."""
    path = tmp_path / "s.jsonl"
    out = AppendFile(path)
    out.write('{"s":"a\udc80"}\n')
    out.close()
    assert strict_loads(path.read_text()) == {"s": "a\udc80"}


def test_handler_reports_write_errors_through_handle_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A write to a closed AppendFileHandler goes to handleError, not the caller."""
    handler = AppendFileHandler(tmp_path / "h.jsonl", level="INFO")
    assert "INFO" in repr(handler)
    handler._file.close()
    handler.handle(logging.makeLogRecord({"msg": "lost"}))
    assert "--- Logging error ---" in capsys.readouterr().err
    handler.close()


def test_stream_writer_leaves_the_stream_open(tmp_path: Path) -> None:
    """A StructuredLogger never closes a stream it was given."""
    with (tmp_path / "given.jsonl").open("w") as stream:
        log = StructuredLogger("s", stream=stream)
        log.info("m")
        log.close()
        assert not stream.closed
        assert "StreamWriter" in repr(StreamWriter(stream))


def test_report_survives_a_missing_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """report() does not raise when there is no stderr (pythonw, closed fds).

    The check is that the call returns: there is nothing else to observe.
    """
    monkeypatch.setattr(sys, "stderr", None)
    report(RuntimeError("nowhere to go"))


def test_report_swallows_a_failing_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """report() does not raise when writing to stderr fails (the call returns)."""

    class Broken(io.StringIO):
        def write(self, _text: str) -> int:
            msg = "stderr is gone"
            raise OSError(msg)

    monkeypatch.setattr(sys, "stderr", Broken())
    report(RuntimeError("x"))
