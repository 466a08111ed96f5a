"""The examples of docs/metrics.md run and print what the page shows."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


@pytest.mark.skipif(not DOC.exists(), reason="docs/ is not next to the tests")
def test_metrics_guide_examples_run() -> None:
    """Every >>> example of the metrics guide gives the documented output."""
    result = doctest.testfile(str(DOC), module_relative=False, verbose=False)
    assert result.attempted > 20
    assert result.failed == 0
