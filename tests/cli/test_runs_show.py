"""`runs show` and `runs compare`."""

from __future__ import annotations

import io
import json
import math
import re
from typing import TYPE_CHECKING, Any

import pytest

from ml_infra_utils import load_run
from ml_infra_utils._cli.render import ASCII, UNICODE
from ml_infra_utils._cli.show import compare_lines, metric_stats, show_lines
from ml_infra_utils._errors import InvalidParameterError
from ml_infra_utils.cli import main

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import RunCli, Store


def section(out: str, title: str) -> list[str]:
    """The lines of one section of `runs show` (after its title line)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


# ---------------------------------------------------------------- show
def test_show_prints_everything_about_a_finished_run(
    store: Store, run_cli: RunCli
) -> None:
    """Identity, timing, params, tags, results and each metric's statistics."""
    code, out, err = run_cli("runs", "show", store.good, "--runs-dir", str(store.root))
    assert (code, err) == (0, "")
    data = load_run(store.path(store.good))
    lines = out.splitlines()
    assert lines[0] == f"run       mnist/{store.good}"
    assert lines[1] == "name      baseline"
    assert lines[2] == "status    finished"
    assert lines[3].startswith("start     ")
    assert lines[3].endswith(" UTC")
    assert f"path      {store.path(store.good)}" in lines
    assert section(out, "params") == [
        "params",
        "  batch_size  64",
        "  layers      [64,32]",
        "  lr          0.01",
        "  optimizer   adam",
    ]
    assert section(out, "tags") == ["tags", "  team  vision"]
    assert section(out, "results") == [
        "results",
        "  test/acc  0.9312",
        "  test/f1   0.925",
    ]
    metrics = section(out, "metrics")
    assert metrics[0].split() == ["metrics", "count", "last", "min", "max", "history"]
    loss = metrics[1].split()
    values = data["metrics"]["train/loss"]["values"]
    assert loss[:2] == ["train/loss", "50"]
    assert [float(x) for x in loss[2:5]] == pytest.approx(
        [values[-1], min(values), max(values)], rel=1e-5
    )
    assert loss[5] == "█▇▆▅▅▄▄▃▃▃▂▂▂▂▂▂▁▁▁▁▁▁▁▁▁▁▁▁▁▁"  # 50 values in 30 characters
    assert "unreadable" not in out


def test_show_a_failed_run_with_nan_inf_and_a_torn_line(
    store: Store, run_cli: RunCli
) -> None:
    """The error, the NaN/inf counts and marks, and the skipped torn line."""
    code, out, _ = run_cli("runs", "show", store.failed, "--runs-dir", str(store.root))
    assert code == 0
    assert "status    failed" in out
    assert "error     ValueError: loss diverged at step 15" in out
    assert "tags: none" in out
    assert "results: none" in out
    header, loss = section(out, "metrics")
    assert header.split() == [
        "metrics",
        "count",
        "nan/inf",
        "last",
        "min",
        "max",
        "history",
    ]
    assert loss.split()[:8] == [
        "train/loss",
        "20",
        "4",
        "NaN,",
        "1",
        "inf",
        "NaN",
        "0.0666667",
    ]
    assert loss.endswith("█▄▃▂▂▂▂▁▁▁▁▁▁▁▁↑" + UNICODE.nan * 4)
    assert out.endswith(
        "1 unreadable line of metrics.jsonl skipped (a crash can tear the last line)\n"
    )


def test_show_ascii_fallback(store: Store, run_cli: RunCli) -> None:
    """--ascii draws the sparkline with plain characters."""
    _, out, _ = run_cli(
        "runs", "show", store.failed, "--runs-dir", str(store.root), "--ascii"
    )
    loss = section(out, "metrics")[1]
    assert loss.endswith("#~-....________^????")
    assert not any(ch in out for ch in UNICODE.levels + UNICODE.nan + "…")


def test_show_sparkline_fits_the_terminal(
    store: Store, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With COLUMNS set, the metric lines fit and the history shrinks."""
    monkeypatch.setenv("COLUMNS", "60")
    _, out, _ = run_cli("runs", "show", store.good, "--runs-dir", str(store.root))
    metrics = section(out, "metrics")
    assert all(len(line) <= 60 for line in metrics)
    assert 8 <= len(metrics[1].split()[-1]) < 30


def test_show_json_is_load_run_as_strict_json(store: Store, run_cli: RunCli) -> None:
    """--format json: every field of load_run, NaN and inf as the store's strings."""
    code, out, _ = run_cli(
        "runs",
        "show",
        store.failed,
        "--runs-dir",
        str(store.root),
        "--format",
        "json",
    )
    assert code == 0

    def refuse(token: str) -> Any:
        raise AssertionError(token)

    data = json.loads(out, parse_constant=refuse)
    assert data["skipped_lines"] == 1
    assert data["metrics"]["train/loss"]["values"][15:] == [
        "Infinity", "NaN", "NaN", "NaN", "NaN",
    ]  # fmt: skip
    assert data["error"] == {
        "type": "ValueError",
        "message": "loss diverged at step 15",
    }


def test_show_unknown_run_is_an_error(store: Store, run_cli: RunCli) -> None:
    """Exit 1, one line on stderr."""
    code, out, err = run_cli("runs", "show", "nope", "--runs-dir", str(store.root))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("ml-infra-utils: error: no run matches 'nope'")


def test_show_lines_tolerate_odd_records() -> None:
    """Missing or oddly typed fields are shown, never a crash."""
    data = {
        "id": "x",
        "status": "killed",
        "error": {"type": "SIGTERM", "message": ""},
        "start_time": None,
        "host": "h",
        "params": {"p": {"nested": [1, None]}},
        "metrics": {
            "m": {"values": [1, "two", True, 3.5]},
            "n": "junk",
            "e": {"values": []},
        },
        "skipped_lines": 3,
        "changes": [1, 2, 3],
    }
    lines = show_lines(data, width=None, glyphs=UNICODE)
    text = "\n".join(lines)
    assert "error     SIGTERM" in text
    assert "host      h" in text
    assert "start     -" in text
    assert '  p  {"nested":[1,null]}' in text
    assert "3 unreadable lines" in text
    rows = {line.split()[0]: line.split() for line in lines if line.startswith("  ")}
    assert rows["m"][:5] == ["m", "2", "3.5", "1", "3.5"]
    assert rows["n"][:5] == ["n", "0", "-", "-", "-"]
    assert "metrics: none" in show_lines({"id": "y"}, width=None, glyphs=ASCII)
    odd_error = show_lines({"id": "z", "error": "boom"}, width=None, glyphs=ASCII)
    assert "error     boom" in odd_error


def test_metric_stats_ignores_non_finite_values_for_min_and_max() -> None:
    """min/max over finite values only; None when there are none."""
    stats = metric_stats([math.nan, -math.inf, math.inf])
    assert (stats["min"], stats["max"], stats["nan"], stats["inf"], stats["-inf"]) == (
        None, None, 1, 1, 1,
    )  # fmt: skip
    assert metric_stats([])["last"] is None
    assert metric_stats([10**400, 1])["max"] == 10**400


# ---------------------------------------------------------------- compare
def test_compare_shows_runs_side_by_side_and_marks_differences(
    store: Store, run_cli: RunCli
) -> None:
    """Params that differ get '*'; missing values are '-'; metrics show last values."""
    code, out, err = run_cli("runs", "compare", store.good, store.failed, store.other,
        "--runs-dir", str(store.root),
    )  # fmt: skip
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == [store.good, store.failed, store.other]
    cells = [
        re.split(r"\s{2,}", line.strip()) for line in lines if line[:2] in ("* ", "  ")
    ]
    rows = {row[0]: row[1:] for row in cells}
    assert rows["* lr"] == ["0.01", "0.5", "-"]
    assert rows["* optimizer"] == ["adam", "sgd", "-"]
    assert rows["* epochs"] == ["-", "-", "3"]
    assert rows["* team"] == ["vision", "-", "-"]
    assert rows["test/acc"] == ["0.9312", "-", "0.7"]
    assert rows["train/loss"][1] == "NaN"
    assert "params (* differs)" in lines
    assert "metrics (last)" in lines


def test_compare_diff_and_several_stats(store: Store, run_cli: RunCli) -> None:
    """--diff hides equal params; repeated --stat adds one row per statistic."""
    _, out, _ = run_cli("runs", "compare", store.good, store.failed,
        "--runs-dir", str(store.root),
        "--diff", "--stat", "min", "--stat", "count", "--stat", "min",
    )  # fmt: skip
    assert "batch_size" not in out  # 64 in both
    assert "* lr" in out
    assert "train/loss (min)" in out
    assert "train/loss (count)" in out
    assert out.count("train/loss (min)") == 1
    assert "metrics (last)" not in out


def test_compare_all_equal_params_and_the_same_run_twice(
    store: Store, run_cli: RunCli
) -> None:
    """Comparing a run with itself: nothing differs, --diff says so."""
    _, out, _ = run_cli(
        "runs",
        "compare",
        store.good,
        store.good,
        "--runs-dir",
        str(store.root),
        "--diff",
    )
    assert "params: all equal" in out
    assert "*" not in out


def test_compare_needs_two_runs(store: Store, run_cli: RunCli) -> None:
    """One RUN is a usage error (exit 2)."""
    code, _, err = run_cli("runs", "compare", store.good, "--runs-dir", str(store.root))
    assert code == 2
    assert "compare needs at least two runs" in err


def test_compare_fits_a_narrow_terminal(
    store: Store, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run-id headers keep their random end when cut."""
    monkeypatch.setenv("COLUMNS", "70")
    _, out, _ = run_cli("runs", "compare", store.good, store.failed, store.other,
        "--runs-dir", str(store.root),
    )  # fmt: skip
    header = out.splitlines()[0]
    assert store.good[-8:] in header
    assert store.other[-8:] in header


def test_compare_treats_equal_numbers_as_equal_but_not_bools_or_strings() -> None:
    """1 == 1.0; True vs 1 and "1" vs 1 differ; nested values compare deeply."""
    params = [
        {"a": 1, "b": True, "c": "1", "d": {"x": [1, 2]}, "e": None, "f": object},
        {"a": 1.0, "b": 1, "c": 1, "d": {"x": [1.0, 2]}, "e": None, "f": object},
    ]
    lines = compare_lines(
        [{"id": "r1", "params": params[0]}, {"id": "r2", "params": params[1]}]
    )
    marks = {line[2:].split()[0]: line[0] for line in lines if line[:2] in ("* ", "  ")}
    del marks["r1"]  # the header row
    assert marks == {"a": " ", "b": "*", "c": "*", "d": " ", "e": " ", "f": " "}


def test_compare_lines_edge_cases() -> None:
    """No runs is an error; runs without params, results or metrics still render."""
    with pytest.raises(InvalidParameterError):
        compare_lines([])
    lines = compare_lines([{"id": "a", "params": {"x": {1, 2}}}, {"id": "b"}])
    assert lines[0].split() == ["a", "b"]
    assert any(line.startswith("* x") for line in lines)
    assert not any(line.startswith(("results", "metrics")) for line in lines)


def test_stdout_with_an_ascii_encoding_does_not_fail(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unencodable characters are escaped, and the sparkline falls back to ASCII."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr("sys.stdout", stream)
    assert main(["runs", "show", store.failed, "--runs-dir", str(store.root)]) == 0
    stream.flush()
    text = raw.getvalue().decode("ascii")
    assert "^????" in text


def test_show_text_compare_and_export_never_read_the_changes(
    fresh_store: Store,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """review-3 F11: changes.jsonl is parsed only for `runs show --format json`."""
    from ml_infra_utils.logging import _store

    reads: list[object] = []
    real = _store._read_changes

    def counted(run_dir: Path) -> tuple[list[dict[str, Any]], int]:
        reads.append(run_dir)
        return real(run_dir)

    monkeypatch.setattr(_store, "_read_changes", counted)
    root = ["--runs-dir", str(fresh_store.root)]
    good, other = fresh_store.good, fresh_store.other
    for argv in (["show", good], ["compare", good, other], ["export", good]):
        code, out, _ = run_cli("runs", *argv, *root)
        assert code == 0
        assert out
    assert reads == []
    code, out, _ = run_cli("runs", "show", good, "--format", "json", *root)
    assert code == 0
    assert "changes" in json.loads(out)
    assert len(reads) == 1


def test_a_running_runs_torn_last_line_is_not_blamed_on_a_crash(
    fresh_store: Store, run_cli: RunCli
) -> None:
    """review-3 F11 nit: a running run's last line is still being written."""
    run_dir = fresh_store.path(fresh_store.good)
    info = json.loads((run_dir / "run.json").read_text())
    info["status"] = "running"
    (run_dir / "run.json").write_text(json.dumps(info))
    with (run_dir / "metrics.jsonl").open("a") as file:
        file.write('{"name": "train/loss", "st')
    root = ["--runs-dir", str(fresh_store.root)]
    code, out, _ = run_cli("runs", "show", fresh_store.good, *root)
    assert code == 0
    assert out.endswith(
        "1 unreadable line of metrics.jsonl skipped (the run is still running: "
        "its last line may still be being written)\n"
    )
    code, _, err = run_cli("runs", "export", fresh_store.good, *root)
    assert code == 0
    assert "still running" in err
    assert "crash" not in err
