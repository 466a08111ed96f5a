"""confusion_matrix and classification_report: parity with scikit-learn."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import assume, given
from hypothesis import strategies as st

import ml_infra_utils as m
from ml_infra_utils import (
    InputTypeError,
    InvalidParameterError,
    UndefinedMetricWarning,
)
from ml_infra_utils.metrics import classification

ZERO_DIVISIONS = [0.0, 1.0, math.nan]


class TestConfusionMatrix:
    @given(st.data())
    def test_matches_sklearn(self, h: Any, data: st.DataObject) -> None:
        """Rows true, columns predicted, sorted classes, every normalize mode."""
        weights = data.draw(st.sampled_from([None, "int", "float"]))
        case = data.draw(h.cases(weights=weights))
        normalize = data.draw(st.sampled_from([None, "true", "pred", "all"]))
        ours = m.confusion_matrix(
            case.predictions,
            case.labels,
            normalize=normalize,
            sample_weight=case.weights,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its "A single label was found"
            theirs = skm.confusion_matrix(
                case.labels,
                case.predictions,
                normalize=normalize,
                sample_weight=case.weights,
            )
        assert h.close(ours, theirs.tolist())
        if normalize is None and weights != "float":
            assert ours == theirs.tolist()
            assert all(type(x) is int for row in ours for x in row)

    @given(st.data())
    def test_classes_select_and_order_like_sklearn_labels(
        self, h: Any, data: st.DataObject
    ) -> None:
        """classes= gives rows/columns in that order and drops other pairs."""
        case = data.draw(h.cases())
        classes = data.draw(
            st.permutations(case.pool).map(lambda p: p[: len(p) // 2 + 1])
        )
        assume(set(classes) & set(case.labels))  # scikit-learn raises otherwise
        normalize = data.draw(st.sampled_from([None, "true", "pred", "all"]))
        ours = m.confusion_matrix(
            case.predictions, case.labels, classes=classes, normalize=normalize
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = skm.confusion_matrix(
                case.labels, case.predictions, labels=classes, normalize=normalize
            )
        assert h.close(ours, theirs.tolist())

    def test_zero_rows_stay_zero_when_normalized(self) -> None:
        """A class never seen as a label normalizes to a row of 0.0, not NaN."""
        result = m.confusion_matrix([0, 1], [0, 1], classes=[0, 1, 2], normalize="true")
        assert result == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]

    def test_empty_input_gives_an_empty_matrix(self) -> None:
        """No samples and no classes: []; with classes: a matrix of zeros."""
        assert m.confusion_matrix([], []) == []
        assert m.confusion_matrix([], [], classes=["a"]) == [[0]]

    @pytest.mark.parametrize(
        ("normalize", "error"),
        [("rows", InvalidParameterError), (True, InputTypeError), (1, InputTypeError)],
    )
    def test_invalid_normalize_lists_the_valid_values(
        self, normalize: Any, error: type[Exception]
    ) -> None:
        """normalize must be None, "true", "pred" or "all"."""
        with pytest.raises(
            error, match=r"normalize must be one of \['true', 'pred', 'all', None\]"
        ):
            m.confusion_matrix([0], [0], normalize=normalize)


class TestClassificationReport:
    @given(st.data())
    def test_text_and_dict_match_sklearn(self, h: Any, data: st.DataObject) -> None:
        """The text is scikit-learn's character for character; the dict equal."""
        weights = data.draw(st.sampled_from([None, "int", "dyadic"]))
        case = data.draw(h.cases(weights=weights))
        digits = data.draw(st.integers(0, 5))
        zero_division = data.draw(st.sampled_from(ZERO_DIVISIONS))
        classes = data.draw(
            st.none()
            | st.permutations(case.pool).map(lambda p: p[: max(1, len(p) - 1)])
        )
        options = {
            "digits": digits,
            "zero_division": zero_division,
            "sample_weight": case.weights,
        }
        ours = m.classification_report(
            case.predictions, case.labels, classes=classes, **options
        )
        theirs = skm.classification_report(
            case.labels, case.predictions, labels=classes, **options
        )
        assert ours == theirs
        ours_dict = m.classification_report(
            case.predictions, case.labels, classes=classes, output_dict=True, **options
        )
        theirs_dict = skm.classification_report(
            case.labels, case.predictions, labels=classes, output_dict=True, **options
        )
        assert list(ours_dict) == list(theirs_dict)
        for key, value in ours_dict.items():
            if isinstance(value, dict):
                assert list(value) == list(theirs_dict[key])
                assert h.close(list(value.values()), list(theirs_dict[key].values()))
                assert all(type(v) is float for v in value.values())
            else:
                assert h.close(value, theirs_dict[key])

    @given(st.data())
    def test_float_weights_match_sklearn_to_rounding(
        self, h: Any, data: st.DataObject
    ) -> None:
        """With arbitrary float weights the dict agrees to rounding error."""
        case = data.draw(h.cases(weights="float"))
        ours = m.classification_report(
            case.predictions, case.labels, output_dict=True, sample_weight=case.weights
        )
        theirs = skm.classification_report(
            case.labels,
            case.predictions,
            output_dict=True,
            sample_weight=case.weights,
            zero_division=0.0,
        )
        assert list(ours) == list(theirs)
        for key, value in ours.items():
            expected = theirs[key]
            if isinstance(value, dict):
                assert h.close(list(value.values()), list(expected.values()))
            else:
                assert h.close(value, expected)

    @given(st.data())
    def test_weighted_support_total_is_exact(self, h: Any, data: st.DataObject) -> None:
        """The averages' support is the exact weight of the reported classes.

        That is ConfusionCounts.total for all classes; not the float sum of the
        rounded per-class supports (scikit-learn's, off in the last bits).
        """
        case = data.draw(h.cases(weights="float"))
        classes = data.draw(
            st.none()
            | st.permutations(case.pool).map(lambda p: p[: max(1, len(p) - 1)])
        )
        report = m.classification_report(
            case.predictions,
            case.labels,
            classes=classes,
            output_dict=True,
            sample_weight=case.weights,
        )
        wanted = set(case.observed if classes is None else classes)
        exact = math.fsum(
            w for w, y in zip(case.weights, case.labels, strict=True) if y in wanted
        )
        for row in ("macro avg", "weighted avg", "micro avg"):
            if row in report:
                assert report[row]["support"] == exact
        if classes is None:
            counts = m.ConfusionCounts(
                case.predictions, case.labels, sample_weight=case.weights
            )
            assert report["macro avg"]["support"] == counts.total

    def test_weighted_support_total_example(self) -> None:
        """The review's case: 0.1 + 0.2 is 0.30000000000000004, not a rounded sum."""
        predictions, labels = [0, 1, 1], [0, 1, 0]
        weights = [0.1, 0.2, 0.3]
        report = m.classification_report(
            predictions, labels, output_dict=True, sample_weight=weights
        )
        assert report["macro avg"]["support"] == math.fsum(weights) == 0.6

    def test_target_names_and_long_names_widen_the_first_column(self) -> None:
        """target_names replace the class names; the column fits the longest."""
        options = {"target_names": ["mouse-long-name", "b"]}
        ours = m.classification_report([0, 1, 1], [0, 1, 0], **options)
        theirs = skm.classification_report([0, 1, 0], [0, 1, 1], **options)
        assert ours == theirs
        assert "mouse-long-name" in ours

    def test_target_names_must_name_every_class(self) -> None:
        """A target_names list of the wrong length is an error."""
        with pytest.raises(InvalidParameterError, match="name each of the 2 classes"):
            m.classification_report([0, 1], [0, 1], target_names=["a"])

    @pytest.mark.parametrize(
        ("digits", "error"),
        [
            (-1, InvalidParameterError),
            (1.5, InputTypeError),
            (True, InputTypeError),
            ("2", InputTypeError),
        ],
    )
    def test_invalid_digits(self, digits: Any, error: type[Exception]) -> None:
        """digits must be a non-negative int: wrong type or wrong value."""
        with pytest.raises(error, match="digits must be a non-negative"):
            m.classification_report([0], [0], digits=digits)

    @pytest.mark.parametrize("flag", ["no", 1, None])
    def test_output_dict_must_be_a_bool(self, flag: Any) -> None:
        """output_dict="no" is refused rather than read as true."""
        with pytest.raises(InputTypeError, match="output_dict must be True or False"):
            m.classification_report([0], [0], output_dict=flag)
        with pytest.raises(InputTypeError, match="output_dict must be True or False"):
            m.ConfusionCounts([0], [0]).classification_report(output_dict=flag)

    def test_the_module_exports_only_public_names(self) -> None:
        """metrics.reports.__all__ holds the two documented functions only."""
        from ml_infra_utils.metrics import reports

        assert reports.__all__ == ["classification_report", "confusion_matrix"]

    def test_numpy_int_digits_are_accepted(self) -> None:
        """digits=np.int64(3) works as 3."""
        assert m.classification_report([0], [0], digits=np.int64(3)) == (
            m.classification_report([0], [0], digits=3)
        )

    def test_warn_gives_undefined_metric_warnings(self) -> None:
        """zero_division="warn" warns for the undefined precision of class 2."""
        with pytest.warns(UndefinedMetricWarning, match="Precision is ill-defined"):
            m.classification_report([0, 1, 1], [0, 1, 2], zero_division="warn")

    def test_empty_input_gives_a_report_without_classes(self) -> None:
        """No samples: the header and zero average rows (scikit-learn raises)."""
        report = m.classification_report([], [], output_dict=True)
        assert report["accuracy"] == 0.0
        assert report["macro avg"]["support"] == 0.0

    def test_module_paths_of_the_readme_work(self) -> None:
        """metrics.classification exports all seven functions."""
        for name in ("confusion_matrix", "classification_report", "f1_score"):
            assert getattr(classification, name) is getattr(m, name)
        assert np.isclose(classification.accuracy([1], [1]), 1.0)
