"""MinMaxScaler and StandardScaler, against scikit-learn's scalers and numpy."""

from __future__ import annotations

import itertools
import json
import math
import pickle
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from sklearn import preprocessing as skp

from ml_infra_utils import (
    ConfusionCounts,
    EmptyInputError,
    InfiniteValueError,
    InputTypeError,
    InvalidParameterError,
    MinMaxScaler,
    MissingValueError,
    NotFittedError,
    ShapeError,
    StandardScaler,
)

values = st.floats(-1e6, 1e6, allow_nan=False) | st.integers(-(10**6), 10**6)


def rows_of(width: int, max_rows: int = 300) -> st.SearchStrategy[list[list[float]]]:
    """1..max_rows rows of *width* values."""
    return st.lists(
        st.lists(values, min_size=width, max_size=width), min_size=1, max_size=max_rows
    )


def matrices(max_rows: int = 300) -> st.SearchStrategy[list[list[float]]]:
    """2-D data: 1..300 rows of 1..5 columns."""
    return st.integers(1, 5).flatmap(lambda width: rows_of(width, max_rows))


def matrix_pairs() -> st.SearchStrategy[tuple[list[list[float]], list[list[float]]]]:
    """Two 2-D datasets with the same number of columns."""
    return st.integers(1, 5).flatmap(lambda w: st.tuples(rows_of(w), rows_of(w)))


def well_spread(rows: list[list[float]]) -> bool:
    """Each column is constant or has a spread far above rounding noise.

    scikit-learn treats a column with a range below 10 * eps (MinMaxScaler) or a
    variance near rounding noise (StandardScaler) as constant; ours counts only
    an exactly zero spread, so the comparison excludes those near-constant
    columns.
    """
    a = np.asarray(rows, dtype=float)
    spread = a.max(axis=0) - a.min(axis=0)
    return bool(np.all((spread == 0) | (spread > 1e-6 * (1 + np.abs(a).max(axis=0)))))


def chunks(rows: list[list[float]], cuts: list[int]) -> list[list[list[float]]]:
    """*rows* split at the given (sorted, deduplicated) cut points."""
    bounds = [0, *sorted({c % (len(rows) + 1) for c in cuts}), len(rows)]
    return [rows[a:b] for a, b in itertools.pairwise(bounds)]


def assert_close(
    result: object, expected: object, rel: float = 1e-12, abs_: float = 1e-12
) -> None:
    """Same shape and every element within the tolerances (nested lists too)."""
    a, b = np.asarray(result, dtype=float), np.asarray(expected, dtype=float)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=rel, atol=abs_)


# ------------------------------------------------------------------ MinMaxScaler
class TestMinMaxScaler:
    @given(
        matrix_pairs(),
        st.sampled_from([(0, 1), (-1, 1), (2.5, 7.0)]),
        st.booleans(),
    )
    def test_matches_scikit_learn(
        self,
        data: tuple[list[list[float]], list[list[float]]],
        feature_range: tuple[float, float],
        clip: bool,
    ) -> None:
        """fit, transform of new data and inverse_transform agree with sklearn."""
        train, other = data
        assume(well_spread(train))
        ours = MinMaxScaler(feature_range=feature_range, clip=clip).fit(train)
        theirs = skp.MinMaxScaler(feature_range=feature_range, clip=clip).fit(
            np.asarray(train, dtype=float)
        )
        assert ours.data_min_ == theirs.data_min_.tolist()
        assert ours.data_max_ == theirs.data_max_.tolist()
        assert ours.data_range_ == theirs.data_range_.tolist()
        assert ours.n_samples_seen_ == theirs.n_samples_seen_
        assert ours.n_features_in_ == theirs.n_features_in_
        for rows in (train, other):
            expected = theirs.transform(np.asarray(rows, dtype=float))
            assert_close(ours.transform(rows), expected)
        scaled = theirs.transform(np.asarray(other, dtype=float))
        expected = theirs.inverse_transform(scaled)
        assert_close(ours.inverse_transform(scaled.tolist()), expected, 1e-9, 1e-6)

    @given(st.lists(values, min_size=1, max_size=2000))
    def test_one_dimensional_data_is_one_feature(self, data: list[float]) -> None:
        """A flat sequence is a single feature and comes back flat."""
        column = [[v] for v in data]
        assume(well_spread(column))
        ours = MinMaxScaler().fit_transform(data)
        theirs = skp.MinMaxScaler().fit_transform(np.asarray(column, dtype=float))
        assert_close(ours, theirs.ravel())

    @given(st.lists(values, min_size=2, max_size=500))
    def test_training_ends_map_exactly_to_the_range(self, data: list[float]) -> None:
        """Unlike sklearn's x * scale + min, the minimum and maximum land exactly."""
        assume(min(data) < max(data))
        for low, high in [(0.0, 1.0), (-1.0, 1.0), (-3.3, 7.9)]:
            result = MinMaxScaler(feature_range=(low, high)).fit_transform(data)
            assert result[data.index(min(data))] == low
            assert result[data.index(max(data))] == high
            assert all(low <= r <= high for r in result)

    @given(matrices(), st.lists(st.integers(0, 300), max_size=6))
    def test_partial_fit_in_chunks_is_exact(
        self, rows: list[list[float]], cuts: list[int]
    ) -> None:
        """Chunked fitting gives exactly the one-pass minimum and maximum."""
        chunked = MinMaxScaler()
        for chunk in chunks(rows, cuts):
            chunked.partial_fit(chunk)
        whole = MinMaxScaler().fit(rows)
        assert chunked.to_dict() == whole.to_dict()

    @given(st.lists(values, min_size=2, max_size=500))
    def test_inverse_transform_round_trips(self, data: list[float]) -> None:
        """inverse_transform(transform(x)) gives x back, the ends exactly."""
        assume(min(data) < max(data))
        scaler = MinMaxScaler(feature_range=(-2, 5)).fit(data)
        back = scaler.inverse_transform(scaler.transform(data))
        spread = max(data) - min(data)
        assert back == pytest.approx(data, rel=1e-12, abs=1e-12 * spread)
        assert back[data.index(min(data))] == min(data)
        assert back[data.index(max(data))] == max(data)

    def test_constant_feature_maps_to_range_minimum(self) -> None:
        """A constant column maps to feature_range[0], as in scikit-learn."""
        scaler = MinMaxScaler(feature_range=(2, 3)).fit([[5.0, 1.0], [5.0, 2.0]])
        assert scaler.transform([[5.0, 1.5], [6.0, 1.5]]) == [[2.0, 2.5], [3.0, 2.5]]
        assert scaler.inverse_transform([[2.0, 2.5]]) == [[5.0, 1.5]]

    def test_inverse_of_a_constant_int_feature_gives_floats(self) -> None:
        """inverse_transform returns floats, as scikit-learn, also for int data."""
        back = MinMaxScaler().fit([5, 5]).inverse_transform([0, 1])
        assert back == [5.0, 6.0]
        assert all(type(v) is float for v in back)

    def test_clip_keeps_unseen_data_in_range(self) -> None:
        """clip=True clamps values beyond the training range."""
        scaler = MinMaxScaler(clip=True).fit([1, 2, 3, 4])
        assert scaler.transform([0, 5, 2.5]) == [0.0, 1.0, 0.5]
        assert MinMaxScaler().fit([1, 2, 3, 4]).transform([0, 5]) == pytest.approx(
            [-1 / 3, 4 / 3]
        )

    def test_range_that_overflows(self) -> None:
        """A training range wider than the float range still scales exactly."""
        scaler = MinMaxScaler().fit([-1.7e308, 1.7e308])
        assert scaler.transform([-1.7e308, 0.0, 1.7e308]) == [0.0, 0.5, 1.0]
        assert scaler.inverse_transform([0.0, 1.0]) == [-1.7e308, 1.7e308]

    def test_repr_names_the_options(self) -> None:
        """repr shows the constructor arguments."""
        assert repr(MinMaxScaler(feature_range=(-1, 1), clip=True)) == (
            "MinMaxScaler(feature_range=(-1.0, 1.0), clip=True)"
        )

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"feature_range": (1, 0)}, InvalidParameterError),
            ({"feature_range": "01"}, InputTypeError),
            ({"clip": 1}, InputTypeError),
        ],
    )
    def test_bad_options(
        self, kwargs: dict[str, object], error: type[Exception]
    ) -> None:
        """Invalid options raise at construction."""
        with pytest.raises(error):
            MinMaxScaler(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ StandardScaler
class TestStandardScaler:
    @given(matrix_pairs(), st.booleans(), st.booleans())
    def test_matches_scikit_learn(
        self,
        data: tuple[list[list[float]], list[list[float]]],
        with_mean: bool,
        with_std: bool,
    ) -> None:
        """mean_, var_, scale_, transform and inverse agree with sklearn."""
        train, other = data
        assume(well_spread(train))
        ours = StandardScaler(with_mean=with_mean, with_std=with_std).fit(train)
        theirs = skp.StandardScaler().fit(np.asarray(train, dtype=float))
        spread = np.ptp(np.asarray(train, dtype=float), axis=0) + 1.0
        assert ours.mean_ == pytest.approx(theirs.mean_.tolist(), rel=1e-12, abs=1e-9)
        assert ours.var_ == pytest.approx(theirs.var_.tolist(), rel=1e-9, abs=1e-9)
        assert ours.scale_ == pytest.approx(theirs.scale_.tolist(), rel=1e-9)
        theirs = skp.StandardScaler(with_mean=with_mean, with_std=with_std).fit(
            np.asarray(train, dtype=float)
        )
        for rows in (train, other):
            expected = theirs.transform(np.asarray(rows, dtype=float))
            result = np.asarray(ours.transform(rows))
            assert np.all(np.abs(result - expected) <= 1e-9 * (1 + np.abs(expected)))
            back = np.asarray(ours.inverse_transform(result.tolist()))
            assert np.all(np.abs(back - np.asarray(rows, dtype=float)) <= 1e-9 * spread)

    @given(st.lists(values, min_size=2, max_size=2000), st.sampled_from([0, 1]))
    def test_ddof_matches_numpy(self, data: list[float], ddof: int) -> None:
        """var_ divides by n - ddof, as numpy.var(ddof=...)."""
        a = np.asarray(data, dtype=float)
        assume(a.std() > 1e-6 * (1 + np.abs(a).max()))
        scaler = StandardScaler(ddof=ddof).fit(data)
        assert scaler.var_ == pytest.approx([a.var(ddof=ddof)], rel=1e-12)
        assert scaler.transform(data) == pytest.approx(
            ((a - a.mean()) / a.std(ddof=ddof)).tolist(), rel=1e-9, abs=1e-9
        )

    @given(
        matrices(max_rows=400),
        st.lists(st.integers(0, 400), max_size=8),
        st.sampled_from([0.0, 1e3, 1e9, -1e12]),
    )
    @example(rows=[[0.0, 995603.0], [0.0, -995706.9999999999]], cuts=[1], offset=0.0)
    def test_partial_fit_in_chunks_matches_one_pass(
        self, rows: list[list[float]], cuts: list[int], offset: float
    ) -> None:
        """Chunked fitting matches a one-pass fit to 1e-12 relative, offsets too."""
        rows = [[v + offset for v in row] for row in rows]
        chunked = StandardScaler()
        for chunk in chunks(rows, cuts):
            chunked.partial_fit(chunk)
        whole = StandardScaler().fit(rows)
        assert chunked.n_samples_seen_ == whole.n_samples_seen_ == len(rows)
        # Merging chunk means rounds the difference of two means once: where the
        # mean cancels to near zero, that is an error of an ulp of the data's
        # magnitude, not of the mean's (sklearn's partial_fit behaves alike).
        scale = max((abs(v) for row in rows for v in row), default=0.0)
        assert chunked.mean_ == pytest.approx(
            whole.mean_, rel=1e-12, abs=max(1e-300, 1e-15 * scale)
        )
        assert chunked.var_ == pytest.approx(whole.var_, rel=1e-12, abs=1e-300)

    @pytest.mark.parametrize("offset", [0.0, 1e9])
    def test_partial_fit_matches_numpy_on_many_chunks(self, offset: float) -> None:
        """1,000 chunks of N(offset, 1) data give numpy's exact statistics."""
        rng = np.random.default_rng(0)
        data = rng.normal(offset, 1.0, 100_000)
        scaler = StandardScaler()
        for chunk in np.array_split(data, 1000):
            scaler.partial_fit(chunk)
        exact_mean = math.fsum(data.tolist()) / data.size
        exact_var = math.fsum(((data - exact_mean) ** 2).tolist()) / data.size
        assert scaler.mean_ == pytest.approx([exact_mean], rel=1e-15)
        assert scaler.var_ == pytest.approx([exact_var], rel=1e-12)

    def test_constant_feature_scales_by_one(self) -> None:
        """A constant column gets scale_ 1.0 and transforms to x - mean."""
        scaler = StandardScaler().fit([[0.1, 1.0], [0.1, 3.0], [0.1, 5.0]])
        assert scaler.var_[0] == 0.0
        assert scaler.scale_[0] == 1.0
        assert scaler.transform([[0.1, 3.0], [1.1, 3.0]]) == [[0.0, 0.0], [1.0, 0.0]]

    def test_one_sample_is_constant(self) -> None:
        """A single sample has zero variance and scale 1, as sklearn."""
        scaler = StandardScaler().fit([[4.0, -2.0]])
        assert scaler.scale_ == [1.0, 1.0]
        assert scaler.transform([[5.0, -2.0]]) == [[1.0, 0.0]]

    @pytest.mark.parametrize("data", [[1.0, 3.0], [[1.0, 2.0], [3.0, 5.0]], [5.0, 5.0]])
    def test_fit_with_ddof_at_least_the_sample_size_raises(
        self, data: list[object]
    ) -> None:
        """fit/fit_transform with n <= ddof raise at once, as standardize does.

        The scaler is left as it was (here: unfitted).
        """
        scaler = StandardScaler(ddof=2)
        with pytest.raises(
            InvalidParameterError, match=r"ddof=2\) needs more than 2 samples to fit"
        ):
            scaler.fit(data)
        with pytest.raises(InvalidParameterError, match="needs more than 2 samples"):
            scaler.fit_transform(data)
        assert not hasattr(scaler, "n_samples_seen_")
        fitted = StandardScaler(ddof=2).fit([1.0, 2.0, 4.0])
        with pytest.raises(InvalidParameterError):
            fitted.fit([1.0, 3.0])
        assert fitted.n_samples_seen_ == 3

    def test_partial_fit_with_too_few_samples_raises_on_use(self) -> None:
        """partial_fit stays lazy (more chunks may come): the error comes on use."""
        scaler = StandardScaler(ddof=2).partial_fit([1.0, 3.0])
        with pytest.raises(InvalidParameterError, match="ddof=2 needs more than 2"):
            scaler.transform([2.0])
        scaler.partial_fit([5.0])
        assert scaler.transform([3.0]) == [0.0]

    def test_transform_computes_the_scales_once(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The per-feature scales are computed once per transform (O(features))."""
        width = 50
        scaler = StandardScaler().fit(
            [[float(i + j) for j in range(width)] for i in range(3)]
        )
        calls = 0
        original = StandardScaler._scales

        def counting(self: StandardScaler) -> list[float]:
            nonlocal calls
            calls += 1
            return original(self)

        monkeypatch.setattr(StandardScaler, "_scales", counting)
        scaler.transform([[1.0] * width])
        scaler.inverse_transform([[1.0] * width])
        assert calls == 2

    def test_offset_data_transforms_exactly(self) -> None:
        """Data far from 0 relative to its spread keeps full precision."""
        base = StandardScaler().fit_transform([4.0, 7.0, 13.0, 16.0])
        for offset in (1e9, 1e15):
            data = [offset + d for d in (4.0, 7.0, 13.0, 16.0)]
            scaler = StandardScaler().fit(data)
            assert scaler.transform(data) == pytest.approx(base, abs=1e-15)
            assert scaler.inverse_transform(base) == data

    def test_spread_that_overflows_raises(self) -> None:
        """A variance beyond the float range cannot be stored: ValueError."""
        with pytest.raises(InfiniteValueError, match="spread of feature 0 overflows"):
            StandardScaler().fit([-1.7e308, 1.7e308, 1.7e308])

    def test_a_failing_chunk_leaves_the_state_unchanged(self) -> None:
        """A chunk that raises midway through the features changes nothing."""
        scaler = StandardScaler().fit([[1.0, 2.0], [3.0, 5.0]])
        before = scaler.to_dict()
        bad = [[1.0, 1.7e308], [2.0, -1.7e308], [3.0, 1.7e308]]
        with pytest.raises(InfiniteValueError):
            scaler.partial_fit(bad)
        assert scaler.to_dict() == before
        with pytest.raises(InfiniteValueError):
            scaler.fit(bad)
        assert scaler.to_dict() == before

    def test_tiny_values_scale(self) -> None:
        """Values near the bottom of the float range keep a proper variance."""
        data = [1e-300, 2e-300, 3e-300, 4e-300]
        result = StandardScaler().fit_transform(data)
        assert result == pytest.approx(
            [-1.3416407865, -0.4472135955, 0.4472135955, 1.3416407865]
        )

    @pytest.mark.parametrize("with_mean", [True, False])
    def test_subnormal_values(self, with_mean: bool) -> None:
        """A scale whose reciprocal overflows still transforms and inverts."""
        data = [5e-324, 1e-323, 1.5e-323]
        scaler = StandardScaler(with_mean=with_mean).fit(data)
        expected = [-1.0, 0.0, 1.0] if with_mean else [1.0, 2.0, 3.0]
        assert scaler.transform(data) == pytest.approx(expected, rel=1e-9)
        assert scaler.inverse_transform(scaler.transform(data)) == data

    def test_repr_names_the_options(self) -> None:
        """repr shows the constructor arguments."""
        assert repr(StandardScaler(ddof=1)) == (
            "StandardScaler(ddof=1, with_mean=True, with_std=True)"
        )

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"ddof": -1}, InvalidParameterError),
            ({"ddof": 0.5}, InputTypeError),
            ({"ddof": "1"}, InputTypeError),
            ({"with_mean": "yes"}, InputTypeError),
        ],
    )
    def test_bad_options(
        self, kwargs: dict[str, object], error: type[Exception]
    ) -> None:
        """Invalid options raise at construction."""
        with pytest.raises(error):
            StandardScaler(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ both
SCALERS = [MinMaxScaler, StandardScaler]


@pytest.mark.parametrize("cls", SCALERS)
class TestCommonBehaviour:
    def test_transform_before_fit_raises(self, cls: type[MinMaxScaler]) -> None:
        """transform, inverse_transform and fitted attributes need a fit first."""
        scaler = cls()
        with pytest.raises(NotFittedError, match="not fitted yet"):
            scaler.transform([1.0])
        with pytest.raises(NotFittedError):
            scaler.inverse_transform([1.0])
        with pytest.raises(ValueError, match="call fit or partial_fit first"):
            _ = scaler.n_features_in_
        assert not hasattr(
            scaler, "n_samples_seen_"
        )  # NotFittedError is an AttributeError

    def test_fit_on_empty_data_raises(self, cls: type[MinMaxScaler]) -> None:
        """Fitting on nothing is an error; an empty chunk is not."""
        with pytest.raises(EmptyInputError, match=f"Cannot fit a {cls.__name__}"):
            cls().fit([])
        with pytest.raises(EmptyInputError):
            cls().fit_transform([])
        scaler = cls().partial_fit([])
        assert not hasattr(scaler, "n_samples_seen_")
        scaler.partial_fit([1.0, 2.0]).partial_fit([])
        assert scaler.n_samples_seen_ == 2
        assert scaler.transform([]) == []

    def test_fit_forgets_earlier_data(self, cls: type[MinMaxScaler]) -> None:
        """fit starts over; partial_fit accumulates."""
        scaler = cls().fit([[100.0, 1.0], [200.0, 2.0]])
        assert scaler.fit([1.0, 3.0]).n_features_in_ == 1
        assert scaler.to_dict() == cls().fit([1.0, 3.0]).to_dict()

    def test_ragged_rows_raise(self, cls: type[MinMaxScaler]) -> None:
        """Rows of different lengths raise ShapeError naming them."""
        with pytest.raises(
            ShapeError, match=r"data\[0\] has 2 values, data\[2\] has 3"
        ):
            cls().fit([[1, 2], [3, 4], [5, 6, 7]])

    def test_feature_count_must_match(self, cls: type[MinMaxScaler]) -> None:
        """Data with another number of features than fitted raises ShapeError."""
        scaler = cls().fit([[1, 2], [3, 5]])
        with pytest.raises(ShapeError, match="data has 3 features, but this"):
            scaler.transform([[1, 2, 3]])
        with pytest.raises(ShapeError, match="data has 1 feature, but this"):
            scaler.transform([1, 2])
        with pytest.raises(ShapeError):
            scaler.partial_fit([[1, 2, 3]])

    def test_one_feature_accepts_both_shapes(self, cls: type[MinMaxScaler]) -> None:
        """A one-feature scaler takes flat or single-column data, keeping the shape."""
        flat = cls().fit([1.0, 2.0, 4.0])
        column = cls().fit([[1.0], [2.0], [4.0]])
        assert flat.transform([[2.0]]) == column.transform([[2.0]])
        assert flat.transform([2.0]) == [column.transform([[2.0]])[0][0]]

    @pytest.mark.parametrize(
        ("data", "error", "pattern"),
        [
            (
                [[1.0, 2.0], [3.0, math.nan]],
                MissingValueError,
                r"data\[1\]\[1\] is NaN",
            ),
            ([[1.0, None], [3.0, 4.0]], MissingValueError, r"data\[0\]\[1\] is None"),
            (
                [[1.0, 2.0], [True, 4.0]],
                InputTypeError,
                r"data\[1\]\[0\] must be a real",
            ),
            (
                [[1.0, 2.0], [3.0, math.inf]],
                InfiniteValueError,
                r"data\[1\]\[1\] is inf",
            ),
            ([1.0, -math.inf], InfiniteValueError, r"data\[1\] is -inf"),
            ([[1, 2], [10**400, 4]], InfiniteValueError, r"data\[1\]\[0\] is an int"),
            ([[1.0, 2], [10**400, 4]], InfiniteValueError, r"data\[1\]\[0\] is an int"),
            (
                [[1.0, 2], [10**5000, 4]],
                InfiniteValueError,
                r"data\[1\]\[0\] is an int too large for a float \(5001 digits\)",
            ),
            (
                [[1, 2], [3, Fraction(10**400)]],
                InfiniteValueError,
                r"data\[1\]\[1\] is a Fraction too large for a float",
            ),
            ([[1, 2], 3], InputTypeError, r"data\[1\] must be a row of values"),
            ([[]], ShapeError, r"data\[0\] is an empty row"),
        ],
    )
    def test_bad_values_name_row_and_column(
        self,
        cls: type[MinMaxScaler],
        data: list[list[float]],
        error: type[Exception],
        pattern: str,
    ) -> None:
        """Bad values raise in fit and transform, naming row and column."""
        with pytest.raises(error, match=pattern):
            cls().fit(data)
        fitted = cls().fit(
            [[0.0, 1.0], [1.0, 2.0]] if isinstance(data[0], list) else [0.0, 1.0]
        )
        if isinstance(data[0], list) and data[0]:
            with pytest.raises(error, match=pattern):
                fitted.transform(data)

    def test_pandas_na_is_a_missing_value(self, cls: type[MinMaxScaler]) -> None:
        """NA in a nullable column: MissingValueError naming row and column."""
        pd = pytest.importorskip("pandas")
        frame = pd.DataFrame(
            {"a": [1.0, 2.0], "b": pd.Series([1, None], dtype="Int64")}
        )
        with pytest.raises(MissingValueError, match=r"^data\[1\]\[1\] is <NA>"):
            cls().fit(frame)

    def test_numpy_and_pandas_input(self, cls: type[MinMaxScaler]) -> None:
        """2-D numpy arrays, lists of numpy rows and DataFrames are accepted."""
        pd = pytest.importorskip("pandas")
        rows = [[1.0, 10.0], [2.0, 30.0], [4.0, 20.0]]
        expected = cls().fit_transform(rows)
        assert cls().fit_transform(np.asarray(rows)) == expected
        assert cls().fit_transform([np.asarray(r) for r in rows]) == expected
        assert cls().fit_transform(pd.DataFrame(rows, columns=["a", "b"])) == expected
        assert cls().fit_transform([tuple(r) for r in rows]) == expected

    @given(matrix_pairs(), st.lists(st.integers(0, 300), max_size=4))
    def test_to_dict_json_round_trip(
        self,
        cls: type[MinMaxScaler],
        data: tuple[list[list[float]], list[list[float]]],
        cuts: list[int],
    ) -> None:
        """A scaler saved as JSON and reloaded transforms and merges identically."""
        first, second = data
        original = cls().fit(first)
        reloaded = cls.from_dict(json.loads(json.dumps(original.to_dict())))
        assert reloaded.to_dict() == original.to_dict()
        assert reloaded.transform(second) == original.transform(second)
        assert reloaded.inverse_transform(second) == original.inverse_transform(second)
        for chunk in chunks(second, cuts):
            original.partial_fit(chunk)
            reloaded.partial_fit(chunk)
        assert reloaded.to_dict() == original.to_dict()

    def test_sums_that_overflow_are_fine(self, cls: type[MinMaxScaler]) -> None:
        """Finite values whose column sum overflows (or meets inf - inf) fit."""
        scaler = cls().fit([[1.5e308, 1.0], [1.6e308, 2.0], [1.7e308, 3.0]])
        assert scaler.n_samples_seen_ == 3

    def test_unfitted_scaler_round_trips(self, cls: type[MinMaxScaler]) -> None:
        """An unfitted scaler saves its options and no state."""
        saved = cls().to_dict()
        assert saved["state"] is None
        assert cls.from_dict(saved).to_dict() == saved

    def test_pickle_round_trip(self, cls: type[MinMaxScaler]) -> None:
        """A fitted scaler pickles (e.g. to a worker process) with its state."""
        scaler = cls().fit([[1.0, 2.0], [3.0, 7.0]])
        clone = pickle.loads(pickle.dumps(scaler))
        assert clone.to_dict() == scaler.to_dict()

    @pytest.mark.parametrize(
        "mutate",
        [
            lambda d: d.update(format="ml_infra_utils.Other"),
            lambda d: d.update(version=2),
            lambda d: d.update(version=True),
            lambda d: d.update(type=d.pop("format")),
            lambda d: d.pop("state"),
            lambda d: d.update(params=[1]),
            lambda d: d["params"].update(bogus=1),
            lambda d: d["state"].update(n_samples_seen=0),
            lambda d: d["state"].update(n_samples_seen=True),
            lambda d: d["state"].pop("n_samples_seen"),
            lambda d: d["state"].update(
                {k: [] for k in d["state"] if k != "n_samples_seen"}
            ),
            lambda d: d["state"].update(
                {k: ["x"] for k in d["state"] if k != "n_samples_seen"}
            ),
            lambda d: d["state"].update(
                {k: [math.inf] for k in d["state"] if k != "n_samples_seen"}
            ),
            lambda d: d.update(state="x"),
        ],
    )
    def test_from_dict_rejects_bad_data(
        self, cls: type[MinMaxScaler], mutate: object
    ) -> None:
        """A dict that is not a consistent saved scaler raises ValueError."""
        saved = cls().fit([1.0, 2.0]).to_dict()
        mutate(saved)  # type: ignore[operator]
        with pytest.raises(InvalidParameterError):
            cls.from_dict(saved)

    def test_from_dict_needs_a_mapping(self, cls: type[MinMaxScaler]) -> None:
        """from_dict of a non-dict raises TypeError."""
        with pytest.raises(InputTypeError, match="from_dict needs a dict"):
            cls.from_dict([1, 2])  # type: ignore[arg-type]


def test_from_dict_checks_state_consistency() -> None:
    """Saved states must be internally consistent: min <= max, spread >= 0."""
    saved = MinMaxScaler().fit([1.0, 2.0]).to_dict()
    saved["state"]["data_min"] = [3.0]
    with pytest.raises(InvalidParameterError, match="data_min must not exceed"):
        MinMaxScaler.from_dict(saved)
    saved = StandardScaler().fit([1.0, 2.0]).to_dict()
    saved["state"]["dev_norm"] = [-1.0]
    with pytest.raises(InvalidParameterError, match="dev_norm must not be negative"):
        StandardScaler.from_dict(saved)


@pytest.mark.parametrize("cls", [MinMaxScaler, StandardScaler])
def test_saved_scalers_share_the_envelope_of_confusion_counts(
    cls: type[MinMaxScaler],
) -> None:
    """Every saved object starts with "format" (ml_infra_utils.<class>), "version"."""
    saved = cls().fit([1.0, 2.0]).to_dict()
    counts = ConfusionCounts([0], [0]).to_dict()
    assert list(saved)[:2] == list(counts)[:2] == ["format", "version"]
    assert saved["format"] == f"ml_infra_utils.{cls.__name__}"
    assert counts["format"] == "ml_infra_utils.ConfusionCounts"


@pytest.mark.parametrize("cls", [MinMaxScaler, StandardScaler])
def test_the_first_save_format_still_loads(cls: type[MinMaxScaler]) -> None:
    """A scaler saved as {"type": "<class>", ...} (earlier builds) still loads."""
    saved = cls().fit([1.0, 2.0, 4.0]).to_dict()
    del saved["format"]
    old = {"type": cls.__name__, **saved}
    assert (
        cls.from_dict(old).to_dict()
        == cls.from_dict(
            {"format": f"ml_infra_utils.{cls.__name__}", **saved}
        ).to_dict()
    )


def test_from_dict_rejects_the_other_scaler() -> None:
    """A saved MinMaxScaler does not load as a StandardScaler."""
    with pytest.raises(InvalidParameterError, match="not a saved StandardScaler"):
        StandardScaler.from_dict(MinMaxScaler().fit([1, 2]).to_dict())
