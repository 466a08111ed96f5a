"""normalize, standardize and clip_outliers, against numpy and exact arithmetic."""

from __future__ import annotations

import array
import math
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ml_infra_utils import (
    ConstantInputError,
    EmptyInputError,
    InfiniteValueError,
    InputTypeError,
    InvalidParameterError,
    MissingValueError,
    clip_outliers,
    normalize,
    standardize,
)
from ml_infra_utils.preprocessing import normalization

# Floats across wide magnitudes whose range numpy can still subtract.
wide_floats = st.floats(
    min_value=-1e150, max_value=1e150, allow_nan=False, allow_infinity=False
)
moderate_floats = st.floats(
    min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False
)
ints = st.integers(min_value=-(10**6), max_value=10**6)
float_lists = st.lists(wide_floats, min_size=1, max_size=2000)
number_lists = st.lists(moderate_floats | ints, min_size=1, max_size=2000)


def exact_z(values: list[float], ddof: int = 0) -> list[float]:
    """Z-scores in exact rational arithmetic and a 60-digit square root."""
    xs = [Fraction(v) for v in values]
    mean = sum(xs) / len(xs)
    var = sum((x - mean) ** 2 for x in xs) / (len(xs) - ddof)
    with localcontext() as ctx:
        ctx.prec = 60
        std = (Decimal(var.numerator) / Decimal(var.denominator)).sqrt()
        return [
            float(Decimal(d.numerator) / Decimal(d.denominator) / std)
            for d in (x - mean for x in xs)
        ]


# ------------------------------------------------------------------ normalize
class TestNormalize:
    def test_seed_example(self) -> None:
        """The seed's own example: 1..5 maps to quarters."""
        assert normalize([1, 2, 3, 4, 5]) == [0.0, 0.25, 0.5, 0.75, 1.0]

    def test_empty_data_message(self) -> None:
        """Empty data raises the seed's exact ValueError message."""
        with pytest.raises(ValueError, match=r"^Cannot normalize empty data$"):
            normalize([])
        with pytest.raises(EmptyInputError):
            normalize(iter(()))

    @pytest.mark.parametrize("data", [[3.0, 3.0, 3.0], [7], (2, 2)])
    def test_identical_values_message(self, data: list[float]) -> None:
        """All-identical data raises the seed's exact ValueError message."""
        with pytest.raises(
            ValueError, match=r"^All values are identical, cannot normalize$"
        ):
            normalize(data)
        with pytest.raises(ConstantInputError):
            normalize(data)

    @given(number_lists)
    def test_equals_numpy_bit_for_bit(self, values: list[float]) -> None:
        """The result is numpy's (a - min) / (max - min), to the last bit."""
        a = np.asarray(values, dtype=float)
        assume(a.max() > a.min())
        expected = ((a - a.min()) / (a.max() - a.min())).tolist()
        assert normalize(values) == expected

    @given(float_lists)
    def test_ends_are_exact_and_nothing_leaves_the_range(
        self, values: list[float]
    ) -> None:
        """min maps to exactly 0.0, max to exactly 1.0, everything in between."""
        assume(min(values) < max(values))
        result = normalize(values)
        assert result[values.index(min(values))] == 0.0
        assert result[values.index(max(values))] == 1.0
        assert all(0.0 <= r <= 1.0 for r in result)

    @given(
        float_lists,
        st.tuples(moderate_floats, moderate_floats).filter(lambda p: p[0] < p[1]),
    )
    def test_feature_range_ends_are_exact_and_bounded(
        self, values: list[float], feature_range: tuple[float, float]
    ) -> None:
        """A custom range is hit exactly at both ends and never left."""
        assume(min(values) < max(values))
        low, high = feature_range
        result = normalize(values, feature_range=feature_range)
        assert result[values.index(min(values))] == low
        assert result[values.index(max(values))] == high
        assert all(low <= r <= high for r in result)
        expected = np.asarray(normalize(values)) * (high - low) + low
        assert result == pytest.approx(expected.tolist(), rel=1e-12, abs=1e-9)

    def test_feature_range_result_is_monotonic(self) -> None:
        """Larger inputs never map to smaller outputs, even with rounding."""
        values = [i / 997 for i in range(1000)]
        for feature_range in [(-3.3, 7.9), (2.0, 3.0), (-5.0, -1.0), (0.1, 0.3)]:
            result = normalize(values, feature_range=feature_range)
            assert result == sorted(result)

    def test_range_that_overflows_is_halved(self) -> None:
        """Ends whose distance exceeds the float range still scale exactly."""
        big = 1.7e308
        assert normalize([-big, 0.0, big]) == [0.0, 0.5, 1.0]

    def test_ints_beyond_the_float_range_raise(self) -> None:
        """An int too large for a float raises, naming it without printing it."""
        with pytest.raises(
            InfiniteValueError,
            match=r"data\[1\] is an int too large for a float \(401 digits\)$",
        ):
            normalize([1, 10**400])

    @pytest.mark.parametrize(
        "data",
        [
            (1, 2, 3),
            range(1, 4),
            array.array("d", [1, 2, 3]),
            (x for x in (1, 2, 3)),
            np.array([1.0, 2.0, 3.0]),
            np.array([1, 2, 3], dtype=np.int32),
            [Fraction(1), Decimal(2), np.float32(3)],
        ],
        ids=["tuple", "range", "array", "generator", "numpy", "numpy-int", "mixed"],
    )
    def test_accepts_every_kind_of_sequence(self, data: object) -> None:
        """Tuples, ranges, arrays, generators, numpy arrays and real scalars work."""
        result = normalize(data)  # type: ignore[arg-type]
        assert result == [0.0, 0.5, 1.0]
        assert all(type(r) is float for r in result)

    def test_accepts_pandas_series(self) -> None:
        """A pandas Series is read through its values."""
        pd = pytest.importorskip("pandas")
        assert normalize(pd.Series([2.0, 4.0, 3.0])) == [0.0, 1.0, 0.5]

    def test_input_is_not_modified(self) -> None:
        """The caller's list is left as it was."""
        data = [3.0, 1.0, 2.0]
        normalize(data)
        assert data == [3.0, 1.0, 2.0]

    @pytest.mark.parametrize(
        ("data", "pattern"),
        [
            ([1.0, None, 3.0], r"data\[1\] is None"),
            ([1.0, 2.0, math.nan], r"data\[2\] is NaN"),
            ([math.nan, 1.0, 2.0], r"data\[0\] is NaN"),
            ([1, 2, np.float64("nan")], r"data\[2\] is NaN"),
        ],
    )
    def test_missing_values_raise_with_position(
        self, data: list[float], pattern: str
    ) -> None:
        """None or NaN anywhere raises MissingValueError naming the position."""
        with pytest.raises(MissingValueError, match=pattern):
            normalize(data)

    @pytest.mark.parametrize(
        ("data", "pattern"),
        [
            ([1.0, True, 3.0], r"data\[1\] must be a real number, not bool"),
            ([1.0, "2", 3.0], r"data\[1\] must be a real number, not str"),
            ([1, 2, [3]], r"data\[2\] must be a real number, not list"),
        ],
    )
    def test_non_numbers_raise_type_error(
        self, data: list[float], pattern: str
    ) -> None:
        """bool, strings and nested lists raise TypeError naming position and type."""
        with pytest.raises(InputTypeError, match=pattern):
            normalize(data)

    def test_a_string_is_not_data(self) -> None:
        """A string is not a sequence of numbers."""
        with pytest.raises(TypeError, match="not a str"):
            normalize("12345")  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "data", [[1.0, math.inf, 2.0], [-math.inf, 0.0], [1, 2, 10**400, 2.5]]
    )
    def test_infinite_values_raise(self, data: list[float]) -> None:
        """inf (or an int beyond the float range among floats) raises ValueError."""
        with pytest.raises(InfiniteValueError, match=r"data\[\d\]"):
            normalize(data)

    @pytest.mark.parametrize(
        "feature_range", [(1, 0), (0, 0), (0, math.inf), (math.nan, 1)]
    )
    def test_bad_feature_range_values(self, feature_range: tuple[float, float]) -> None:
        """feature_range must be finite with min < max."""
        with pytest.raises(InvalidParameterError, match="feature_range"):
            normalize([1, 2], feature_range=feature_range)

    @pytest.mark.parametrize("feature_range", [(0,), "ab", (0, "1"), (False, 1), 1])
    def test_bad_feature_range_kinds(self, feature_range: object) -> None:
        """feature_range must be a pair of real numbers."""
        with pytest.raises(InputTypeError, match="feature_range"):
            normalize([1, 2], feature_range=feature_range)  # type: ignore[arg-type]

    def test_options_are_keyword_only(self) -> None:
        """feature_range cannot be passed positionally."""
        with pytest.raises(TypeError):
            normalize([1, 2], (0, 1))  # type: ignore[misc]

    def test_data_may_be_passed_by_keyword(self) -> None:
        """The seed API's data=... keyword keeps working."""
        assert normalize(data=[0, 2]) == [0.0, 1.0]


# ------------------------------------------------------------------ standardize
class TestStandardize:
    def test_population_std_by_default(self) -> None:
        """ddof=0 divides by n, as scikit-learn and scipy.stats.zscore do."""
        result = standardize([1, 2, 3, 4])
        assert result == pytest.approx(
            [-1.3416407865, -0.4472135955, 0.4472135955, 1.3416407865]
        )

    @given(number_lists.filter(lambda v: len(v) > 1), st.sampled_from([0, 1]))
    def test_matches_numpy(self, values: list[float], ddof: int) -> None:
        """Equals numpy's (a - mean) / std(ddof) within numpy's own rounding."""
        a = np.asarray(values, dtype=float)
        # Where the spread is small next to the values, numpy's own mean is off
        # by more than the tolerance (test_matches_exact_arithmetic covers it).
        assume(a.std() > 1e-3 * np.abs(a).max())
        # Below ~1e-150 numpy's squared deviations fall into subnormal floats and
        # lose digits (test_matches_exact_arithmetic covers that range).
        assume(a.std() > 1e-140)
        expected = (a - a.mean()) / a.std(ddof=ddof)
        result = standardize(values, ddof=ddof)
        assert result == pytest.approx(expected.tolist(), rel=1e-9, abs=1e-9)

    @given(
        st.lists(
            st.floats(-1e12, 1e12, allow_nan=False) | ints, min_size=2, max_size=300
        ),
        st.sampled_from([0, 1]),
    )
    def test_matches_exact_arithmetic(self, values: list[float], ddof: int) -> None:
        """Within ~1e-14 of the z-scores computed in exact rational arithmetic."""
        assume(len(set(values)) > 1)
        expected = exact_z(values, ddof)
        result = standardize(values, ddof=ddof)
        bound = 1e-14 * max(1.0, *map(abs, expected))
        assert max(abs(r - e) for r, e in zip(result, expected, strict=True)) <= bound

    @given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=2000))
    def test_shift_by_1e9_leaves_result_unchanged(self, values: list[float]) -> None:
        """Adding 1e9 to every value changes no z-score by more than 1e-6."""
        shifted = [v + 1e9 for v in values]
        assume(np.std(shifted) > 1e-3)  # the spread survives the shift's rounding
        before = standardize(values)
        after = standardize(shifted)
        # The shift rounds each value to a multiple of 2**-23; only that remains.
        assert after == pytest.approx(before, abs=1e-6)

    def test_offset_data_is_exact_where_numpy_is_not(self) -> None:
        """[K+4, K+7, K+13, K+16] gives the same z-scores for every offset K."""
        base = standardize([4, 7, 13, 16])
        for offset in [1e8, 1e9, 1e12, 1e15]:
            result = standardize([offset + d for d in (4, 7, 13, 16)])
            assert result == pytest.approx(base, abs=1e-15)

    def test_subnormal_values(self) -> None:
        """Values below the normal float range (2**-1074 apart) still standardize."""
        ulp = 5e-324
        assert standardize([ulp, 2 * ulp, 3 * ulp]) == pytest.approx(
            [-1.2247448714, 0.0, 1.2247448714]
        )

    @pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200, 1e300])
    def test_tiny_and_huge_magnitudes(self, scale: float) -> None:
        """Values near the ends of the float range scale without over/underflow."""
        result = standardize([scale * v for v in (1.0, 2.0, 3.0, 4.0)])
        assert result == pytest.approx(
            [-1.3416407865, -0.4472135955, 0.4472135955, 1.3416407865]
        )

    def test_values_spanning_the_float_range(self) -> None:
        """Data from -1.7e308 to 1.7e308 standardizes (their spread overflows)."""
        big = 1.7e308
        assert standardize([-big, 0.0, big]) == pytest.approx(
            [-1.2247448714, 0.0, 1.2247448714]
        )

    def test_cancellation_in_the_sum(self) -> None:
        """[1e16, 1, -1e16] is handled (a naive sum loses the 1)."""
        result = standardize([1e16, 1.0, -1e16])
        assert result == pytest.approx(exact_z([1e16, 1.0, -1e16]), abs=1e-15)

    def test_near_constant_data_is_not_constant(self) -> None:
        """Two values one ulp apart have z-scores -1 and 1."""
        result = standardize([1.0, math.nextafter(1.0, 2.0)])
        assert result == pytest.approx([-1.0, 1.0], abs=1e-15)

    @pytest.mark.parametrize(
        "data", [[0.1, 0.1, 0.1], [5.0] * 4, [1 / 3] * 7, [7], [2, 2]]
    )
    def test_constant_data_raises(self, data: list[float]) -> None:
        """Zero variance raises ValueError (numpy would divide 0 by 0)."""
        with pytest.raises(
            ConstantInputError, match="All values are identical, cannot standardize"
        ):
            standardize(data)

    def test_empty_data_raises(self) -> None:
        """Empty data raises a clear ValueError."""
        with pytest.raises(EmptyInputError, match="Cannot standardize empty data"):
            standardize([])

    @pytest.mark.parametrize(
        ("ddof", "error"),
        [
            (-1, InvalidParameterError),
            (1.0, InputTypeError),
            (True, InputTypeError),
            ("1", InputTypeError),
        ],
    )
    def test_bad_ddof(self, ddof: object, error: type[Exception]) -> None:
        """ddof must be a non-negative int: wrong type or wrong value."""
        with pytest.raises(error, match="ddof must be an int >= 0"):
            standardize([1, 2, 3], ddof=ddof)  # type: ignore[arg-type]

    def test_numpy_int_ddof_is_accepted(self) -> None:
        """ddof=np.int64(1) is an integer like 1 (numbers.Integral)."""
        assert standardize([1, 2, 3], ddof=np.int64(1)) == standardize(  # type: ignore[arg-type]
            [1, 2, 3], ddof=1
        )

    def test_ddof_needs_enough_values(self) -> None:
        """ddof >= n leaves no degrees of freedom: ValueError."""
        with pytest.raises(InvalidParameterError, match="needs more than 2 values"):
            standardize([1.0, 2.0], ddof=2)

    @pytest.mark.parametrize(
        ("data", "error"),
        [
            ([1.0, math.inf], InfiniteValueError),
            ([1, 2, -math.inf], InfiniteValueError),
            ([1.0, 10**400], InfiniteValueError),
            ([1.0, math.nan], MissingValueError),
            ([1, None], MissingValueError),
            ([1.0, False], InputTypeError),
        ],
    )
    def test_bad_values(self, data: list[float], error: type[Exception]) -> None:
        """inf, huge ints, NaN, None and bool each raise their own error."""
        with pytest.raises(error, match=r"data\[1\]|data\[2\]"):
            standardize(data)

    def test_inf_and_minus_inf_together(self) -> None:
        """inf + -inf sums to NaN, but the error names the infinity."""
        with pytest.raises(InfiniteValueError, match=r"data\[0\] is inf"):
            standardize([math.inf, -math.inf])

    def test_sum_overflow_of_finite_values_is_fine(self) -> None:
        """Finite values whose sum overflows still standardize."""
        assert standardize([1.5e308, 1.6e308, 1.7e308]) == pytest.approx(
            [-1.2247448714, 0.0, 1.2247448714]
        )

    def test_ints_and_other_reals(self) -> None:
        """ints, Fractions and Decimals standardize like their float values."""
        assert standardize([1, Fraction(2), Decimal(3)]) == pytest.approx(
            standardize([1.0, 2.0, 3.0]), abs=1e-15
        )


# ------------------------------------------------------------------ clip_outliers
percentiles = st.floats(min_value=0, max_value=100)


class TestClipOutliers:
    @given(
        st.lists(wide_floats | ints, min_size=1, max_size=2000),
        percentiles,
        percentiles,
    )
    def test_equals_numpy_bit_for_bit(
        self, values: list[float], p1: float, p2: float
    ) -> None:
        """Equals np.clip(a, *np.percentile(a, [lower, upper])) exactly."""
        lower, upper = sorted((p1, p2))
        a = np.asarray(values, dtype=float)
        expected = np.clip(a, *np.percentile(a, [lower, upper])).tolist()
        result = clip_outliers(values, lower_percentile=lower, upper_percentile=upper)
        assert result == expected

    @given(
        st.integers(1025, 20000),
        st.sampled_from([(1, 99), (5, 95), (0, 100), (0.5, 99.9), (0, 2), (97, 100)]),
        st.sampled_from(["gauss", "sorted", "reversed", "periodic", "few"]),
        st.integers(0, 2**32 - 1),
    )
    def test_selection_path_equals_numpy(
        self, n: int, bounds: tuple[float, float], shape: str, seed: int
    ) -> None:
        """Large inputs (found by selection, not sorting) still equal numpy."""
        rng = np.random.default_rng(seed)
        if shape == "few":
            a = rng.integers(0, 4, n).astype(float)
        else:
            a = rng.normal(50, 20, n)
            if shape == "sorted":
                a.sort()
            elif shape == "reversed":
                a = np.sort(a)[::-1]
            elif shape == "periodic":
                a = np.tile(rng.normal(0, 1, 256), n // 256 + 1)[:n]
        values = a.tolist()
        expected = np.clip(a, *np.percentile(a, bounds)).tolist()
        lower, upper = bounds
        assert (
            clip_outliers(values, lower_percentile=lower, upper_percentile=upper)
            == expected
        )

    def test_defaults_are_1_and_99(self) -> None:
        """The default bounds are the 1st and 99th percentiles."""
        values = [float(v) for v in range(101)]
        result = clip_outliers(values)
        assert result[0] == 1.0
        assert result[-1] == 99.0
        assert result[1:-1] == values[1:-1]

    def test_single_value(self) -> None:
        """One value is its own every percentile."""
        assert clip_outliers([3]) == [3.0]

    def test_results_are_floats(self) -> None:
        """Integer input gives float output, as numpy's clip with float bounds."""
        result = clip_outliers(
            [1, 2, 3, 4, 5], lower_percentile=0, upper_percentile=100
        )
        assert result == [1.0, 2.0, 3.0, 4.0, 5.0]
        assert all(type(r) is float for r in result)

    def test_infinities_are_clipped_when_bounds_are_finite(self) -> None:
        """inf and -inf are the most extreme values and get clipped."""
        values = [-math.inf] + [float(v) for v in range(1, 100)] + [math.inf]
        result = clip_outliers(values, lower_percentile=1, upper_percentile=99)
        assert result[0] == 1.0
        assert result[-1] == 99.0

    def test_percentile_on_an_infinite_neighbour(self) -> None:
        """A percentile landing exactly on a value next to inf is that value.

        numpy returns NaN here (it computes x + (inf - x) * 0).
        """
        values = [1.0, 2.0, 3.0, math.inf]
        assert clip_outliers(values, lower_percentile=0, upper_percentile=200 / 3) == [
            1.0,
            2.0,
            3.0,
            3.0,
        ]

    def test_percentile_interpolated_towards_inf_is_inf(self) -> None:
        """Between a value and inf the percentile is inf: nothing is clipped above."""
        values = [1.0, 2.0, math.inf]
        assert clip_outliers(values, lower_percentile=0, upper_percentile=90) == values

    def test_percentile_between_minus_inf_and_inf_is_undefined(self) -> None:
        """-inf and inf as neighbours leave the median undefined: ValueError."""
        with pytest.raises(InfiniteValueError, match="undefined"):
            clip_outliers(
                [-math.inf, math.inf], lower_percentile=50, upper_percentile=50
            )

    def test_equal_percentiles_clip_everything_to_one_value(self) -> None:
        """lower == upper clips every value to that percentile."""
        assert clip_outliers([1, 2, 3], lower_percentile=50, upper_percentile=50) == [
            2.0,
            2.0,
            2.0,
        ]

    @pytest.mark.parametrize(
        ("lower", "upper", "pattern"),
        [
            (-1, 99, "lower_percentile must be in"),
            (1, 101, "upper_percentile must be in"),
            (60, 40, "must not exceed"),
            (math.nan, 50, "lower_percentile must be in"),
        ],
    )
    def test_bad_percentiles(self, lower: float, upper: float, pattern: str) -> None:
        """Percentiles outside 0..100, NaN or in the wrong order raise ValueError."""
        with pytest.raises(InvalidParameterError, match=pattern):
            clip_outliers([1, 2, 3], lower_percentile=lower, upper_percentile=upper)

    @pytest.mark.parametrize("bad", [True, "5", None])
    def test_percentile_must_be_a_number(self, bad: object) -> None:
        """A percentile that is not a real number raises TypeError."""
        with pytest.raises(InputTypeError, match="lower_percentile"):
            clip_outliers([1, 2], lower_percentile=bad)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("data", "error", "pattern"),
        [
            ([], EmptyInputError, "Cannot clip outliers of empty data"),
            ([1.0, math.nan], MissingValueError, r"data\[1\] is NaN"),
            ([1, None], MissingValueError, r"data\[1\] is None"),
            ([1.0, "x"], InputTypeError, r"data\[1\] must be a real number"),
            ([1.0, 10**400], InfiniteValueError, r"too large for a float"),
        ],
    )
    def test_bad_data(
        self, data: list[float], error: type[Exception], pattern: str
    ) -> None:
        """Empty data, NaN, None, non-numbers and huge ints raise clear errors."""
        with pytest.raises(error, match=pattern):
            clip_outliers(data)

    def test_ints_with_infinities(self) -> None:
        """ints beside inf and -inf are clipped like floats."""
        assert clip_outliers(
            [-math.inf, 1, 2, 3, math.inf], lower_percentile=25, upper_percentile=75
        ) == [1.0, 1.0, 2.0, 3.0, 3.0]

    def test_inf_plus_minus_inf_is_not_missing(self) -> None:
        """Data holding both infinities is clipped, not mistaken for NaN."""
        values = [-math.inf, 0.0, 1.0, 2.0, math.inf]
        assert clip_outliers(values, lower_percentile=25, upper_percentile=75) == [
            0.0,
            0.0,
            1.0,
            2.0,
            2.0,
        ]


@pytest.mark.parametrize(
    "func", [normalize, standardize, clip_outliers], ids=lambda f: f.__name__
)
def test_numpy_scalars_give_plain_floats(func: object) -> None:
    """A list of numpy float64 scalars (a float subclass) gives Python floats."""
    data = [np.float64(1.0), np.float64(3.0), np.float64(2.0)]
    result = func(data)  # type: ignore[operator]
    assert [type(r) for r in result] == [float, float, float]
    assert result == func([1.0, 3.0, 2.0])  # type: ignore[operator]


def test_scalers_are_reachable_from_the_documented_module() -> None:
    """ml_infra_utils.preprocessing.normalization also exports the scalers."""
    assert {"MinMaxScaler", "StandardScaler"} <= set(normalization.__all__)


@pytest.mark.parametrize("function", [normalize, standardize, clip_outliers])
def test_pandas_na_is_a_missing_value(function: Any) -> None:
    """A nullable Series with NA: MissingValueError (a ValueError), not a TypeError."""
    pd = pytest.importorskip("pandas")
    with pytest.raises(MissingValueError, match=r"^data\[1\] is <NA>"):
        function(pd.Series([1, None, 3], dtype="Int64"))


class TestValuesBeyondTheFloatRange:
    """Huge ints and Fractions: the package's error, naming argument and position."""

    @pytest.mark.parametrize("function", [normalize, standardize, clip_outliers])
    def test_an_int_too_long_for_str_is_an_infinite_value_error(
        self, function: Any
    ) -> None:
        """10**5000 (str() refuses it): InfiniteValueError, not a raw ValueError."""
        with pytest.raises(
            InfiniteValueError,
            match=r"^data\[1\] is an int too large for a float \(5001 digits\)$",
        ):
            function([1, 10**5000, 2])
        with pytest.raises(InfiniteValueError, match=r"^data\[0\] is an int too"):
            function([-(10**5000), 1.5])

    @pytest.mark.parametrize("function", [normalize, standardize, clip_outliers])
    def test_a_fraction_beyond_floats_is_an_infinite_value_error(
        self, function: Any
    ) -> None:
        """Fraction(10**400) gives InfiniteValueError naming it, not OverflowError."""
        with pytest.raises(
            InfiniteValueError, match=r"^data\[1\] is a Fraction too large for a float"
        ):
            function([1, Fraction(10**400), 2])
