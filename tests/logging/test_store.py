"""The store readers: list_runs and load_run, including runs a crash cut short."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml_infra_utils import (
    CorruptRunError,
    InputTypeError,
    Run,
    RunNotFoundError,
    list_runs,
    load_run,
)


def make_run(root: Path, experiment: str = "exp", **results: float) -> Run:
    with Run(experiment, runs_dir=root, fsync=False) as run:
        for step in range(3):
            run.metric("loss", 1.0 / (step + 1))
        run.metric("acc", 0.5, step=2)
        for name, value in results.items():
            run.result(name, value)
    return run


def test_load_run_returns_plain_data_with_histories(tmp_path: Path) -> None:
    """load_run gives the run record plus each metric's steps, values and times."""
    run = make_run(tmp_path, acc=0.9)
    assert run.path is not None
    data = load_run(run.path)
    assert data["id"] == run.id
    assert data["experiment"] == "exp"
    assert data["status"] == "finished"
    assert data["path"] == str(run.path)
    assert data["results"] == {"acc": 0.9}
    assert data["skipped_lines"] == 0
    loss = data["metrics"]["loss"]
    assert loss["steps"] == [0, 1, 2]
    assert loss["values"] == [1.0, 0.5, 1.0 / 3]
    assert all(isinstance(t, int) for t in loss["timestamps"])
    assert data["metrics"]["acc"] == {
        "steps": [2],
        "values": [0.5],
        "timestamps": data["metrics"]["acc"]["timestamps"],
    }
    json.dumps({k: v for k, v in data.items() if k != "metrics"})  # plain data
    assert load_run(run.path / "run.json")["id"] == run.id  # the file works too
    assert load_run(str(run.path))["id"] == run.id


def test_a_torn_last_line_is_skipped_and_counted(tmp_path: Path) -> None:
    """A crash in the middle of a line costs that line only, never an exception."""
    run = make_run(tmp_path)
    assert run.path is not None
    metrics = run.path / "metrics.jsonl"
    with metrics.open("ab") as f:
        f.write(b'{"name":"loss","value":0.1,"st')
    data = load_run(run.path)
    assert data["skipped_lines"] == 1
    assert data["metrics"]["loss"]["steps"] == [0, 1, 2]


def test_a_complete_json_line_without_newline_counts_as_torn(tmp_path: Path) -> None:
    """Every record ends with a newline; one without it was cut before the end."""
    run = make_run(tmp_path)
    assert run.path is not None
    with (run.path / "metrics.jsonl").open("ab") as f:
        f.write(b'{"name":"loss","value":0.1,"step":9,"timestamp":1}')
    data = load_run(run.path)
    assert data["skipped_lines"] == 1
    assert 9 not in data["metrics"]["loss"]["steps"]


@pytest.mark.parametrize(
    "line",
    [
        b"not json",
        b"",
        b"[1, 2]",
        b'{"name": 1, "value": 1, "step": 0, "timestamp": 1}',
        b'{"name": "x", "value": "1", "step": 0, "timestamp": 1}',
        b'{"name": "x", "value": 1, "step": -1, "timestamp": 1}',
        b'{"name": "x", "value": 1, "step": 1.5, "timestamp": 1}',
        b'{"name": "x", "value": 1, "step": 0, "timestamp": "now"}',
        b'{"name": "x", "value": 1, "step": 0}',
        b"\xff\xfe",
    ],
)
def test_unreadable_lines_anywhere_are_skipped_and_counted(
    tmp_path: Path, line: bytes
) -> None:
    """A damaged line in the middle is skipped and counted; the rest is read."""
    run = make_run(tmp_path)
    assert run.path is not None
    metrics = run.path / "metrics.jsonl"
    good = metrics.read_bytes().splitlines(keepends=True)
    metrics.write_bytes(good[0] + line + b"\n" + b"".join(good[1:]))
    data = load_run(run.path)
    assert data["skipped_lines"] == 1
    assert data["metrics"]["loss"]["steps"] == [0, 1, 2]


def test_a_run_without_metrics_file_has_no_metrics(tmp_path: Path) -> None:
    """A run.json alone (e.g. written by another tool) is a run with no metrics."""
    run = make_run(tmp_path)
    assert run.path is not None
    (run.path / "metrics.jsonl").unlink()
    data = load_run(run.path)
    assert data["metrics"] == {}
    assert data["skipped_lines"] == 0


def test_missing_and_corrupt_runs_raise_clear_errors(tmp_path: Path) -> None:
    """No run.json: RunNotFoundError (a FileNotFoundError); bad: CorruptRunError."""
    with pytest.raises(RunNotFoundError, match=r"run\.json is missing"):
        load_run(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_run(tmp_path / "nowhere")
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(CorruptRunError, match="not valid JSON"):
        load_run(tmp_path)
    (tmp_path / "run.json").write_text("[1]")
    with pytest.raises(CorruptRunError, match="not a run record"):
        load_run(tmp_path)
    (tmp_path / "run.json").write_text('{"id": "x", "results": {"a": "high"}}')
    with pytest.raises(CorruptRunError, match="result"):
        load_run(tmp_path)
    with pytest.raises(InputTypeError, match="path"):
        load_run(3)  # type: ignore[arg-type]


def test_list_runs_lists_every_run_oldest_first(tmp_path: Path) -> None:
    """list_runs gives each run's record and path, sorted by start time."""
    first = make_run(tmp_path, "a", acc=0.1)
    second = make_run(tmp_path, "b", acc=0.2)
    third = make_run(tmp_path, "a", acc=0.3)
    runs = list_runs(tmp_path)
    assert [r["id"] for r in runs] == [first.id, second.id, third.id]
    assert [r["results"]["acc"] for r in runs] == [0.1, 0.2, 0.3]
    assert all("metrics" not in r for r in runs)
    assert runs[0]["path"] == str(first.path)
    assert [r["id"] for r in list_runs(tmp_path, experiment="a")] == [
        first.id,
        third.id,
    ]
    assert list_runs(tmp_path, experiment="zzz") == []


def test_list_runs_skips_what_is_not_a_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Stray files, hidden dirs and corrupt run.json files are skipped (and logged)."""
    run = make_run(tmp_path)
    (tmp_path / "README.txt").write_text("notes")
    (tmp_path / ".cache" / "x").mkdir(parents=True)
    (tmp_path / "exp" / "not-a-run").mkdir()
    broken = tmp_path / "exp" / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{")
    with caplog.at_level(logging.WARNING, logger="ml_infra_utils.logging.runs"):
        runs = list_runs(tmp_path)
    assert [r["id"] for r in runs] == [run.id]
    assert "broken" in caplog.text


def test_list_runs_of_a_missing_directory_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No store yet means no runs; the default is $ML_INFRA_UTILS_RUNS_DIR or ./runs."""
    assert list_runs(tmp_path / "nothing-here") == []
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ML_INFRA_UTILS_RUNS_DIR", raising=False)
    run = make_run(tmp_path / "runs")
    assert [r["id"] for r in list_runs()] == [run.id]
    monkeypatch.setenv("ML_INFRA_UTILS_RUNS_DIR", str(tmp_path / "elsewhere"))
    assert list_runs() == []


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["loss", "acc", "grad/norm", "lr: group 0"]),
            st.floats(allow_nan=True, allow_infinity=True)
            | st.integers(-(10**20), 10**20),
            st.none() | st.integers(0, 2**63 - 1),
        ),
        max_size=30,
    )
)
def test_everything_logged_is_read_back_exactly(
    tmp_path_factory: pytest.TempPathFactory,
    logged: list[tuple[str, float, int | None]],
) -> None:
    """Property: load_run gives back exactly the logged values (NaN/inf too), steps."""
    root = tmp_path_factory.mktemp("runs")
    expected: dict[str, list[tuple[int | None, float]]] = {}
    with Run("exp", runs_dir=root, fsync=False) as run:
        for name, value, step in logged:
            run.metric(name, value, step)
            expected.setdefault(name, []).append((step, value))
    data = load_run(run.path)  # type: ignore[arg-type]
    assert set(data["metrics"]) == set(expected)
    for name, pairs in expected.items():
        history = data["metrics"][name]
        assert len(history["values"]) == len(pairs)
        for (step, value), got_step, got in zip(
            pairs, history["steps"], history["values"], strict=True
        ):
            if step is not None:
                assert got_step == step
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(got)
            else:
                assert got == value
                assert type(got) is type(value)
