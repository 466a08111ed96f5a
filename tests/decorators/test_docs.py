"""The code blocks of docs/decorators.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ml_infra_utils import retry_testing

DOC = Path(__file__).resolve().parents[2] / "docs" / "decorators.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_guide_has_examples() -> None:
    """The guide is found and holds a dozen or so Python examples."""
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_doc_block_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each block executes without error (retries without sleeping)."""
    namespace: dict[str, object] = {"__name__": "docs_example"}
    with retry_testing():
        exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    capsys.readouterr()
