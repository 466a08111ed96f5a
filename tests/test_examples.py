"""The examples run as a user runs them, and the main one trains a good model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ml_infra_utils import list_runs, load_run

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: str, cwd: Path) -> str:
    """Run examples/<name> in a fresh interpreter; return its stdout."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One run of the end-to-end example, shared by the tests below."""
    cwd = tmp_path_factory.mktemp("train")
    out = run_example("train_classifier.py", "--runs-dir", "runs", cwd=cwd)
    return cwd / "runs", out


def test_main_example_reaches_the_promised_accuracy(trained: tuple[Path, str]) -> None:
    """The classifier scores at least 0.9 accuracy on the Iris test split."""
    _, out = trained
    found = re.search(r"^test accuracy: (\d\.\d+)$", out, re.MULTILINE)
    assert found, out
    assert float(found.group(1)) >= 0.9


def test_main_example_stores_a_finished_run(trained: tuple[Path, str]) -> None:
    """The run is finished, with a loss per epoch, final results and params."""
    runs_dir, out = trained
    [summary] = list_runs(runs_dir)
    run = load_run(summary["path"])
    assert run["status"] == "finished"
    assert len(run["metrics"]["train/loss"]["values"]) == run["params"]["epochs"]
    assert run["results"]["test/accuracy"] >= 0.9
    assert f"run: {summary['path']}" in out
    assert f"ml-infra-utils runs show {run['id']}" in out


def test_main_example_records_the_learning_rate_change(
    trained: tuple[Path, str],
) -> None:
    """The mid-run decay of the tracked params is a change record of the run."""
    runs_dir, _ = trained
    run = load_run(list_runs(runs_dir)[0]["path"])
    [change] = [c for c in run["changes"] if c["path"] == ["learning_rate"]]
    assert change["old"] == 0.5
    assert change["new"] == pytest.approx(0.05)
    assert run["params"]["learning_rate"] == pytest.approx(0.05)


def test_main_example_writes_a_json_log(trained: tuple[Path, str]) -> None:
    """The log file holds one JSON object per line, an epoch_end event per epoch."""
    runs_dir, _ = trained
    lines = (runs_dir / "train_classifier.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    epochs = [r for r in records if r["context"].get("event") == "epoch_end"]
    assert len(epochs) == 60
    assert all(r["timestamp"].endswith("+00:00") for r in records)


def test_main_example_retries_the_flaky_loader(trained: tuple[Path, str]) -> None:
    """The simulated dropped connection is retried, and the report says so."""
    _, out = trained
    assert "retry: load_table attempt 1/3 failed with ConnectionError" in out


def test_tour_runs(tmp_path: Path) -> None:
    """The short tour of every subpackage runs to the end."""
    out = run_example("tour.py", cwd=tmp_path)
    for section in ("preprocessing:", "metrics:", "decorators:", "experiment runs:"):
        assert section in out
