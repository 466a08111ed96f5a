"""The input helper shared by preprocessing and metrics."""

from __future__ import annotations

import array
import math
import pickle
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_infra_utils import (
    InfiniteValueError,
    InputTypeError,
    MissingValueError,
    ShapeError,
)
from ml_infra_utils._sequences import (
    as_labels,
    as_real_columns,
    as_reals,
    is_missing,
    to_list,
)


class TestToList:
    def test_a_list_is_returned_without_copying(self) -> None:
        """A list comes back as the same object: no O(n) copy on the hot path."""
        data = [1, 2, 3]
        assert to_list(data) is data

    @pytest.mark.parametrize(
        "data",
        [
            (1, 2, 3),
            range(1, 4),
            array.array("d", [1, 2, 3]),
            (x for x in (1, 2, 3)),
            iter([1, 2, 3]),
            np.array([1, 2, 3]),
        ],
        ids=["tuple", "range", "array", "generator", "iterator", "numpy"],
    )
    def test_accepts_every_ordered_iterable(self, data: object) -> None:
        """Tuples, ranges, arrays, generators and numpy arrays become lists."""
        assert to_list(data) == [1, 2, 3]

    def test_numpy_values_become_python_scalars(self) -> None:
        """numpy arrays convert through tolist(), giving plain Python numbers."""
        result = to_list(np.array([1.5, 2.5], dtype=np.float32))
        assert all(type(x) is float for x in result)

    def test_pandas_series_is_accepted(self) -> None:
        """A pandas Series converts through its tolist()."""
        pd = pytest.importorskip("pandas")
        assert to_list(pd.Series([3, 1, 2])) == [3, 1, 2]

    @pytest.mark.parametrize(
        ("data", "kind"),
        [("123", "str"), (b"123", "bytes"), (bytearray(b"1"), "bytearray")],
    )
    def test_strings_are_not_sequences_of_values(self, data: object, kind: str) -> None:
        """A string or bytes object is rejected with a TypeError naming it."""
        with pytest.raises(InputTypeError, match=f"values must be .* not a {kind}"):
            to_list(data, name="values")

    @pytest.mark.parametrize("data", [{1: 2}, {1, 2}, frozenset({1})])
    def test_unordered_containers_are_rejected(self, data: object) -> None:
        """Mappings and sets have no meaningful order, so they are rejected."""
        with pytest.raises(TypeError, match="data must be an ordered sequence"):
            to_list(data)

    @pytest.mark.parametrize("data", [None, 3, 2.5, object()])
    def test_non_iterables_are_rejected(self, data: object) -> None:
        """A scalar is not a sequence: TypeError naming the argument."""
        with pytest.raises(TypeError, match="data must be an iterable"):
            to_list(data)

    def test_zero_dimensional_numpy_array_is_rejected(self) -> None:
        """np.array(3.0).tolist() is a scalar, not a sequence: TypeError."""
        with pytest.raises(InputTypeError, match="0-d ndarray"):
            to_list(np.array(3.0))


class TestAsReals:
    @given(st.lists(st.floats(allow_nan=False) | st.integers()))
    def test_plain_numbers_pass_through_unchanged(self, values: list[float]) -> None:
        """Lists of ints and non-NaN floats come back equal and untouched."""
        assert as_reals(values) == values

    @given(
        st.lists(st.floats(allow_nan=False), min_size=1),
        st.data(),
    )
    def test_nan_is_reported_at_its_first_position(
        self, values: list[float], data: st.DataObject
    ) -> None:
        """A NaN anywhere raises MissingValueError naming the first NaN's index."""
        i = data.draw(st.integers(0, len(values) - 1))
        values[i] = math.nan
        with pytest.raises(MissingValueError, match=rf"^x\[{i}\] is NaN"):
            as_reals(values, name="x")

    def test_inf_and_minus_inf_together_are_not_nan(self) -> None:
        """inf + -inf sums to NaN, but neither value is missing."""
        assert as_reals([math.inf, -math.inf, 1.0]) == [math.inf, -math.inf, 1.0]

    def test_none_is_a_missing_value(self) -> None:
        """None raises MissingValueError (also a ValueError) with its position."""
        with pytest.raises(ValueError, match=r"data\[2\] is None"):
            as_reals([1.0, 2.0, None])

    @pytest.mark.parametrize(
        "bad", [True, "1.5", [1.0], complex(1, 0), object()], ids=repr
    )
    def test_non_numbers_raise_type_error_with_position_and_type(
        self, bad: object
    ) -> None:
        """bool, strings, lists and complex numbers are not real numbers."""
        with pytest.raises(
            InputTypeError,
            match=rf"data\[1\] must be a real number, not "
            rf"{type(bad).__name__}",
        ):
            as_reals([1.0, bad])

    def test_other_real_types_are_converted(self) -> None:
        """Fraction, Decimal and numpy scalars become float (integral ones int)."""
        values = [Fraction(1, 2), Decimal("0.25"), np.float64(2.0), np.int64(3)]
        result = as_reals(values)
        assert result == [0.5, 0.25, 2.0, 3]
        assert [type(x) for x in result] == [float, float, float, int]

    @pytest.mark.parametrize("nan", [Decimal("NaN"), np.float32("nan")], ids=repr)
    def test_nan_of_any_type_is_missing(self, nan: object) -> None:
        """Decimal NaN and numpy NaN are missing values too."""
        with pytest.raises(MissingValueError, match=r"data\[0\] is NaN"):
            as_reals([nan, 1.0])

    def test_huge_int_with_floats_does_not_overflow(self) -> None:
        """An int beyond float range next to floats is checked without OverflowError."""
        assert as_reals([10**400, 1.0]) == [10**400, 1.0]
        with pytest.raises(MissingValueError, match=r"data\[2\]"):
            as_reals([10**400, 1.0, math.nan])


class TestAsLabels:
    @given(st.lists(st.integers() | st.text() | st.booleans()))
    def test_plain_labels_pass_through(self, labels: list[object]) -> None:
        """Ints, strings and bools are returned as given."""
        assert as_labels(labels) == labels

    def test_hashable_objects_are_labels(self) -> None:
        """Tuples, floats and frozensets are valid labels."""
        labels = [(1, 2), 2.5, frozenset({1})]
        assert as_labels(labels) == labels

    @pytest.mark.parametrize("missing", [None, math.nan, np.float64("nan")], ids=repr)
    def test_missing_labels_name_their_position(self, missing: object) -> None:
        """None and NaN labels raise MissingValueError with the index."""
        with pytest.raises(MissingValueError, match=r"y\[1\] is (None|NaN)"):
            as_labels(["a", missing], name="y")

    def test_numpy_nan_of_any_width_is_missing(self) -> None:
        """float32 NaN (whose != answers with np.bool_) is found too."""
        with pytest.raises(MissingValueError, match=r"labels\[2\] is NaN"):
            as_labels([1.0, 2.0, np.float32("nan")])

    def test_values_whose_comparison_raises_are_labels(self) -> None:
        """A hashable value whose != raises is not NaN, just a label."""

        class Odd:
            def __hash__(self) -> int:
                return 1

            def __ne__(self, other: object) -> bool:
                raise TypeError

        odd = Odd()
        assert as_labels([odd]) == [odd]

    def test_unhashable_label_is_a_type_error(self) -> None:
        """A list cannot be a class label: TypeError naming position and type."""
        with pytest.raises(
            InputTypeError, match=r"labels\[0\] must be hashable, not dict"
        ):
            as_labels([{"a": 1}])


def test_errors_pickle_under_their_public_name() -> None:
    """The errors unpickle (e.g. from a worker process) as the same class."""
    err = pickle.loads(pickle.dumps(MissingValueError("x")))
    assert type(err) is MissingValueError
    assert repr(MissingValueError).startswith("<class 'ml_infra_utils.")


class TestToListDataFrame:
    def test_dataframe_becomes_rows(self) -> None:
        """A DataFrame iterates over column labels; to_list gives its rows instead."""
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
        assert to_list(frame) == [[1.0, 3.0], [2.0, 4.0]]


class TestAsRealsFastPaths:
    @given(st.lists(st.integers()))
    def test_int_lists_are_returned_as_is(self, values: list[int]) -> None:
        """A list of ints needs no conversion and is not copied."""
        assert as_reals(values) is values

    def test_float_lists_are_returned_as_is(self) -> None:
        """A list of floats is checked in C and returned without a copy."""
        values = [1.5, math.inf, -math.inf]
        assert as_reals(values) is values


class TestAsRealColumns:
    def test_flat_data_is_one_column(self) -> None:
        """A flat sequence is a single column, flagged as 1-D."""
        assert as_real_columns((1, 2.5)) == ([[1, 2.5]], False)

    def test_rows_become_columns(self) -> None:
        """Rows of lists, tuples or numpy arrays are transposed into columns."""
        expected = ([[1.0, 3.0], [2.0, 4.0]], True)
        assert as_real_columns([[1.0, 2.0], [3.0, 4.0]]) == expected
        assert as_real_columns([(1.0, 2.0), (3.0, 4.0)]) == expected
        assert as_real_columns(np.array([[1.0, 2.0], [3.0, 4.0]])) == expected
        assert (
            as_real_columns([np.array([1.0, 2.0]), array.array("d", [3, 4])])
            == expected
        )

    def test_empty_input(self) -> None:
        """No rows: no columns."""
        assert as_real_columns([]) == ([], False)

    def test_other_reals_are_converted_per_column(self) -> None:
        """Fractions and Decimals in a column become floats."""
        assert as_real_columns([[Fraction(1, 2), 1], [Decimal("0.25"), 2]]) == (
            [[0.5, 0.25], [1, 2]],
            True,
        )

    def test_first_bad_value_in_reading_order(self) -> None:
        """Of several bad values, the first by row then column is named."""
        with pytest.raises(MissingValueError, match=r"^data\[1\]\[2\] is None"):
            as_real_columns([[1, 2, 3], [4, 5, None], [None, 7, 8]])
        with pytest.raises(InputTypeError, match=r"^x\[0\]\[1\] must be a real number"):
            as_real_columns([[1, "a"], [math.nan, 2]], name="x")

    @pytest.mark.parametrize(
        ("data", "error", "pattern"),
        [
            ([[1, 2], [3]], ShapeError, r"data\[0\] has 2 values, data\[1\] has 1"),
            ([[], []], ShapeError, r"data\[0\] is an empty row"),
            ([[1, 2], 3], InputTypeError, r"data\[1\] must be a row of values"),
            ([[1, 2], "ab"], InputTypeError, r"data\[1\] must be a row of values"),
            (
                [[1, 2], {1: 2}],
                InputTypeError,
                r"data\[1\] must be an ordered sequence",
            ),
        ],
    )
    def test_bad_rows(self, data: object, error: type[Exception], pattern: str) -> None:
        """Ragged, empty or non-sequence rows raise clear errors."""
        with pytest.raises(error, match=pattern):
            as_real_columns(data)


class TestIsMissing:
    """One missing-value predicate for labels, numbers and check_missing_values."""

    @pytest.mark.parametrize(
        "value",
        [
            None,
            math.nan,
            np.float32("nan"),
            np.float64("nan"),
            Decimal("NaN"),
            Decimal("sNaN"),
            complex(math.nan, 0),
            np.datetime64("NaT", "s"),
        ],
    )
    def test_none_and_nan_of_any_type_are_missing(self, value: object) -> None:
        """None and every kind of NaN are missing."""
        assert is_missing(value)

    def test_pandas_na_and_nat_are_missing(self) -> None:
        """pandas.NA (truth undefined) and NaT are missing values."""
        pd = pytest.importorskip("pandas")
        assert is_missing(pd.NA)
        assert is_missing(pd.NaT)

    def test_an_na_like_scalar_whose_truth_is_undefined_is_missing(self) -> None:
        """A scalar whose self-comparison gives a value with no truth is missing."""

        class Undefined:
            def __bool__(self) -> bool:
                msg = "ambiguous"
                raise TypeError(msg)

        class NALike:
            def __ne__(self, other: object) -> object:
                return Undefined()  # a new object, not the value itself

        assert is_missing(NALike())

    @pytest.mark.parametrize(
        "value", [0, 1.5, "nan", "", b"", True, Decimal("1.5"), math.inf, (1,)]
    )
    def test_values_are_not_missing(self, value: object) -> None:
        """Numbers, strings (also "nan"), bools and tuples are values."""
        assert not is_missing(value)

    def test_an_array_compared_element_wise_is_a_value(self) -> None:
        """An array (its != gives an array whose truth raises) is not missing."""
        assert not is_missing(np.array([1.0, 2.0]))

    def test_a_value_whose_comparison_raises_is_a_value(self) -> None:
        """A value whose != raises cannot be NaN."""

        class Odd:
            def __ne__(self, other: object) -> bool:
                raise TypeError

        assert not is_missing(Odd())


class TestPandasNA:
    """pandas.NA, pandas' standard missing value, is missing everywhere."""

    def test_as_reals_reports_na_as_a_missing_value(self) -> None:
        """A nullable Int64 Series with NA: MissingValueError naming the position."""
        pd = pytest.importorskip("pandas")
        with pytest.raises(MissingValueError, match=r"^data\[1\] is <NA> \(NAType\)"):
            as_reals(pd.Series([1, None, 3], dtype="Int64"))

    def test_as_labels_reports_na_as_a_missing_label(self) -> None:
        """NA among labels: MissingValueError naming the position."""
        pd = pytest.importorskip("pandas")
        with pytest.raises(MissingValueError, match=r"^labels\[1\] is <NA>"):
            as_labels(pd.Series(["a", None], dtype="string"))
        with pytest.raises(MissingValueError, match=r"^labels\[0\] is <NA>"):
            as_labels([pd.NA, 1])

    def test_nat_among_numbers_is_missing(self) -> None:
        """NaT in numeric data is a missing value, not a type error."""
        pd = pytest.importorskip("pandas")
        with pytest.raises(MissingValueError, match=r"^data\[0\] is NaT"):
            as_reals([pd.NaT, 1.0])


class TestBoundedMessages:
    """Error messages show values with a bounded repr, whatever the value."""

    def test_a_huge_fraction_is_an_infinite_value_error(self) -> None:
        """A Fraction beyond the float range names its position, no OverflowError."""
        with pytest.raises(
            InfiniteValueError, match=r"^data\[0\] is a Fraction too large for a float"
        ):
            as_reals([Fraction(10**400), 1])

    def test_a_long_value_is_shortened_in_type_errors(self) -> None:
        """A non-number with a huge repr gives a short message."""
        with pytest.raises(InputTypeError) as caught:
            as_reals(["x" * 100_000])
        assert len(str(caught.value)) < 300

    def test_a_huge_int_label_in_a_bad_row_does_not_break_the_message(self) -> None:
        """A row that is an int too long for repr() still gets a clear message."""
        with pytest.raises(InputTypeError, match=r"<int with 5001 digits>"):
            as_real_columns([[1, 2], 10**5000])
