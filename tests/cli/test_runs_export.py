"""`runs export`: CSV and JSON Lines that read back to exactly what the store holds."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING, Any

import pytest

from ml_infra_utils import Run, load_run
from ml_infra_utils._cli import export
from ml_infra_utils.cli import main

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import Store

STORE_STRINGS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the command in process: exit code, stdout, stderr."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


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
    store: Store, which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """CSV to stdout reads back to load_run's histories, NaN and inf included."""
    run_id = getattr(store, which)
    code, out, err = run_cli(
        capsys, "runs", "export", run_id, "--runs-dir", str(store.root)
    )
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


def test_jsonl_export_has_the_store_records(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each line is a strict JSON record with the fields of metrics.jsonl."""
    code, out, _ = run_cli(
        capsys,
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
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--output writes the file and nothing on stdout; '-' means stdout."""
    target = tmp_path / "out.csv"
    target.write_text("old")
    code, out, _ = run_cli(
        capsys,
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
        capsys,
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
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing directory or a directory as FILE: exit 1 naming the path."""
    args = ["runs", "export", store.good, "--runs-dir", str(store.root), "-o"]
    code, _, err = run_cli(capsys, *args, str(tmp_path / "no" / "out.csv"))
    assert code == 1
    assert err == f"ml-infra-utils: error: No such directory ({tmp_path / 'no'})\n"
    code, _, err = run_cli(capsys, *args, str(tmp_path))
    assert code == 1
    assert err == f"ml-infra-utils: error: Is a directory ({tmp_path})\n"


def test_a_failed_export_leaves_the_old_file(
    store: Store,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
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
        capsys,
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


def test_export_selected_metrics(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """--metric keeps the named metrics, in the order given; unknown names fail."""
    _, out, _ = run_cli(
        capsys, "runs", "export", store.good, "--runs-dir", str(store.root),
        "--metric", "val/acc", "--metric", "train/loss", "--metric", "val/acc",
    )  # fmt: skip
    names = [row.split(",")[0] for row in out.splitlines()[1:]]
    assert names == ["val/acc"] * 50 + ["train/loss"] * 50
    code, _, err = run_cli(
        capsys,
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


def test_export_of_a_run_without_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the header (CSV) or nothing (JSON Lines)."""
    with Run("e", runs_dir=tmp_path, fsync=False) as run:
        run.result("acc", 1.0)
    _, out, _ = run_cli(capsys, "runs", "export", str(run.path))
    assert out == "name,step,value,timestamp\n"
    _, out, _ = run_cli(capsys, "runs", "export", str(run.path), "--format", "jsonl")
    assert out == ""


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_big_export_shows_progress_on_a_terminal(
    fmt: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exporting to a file with stderr on a terminal draws and wipes a progress line."""
    with Run("big", runs_dir=tmp_path, fsync=False) as run:
        for step in range(25_000):
            run.metric("loss", 1.0 / (step + 1))
    monkeypatch.setattr(export, "is_terminal", lambda stream: stream is not None)
    target = tmp_path / f"big.{fmt}"
    code, _, err = run_cli(
        capsys, "runs", "export", str(run.path), "--format", fmt, "-o", str(target)
    )
    assert code == 0
    assert err.startswith("\rexporting records 10,000/25,000 (40%)")
    assert err.endswith("\r")
    lines = target.read_text().splitlines()
    assert len(lines) == 25_000 + (fmt == "csv")
    assert lines[-1].startswith(("loss,24999,", '{"name":"loss","value":'))


def test_big_export_to_a_terminal_stdout_draws_no_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
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
    code, out_text, err = run_cli(capsys, "runs", "export", str(run.path))
    assert (code, err) == (0, "")
    assert out_text.count("\n") == 12_001
