"""A run's params as a TrackedDict: mid-run changes are recorded in the run."""

from __future__ import annotations

import json
from pathlib import Path

from ml_infra_utils import (
    MemorySink,
    Run,
    TrackedDict,
    end_run,
    load_run,
    log_params,
    start_run,
    tracking_actor,
)


def test_a_mid_run_config_change_lands_in_run_json_and_changes_jsonl(
    tmp_path: Path,
) -> None:
    """run.json params follow the TrackedDict; each change is a changes.jsonl line."""
    config = TrackedDict({"lr": 0.1, "optimizer": {"name": "sgd"}, "drop": 1})
    with Run("demo", runs_dir=tmp_path, params=config) as run:
        run.metric("loss", 1.0)
        with tracking_actor("scheduler"):
            config["lr"] = 0.01
        config["optimizer"]["momentum"] = 0.9
        del config["drop"]
    assert run.path is not None
    data = load_run(run.path)
    assert data["params"] == {"lr": 0.01, "optimizer": {"name": "sgd", "momentum": 0.9}}
    lines = (run.path / "changes.jsonl").read_text().splitlines()
    changes = [json.loads(line) for line in lines]
    assert changes == data["changes"]
    assert [(c["action"], c["path"]) for c in changes] == [
        ("replace", ["lr"]),
        ("add", ["optimizer", "momentum"]),
        ("remove", ["drop"]),
    ]
    assert changes[0]["actor"] == "scheduler"
    assert data["skipped_lines"] == 0


def test_changes_after_the_run_ended_are_not_recorded() -> None:
    """The run lets go of the mapping when it ends; the mapping keeps working."""
    sink = MemorySink()
    config = TrackedDict({"lr": 0.1})
    run = Run("demo", sink=sink)
    run.log_params(config)
    run.log_params(config)  # watched once
    assert len(config.observers) == 1
    config["lr"] = 0.2
    run.shutdown()
    config["lr"] = 0.3
    assert config.observers == ()
    assert [c["new"] for c in sink.changes] == [0.2]
    assert sink.info is not None
    assert sink.info["params"] == {"lr": 0.2}
    assert config.observer_errors == 0


def test_the_global_log_params_watches_a_tracked_dict(tmp_path: Path) -> None:
    """log_params(tracked) on the global run records later changes too."""
    config = TrackedDict({"epochs": 10})
    run = start_run("demo", runs_dir=tmp_path)
    log_params(config)
    config["epochs"] = 20
    end_run()
    assert run.path is not None
    data = load_run(run.path)
    assert data["params"] == {"epochs": 20}
    assert [c["new"] for c in data["changes"]] == [20]


def test_a_plain_dict_is_not_watched_and_runs_without_changes_have_none(
    tmp_path: Path,
) -> None:
    """No changes.jsonl unless a tracked mapping changed."""
    params = {"lr": 0.1}
    with Run("demo", runs_dir=tmp_path, params=params) as run:
        params["lr"] = 0.2
    assert run.path is not None
    assert not (run.path / "changes.jsonl").exists()
    data = load_run(run.path)
    assert data["changes"] == []
    assert data["params"] == {"lr": 0.1}


def test_a_torn_change_line_is_skipped_and_counted(tmp_path: Path) -> None:
    """A line cut by a crash does not hide the others."""
    config = TrackedDict({"lr": 0.1})
    with Run("demo", runs_dir=tmp_path, params=config) as run:
        config["lr"] = 0.2
    assert run.path is not None
    with (run.path / "changes.jsonl").open("a") as file:
        file.write('\n{"seq": 1, "act')
    data = load_run(run.path)
    assert [c["new"] for c in data["changes"]] == [0.2]
    assert data["skipped_lines"] == 1
