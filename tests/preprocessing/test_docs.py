"""The examples in docs/preprocessing.md run and print what the guide shows."""

from __future__ import annotations

import doctest
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "preprocessing.md"


def test_guide_examples_run() -> None:
    """Every >>> example of the preprocessing guide gives its documented output."""
    result = doctest.testfile(
        str(GUIDE),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False,
        verbose=False,
    )
    assert result.attempted > 30
    assert result.failed == 0
