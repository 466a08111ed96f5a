"""JsonFormatter (logging/_formatter.py): options and one text for every path."""

from __future__ import annotations

import pytest

from ml_infra_utils import InputTypeError, JsonFormatter


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"ensure_ascii": "no"}, "ensure_ascii must be True or False"),
        ({"ensure_ascii": 0}, "ensure_ascii must be True or False"),
        ({"json_default": 3}, "json_default must be callable or None"),
    ],
)
def test_options_of_the_wrong_type_are_type_errors(
    options: dict[str, object], match: str
) -> None:
    """A truthy string is not a flag; a non-callable is not a hook: InputTypeError."""
    with pytest.raises(InputTypeError, match=match):
        JsonFormatter(**options)  # type: ignore[arg-type]
