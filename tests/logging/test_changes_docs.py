"""The examples of docs/changes.md run and print what the page says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from ml_infra_utils import end_run

DOC = Path(__file__).resolve().parents[2] / "docs" / "changes.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_examples() -> None:
    """The guide shows runnable code (so the parametrized test below is not empty)."""
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize(
    "code", BLOCKS, ids=[f"example-{i}" for i in range(len(BLOCKS))]
)
def test_example_runs(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each example runs; the `# ` lines after a print are exactly what it prints."""
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(DOC), "exec"), {"__name__": "__doc_example__"})  # noqa: S102
    finally:
        end_run()
    expected = [line[2:] for line in code.splitlines() if line.startswith("# ")]
    assert out.getvalue().splitlines() == expected
