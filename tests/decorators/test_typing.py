"""mypy keeps the decorated signatures (tests/decorators/typing_check.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.mark.slow
def test_mypy_keeps_decorated_signatures(tmp_path: Path) -> None:
    """mypy --strict on typing_check.py: every assert_type holds and every
    deliberate misuse is an error (unused ignores would be reported)."""
    api = pytest.importorskip("mypy.api", reason="mypy is in the lint extra")
    args = [
        str(HERE / "typing_check.py"),
        "--strict",
        "--warn-unused-ignores",
        "--no-incremental",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--config-file",
        str(ROOT / "pyproject.toml"),
    ]
    stdout, stderr, status = api.run(args)
    assert status == 0, stdout + stderr
