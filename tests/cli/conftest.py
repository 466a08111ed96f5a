"""A small run store made with the public Run API, shared by the CLI tests.

It holds, in ``store.root``:

- ``mnist/<finished>``: name "baseline", params, tags, two results, the
  metrics ``train/loss`` (50 values) and ``val/acc`` (50 values);
- ``mnist/<failed>``: an exception escaped the run; ``train/loss`` has 15
  finite values, then inf, then 4 NaN; the last line of metrics.jsonl torn;
- ``cifar/<finished>``: one metric, one result, an integer param.

The store is built once per session; tests must not change it (copy it with
the ``fresh_store`` fixture to do so).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ml_infra_utils import Run
from ml_infra_utils.cli import main

# run_cli(*argv): the command run in process -> (exit code, stdout, stderr).
RunCli = Callable[..., tuple[int, str, str]]


@dataclass(frozen=True)
class Store:
    """The sample store and the ids of its runs."""

    root: Path
    good: str
    failed: str
    other: str

    def path(self, run_id: str) -> Path:
        """The directory of *run_id*."""
        [found] = self.root.glob(f"*/{run_id}")
        return found


def build_store(root: Path) -> Store:
    """Write the sample runs into *root*."""
    params = {"lr": 0.01, "batch_size": 64, "optimizer": "adam", "layers": [64, 32]}
    with Run(
        "mnist",
        runs_dir=root,
        name="baseline",
        params=params,
        tags={"team": "vision"},
        fsync=False,
    ) as good:
        for epoch in range(50):
            good.metric("train/loss", 2.0 * math.exp(-epoch / 10) + 0.05)
            good.metric("val/acc", 0.5 + 0.45 * (1 - math.exp(-epoch / 8)))
        good.result("test/acc", 0.9312)
        good.result("test/f1", 0.925)
    failed_params = {"lr": 0.5, "batch_size": 64, "optimizer": "sgd"}
    try:
        with Run("mnist", runs_dir=root, params=failed_params, fsync=False) as failed:
            for step in range(20):
                value = 1.0 / (step + 1) if step < 15 else math.nan
                failed.metric("train/loss", math.inf if step == 15 else value)
            msg = "loss diverged at step 15"
            raise ValueError(msg)
    except ValueError:
        pass
    with (failed.path / "metrics.jsonl").open("ab") as file:
        file.write(b'{"name":"train/loss","value":0.')  # a crash mid-line
    with Run("cifar", runs_dir=root, params={"epochs": 3}, fsync=False) as other:
        other.metric("loss", 1.5)
        other.result("test/acc", 0.7)
    return Store(root, good.id, failed.id, other.id)


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The shared sample store (read-only)."""
    return build_store(tmp_path_factory.mktemp("runs"))


@pytest.fixture
def fresh_store(store: Store, tmp_path: Path) -> Store:
    """A private copy of the sample store that a test may change."""
    root = tmp_path / "runs"
    shutil.copytree(store.root, root)
    return Store(root, store.good, store.failed, store.other)


@pytest.fixture(autouse=True)
def _no_terminal_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No COLUMNS or runs-dir variable leaks in from the developer's shell."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("ML_INFRA_UTILS_RUNS_DIR", raising=False)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run the command line in process: ``run_cli("runs", "list")`` returns
    the exit code (argparse's usage errors and ``--help`` included), stdout
    and stderr."""

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run
