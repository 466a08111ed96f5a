"""configure_json_logging and AppendFileHandler (logging/_setup.py)."""

from __future__ import annotations

import io

import pytest

from ml_infra_utils import InputTypeError, configure_json_logging


@pytest.mark.parametrize("option", ["force", "ensure_ascii"])
def test_flags_must_be_bools(option: str) -> None:
    """force="yes" or ensure_ascii="no" are refused, not read by truthiness."""
    with pytest.raises(InputTypeError, match=f"{option} must be True or False"):
        configure_json_logging(stream=io.StringIO(), logger="t.flags", **{option: "no"})  # type: ignore[arg-type]
