"""`runs export`: CSV and JSON Lines that read back to exactly what the store holds."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import stat
import threading
from typing import TYPE_CHECKING, Any

import pytest

from ml_infra_utils import Run, load_run
from ml_infra_utils._cli import export

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import RunCli, Store

STORE_STRINGS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def same(a: float, b: float) -> bool:
    """Equal, with NaN equal to NaN and the type kept (1 is not 1.0 here)."""
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b and type(a) is type(b)


def histories_from_csv(text: str) -> dict[str, dict[str, list[Any]]]:
    """The CSV parsed back into load_run's shape (values via float/int)."""
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["name", "step", "value", "timestamp"]
    found: dict[str, dict[str, list[Any]]] = {}
    for name, step, value, ts in rows[1:]:
        history = found.setdefault(name, {"steps": [], "values": [], "timestamps": []})
        history["steps"].append(int(step))
        number = STORE_STRINGS.get(value)
        if number is None:
            number = float(value) if any(c in value for c in ".eE") else int(value)
        history["values"].append(number)
        history["timestamps"].append(int(ts))
    return found


def assert_same_histories(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Every metric, step, timestamp and value identical (NaN == NaN)."""
    assert list(got) == list(want)
    for name in want:
        assert got[name]["steps"] == want[name]["steps"]
        assert got[name]["timestamps"] == want[name]["timestamps"]
        pairs = zip(got[name]["values"], want[name]["values"], strict=True)
        assert all(same(a, b) for a, b in pairs), name


@pytest.mark.parametrize("which", ["good", "failed"])
def test_csv_export_round_trips_every_value(
    store: Store, which: str, run_cli: RunCli
) -> None:
    """CSV to stdout reads back to load_run's histories, NaN and inf included."""
    run_id = getattr(store, which)
    code, out, err = run_cli("runs", "export", run_id, "--runs-dir", str(store.root))
    assert code == 0
    assert_same_histories(
        histories_from_csv(out), load_run(store.path(run_id))["metrics"]
    )
    if which == "failed":
        assert err == (
            "ml-infra-utils: warning: 1 unreadable line of metrics.jsonl skipped "
            "(a crash can tear the last line)\n"
        )
        assert ",Infinity," in out
        assert ",NaN," in out


def test_jsonl_export_has_the_store_records(store: Store, run_cli: RunCli) -> None:
    """Each line is a strict JSON record with the fields of metrics.jsonl."""
    code, out, _ = run_cli(
        "runs",
        "export",
        store.failed,
        "--runs-dir",
        str(store.root),
        "--format",
        "jsonl",
    )
    assert code == 0

    def refuse(token: str) -> Any:
        raise AssertionError(token)

    records = [json.loads(line, parse_constant=refuse) for line in out.splitlines()]
    assert all(list(r) == ["name", "value", "step", "timestamp"] for r in records)
    stored = (store.path(store.failed) / "metrics.jsonl").read_text().splitlines()[:-1]
    assert out.splitlines() == stored  # the same bytes: one metric, logged in order
    assert records[15]["value"] == "Infinity"


def test_export_to_a_file_replaces_it_atomically(
    store: Store, tmp_path: Path, run_cli: RunCli
) -> None:
    """--output writes the file and nothing on stdout; '-' means stdout."""
    target = tmp_path / "out.csv"
    target.write_text("old")
    code, out, _ = run_cli(
        "runs",
        "export",
        store.good,
        "--runs-dir",
        str(store.root),
        "-o",
        str(target),
    )
    assert (code, out) == (0, "")
    assert target.read_text().startswith("name,step,value,timestamp\ntrain/loss,0,")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    _, out, _ = run_cli(
        "runs",
        "export",
        store.good,
        "--runs-dir",
        str(store.root),
        "--output",
        "-",
    )
    assert out == target.read_text()


def test_export_to_a_bad_place_names_it(
    store: Store, tmp_path: Path, run_cli: RunCli
) -> None:
    """A missing directory or a directory as FILE: exit 1 naming the path."""
    args = ["runs", "export", store.good, "--runs-dir", str(store.root), "-o"]
    code, _, err = run_cli(*args, str(tmp_path / "no" / "out.csv"))
    assert code == 1
    assert err == f"ml-infra-utils: error: No such directory ({tmp_path / 'no'})\n"
    code, _, err = run_cli(*args, str(tmp_path))
    assert code == 1
    assert err == f"ml-infra-utils: error: Is a directory ({tmp_path})\n"


def _export_to(store: Store, run_cli: RunCli, target: str) -> int:
    args = ["runs", "export", store.good, "--runs-dir", str(store.root), "-o"]
    code, out, _ = run_cli(*args, target)
    assert out == ""
    return code


def test_export_through_a_symlink_replaces_its_target(
    store: Store, tmp_path: Path, run_cli: RunCli
) -> None:
    """review-3 F3: -o LINK writes the link's target and keeps the link."""
    real = tmp_path / "real.csv"
    real.write_text("keep")
    link = tmp_path / "link.csv"
    link.symlink_to(real.name)
    assert _export_to(store, run_cli, str(link)) == 0
    assert link.is_symlink()
    assert real.read_text().startswith("name,step,value,timestamp\n")
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to("new.csv")
    assert _export_to(store, run_cli, str(dangling)) == 0
    assert dangling.is_symlink()
    assert (tmp_path / "new.csv").read_text() == real.read_text()


def test_export_keeps_the_old_files_mode(
    store: Store, tmp_path: Path, run_cli: RunCli
) -> None:
    """review-3 F3: a 0600 file stays 0600 after it is replaced."""
    target = tmp_path / "private.csv"
    target.write_text("old")
    target.chmod(0o600)
    assert _export_to(store, run_cli, str(target)) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text().startswith("name,step")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_export_to_a_fifo_writes_into_it(
    store: Store, tmp_path: Path, run_cli: RunCli
) -> None:
    """review-3 F3: a FIFO is written, not replaced by a regular file."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    try:
        assert _export_to(store, run_cli, str(fifo)) == 0
    finally:
        if reader.is_alive():  # unblock the reader if the export never opened it
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(10)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert got[0].startswith(b"name,step,value,timestamp\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root"
)
def test_export_to_a_character_device_writes_into_it(
    store: Store, tmp_path: Path, run_cli: RunCli
) -> None:
    """review-3 F3: -o DEVICE opens the device; it stays a character device.

    The device is a private copy of the null device (1, 3) in tmp_path, never
    the system's /dev/null: an export that replaced it must not break the box.
    """
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    assert _export_to(store, run_cli, str(device)) == 0
    assert stat.S_ISCHR(device.lstat().st_mode)
    assert device.lstat().st_rdev == os.makedev(1, 3)


def test_a_failed_export_leaves_the_old_file(
    store: Store,
    tmp_path: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An error half-way keeps the previous file and removes the temporary one."""
    target = tmp_path / "out.csv"
    target.write_text("old")

    def half_then_fail(stream: io.StringIO, *args: Any, **kwargs: Any) -> int:
        stream.write("name,step\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "write_csv", half_then_fail)
    code, _, err = run_cli(
        "runs",
        "export",
        store.good,
        "--runs-dir",
        str(store.root),
        "-o",
        str(target),
    )
    assert code == 1
    assert err == "ml-infra-utils: error: No space left on device\n"
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_export_selected_metrics(store: Store, run_cli: RunCli) -> None:
    """--metric keeps the named metrics, in the order given; unknown names fail."""
    _, out, _ = run_cli("runs", "export", store.good, "--runs-dir", str(store.root),
        "--metric", "val/acc", "--metric", "train/loss", "--metric", "val/acc",
    )  # fmt: skip
    names = [row.split(",")[0] for row in out.splitlines()[1:]]
    assert names == ["val/acc"] * 50 + ["train/loss"] * 50
    code, _, err = run_cli(
        "runs",
        "export",
        store.good,
        "--runs-dir",
        str(store.root),
        "--metric",
        "x",
    )
    assert code == 1
    assert "has no metric 'x' (its metrics: train/loss, val/acc)" in err


def test_export_of_a_run_without_metrics(tmp_path: Path, run_cli: RunCli) -> None:
    """Only the header (CSV) or nothing (JSON Lines)."""
    with Run("e", runs_dir=tmp_path, fsync=False) as run:
        run.result("acc", 1.0)
    _, out, _ = run_cli("runs", "export", str(run.path))
    assert out == "name,step,value,timestamp\n"
    _, out, _ = run_cli("runs", "export", str(run.path), "--format", "jsonl")
    assert out == ""


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_big_export_shows_progress_on_a_terminal(
    fmt: str,
    tmp_path: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exporting to a file with stderr on a terminal draws and wipes a progress line."""
    with Run("big", runs_dir=tmp_path, fsync=False) as run:
        for step in range(25_000):
            run.metric("loss", 1.0 / (step + 1))
    monkeypatch.setattr(export, "is_terminal", lambda stream: stream is not None)
    target = tmp_path / f"big.{fmt}"
    code, _, err = run_cli(
        "runs", "export", str(run.path), "--format", fmt, "-o", str(target)
    )
    assert code == 0
    assert err.startswith("\rexporting records 10,000/25,000 (40%)")
    assert err.endswith("\r")
    lines = target.read_text().splitlines()
    assert len(lines) == 25_000 + (fmt == "csv")
    assert lines[-1].startswith(("loss,24999,", '{"name":"loss","value":'))


def test_big_export_to_a_terminal_stdout_draws_no_progress(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records scrolling on the terminal are progress enough: no line mixed in."""
    history = {"steps": list(range(12_000)), "values": [0.5] * 12_000}
    history["timestamps"] = [0] * 12_000
    out = io.StringIO()
    assert export.write_jsonl(out, [("m", history)]) == 12_000
    assert export.write_csv(out, [("m", history)]) == 12_000
    monkeypatch.setattr(export, "is_terminal", lambda stream: stream is not None)
    with Run("big", runs_dir=tmp_path, fsync=False) as run:
        for step in range(12_000):
            run.metric("loss", step)
    code, out_text, err = run_cli("runs", "export", str(run.path))
    assert (code, err) == (0, "")
    assert out_text.count("\n") == 12_001
