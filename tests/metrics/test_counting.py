"""The pair-count core: the packed-byte fast paths equal a plain Counter."""

from __future__ import annotations

import array
from collections import Counter
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ml_infra_utils as m
from ml_infra_utils import InfiniteValueError
from ml_infra_utils.metrics._counting import (
    _as_byte_labels,
    count_pairs,
    exact_sum,
    exact_total,
    merge_counts,
)


def reference(predictions: list[Any], labels: list[Any]) -> dict[Any, int]:
    return dict(Counter(zip(labels, predictions, strict=True)))


@st.composite
def int_pairs(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    """Int labels in 0..255 at sizes that hit every counting strategy."""
    n = draw(st.sampled_from([0, 1, 7, 300, 4095, 4096, 6000]))
    k_true = draw(st.integers(1, 20))
    k_pred = draw(st.integers(1, 20))
    high = draw(st.sampled_from([16, 256]))
    seed = draw(st.integers(0, 2**32 - 1))
    rnd = np.random.default_rng(seed)
    true_classes = rnd.choice(high, size=k_true)
    pred_classes = rnd.choice(high, size=k_pred)
    labels = rnd.choice(true_classes, size=n).tolist()
    predictions = rnd.choice(pred_classes, size=n).tolist()
    return predictions, labels


class TestFastPaths:
    @given(int_pairs())
    def test_packed_lists_count_like_counter(
        self, pair: tuple[list[int], list[int]]
    ) -> None:
        """Small and large int lists (nibbles, popcounts, Counter) agree."""
        predictions, labels = pair
        counts, residuals = count_pairs(predictions, labels)
        assert counts == reference(predictions, labels)
        assert residuals == {}
        assert all(type(c) is int for c in counts.values())

    @pytest.mark.parametrize(
        "dtype", ["int64", "int32", "uint8", "int8", ">i4", "<u2", "uint64"]
    )
    @given(pair=int_pairs())
    def test_numpy_buffers_count_like_counter(
        self, dtype: str, pair: tuple[list[int], list[int]]
    ) -> None:
        """Integer numpy arrays of any width and byte order read from the buffer."""
        predictions, labels = pair
        if dtype == "int8":
            predictions = [p % 128 for p in predictions]
            labels = [y % 128 for y in labels]
        counts, _ = count_pairs(
            np.array(predictions, dtype=dtype), np.array(labels, dtype=dtype)
        )
        expected = reference(predictions, labels)
        assert counts == expected
        assert all(type(t) is int and type(p) is int for t, p in counts)

    @pytest.mark.parametrize(
        ("data", "packed"),
        [
            ([0, 255, 3], b"\x00\xff\x03"),
            ([0, 256], None),
            ([-1, 0], None),
            ([1.0, 2.0], None),
            (["a"], None),
            (np.array([-1, 5], dtype=np.int8), None),
            (np.array([300, 5], dtype=np.int16), None),
            (np.array([5, 6], dtype=">i2"), b"\x05\x06"),
            (np.array([1.0, 2.0]), None),
            (np.array(["a", "b"]), None),
            (np.array([1, 2], dtype=object), None),
            (np.zeros((2, 2), dtype=np.int64), None),
            (np.arange(6)[::2], None),
            (array.array("H", [1, 2]), b"\x01\x02"),
            (b"\x01\x02", None),
            ((1, 2), None),
        ],
        ids=repr,
    )
    def test_what_packs_into_bytes(self, data: Any, packed: bytes | None) -> None:
        """Only ints in 0..255, from lists or 1-D contiguous int buffers, pack."""
        assert _as_byte_labels(data) == packed

    def test_mixed_bool_and_int_inputs_follow_the_labels(self) -> None:
        """Bools come back as bools; the labels' first occurrence decides."""
        counts, _ = count_pairs([True, 0] * 3000, [1, False] * 3000)
        assert counts == {(1, True): 3000, (False, 0): 3000}
        assert {type(t) for t, _ in counts} == {int, bool}

    def test_numpy_bools_pack_as_bools(self) -> None:
        """A numpy bool array gives False/True classes."""
        flags = np.array([True, False, True] * 2000)
        counts, _ = count_pairs(flags, flags)
        assert counts == {(True, True): 4000, (False, False): 2000}
        assert all(type(t) is bool for t, _ in counts)


class TestExactSums:
    @given(
        st.lists(
            st.floats(
                allow_nan=False, allow_infinity=False, max_value=1e300, min_value=-1e300
            )
        )
    )
    def test_the_expansion_sums_exactly_to_the_input(self, values: list[float]) -> None:
        """The parts add up, exactly, to the exact sum of the values."""
        parts = exact_sum(values)
        assert sum(map(Fraction, parts)) == sum(map(Fraction, values))
        assert parts[0] == sum(map(Fraction, values)) or len(parts) > 1 or not values

    @given(
        st.lists(st.floats(-1e6, 1e6), min_size=1),
        st.lists(st.floats(-1e6, 1e6), min_size=1),
    )
    def test_the_expansion_does_not_depend_on_grouping(
        self, a: list[float], b: list[float]
    ) -> None:
        """exact_sum(a + b) == exact_sum(exact_sum(a) + exact_sum(b))."""
        assert exact_sum(a + b) == exact_sum([*exact_sum(a), *exact_sum(b)])

    def test_overflow_is_an_infinite_value_error(self) -> None:
        """Weights whose sum leaves the float range raise InfiniteValueError."""
        with pytest.raises(InfiniteValueError, match="overflows the float range"):
            exact_sum([1e308, 1e308])
        with pytest.raises(InfiniteValueError, match="overflows the float range"):
            exact_total([1e308, 1e308])
        assert exact_total([2, 3]) == 5


class TestTotalsBeyondTheFloatRange:
    """Weight totals that overflow: InfiniteValueError, never a raw OverflowError."""

    def test_weights_whose_total_overflows_are_refused_at_counting(self) -> None:
        """Each pair's sum fits, the total does not: refused by the update itself."""
        with pytest.raises(InfiniteValueError, match="rescale sample_weight"):
            m.ConfusionCounts([0, 1], [0, 0], sample_weight=[1e308, 1e308])

    def test_merged_counts_whose_total_overflows_raise_when_scored(self) -> None:
        """Two valid states whose merged total overflows: a clear error on use."""
        a = m.ConfusionCounts([0], [0], sample_weight=[1e308])
        b = m.ConfusionCounts([1], [0], sample_weight=[1e308])
        merged = a + b
        for score in (
            lambda: merged.total,
            merged.accuracy,
            lambda: merged.f1_score(average="macro"),
            lambda: merged.confusion_matrix(normalize="all"),
            merged.classification_report,
        ):
            with pytest.raises(InfiniteValueError, match="overflows the float range"):
                score()

    def test_merge_mixes_int_and_float_counts_exactly(self) -> None:
        """An int count merged with a float sum keeps the exact expansion."""
        counts: dict[Any, Any] = {("a", "a"): 1}
        residuals: dict[Any, Any] = {}
        merge_counts(counts, residuals, {("a", "a"): 0.1, ("b", "b"): 2}, {})
        assert counts == {("a", "a"): 1.1, ("b", "b"): 2}
        assert sum(
            map(Fraction, [counts["a", "a"], *residuals["a", "a"]])
        ) == 1 + Fraction(0.1)
        merge_counts(counts, residuals, {("a", "a"): -0.1}, {})
        assert counts["a", "a"] == 1.0
        assert ("a", "a") not in residuals


def test_weights_from_numpy_and_ints() -> None:
    """Int weights stay ints; numpy float weights become exact float sums."""
    counts, _ = count_pairs([1, 1, 0], [1, 1, 1], [2, 3, 1])
    assert counts == {(1, 1): 5, (1, 0): 1}
    assert type(counts[1, 1]) is int
    counts, _ = count_pairs([1, 1], [1, 1], np.array([0.5, 0.25]))
    assert counts == {(1, 1): 0.75}


def test_a_large_but_finite_int_weight_next_to_a_huge_one() -> None:
    """int(1.5e308) is a finite weight; only the int beyond floats is named."""
    with pytest.raises(InfiniteValueError, match=r"^sample_weight\[2\] is"):
        count_pairs([0, 1, 1], [0, 0, 1], [1.0, int(1.5e308), 10**400])
