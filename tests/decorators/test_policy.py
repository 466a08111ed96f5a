"""The retry policy (decorators/_policy.py): hooks that fail, wait limits, notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ml_infra_utils import RetryError, retry_on_condition

if TYPE_CHECKING:
    from conftest import FakeTime


def test_a_huge_int_result_gives_a_retry_error_not_a_value_error(
    fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report line and RetryError show an int too long for repr() by its size."""

    @retry_on_condition(lambda _: True, max_attempts=2, delay=0.0)
    def huge() -> int:
        return 10**5000

    with pytest.raises(RetryError, match=r"<int with 5001 digits>") as caught:
        huge()
    assert caught.value.last_result == 10**5000
    assert "returned <int with 5001 digits>" in capsys.readouterr().out
