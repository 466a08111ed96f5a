"""Bounded reprs for messages (_repr.py): never raise, never grow without bound."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ml_infra_utils._repr import int_digits, short_repr


@given(st.integers(min_value=-(10**3000), max_value=10**3000))
def test_int_digits_counts_decimal_digits(value: int) -> None:
    """int_digits equals len(str(abs(value))) for any int str() can print."""
    assert int_digits(value) == len(str(abs(value)))


def test_int_digits_near_powers_of_ten() -> None:
    """The log10 estimate is corrected on both sides of each power of ten."""
    # math.log10 of 10**512, 10**1024, 10**2048 is just below the exponent.
    for k in [*range(1, 400), 511, 512, 513, 1024, 2048]:
        for value in (10**k - 1, 10**k, 10**k + 1):
            assert int_digits(value) == len(str(value))


def test_an_int_too_long_for_repr_shows_its_size() -> None:
    """repr(10**5000) raises ValueError; short_repr names the digits instead."""
    assert short_repr(10**5000) == "<int with 5001 digits>"
    assert short_repr(-(10**5000)) == "<negative int with 5001 digits>"
    assert short_repr([1, 10**5000]) == "[1, <int with 5001 digits>]"


def test_a_broken_repr_does_not_raise() -> None:
    """A __repr__ that raises gives a placeholder."""

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError

    assert "Broken" in short_repr(Broken())
