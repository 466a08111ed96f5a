"""accuracy, precision, recall, f1_score, fbeta_score: parity with scikit-learn.

scikit-learn is called with ``y_true=labels, y_pred=predictions,
pos_label=positive_class, labels=classes``; our ``average="binary"`` is
compared with its ``average=None, labels=[positive_class]`` (it also covers
multi-class data, where scikit-learn's binary average raises).
"""

from __future__ import annotations

import array
import math
import os
import warnings
from typing import Any

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given
from hypothesis import strategies as st

import ml_infra_utils as m
from ml_infra_utils import (
    InfiniteValueError,
    InputTypeError,
    InvalidParameterError,
    LengthMismatchError,
    MissingValueError,
    UndefinedMetricWarning,
)

SCORES = {
    "precision": (m.precision, skm.precision_score),
    "recall": (m.recall, skm.recall_score),
    "f1_score": (m.f1_score, skm.f1_score),
    "fbeta_score": (m.fbeta_score, skm.fbeta_score),
}
ZERO_DIVISIONS = [0.0, 1.0, math.nan]


def sklearn_score(name: str, case: Any, *, average: str | None, **options: Any) -> Any:
    """scikit-learn's score for our options (our binary = its per-label score)."""
    theirs = SCORES[name][1]
    if average == "binary":
        options["labels"] = [options.pop("pos_label")]
        return theirs(case.labels, case.predictions, average=None, **options)[0]
    options.pop("pos_label", None)
    return theirs(case.labels, case.predictions, average=average, **options)


class TestParity:
    @given(st.data())
    def test_accuracy_matches_sklearn(self, h: Any, data: st.DataObject) -> None:
        """accuracy equals accuracy_score, weighted or not."""
        weights = data.draw(st.sampled_from([None, "int", "float"]))
        case = data.draw(h.cases(weights=weights))
        ours = m.accuracy(case.predictions, case.labels, sample_weight=case.weights)
        theirs = skm.accuracy_score(
            case.labels, case.predictions, sample_weight=case.weights
        )
        assert type(ours) is float
        assert h.close(ours, theirs)

    @given(
        st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), max_size=300),
        st.sampled_from(["list", "uint8", "int64", ">i4", "bool", "array", "mixed"]),
    )
    def test_accuracy_of_small_int_arrays_matches_sklearn(
        self, pairs: list[tuple[int, int]], kind: str
    ) -> None:
        """The byte fast path (small non-negative ints in lists, arrays, numpy
        integer and bool arrays) gives accuracy_score's value and the
        pair-count path's, for every dtype and byte order."""
        labels = [t for t, _ in pairs]
        predictions = [p for _, p in pairs]
        if kind == "bool":
            labels = [t % 2 for t in labels]
            predictions = [p % 3 == 0 for p in predictions]
        if kind in {"list", "bool"}:
            ours_in: tuple[Any, Any] = (predictions, labels)
        elif kind == "array":
            ours_in = (array.array("H", predictions), array.array("B", labels))
        elif kind == "mixed":
            ours_in = (np.array(predictions, dtype=np.int16), labels)
        else:
            ours_in = (
                np.array(predictions, dtype=kind),
                np.array(labels, dtype=kind),
            )
        ours = m.accuracy(*ours_in)
        theirs = skm.accuracy_score(labels, predictions) if pairs else 0.0
        counted = m.ConfusionCounts(predictions, labels).accuracy()
        assert type(ours) is float
        assert ours == counted
        assert math.isclose(ours, theirs, rel_tol=1e-15)

    def test_accuracy_of_small_int_arrays_of_different_lengths_raises(self) -> None:
        """The fast path names both lengths, as the general one does."""
        with pytest.raises(LengthMismatchError, match="2 predictions and 3 labels"):
            m.accuracy(np.array([1, 2]), np.array([1, 2, 3]))

    @pytest.mark.parametrize("name", sorted(SCORES))
    @given(data=st.data())
    def test_every_average_matches_sklearn(
        self, h: Any, name: str, data: st.DataObject
    ) -> None:
        """Each score and average equals scikit-learn's, for every zero_division."""
        case = data.draw(h.cases(weights=data.draw(st.sampled_from([None, "float"]))))
        average = data.draw(
            st.sampled_from(["binary", "micro", "macro", "weighted", None])
        )
        zero_division = data.draw(st.sampled_from(ZERO_DIVISIONS))
        positive = data.draw(st.sampled_from(case.observed))
        options: dict[str, Any] = {"zero_division": zero_division}
        if name == "fbeta_score":
            options["beta"] = data.draw(
                st.sampled_from([0.0, 0.5, 1.0, 2.0, 3, math.inf])
            )
        ours = SCORES[name][0](
            case.predictions,
            case.labels,
            positive_class=positive,
            average=average,
            sample_weight=case.weights,
            **options,
        )
        theirs = sklearn_score(
            name,
            case,
            average=average,
            pos_label=positive,
            sample_weight=case.weights,
            **options,
        )
        assert h.close(ours, theirs), (ours, theirs)
        if average is None:
            assert list(ours) == case.observed
        else:
            assert type(ours) is float

    @pytest.mark.parametrize("name", sorted(SCORES))
    @given(data=st.data())
    def test_classes_restrict_and_order_like_sklearn_labels(
        self, h: Any, name: str, data: st.DataObject
    ) -> None:
        """classes= selects and orders the classes as scikit-learn's labels=."""
        case = data.draw(h.cases())
        classes = data.draw(
            st.permutations(case.pool).map(lambda p: p[: len(p) // 2 + 1])
        )
        average = data.draw(
            st.sampled_from(["binary", "micro", "macro", "weighted", None])
        )
        zero_division = data.draw(st.sampled_from(ZERO_DIVISIONS))
        positive = data.draw(st.sampled_from(classes))
        options: dict[str, Any] = {"zero_division": zero_division}
        if name == "fbeta_score":
            options["beta"] = 2.0
        ours = SCORES[name][0](
            case.predictions,
            case.labels,
            classes=classes,
            positive_class=positive,
            average=average,
            **options,
        )
        theirs = sklearn_score(
            name, case, average=average, pos_label=positive, labels=classes, **options
        )
        if average == "binary":
            theirs = sklearn_score(
                name, case, average="binary", pos_label=positive, **options
            )
        assert h.close(ours, theirs), (ours, theirs)
        if average is None:
            assert list(ours) == classes

    @pytest.mark.parametrize("name", ["precision", "recall", "f1_score"])
    @given(data=st.data())
    def test_warn_matches_sklearn_default(
        self, h: Any, name: str, data: st.DataObject
    ) -> None:
        """zero_division="warn" gives scikit-learn's values and warning texts."""
        case = data.draw(h.cases(max_size=6))
        average = data.draw(st.sampled_from(["micro", "macro", "weighted", None]))
        with warnings.catch_warnings(record=True) as ours_caught:
            warnings.simplefilter("always")
            ours = SCORES[name][0](
                case.predictions, case.labels, average=average, zero_division="warn"
            )
        with warnings.catch_warnings(record=True) as theirs_caught:
            warnings.simplefilter("always")
            theirs = SCORES[name][1](
                case.labels, case.predictions, average=average, zero_division="warn"
            )
        assert h.close(ours, theirs)
        assert all(w.category is UndefinedMetricWarning for w in ours_caught)
        assert {str(w.message) for w in ours_caught} == {
            str(w.message) for w in theirs_caught
        }


class TestSemantics:
    def test_binary_on_multiclass_scores_one_class_against_the_rest(self) -> None:
        """average="binary" works on multi-class data (scikit-learn raises)."""
        predictions, labels = [0, 2, 1, 0, 0, 1], [0, 1, 2, 0, 1, 2]
        assert m.precision(predictions, labels, positive_class=0) == pytest.approx(
            2 / 3
        )
        assert m.recall(predictions, labels, positive_class=0) == 1.0
        assert m.f1_score(predictions, labels, positive_class=2) == 0.0

    def test_micro_average_over_all_classes_is_accuracy(self) -> None:
        """Micro precision = recall = F1 = accuracy for single-label data."""
        predictions, labels = ["a", "b", "c", "a"], ["a", "c", "c", "b"]
        acc = m.accuracy(predictions, labels)
        for score in (m.precision, m.recall, m.f1_score):
            assert score(predictions, labels, average="micro") == acc

    def test_nan_zero_division_is_left_out_of_the_macro_average(self) -> None:
        """NaN classes do not count in averages (scikit-learn's _nanaverage)."""
        p = m.precision([0, 0, 0], [0, 1, 2], average="macro", zero_division=math.nan)
        assert p == pytest.approx(1 / 3)
        assert (
            math.isnan(m.precision([1], [0], average="macro", zero_division=math.nan))
            is False
        )

    def test_all_nan_classes_average_to_nan(self) -> None:
        """When every class is undefined under zero_division=nan, the mean is NaN."""
        result = m.precision(
            [0], [1], classes=[5], average="macro", zero_division=math.nan
        )
        assert math.isnan(result)

    def test_unhashable_positive_class_is_not_a_class(self) -> None:
        """positive_class=[1] cannot be a class: the error lists the classes."""
        with pytest.raises(InvalidParameterError, match=r"positive_class=\[1\]"):
            m.recall([0, 1], [1, 1], positive_class=[1])

    def test_empty_input_gives_zero(self) -> None:
        """Empty input: accuracy 0.0 (the seed's contract), scores zero_division."""
        assert m.accuracy([], []) == 0.0
        assert m.f1_score([], []) == 0.0
        assert m.recall([], [], average="macro", zero_division=1.0) == 1.0
        assert m.precision([], [], average=None) == {}

    def test_warn_names_the_undefined_metric(self) -> None:
        """zero_division="warn" warns with UndefinedMetricWarning, at the caller."""
        with pytest.warns(
            UndefinedMetricWarning, match="Precision is ill-defined"
        ) as w:
            assert m.precision([0, 0], [1, 0], zero_division="warn") == 0.0
        assert w[0].filename == __file__

    def test_default_zero_division_is_silent(self) -> None:
        """The default zero_division=0.0 never warns (filterwarnings=error)."""
        assert m.precision([0, 0], [1, 0]) == 0.0

    def test_one_equals_true_equals_one_point_zero(self) -> None:
        """Labels compare by value, as in scikit-learn: 1 == 1.0 == True."""
        assert m.accuracy([0, 1.0, True], [0, 1, 1]) == 1.0

    def test_labels_may_be_any_hashable(self) -> None:
        """Tuples, frozensets and None-free mixes of hashables are classes."""
        labels = [(1, "a"), (2, "b"), (1, "a")]
        assert m.accuracy([(1, "a"), (1, "a"), (1, "a")], labels) == pytest.approx(
            2 / 3
        )

    def test_unsortable_classes_need_an_explicit_order(self) -> None:
        """Mixed str and int classes do not sort: TypeError unless classes= is given."""
        with pytest.raises(InputTypeError, match=r"int and str.*classes="):
            m.f1_score([1, "a"], ["a", 1], average="macro")
        assert m.f1_score([1, "a"], ["a", 1], average="macro", classes=["a", 1]) == 0.0


class TestInputs:
    @pytest.mark.parametrize(
        "convert",
        [
            tuple,
            np.array,
            lambda x: np.array(x, dtype=np.int8),
            lambda x: np.array(x, dtype=">u2"),
            lambda x: np.array(x, dtype=np.float64),
            lambda x: np.array(x)[::-1][::-1],
            lambda x: np.repeat(np.array(x), 2)[::2],  # not contiguous
            lambda x: array.array("q", x),
            iter,
            lambda x: __import__("pandas").Series(x),
        ],
        ids=[
            "tuple",
            "int64",
            "int8",
            "big-endian",
            "float64",
            "view",
            "strided",
            "array",
            "iterator",
            "pandas",
        ],
    )
    def test_sequences_and_arrays_give_the_list_result(self, convert: Any) -> None:
        """Every container type gives the same float result as plain lists."""
        predictions = [0, 2, 1, 0, 0, 1] * 700  # also the large-input fast path
        labels = [0, 1, 2, 0, 1, 2] * 700
        for p, y in ((predictions[:6], labels[:6]), (predictions, labels)):
            expected = m.f1_score(p, y, average="macro")
            result = m.f1_score(convert(p), convert(y), average="macro")
            assert result == expected
            assert type(result) is float

    def test_bool_arrays_keep_bool_classes(self) -> None:
        """Bool labels stay False/True (not 0/1) in per-class results."""
        big = [True, False, True] * 2000
        for labels in (big[:3], big, np.array(big)):
            assert list(m.recall(labels, labels, average=None)) == [False, True]
            assert all(type(c) is bool for c in m.recall(labels, labels, average=None))

    def test_two_dimensional_arrays_are_rejected(self) -> None:
        """A 2-D array's rows are lists, which cannot be class labels."""
        with pytest.raises(InputTypeError, match=r"predictions\[0\] must be hashable"):
            m.accuracy(np.zeros((3, 2)), [0, 1, 1])


class TestErrors:
    @pytest.mark.parametrize("function", [m.accuracy, m.precision, m.confusion_matrix])
    def test_length_mismatch_uses_the_seed_message(self, function: Any) -> None:
        """Different lengths raise the seed's ValueError text, with both lengths."""
        with pytest.raises(
            ValueError, match=r"^Predictions and labels must have same length"
        ):
            function([1, 0, 1], [1, 0])
        with pytest.raises(
            LengthMismatchError, match=r"\(got 4000 predictions and 3999"
        ):
            function([1] * 4000, [1] * 3999)
        with pytest.raises(LengthMismatchError, match=r"\(got 1 predictions and 2"):
            function(["a"], ["a", "b"])

    @pytest.mark.parametrize(
        ("predictions", "labels", "match"),
        [
            ([1, None], [1, 0], r"predictions\[1\] is None"),
            ([1, 0], [1.0, math.nan], r"labels\[1\] is NaN"),
            (["a", "b"], ["a", None], r"labels\[1\] is None"),
            ([np.float32("nan"), 1.0], [1.0, 1.0], r"predictions\[0\] is NaN"),
        ],
    )
    def test_missing_labels_raise_value_error_naming_the_position(
        self, predictions: Any, labels: Any, match: str
    ) -> None:
        """None or NaN anywhere raises MissingValueError (a ValueError)."""
        with pytest.raises(MissingValueError, match=match):
            m.accuracy(predictions, labels)
        with pytest.raises(MissingValueError, match=match):
            m.f1_score(predictions, labels, sample_weight=[1.0, 2.0])

    def test_unhashable_labels_raise_type_error(self) -> None:
        """A list as a label raises InputTypeError (a TypeError) with its position."""
        with pytest.raises(TypeError, match=r"labels\[1\] must be hashable, not list"):
            m.recall([1, 2], [1, [2]])
        with pytest.raises(TypeError, match=r"predictions\[0\] must be hashable"):
            m.recall([{}, 2], [1, 2], sample_weight=[1, 1])

    @pytest.mark.parametrize(
        ("options", "match"),
        [
            ({"average": "samples"}, r"average must be one of \['binary', 'micro'"),
            (
                {"zero_division": 0.5},
                r"zero_division must be one of 0.0, 1.0, float\('nan'\)",
            ),
            ({"zero_division": "x"}, "zero_division must be one of"),
            ({"classes": []}, "classes must name at least one class"),
            ({"classes": [1, 1]}, r"must not repeat a class \(1 appears twice\)"),
            (
                {"positive_class": 5},
                r"positive_class=5 is not one of the classes \[0, 1\]",
            ),
            (
                {"classes": [0, 2]},
                r"positive_class=1 is not one of the classes \[0, 2\]",
            ),
        ],
    )
    def test_invalid_options_list_the_valid_values(
        self, options: dict[str, Any], match: str
    ) -> None:
        """Bad average, zero_division, classes or positive_class: ValueError."""
        with pytest.raises(InvalidParameterError, match=match):
            m.precision([0, 1], [1, 1], **options)

    @pytest.mark.parametrize(
        ("options", "match"),
        [
            ({"average": 3}, "average must be one of"),
            ({"average": ["macro"]}, "average must be one of"),
            ({"zero_division": True}, "zero_division must be one of"),
            ({"zero_division": [0.0]}, "zero_division must be one of"),
            ({"zero_division": None}, "zero_division must be one of"),
        ],
    )
    def test_options_of_the_wrong_type_are_type_errors(
        self, options: dict[str, Any], match: str
    ) -> None:
        """A wrong *type* of option is an InputTypeError (a TypeError)."""
        with pytest.raises(InputTypeError, match=match):
            m.precision([0, 1], [1, 1], **options)

    @pytest.mark.parametrize(
        ("beta", "error"),
        [
            (-1.0, InvalidParameterError),
            (math.nan, InvalidParameterError),
            ("2", InputTypeError),
            (True, InputTypeError),
            (None, InputTypeError),
        ],
    )
    def test_invalid_beta_lists_the_valid_range(
        self, beta: object, error: type[Exception]
    ) -> None:
        """beta must be a real number from 0 to inf: wrong type or wrong value."""
        with pytest.raises(error, match=r"beta must be a real number from 0\.0 to inf"):
            m.fbeta_score([0, 1], [1, 1], beta=beta)  # type: ignore[arg-type]

    def test_numpy_scalars_are_accepted_as_options(self) -> None:
        """beta and zero_division accept numpy reals, as any numbers.Real."""
        assert m.fbeta_score([0, 1], [1, 1], beta=np.float64(2.0)) == m.fbeta_score(
            [0, 1], [1, 1], beta=2.0
        )
        assert m.precision([0, 0], [1, 1], zero_division=np.float64(1.0)) == 1.0

    def test_string_labels_with_the_default_positive_class_raise(self) -> None:
        """positive_class=1 on string labels is a mistake, as in scikit-learn."""
        with pytest.raises(
            ValueError, match="positive_class=1 is not one of the classes"
        ):
            m.f1_score(["cat", "dog"], ["dog", "dog"])

    def test_absent_positive_class_on_single_class_data_scores_zero_division(
        self,
    ) -> None:
        """With one class only, an absent positive class is not an error (sklearn)."""
        assert m.f1_score([2, 2], [2, 2]) == 0.0
        assert m.f1_score([2, 2], [2, 2], zero_division=1.0) == 1.0

    @pytest.mark.parametrize(
        ("weights", "error", "match"),
        [
            (
                [1.0],
                LengthMismatchError,
                r"one weight per sample \(got 1 weights for 2",
            ),
            ([0, 0], InvalidParameterError, "at least one non-zero weight"),
            ([1.0, math.inf], InfiniteValueError, r"sample_weight\[1\] is inf"),
            ([1.0, None], MissingValueError, r"sample_weight\[1\] is None"),
            ([1.0, "2"], InputTypeError, r"sample_weight\[1\] must be a real number"),
            (
                [1.0, 10**400],
                InfiniteValueError,
                r"sample_weight\[1\] is 1000.*must be finite",
            ),
            (
                [1.0, 10**5000],
                InfiniteValueError,
                r"sample_weight\[1\] is <int with 5001 digits>; weights must be",
            ),
            (
                [1e308, 1e308],
                InfiniteValueError,
                r"sum of the sample weights overflows the float range",
            ),
        ],
    )
    def test_bad_sample_weights(self, weights: Any, error: Any, match: str) -> None:
        """Weights of the wrong length, all zero, non-finite or not numbers."""
        with pytest.raises(error, match=match):
            m.f1_score([0, 1], [1, 1], sample_weight=weights)
        with pytest.raises(error, match=match):
            m.accuracy([0, 1], [0, 0], sample_weight=weights)


class TestPandasNA:
    """pandas.NA (nullable Int64, string, boolean dtypes) is a missing label."""

    @pytest.mark.parametrize("dtype", ["Int64", "string", "boolean"])
    def test_na_label_raises_missing_value_error(self, dtype: str) -> None:
        """NA among the labels: MissingValueError naming it, never a raw TypeError."""
        pd = pytest.importorskip("pandas")
        values = {"Int64": [1, None], "string": ["a", None], "boolean": [True, None]}
        labels = pd.Series(values[dtype], dtype=dtype)
        predictions = labels.fillna(labels.iloc[0]).tolist()
        with pytest.raises(MissingValueError, match=r"^labels\[1\] is <NA>"):
            m.accuracy(predictions, labels)
        with pytest.raises(MissingValueError, match=r"^labels\[1\] is <NA>"):
            m.f1_score(predictions, labels, average="macro", sample_weight=[1.0, 2.0])

    def test_na_prediction_raises_missing_value_error(self) -> None:
        """NA among the predictions of ConfusionCounts.update names its position."""
        pd = pytest.importorskip("pandas")
        with pytest.raises(MissingValueError, match=r"^predictions\[0\] is <NA>"):
            m.ConfusionCounts().update([pd.NA, 1], [0, 1])


def test_warnings_point_at_a_sibling_package_that_calls() -> None:
    """A caller in ml_infra_utils_plugins/ is outside the package for stacklevel."""
    package_dir = os.path.dirname(os.path.abspath(m.__file__))
    sibling = package_dir + "_plugins" + os.sep + "scoring.py"
    code = compile("m.precision([0, 0], [1, 1], zero_division='warn')", sibling, "exec")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(code, {"m": m})  # noqa: S102 - a frame with that file name
    assert [w.filename for w in caught] == [sibling]
