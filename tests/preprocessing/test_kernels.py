"""The numeric kernels behind preprocessing: selection, moments, lerp, percentiles."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_infra_utils import InfiniteValueError
from ml_infra_utils.preprocessing import _kernels as k

finite = st.floats(allow_nan=False, allow_infinity=False)


class TestOrderStatistics:
    @given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=3000), st.data())
    def test_equals_sorting(self, values: list[float], data: st.DataObject) -> None:
        """Any ranks give the values of the fully sorted data."""
        n = len(values)
        ranks = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4))
        ordered = sorted(values)
        assert k.order_statistics(values, ranks) == {r: ordered[r] for r in ranks}

    @pytest.mark.parametrize(
        "make",
        [
            lambda n: [float(i % (n // 256)) for i in range(n)],  # constant sample
            lambda n: [
                (-1e6 - i if i % (n // 256) == 0 else math.sin(i)) for i in range(n)
            ],
            lambda n: [
                (1e6 + i if i % (n // 256) == 0 else math.sin(i)) for i in range(n)
            ],
            lambda n: [float(i) for i in range(n)],
            lambda n: [float(-i) for i in range(n)],
        ],
        ids=[
            "periodic",
            "low-outliers-on-stride",
            "high-outliers-on-stride",
            "sorted",
            "reversed",
        ],
    )
    def test_adversarial_orders_fall_back_correctly(self, make: object) -> None:
        """Data that fools the stride sample still gives exact results."""
        n = 10_000
        values = make(n)  # type: ignore[operator]
        ordered = sorted(values)
        ranks = [0, 1, 99, 100, n - 101, n - 100, n - 1]
        assert k.order_statistics(values, ranks) == {r: ordered[r] for r in ranks}

    def test_one_sided_ranks(self) -> None:
        """Only low or only high ranks collect only that tail."""
        values = [math.cos(i) * 100 for i in range(5000)]
        ordered = sorted(values)
        assert k.order_statistics(values, [3, 4]) == {3: ordered[3], 4: ordered[4]}
        assert k.order_statistics(values, [4990]) == {4990: ordered[4990]}


class TestLinearPercentile:
    @given(st.lists(finite, min_size=1, max_size=100), st.floats(0, 100))
    def test_bit_exact_with_numpy(self, values: list[float], q: float) -> None:
        """The percentile of finite data is numpy's, to the last bit."""
        n = len(values)
        ordered = sorted(values)
        ranks = k.percentile_ranks(q, n)
        at = {r: ordered[r] for r in ranks}
        result = k.linear_percentile(q, n, at)
        if len(ranks) == 2 and math.isinf(at[ranks[1]] - at[ranks[0]]):
            # numpy's difference of the neighbours overflows (it answers inf or
            # NaN); ours interpolates at half scale: compare with exact arithmetic.
            a, b = Fraction(at[ranks[0]]), Fraction(at[ranks[1]])
            g = Fraction((n - 1) * (q / 100)) - ranks[0]
            assert result == pytest.approx(float(a + (b - a) * g), rel=1e-12)
            return
        with np.errstate(all="ignore"):
            expected = float(np.percentile(np.asarray(values), q))
        assert result == expected or (math.isnan(expected) and not math.isnan(result))

    def test_neighbours_further_apart_than_the_largest_float(self) -> None:
        """Where numpy's arithmetic overflows to NaN or inf, the value is finite."""
        ordered = [-1e308, 1.7976931348623157e308]
        at = dict(enumerate(ordered))
        middle = float((Fraction(ordered[0]) + Fraction(ordered[1])) / 2)
        assert k.linear_percentile(0.0, 2, at) == -1e308
        assert k.linear_percentile(50.0, 2, at) == pytest.approx(middle, rel=1e-12)
        assert math.isfinite(k.linear_percentile(99.0, 2, at))
        assert k.linear_percentile(100.0, 2, at) == ordered[1]

    @pytest.mark.parametrize(
        ("ordered", "q", "expected"),
        [
            ([1.0, math.inf], 0, 1.0),
            ([1.0, math.inf], 50, math.inf),
            ([-math.inf, 1.0], 50, -math.inf),
            ([-math.inf, 1.0], 100, 1.0),
            ([math.inf, math.inf], 50, math.inf),
            ([-math.inf, -math.inf, 0.0], 25, -math.inf),
            ([0.0, 1.0, math.inf], 50, 1.0),
            ([0.0, 1.0, math.inf], 75, math.inf),
        ],
    )
    def test_infinite_neighbours(
        self, ordered: list[float], q: float, expected: float
    ) -> None:
        """Next to inf the percentile is the value it lands on, or the infinity."""
        n = len(ordered)
        at = {r: ordered[r] for r in k.percentile_ranks(q, n)}
        assert k.linear_percentile(q, n, at) == expected

    def test_between_the_infinities_is_undefined(self) -> None:
        """Interpolating from -inf to inf has no value: InfiniteValueError."""
        with pytest.raises(InfiniteValueError, match="50th percentile"):
            k.linear_percentile(50, 2, {0: -math.inf, 1: math.inf})


class TestMoments:
    @given(
        st.lists(
            st.floats(-1e200, 1e200) | st.integers(-(10**15), 10**15),
            min_size=1,
            max_size=200,
        )
    )
    def test_mean_and_spread_are_accurate(self, values: list[float]) -> None:
        """k + dm is the mean within ~1e-15 of the spread; root is sqrt(M2)."""
        kk, dm, root, e = k.moments(tuple(values))
        xs = [Fraction(v) for v in values]
        mean = sum(xs) / len(xs)
        m2 = sum((x - mean) ** 2 for x in xs)
        scale = Fraction(2) ** e
        exact_root = math.sqrt(m2 / scale**2) if m2 else 0.0
        assert root == pytest.approx(exact_root, rel=1e-14)
        got_mean = (Fraction(kk) + Fraction(dm)) * scale
        tolerance = Fraction(1e-14) * (Fraction(root) * scale / max(1, len(xs)) ** 0.5)
        assert abs(got_mean - mean) <= tolerance + abs(mean) * Fraction(2.3e-16)

    def test_constant_data(self) -> None:
        """Exactly equal values have zero spread and their own value as mean."""
        assert k.moments((0.1, 0.1, 0.1))[2] == pytest.approx(0.0, abs=1e-16)
        assert k.moments((2.5, 2.5)) == (2.5, 0.0, 0.0, 0)

    def test_huge_ints_raise_overflow(self) -> None:
        """Ints beyond the float range cannot be measured: OverflowError."""
        with pytest.raises(OverflowError):
            k.moments((10**400, -(10**400), 1))
        with pytest.raises(OverflowError):
            k.moments((10**400, 10**400))

    def test_spread_below_the_resolution_of_the_mean(self) -> None:
        """One value an ulp above 1000 others: the spread is still measured."""
        values = (1.0,) * 1000 + (math.nextafter(1.0, 2.0),)
        kk, dm, root, _ = k.moments(values)
        exact = Fraction(math.ulp(1.0)) * Fraction(1000, 1001) ** 0.5
        assert root == pytest.approx(float(exact), rel=1e-12)
        assert float(Fraction(kk) + Fraction(dm)) == pytest.approx(
            1.0 + math.ulp(1.0) / 1001
        )


class TestLerp:
    @given(
        st.lists(st.floats(0, 1), min_size=1, max_size=50),
        st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)).filter(
            lambda p: p[0] < p[1]
        ),
    )
    def test_bounded_exact_ends_and_monotonic(
        self, ts: list[float], ends: tuple[float, float]
    ) -> None:
        """lerp stays in [low, high], hits both ends and keeps the order."""
        low, high = ends
        ts = sorted([0.0, 1.0, *ts])
        out = k.lerp_values(ts, low, high)
        assert out[0] == low
        assert out[-1] == high
        assert all(low <= v <= high for v in out)
        assert out == sorted(out)

    def test_beyond_the_unit_interval(self) -> None:
        """t outside [0, 1] extrapolates, and clip clamps it back."""
        assert k.lerp_values([-1.0, 2.0], 2.0, 3.0) == [1.0, 4.0]
        assert k.lerp_values([-1.0, 2.0], 2.0, 3.0, clip=True) == [2.0, 3.0]
        assert k.lerp_values([-1.0, 2.0], -1.0, 1.0) == [-3.0, 3.0]
