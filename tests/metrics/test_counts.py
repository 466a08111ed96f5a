"""ConfusionCounts: chunked + merged equals one pass, exactly; pickle, JSON, Dask."""

from __future__ import annotations

import itertools
import json
import math
import multiprocessing
import operator
import os
import pickle
import random
from concurrent.futures import ProcessPoolExecutor
from functools import reduce
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ml_infra_utils as m
from ml_infra_utils import ConfusionCounts, InputTypeError, InvalidParameterError

SCORE_CALLS = [
    ("accuracy", {}),
    ("precision", {"average": "macro"}),
    ("recall", {"average": "weighted"}),
    ("f1_score", {"average": None}),
    ("f1_score", {"average": "micro"}),
    ("fbeta_score", {"beta": 0.5, "average": "macro"}),
    ("confusion_matrix", {}),
    ("confusion_matrix", {"normalize": "all"}),
    ("classification_report", {}),
    ("classification_report", {"output_dict": True, "digits": 4}),
]


def results(counts: ConfusionCounts) -> list[Any]:
    """Every metric of *counts*, as comparable plain data."""
    out = []
    for name, options in SCORE_CALLS:
        value = getattr(counts, name)(**options)
        out.append(json.dumps(value, sort_keys=True, default=str))
    return out


def chunks(data: st.DataObject, n: int) -> list[tuple[int, int]]:
    """Random cut points splitting range(n) into consecutive (start, stop) pairs."""
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=5)))
    bounds = [0, *cuts, n]
    return list(itertools.pairwise(bounds))


class TestMerging:
    @given(st.data())
    def test_chunked_and_merged_equals_one_pass_exactly(
        self, h: Any, data: st.DataObject
    ) -> None:
        """Any chunking, merge order and grouping gives identical state and scores."""
        weights = data.draw(st.sampled_from([None, "int", "float"]))
        case = data.draw(h.cases(weights=weights))
        one_pass = ConfusionCounts(
            case.predictions, case.labels, sample_weight=case.weights
        )
        parts = [
            ConfusionCounts(
                case.predictions[a:b],
                case.labels[a:b],
                sample_weight=None if case.weights is None else case.weights[a:b],
            )
            for a, b in chunks(data, len(case.labels))
        ]
        order = data.draw(st.permutations(range(len(parts))))
        merged = reduce(operator.add, (parts[i] for i in order))
        assert merged == one_pass
        assert results(merged) == results(one_pass)
        assert sum(parts) == one_pass

    @given(
        st.lists(st.floats(1e-3, 1e6), min_size=3, max_size=30),
        st.randoms(use_true_random=False),
    )
    def test_float_weight_sums_do_not_depend_on_the_order(
        self, weights: list[float], rnd: random.Random
    ) -> None:
        """Weighted state is exact: shuffled updates give identical counts."""
        labels = [i % 2 for i in range(len(weights))]
        forward = ConfusionCounts(labels, labels, sample_weight=weights)
        backward = ConfusionCounts()
        pairs = list(zip(labels, weights, strict=True))
        rnd.shuffle(pairs)
        for label, weight in pairs:
            backward.update([label], [label], sample_weight=[weight])
        assert backward == forward
        assert backward.accuracy() == forward.accuracy() == 1.0
        assert backward.total == math.fsum(weights)

    def test_update_merge_and_iadd_accumulate_in_place(self) -> None:
        """update, merge and += add to the same object and return it."""
        counts = ConfusionCounts()
        assert counts.update([1, 0], [1, 1]) is counts
        other = ConfusionCounts([0], [0])
        assert counts.merge(other, other) is counts
        counts += ConfusionCounts([1], [0])
        assert counts.total == 5
        assert counts.pair_counts == {(1, 1): 1, (1, 0): 1, (0, 0): 2, (0, 1): 1}
        assert other.total == 1  # the merged-in counts are not changed

    def test_large_batches_through_the_fast_path_merge_exactly(self) -> None:
        """Packed-byte counts (large int batches) merge with small Counter ones."""
        rnd = random.Random(7)
        labels = [rnd.randrange(3) for _ in range(20_000)]
        predictions = [rnd.choice([y, rnd.randrange(3)]) for y in labels]
        whole = ConfusionCounts(predictions, labels)
        parts = ConfusionCounts(predictions[:5000], labels[:5000])
        for i in range(5000, 20_000, 37):
            parts.update(predictions[i : i + 37], labels[i : i + 37])
        assert parts == whole
        assert whole.f1_score(average="macro") == m.f1_score(
            [str(p) for p in predictions], [str(y) for y in labels], average="macro"
        )

    def test_only_counts_merge(self) -> None:
        """Merging anything else is a TypeError; + returns NotImplemented."""
        counts = ConfusionCounts([1], [1])
        with pytest.raises(InputTypeError, match="can only merge ConfusionCounts"):
            counts.merge({"a": 1})  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            counts + 1  # type: ignore[operator]
        with pytest.raises(TypeError):
            counts += 1  # type: ignore[operator]
        with pytest.raises(TypeError):
            1 + counts  # type: ignore[operator]


class TestInspection:
    def test_repr_total_and_classes(self) -> None:
        """The repr shows the total and the sorted classes."""
        counts = ConfusionCounts(["b", "a"], ["a", "a"])
        assert repr(counts) == "ConfusionCounts(total=2, classes=['a', 'b'])"
        assert repr(ConfusionCounts()) == "ConfusionCounts(total=0, classes=[])"
        many = ConfusionCounts(list(range(12)), list(range(12)))
        assert repr(many) == "ConfusionCounts(total=12, classes=[... 12 classes])"
        mixed = ConfusionCounts([1, "a"], [1, "a"])
        assert "total=2" in repr(mixed)

    def test_counts_are_not_hashable(self) -> None:
        """A mutable accumulator has no hash; equality compares state."""
        with pytest.raises(TypeError):
            hash(ConfusionCounts())
        assert ConfusionCounts() != "counts"
        assert ConfusionCounts([1], [1]) != ConfusionCounts([1], [0])

    def test_constructor_needs_both_inputs_or_none(self) -> None:
        """ConfusionCounts(predictions) alone is a TypeError."""
        with pytest.raises(TypeError, match="both predictions and labels"):
            ConfusionCounts([1, 2])

    def test_copy_is_independent(self) -> None:
        """copy() gives an equal object that does not share state."""
        counts = ConfusionCounts([1], [1])
        clone = counts.copy()
        clone.update([0], [0])
        assert counts.total == 1
        assert clone.total == 2


class TestSerialisation:
    @given(st.data())
    def test_pickle_round_trip(self, h: Any, data: st.DataObject) -> None:
        """Counts pickle and unpickle to an equal object with equal scores."""
        case = data.draw(h.cases(weights=data.draw(st.sampled_from([None, "float"]))))
        counts = ConfusionCounts(
            case.predictions, case.labels, sample_weight=case.weights
        )
        clone = pickle.loads(pickle.dumps(counts))
        assert clone == counts
        assert results(clone) == results(counts)

    @given(st.data())
    def test_json_round_trip(self, h: Any, data: st.DataObject) -> None:
        """to_dict() survives json.dumps/loads and from_dict() rebuilds it exactly."""
        case = data.draw(h.cases(weights=data.draw(st.sampled_from([None, "float"]))))
        counts = ConfusionCounts(
            case.predictions, case.labels, sample_weight=case.weights
        )
        text = json.dumps(counts.to_dict())
        clone = ConfusionCounts.from_dict(json.loads(text))
        assert clone == counts
        assert results(clone) == results(counts)

    def test_exact_float_sums_are_stored_as_their_expansion(self) -> None:
        """A sum one float cannot hold is written as the list of its parts."""
        counts = ConfusionCounts([1, 1], [1, 1], sample_weight=[0.1, 0.2])
        (entry,) = counts.to_dict()["counts"]
        assert entry[:2] == [1, 1]
        assert entry[2] == [0.30000000000000004, -2.7755575615628914e-17]
        assert ConfusionCounts.from_dict(counts.to_dict()) == counts

    def test_tuple_labels_come_back_as_tuples(self) -> None:
        """JSON turns tuples into arrays; from_dict turns them back."""
        counts = ConfusionCounts([(1, "a")], [(1, "b")])
        clone = ConfusionCounts.from_dict(json.loads(json.dumps(counts.to_dict())))
        assert clone == counts

    @pytest.mark.parametrize(
        "bad",
        [
            {},
            {"format": "ml_infra_utils.ConfusionCounts", "version": 2, "counts": []},
            {"format": "ml_infra_utils.ConfusionCounts", "version": True, "counts": []},
            {"format": "ml_infra_utils.ConfusionCounts", "version": 1},
            {"format": "ml_infra_utils.ConfusionCounts", "version": 1, "counts": [[1]]},
            {
                "format": "ml_infra_utils.ConfusionCounts",
                "version": 1,
                "counts": [[1, 1, "3"]],
            },
            {
                "format": "ml_infra_utils.ConfusionCounts",
                "version": 1,
                "counts": [[None, 1, 3]],
            },
        ],
    )
    def test_from_dict_rejects_anything_else(self, bad: Any) -> None:
        """Malformed input is an InvalidParameterError, never a half-built object."""
        with pytest.raises(InvalidParameterError, match="from_dict"):
            ConfusionCounts.from_dict(bad)

    @pytest.mark.parametrize("bad", [None, [1, 2], "counts"])
    def test_from_dict_needs_a_mapping(self, bad: Any) -> None:
        """Not a dict: InputTypeError (a TypeError), as the scalers' from_dict."""
        with pytest.raises(InputTypeError, match="needs a dict from to_dict"):
            ConfusionCounts.from_dict(bad)

    @pytest.mark.parametrize(
        ("weighted", "counts", "match"),
        [
            (False, [[0, 0, -5]], r"count of counts\[0\] must be an int >= 0"),
            (False, [[0, 0, math.nan]], r"count of counts\[0\] must be an int >= 0"),
            (False, [[0, 0, 1.5]], r"count of counts\[0\] must be an int >= 0"),
            (False, [[0, 0, True]], r"count of counts\[0\] must be an int >= 0"),
            (False, [[0, 0, [1.0, 1e-17]]], r"count of counts\[0\] must be an int"),
            (True, [[0, 0, math.nan]], r"count of counts\[0\] must be a finite"),
            (True, [[0, 0, math.inf]], r"count of counts\[0\] must be a finite"),
            (True, [[0, 1, 2], [0, 0, []]], r"count of counts\[1\] must be a finite"),
            (True, [[0, 0, [1.0, "x"]]], r"count of counts\[0\] must be a finite"),
            (True, [[0, 0, [1, 2]]], r"count of counts\[0\] must be a finite"),
            (False, [[0, 0, 1], [0, 0, 5]], r"counts\[1\] repeats the pair"),
            (False, [[[1], [2], 1], [[1], [2], 1]], r"counts\[1\] repeats the pair"),
            (False, [[{"a": 1}, 0, 1]], r"counts\[0\] has a label .* \(unhashable\)"),
            (False, [[0, 0]], r"counts\[0\] must be \[label, prediction, count\]"),
            (False, {"0": 1}, r"'counts' must be a list"),
            ("yes", [[0, 0, 1]], r"'weighted' must be true or false"),
        ],
    )
    def test_from_dict_rejects_states_to_dict_cannot_produce(
        self, weighted: Any, counts: Any, match: str
    ) -> None:
        """Negative, NaN, inf, non-number or repeated counts: a clear error."""
        data = {
            "format": "ml_infra_utils.ConfusionCounts",
            "version": 1,
            "weighted": weighted,
            "counts": counts,
        }
        with pytest.raises(InvalidParameterError, match=match):
            ConfusionCounts.from_dict(data)

    def test_from_dict_rejects_unknown_keys(self) -> None:
        """A key to_dict() never writes is refused rather than ignored."""
        data = {**ConfusionCounts([0], [0]).to_dict(), "extra": 1}
        with pytest.raises(InvalidParameterError, match="needs the keys"):
            ConfusionCounts.from_dict(data)

    @pytest.mark.parametrize("weights", [[-1, 2], [0, 2], [0.1, -0.25]])
    def test_weighted_states_with_negative_or_zero_counts_round_trip(
        self, weights: list[float]
    ) -> None:
        """Negative sample weights (allowed, as in scikit-learn) survive JSON."""
        counts = ConfusionCounts([0, 1], [0, 0], sample_weight=weights)
        text = json.dumps(counts.to_dict())
        assert ConfusionCounts.from_dict(json.loads(text)) == counts


def _split(n_chunks: int) -> tuple[list[Any], list[Any], list[tuple[Any, Any]]]:
    rnd = random.Random(3)
    labels = [rnd.choice("abc") for _ in range(3000)]
    predictions = [rnd.choice([y, "a"]) for y in labels]
    size = len(labels) // n_chunks
    parts = [
        (predictions[i : i + size], labels[i : i + size])
        for i in range(0, len(labels), size)
    ]
    return predictions, labels, parts


def test_counts_from_worker_processes_merge_to_the_one_pass_result() -> None:
    """Counts made in other processes (pickled back) merge exactly."""
    predictions, labels, parts = _split(6)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        counted = list(pool.map(ConfusionCounts, *zip(*parts, strict=True)))
    merged = sum(counted, ConfusionCounts())
    assert merged == ConfusionCounts(predictions, labels)
    assert merged.classification_report() == m.classification_report(
        predictions, labels
    )


def test_dask_bag_reduction_on_the_multiprocessing_scheduler() -> None:
    """A dask.bag reduction with the processes scheduler gives one-pass counts."""
    dask = pytest.importorskip("dask")
    db = pytest.importorskip("dask.bag")
    predictions, labels, parts = _split(4)
    bag = db.from_sequence(parts, npartitions=2)
    reduced = bag.map(lambda part: ConfusionCounts(*part)).reduction(sum, sum)
    pids = bag.map(lambda _part: os.getpid())
    total, worker_pids = dask.compute(
        reduced, pids, scheduler="processes", num_workers=2
    )
    assert os.getpid() not in worker_pids  # it really ran in other processes
    assert total == ConfusionCounts(predictions, labels)
    assert total.f1_score(average="macro") == m.f1_score(
        predictions, labels, average="macro"
    )
