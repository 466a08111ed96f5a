"""The commands as real processes: `python -m ml_infra_utils` and the console script."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ml_infra_utils import Run, load_run

if TYPE_CHECKING:
    from conftest import Store

SCRIPT = shutil.which("ml-infra-utils", path=str(Path(sys.executable).parent))


def environment(**extra: str) -> dict[str, str]:
    """The test's environment without terminal settings, plus *extra*."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("COLUMNS", "ML_INFRA_UTILS_RUNS_DIR")
    }
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def cli(
    *args: str, script: bool = False, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run the command (the console script or ``python -m``) and capture its output."""
    if script:
        assert SCRIPT is not None, "the ml-infra-utils console script is not installed"
        command = [SCRIPT, *args]
    else:
        command = [sys.executable, "-m", "ml_infra_utils", *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(**extra),
        check=False,
    )


def test_python_m_runs_list(store: Store) -> None:
    """The table lists the three runs; nothing on stderr when piped."""
    done = cli("runs", "list", "--runs-dir", str(store.root))
    assert (done.returncode, done.stderr) == (0, "")
    assert [line.split()[1] for line in done.stdout.splitlines()[1:]] == [
        store.good, store.failed, store.other,
    ]  # fmt: skip


def test_console_script_show_and_export(store: Store) -> None:
    """`runs show` by id suffix, then `runs export` reads back to load_run's values."""
    suffix = store.failed.rsplit("-", 1)[1]
    shown = cli("runs", "show", suffix, "--runs-dir", str(store.root), script=True)
    assert shown.returncode == 0
    assert "error     ValueError: loss diverged at step 15" in shown.stdout
    assert "↑" + "\u00d7" * 4 in shown.stdout  # inf, then 4 NaN
    spec = f"mnist/{store.failed}"
    exported = cli("runs", "export", spec, "--runs-dir", str(store.root), script=True)
    assert exported.returncode == 0
    assert "1 unreadable line of metrics.jsonl skipped" in exported.stderr
    rows = list(csv.reader(io.StringIO(exported.stdout)))
    values = load_run(store.path(store.failed))["metrics"]["train/loss"]["values"]
    assert [r[2] for r in rows[1:]] == [
        {"nan": "NaN", "inf": "Infinity"}.get(str(v), repr(v)) for v in values
    ]


def test_errors_are_one_line_unless_debug(store: Store) -> None:
    """Exit 1, `ml-infra-utils: error: ...` only; --debug adds the traceback."""
    done = cli("runs", "show", "2026", "--runs-dir", str(store.root))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("ml-infra-utils: error: run '2026' is ambiguous")
    assert done.stderr.count("\n") == 1
    debug = cli("--debug", "runs", "show", "2026", "--runs-dir", str(store.root))
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert (
        debug.stderr.rstrip().splitlines()[-1].startswith("ml-infra-utils: error: run")
    )


def test_usage_errors_exit_2() -> None:
    """An unknown format is argparse's usage error."""
    done = cli("runs", "export", "x", "--format", "xml")
    assert done.returncode == 2
    assert "invalid choice: 'xml'" in done.stderr


def test_ascii_stdout_gets_the_ascii_sparkline(store: Store) -> None:
    """With an ASCII stdout the sparkline and the table use plain characters."""
    done = cli(
        "runs",
        "show",
        store.failed,
        "--runs-dir",
        str(store.root),
        PYTHONIOENCODING="ascii",
    )
    assert done.returncode == 0
    assert done.stdout.isascii()
    assert "^????" in done.stdout


def test_metrics_command_end_to_end(tmp_path: Path) -> None:
    """Two label files in, scikit-learn's report text out."""
    (tmp_path / "p.txt").write_text("cat\ndog\ncat\n")
    (tmp_path / "l.txt").write_text("label\ncat\ncat\ncat\n")
    done = cli("metrics", "--predictions", str(tmp_path / "p.txt"), "--labels",
               str(tmp_path / "l.txt"), "--column", "label", script=True)  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[2].split() == ["cat", "1.00", "0.67", "0.80", "3"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")
def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    """`runs export | head -1`: exit 141 and no traceback or error message."""
    with Run("big", runs_dir=tmp_path, fsync=False) as run:
        for step in range(30_000):
            run.metric("loss", 1.0 / (step + 1))
    command = [sys.executable, "-m", "ml_infra_utils", "runs", "export", str(run.path)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment()
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=60)
    assert first == b"name,step,value,timestamp\n"
    assert (code, err) == (141, b"")
