"""check_missing_values, validate_range and check_data_types."""

from __future__ import annotations

import math
import numbers
import pickle
import random
from decimal import Decimal
from fractions import Fraction
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_infra_utils import (
    InfiniteValueError,
    InputTypeError,
    InvalidParameterError,
    MissingValueError,
    OutOfRangeError,
    check_data_types,
    check_missing_values,
    validate_range,
)
from ml_infra_utils.preprocessing import validation


# ------------------------------------------------------------------ missing values
class TestCheckMissingValues:
    @given(st.lists(st.floats() | st.none() | st.integers() | st.text(max_size=3)))
    def test_finds_exactly_the_none_and_nan_positions(
        self, values: list[object]
    ) -> None:
        """The result is every position holding None or a float NaN, in order."""
        expected = [
            i
            for i, v in enumerate(values)
            if v is None or (isinstance(v, float) and math.isnan(v))
        ]
        assert check_missing_values(values) == expected

    @given(st.lists(st.floats()))
    def test_float_data_matches_numpy_isnan(self, values: list[float]) -> None:
        """For float data the positions are numpy's isnan positions."""
        expected = np.flatnonzero(np.isnan(np.asarray(values, dtype=float))).tolist()
        assert check_missing_values(values) == expected

    @given(
        st.lists(
            st.floats(allow_nan=False) | st.integers(-(10**20), 10**20),
            min_size=128,
            max_size=700,
        ),
        st.sets(st.integers(0, 699), max_size=20),
        st.booleans(),
    )
    def test_long_data_nan_positions_match_numpy(
        self, values: list[float], where: set[int], with_infinities: bool
    ) -> None:
        """Long data gives numpy's isnan positions, for sparse NaNs, inf
        meeting -inf (a NaN sum without a NaN) and ints among floats."""
        values = list(values)
        for i in where:
            if i < len(values):
                values[i] = math.nan
        if with_infinities:
            values[:2] = [math.inf, -math.inf]
        expected = np.flatnonzero(np.isnan(np.asarray(values, dtype=float))).tolist()
        assert check_missing_values(values) == expected

    @given(
        st.lists(st.floats(allow_nan=False), min_size=64, max_size=300),
        st.sampled_from([0.01, 0.05, 0.3, 0.9]),
        st.sampled_from([1.0, 1e305, -1e308, math.inf]),
        st.integers(0, 2**32),
    )
    def test_nan_search_across_chunks_and_densities(
        self, values: list[float], density: float, big: float, seed: int
    ) -> None:
        """Positions match numpy's isnan whether NaNs are sparse or dense,
        next to values whose top byte looks like a NaN's (inf, |x| >= 2**1009),
        and across the chunks the search packs (here 16 values each)."""
        rng = random.Random(seed)
        data = [
            math.nan if rng.random() < density else big if rng.random() < 0.1 else x
            for x in values
        ]
        data[-1] = math.nan  # at least one, in the last chunk
        expected = np.flatnonzero(np.isnan(np.asarray(data, dtype=float))).tolist()
        with mock.patch.object(validation, "_PACK_CHUNK", 16):
            assert check_missing_values(data) == expected

    def test_decimal_and_numpy_nans_in_number_data(self) -> None:
        """Decimal and numpy NaNs among floats and ints are found by position."""
        data: list[object] = [1.0] * 200 + [2] * 100
        data[3] = Decimal("NaN")
        data[150] = np.float64("nan")
        data[299] = math.nan
        assert check_missing_values(data) == [3, 150, 299]

    def test_long_data_with_a_huge_int_still_finds_the_nans(self) -> None:
        """Ints too large for a float among the floats (so float arithmetic
        overflows) do not stop the search: the NaNs are still found."""
        # Ints first, so the sum of all values stays exact (an int) past the
        # pair that cancels.
        values: list[object] = [1] * 31 + [10**400, -(10**400)] + [1.0] * 267
        values[100] = math.nan
        values[299] = math.nan
        assert check_missing_values(values) == [100, 299]

    @pytest.mark.parametrize(
        "missing",
        [
            None,
            math.nan,
            np.nan,
            np.float32("nan"),
            np.float64("nan"),
            Decimal("NaN"),
            Decimal("sNaN"),
            complex(math.nan, 0),
            np.datetime64("NaT", "ns"),
        ],
        ids=repr,
    )
    def test_every_kind_of_missing_value(self, missing: object) -> None:
        """None and NaN of every numeric type (Decimal and numpy too) are missing."""
        assert check_missing_values([1.0, missing, "x"]) == [1]

    @pytest.mark.parametrize(
        "data",
        [
            [1.0, complex(math.nan, 0), 2],
            [Decimal(1), Decimal("NaN"), Decimal(2)],
            [Decimal(1), Decimal("sNaN"), Decimal(2)],
            [1.0, math.nan, 10**400],
        ],
        ids=["complex", "decimal", "signalling", "huge-int"],
    )
    def test_numbers_that_are_not_floats(self, data: list[object]) -> None:
        """NaN among complex, Decimal or huge int values is found at its position."""
        assert check_missing_values(data) == [1]

    def test_pandas_missing_values(self) -> None:
        """pandas.NA and pandas.NaT are missing."""
        pd = pytest.importorskip("pandas")
        assert check_missing_values([1, pd.NA, pd.NaT, "a"]) == [1, 2]
        assert check_missing_values(pd.Series([1.0, None, 3.0])) == [1]

    @pytest.mark.parametrize(
        "value",
        [
            "nan",
            "",
            0.0,
            math.inf,
            -math.inf,
            Decimal("Infinity"),
            Fraction(1, 3),
            b"",
            np.array([math.nan, 1.0]),
            object(),
            frozenset(),
        ],
        ids=repr,
    )
    def test_values_that_are_not_missing(self, value: object) -> None:
        """Strings, zero, infinities and other objects are values, not missing."""
        assert check_missing_values([value, 1.0]) == []

    def test_objects_that_cannot_compare(self) -> None:
        """An object whose comparison raises is a value; None beside it is missing."""

        class Grumpy:
            def __ne__(self, other: object) -> bool:
                raise RuntimeError

        assert check_missing_values([Grumpy(), None, Decimal(1)]) == [1]

    def test_never_raises_for_missing_values(self) -> None:
        """An all-missing input is reported, not rejected."""
        assert check_missing_values([None, math.nan, None]) == [0, 1, 2]

    def test_empty_and_generator_input(self) -> None:
        """Empty input has nothing missing; generators are read once."""
        assert check_missing_values([]) == []
        assert check_missing_values(x for x in (1.0, None)) == [1]

    def test_inf_minus_inf_is_not_missing(self) -> None:
        """inf and -inf together sum to NaN, yet neither is missing."""
        assert check_missing_values([math.inf, -math.inf, math.nan]) == [2]

    @pytest.mark.parametrize("row", [[1.0, None], (1.0, 2.0)])
    def test_rows_are_rejected(self, row: object) -> None:
        """2-D data is not silently reported as complete."""
        with pytest.raises(InputTypeError, match=r"data\[1\] is a (list|tuple)"):
            check_missing_values([1.0, row])

    def test_a_string_is_not_data(self) -> None:
        """A string is not a sequence of values."""
        with pytest.raises(InputTypeError, match="not a str"):
            check_missing_values("abc")


# ------------------------------------------------------------------ ranges
class TestValidateRange:
    @given(
        st.lists(st.floats(allow_nan=False) | st.integers(-100, 100), max_size=50),
        st.floats(-10, 10),
        st.floats(-10, 10),
        st.booleans(),
    )
    def test_reports_exactly_the_values_outside(
        self, values: list[float], a: float, b: float, inclusive: bool
    ) -> None:
        """It passes iff every value is inside, and lists exactly those outside."""
        low, high = sorted((a, b))
        if inclusive:
            outside = [i for i, x in enumerate(values) if not low <= x <= high]
        else:
            outside = [i for i, x in enumerate(values) if not low < x < high]
        if not outside:
            assert (
                validate_range(
                    values, min_value=low, max_value=high, inclusive=inclusive
                )
                is None
            )
            return
        with pytest.raises(OutOfRangeError) as info:
            validate_range(values, min_value=low, max_value=high, inclusive=inclusive)
        assert info.value.positions == outside
        assert str(info.value).startswith(f"{len(outside)} of {len(values)} values")

    def test_message_lists_the_first_five(self) -> None:
        """The message shows count, range and the first five offenders."""
        data = [0.5, 2, 3, -1, 4, 5, 6, 0.1]
        with pytest.raises(
            ValueError,
            match=r"^6 of 8 values in data are outside \[0, 1\]: "
            r"data\[1\] = 2, data\[2\] = 3, data\[3\] = -1, data\[4\] = 4, "
            r"data\[5\] = 5, \.\.\.$",
        ):
            validate_range(data, min_value=0, max_value=1)

    def test_exclusive_bounds(self) -> None:
        """inclusive=False puts the bounds themselves outside."""
        validate_range([0, 1], min_value=0, max_value=1)
        validate_range([0.5, 1e-300], min_value=0, max_value=1, inclusive=False)
        with pytest.raises(
            OutOfRangeError, match=r"outside \(0, 1\): data\[0\] = 0, data\[1\] = 1$"
        ):
            validate_range([0, 1], min_value=0, max_value=1, inclusive=False)

    def test_one_sided_ranges(self) -> None:
        """A missing bound is unbounded on that side."""
        validate_range([1e300, math.inf], min_value=0)
        validate_range([-math.inf, -5], max_value=0)
        with pytest.raises(
            OutOfRangeError, match=r"outside \[0, inf\): data\[1\] = -1e-09"
        ):
            validate_range([3, -1e-9], min_value=0)
        with pytest.raises(OutOfRangeError, match=r"outside \(-inf, 0\]"):
            validate_range([1], max_value=0)

    def test_no_bounds_only_checks_the_values(self) -> None:
        """With no bounds any real numbers pass, but non-numbers still fail."""
        validate_range([-math.inf, 0, math.inf])
        with pytest.raises(InputTypeError, match=r"data\[0\] must be a real number"):
            validate_range(["a"])

    def test_empty_data_passes(self) -> None:
        """No values, nothing out of range."""
        assert validate_range([], min_value=0, max_value=1) is None

    @pytest.mark.parametrize(
        ("data", "error", "pattern"),
        [
            ([0.5, math.nan], MissingValueError, r"data\[1\] is NaN"),
            ([0.5, None], MissingValueError, r"data\[1\] is None"),
            ([0.5, True], InputTypeError, r"data\[1\] must be a real number, not bool"),
        ],
    )
    def test_bad_values(
        self, data: list[float], error: type[Exception], pattern: str
    ) -> None:
        """NaN and None are in no range; bool is not a number."""
        with pytest.raises(error, match=pattern):
            validate_range(data, min_value=0, max_value=1)

    def test_mixed_types_and_numpy(self) -> None:
        """ints, Fractions, Decimals and numpy arrays are compared exactly."""
        validate_range(
            [0, Fraction(1, 2), Decimal("0.75"), 1], min_value=0, max_value=1
        )
        with pytest.raises(OutOfRangeError, match=r"data\[2\] = 3"):
            validate_range(np.array([1, 2, 3]), min_value=1, max_value=2)

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"min_value": 2, "max_value": 1}, InvalidParameterError),
            ({"min_value": math.nan}, InvalidParameterError),
            ({"max_value": "1"}, InputTypeError),
            ({"min_value": True}, InputTypeError),
            ({"inclusive": 1}, InputTypeError),
        ],
    )
    def test_bad_options(
        self, kwargs: dict[str, object], error: type[Exception]
    ) -> None:
        """Bounds must be real, not NaN, and ordered; inclusive must be a bool."""
        with pytest.raises(error):
            validate_range([0.5], **kwargs)  # type: ignore[arg-type]

    def test_error_pickles_with_its_positions(self) -> None:
        """OutOfRangeError keeps positions across pickling (e.g. from a worker)."""
        with pytest.raises(OutOfRangeError) as info:
            validate_range([5, -5], min_value=0, max_value=1)
        clone = pickle.loads(pickle.dumps(info.value))
        assert clone.positions == [0, 1]
        assert str(clone) == str(info.value)


# ------------------------------------------------------------------ types
class TestCheckDataTypes:
    def test_default_is_the_first_values_type(self) -> None:
        """Without expected, values must have exactly the first value's type."""
        assert check_data_types([1, 2.5, "3", True, 4]) == [1, 2, 3]
        assert check_data_types([1.0, np.float64(2.0), 3.0]) == [1]
        assert check_data_types(["a", "b"]) == []
        assert check_data_types([]) == []

    def test_bool_is_not_an_int_unless_asked_for(self) -> None:
        """True is an int to Python but not a number to this check."""
        assert check_data_types([1, True, 2], expected=int) == [1]
        assert check_data_types([1.5, False], expected=numbers.Number) == [1]
        assert check_data_types([1, True], expected=(int, bool)) == []
        assert check_data_types([True, False], expected=bool) == []
        assert check_data_types([1, True], expected=bool) == [0]
        assert check_data_types([True, 1], expected=object) == []
        assert check_data_types([True, 1]) == [1]

    @given(
        st.lists(
            st.integers()
            | st.floats()
            | st.booleans()
            | st.text(max_size=2)
            | st.none()
        )
    )
    def test_isinstance_semantics(self, values: list[object]) -> None:
        """A value passes iff isinstance(value, expected) and it is not a stray bool."""
        for expected in (int, float, str, (int, float), int | float | None):
            result = check_data_types(values, expected=expected)  # type: ignore[arg-type]
            assert result == [
                i
                for i, v in enumerate(values)
                if not isinstance(v, expected) or isinstance(v, bool)  # type: ignore[arg-type]
            ]

    def test_unions_and_abstract_types(self) -> None:
        """Union types, tuples and ABCs work as in isinstance."""
        assert check_data_types([1, 2.5, "x"], expected=int | float) == [2]
        assert check_data_types(
            [1, Fraction(1, 2), 2.5, Decimal(1)], expected=numbers.Real
        ) == [3]
        assert check_data_types([np.int64(1), 2], expected=numbers.Integral) == []
        assert check_data_types([1, None], expected=int | None) == []

    @pytest.mark.parametrize("expected", ["int", 3, list[int], ((int,), "x")], ids=repr)
    def test_bad_expected(self, expected: object) -> None:
        """expected must be something isinstance accepts."""
        with pytest.raises(InputTypeError, match="expected must be a type"):
            check_data_types([1], expected=expected)  # type: ignore[arg-type]

    def test_empty_tuple_of_types(self) -> None:
        """An empty tuple names no type at all."""
        with pytest.raises(InvalidParameterError, match="at least one type"):
            check_data_types([1], expected=())

    def test_numpy_and_generators(self) -> None:
        """numpy arrays convert to Python scalars; generators are read once."""
        assert check_data_types(np.array([1.0, 2.0]), expected=float) == []
        assert check_data_types((x for x in [1, "a"]), expected=int) == [1]


class TestPandasNA:
    """pandas.NA is a missing value for the checks as for every other function."""

    def test_check_missing_values_finds_na(self) -> None:
        """NA and NaT are reported, in lists and in nullable Series."""
        pd = pytest.importorskip("pandas")
        assert check_missing_values([1, pd.NA, pd.NaT, 2]) == [1, 2]
        assert check_missing_values(pd.Series([1, None, 3], dtype="Int64")) == [1]

    def test_validate_range_refuses_na(self) -> None:
        """validate_range: NA raises MissingValueError naming the position."""
        pd = pytest.importorskip("pandas")
        with pytest.raises(MissingValueError, match=r"^data\[1\] is <NA>"):
            validate_range(pd.Series([1, None], dtype="Int64"), min_value=0)


class TestHugeValuesInMessages:
    """Messages of validate_range never fail to build, whatever the values."""

    def test_an_int_too_long_for_repr_is_reported_by_its_size(self) -> None:
        """An out-of-range 10**5000 gives OutOfRangeError, not a raw ValueError."""
        with pytest.raises(
            OutOfRangeError, match=r"data\[0\] = <int with 5001 digits>"
        ) as caught:
            validate_range([10**5000, 1], max_value=1)
        assert caught.value.positions == [0]

    def test_huge_bounds_are_shown_bounded(self) -> None:
        """Bounds too long for repr() appear by their size in the message."""
        with pytest.raises(InvalidParameterError, match=r"<int with 5001 digits> >"):
            validate_range([1], min_value=10**5000, max_value=1)
        with pytest.raises(OutOfRangeError, match=r"outside \[<int with 5001"):
            validate_range([1], min_value=10**5000)

    def test_a_fraction_beyond_floats_is_an_infinite_value_error(self) -> None:
        """Fraction(10**400) names its position instead of a raw OverflowError."""
        with pytest.raises(InfiniteValueError, match=r"^data\[0\] is a Fraction"):
            validate_range([Fraction(10**400)], max_value=1)


@pytest.mark.parametrize(
    "expected",
    [numbers.Number, numbers.Complex, numbers.Real, numbers.Rational, numbers.Integral],
)
def test_bool_is_not_a_number_for_any_numeric_abc(expected: type) -> None:
    """True passes none of the numeric ABCs (Rational as Integral and Real)."""
    assert check_data_types([1, True], expected=expected) == [1]
