"""The scoring methods of ConfusionCounts: every metric from the pair counts.

:class:`Scores` is the base class of
:class:`~ml_infra_utils.metrics.counts.ConfusionCounts`; it holds no state of
its own and reads the counts through ``_counts``, ``_weighted`` and
``_class_sums()``. The functions of
:mod:`~ml_infra_utils.metrics.classification` call these methods, so a function
and an accumulator always agree.

Examples:
    >>> from ml_infra_utils import ConfusionCounts
    >>> ConfusionCounts([0, 1, 1], [0, 1, 0]).precision(average="macro")
    0.75
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, Literal, overload

from ml_infra_utils._sequences import check_flag

from ._counting import Pair, state_total
from ._report import build_report
from ._scores import (
    ClassSums,
    Metric,
    average_of,
    check_average,
    check_beta,
    check_classes,
    check_zero_division,
    class_sums,
    confusion_rows,
    prf,
    resolve_classes,
    sorted_classes,
)

__all__ = ["Average", "Scores", "ZeroDivision"]

Average = Literal["binary", "micro", "macro", "weighted"]
ZeroDivision = float | Literal["warn"]


class Scores:
    """Metric methods over a pair-count state (the base of ConfusionCounts)."""

    __slots__ = ("_sums",)  # the class sums, computed once per state
    _sums: ClassSums | None
    _counts: dict[Pair, Any]
    _residuals: dict[Pair, tuple[float, ...]]
    _weighted: bool

    @property
    def total(self) -> int | float:
        """Number of samples counted (total weight when weighted)."""
        total: int | float = state_total(self._counts, self._residuals)
        return total

    @property
    def classes(self) -> list[Hashable]:
        """Every class seen as a label or a prediction, sorted."""
        return sorted_classes({c for pair in self._counts for c in pair})

    def _class_sums(self) -> ClassSums:
        if self._sums is None:
            self._sums = class_sums(self._counts, self._residuals)
        return self._sums

    def accuracy(self) -> float:
        """Fraction (or weight share) of samples whose prediction is the label.

        0.0 when nothing has been counted.
        """
        counts = self._counts
        if self._weighted:
            total = self.total
            diagonal = [pair for pair in counts if pair[0] == pair[1]]
            weight = state_total(counts, self._residuals, diagonal)
            return float(weight / total) if total else 0.0
        count: int = sum(counts.values())  # unweighted: exact ints
        if not count:
            return 0.0
        right: int = sum([c for (t, p), c in counts.items() if t == p])
        return right / count

    def _score(
        self,
        metric: Metric,
        *,
        beta: float,
        positive_class: Hashable,
        average: str | None,
        zero_division: object,
        classes: Iterable[Hashable] | None,
    ) -> float | dict[Hashable, float]:
        check_average(average)
        zd, warn = check_zero_division(zero_division)
        chosen = check_classes(classes)
        sums = self._class_sums()
        selected = resolve_classes(
            sums, average=average, positive_class=positive_class, classes=chosen
        )
        options: dict[str, Any] = {"beta": beta, "zero_division": zd, "warn": warn}
        if average == "micro":
            return prf(sums, selected, metric=metric, micro=True, **options)[0]
        values = prf(sums, selected, metric=metric, **options)
        if average is None:
            return dict(zip(selected, values, strict=True))
        if average == "binary":
            return values[0]
        if not values:
            return zd
        if average == "weighted":
            return average_of(values, [sums.true.get(c, 0) for c in selected])
        return average_of(values)

    @overload
    def precision(
        self,
        *,
        positive_class: Hashable = ...,
        average: Average = ...,
        zero_division: ZeroDivision = ...,
        classes: Iterable[Hashable] | None = ...,
    ) -> float: ...
    @overload
    def precision(
        self,
        *,
        positive_class: Hashable = ...,
        average: None,
        zero_division: ZeroDivision = ...,
        classes: Iterable[Hashable] | None = ...,
    ) -> dict[Hashable, float]: ...
    def precision(
        self,
        *,
        positive_class: Hashable = 1,
        average: Average | None = "binary",
        zero_division: ZeroDivision = 0.0,
        classes: Iterable[Hashable] | None = None,
    ) -> float | dict[Hashable, float]:
        """Precision, as :func:`~ml_infra_utils.metrics.classification.precision`."""
        return self._score(
            "precision",
            beta=1.0,
            positive_class=positive_class,
            average=average,
            zero_division=zero_division,
            classes=classes,
        )

    @overload
    def recall(
        self,
        *,
        positive_class: Hashable = ...,
        average: Average = ...,
        zero_division: ZeroDivision = ...,
        classes: Iterable[Hashable] | None = ...,
    ) -> float: ...
    @overload
    def recall(
        self,
        *,
        positive_class: Hashable = ...,
        average: None,
        zero_division: ZeroDivision = ...,
        classes: Iterable[Hashable] | None = ...,
    ) -> dict[Hashable, float]: ...
    def recall(
        self,
        *,
        positive_class: Hashable = 1,
        average: Average | None = "binary",
        zero_division: ZeroDivision = 0.0,
        classes: Iterable[Hashable] | None = None,
    ) -> float | dict[Hashable, float]:
        """Recall, as :func:`~ml_infra_utils.metrics.classification.recall`."""
        return self._score(
            "recall",
            beta=1.0,
            positive_class=positive_class,
            average=average,
            zero_division=zero_division,
            classes=classes,
        )

    @overload
    def f1_score(
        self,
        *,
        positive_class: Hashable = ...,
        average: Average = ...,
        zero_division: ZeroDivision = ...,
        classes: Iterable[Hashable] | None = ...,
    ) -> float: ...
    @overload
    def f1_score(
        self,
        *,
        positive_class: Hashable = ...,
        average: None,
        zero_division: ZeroDivision = ...,
        classes: Iterable[Hashable] | None = ...,
    ) -> dict[Hashable, float]: ...
    def f1_score(
        self,
        *,
        positive_class: Hashable = 1,
        average: Average | None = "binary",
        zero_division: ZeroDivision = 0.0,
        classes: Iterable[Hashable] | None = None,
    ) -> float | dict[Hashable, float]:
        """F1, as :func:`~ml_infra_utils.metrics.classification.f1_score`."""
        return self._score(
            "f-score",
            beta=1.0,
            positive_class=positive_class,
            average=average,
            zero_division=zero_division,
            classes=classes,
        )

    @overload
    def fbeta_score(
        self,
        *,
        beta: float,
        positive_class: Hashable = ...,
        average: Average = ...,
        zero_division: ZeroDivision = ...,
        classes: Iterable[Hashable] | None = ...,
    ) -> float: ...
    @overload
    def fbeta_score(
        self,
        *,
        beta: float,
        positive_class: Hashable = ...,
        average: None,
        zero_division: ZeroDivision = ...,
        classes: Iterable[Hashable] | None = ...,
    ) -> dict[Hashable, float]: ...
    def fbeta_score(
        self,
        *,
        beta: float,
        positive_class: Hashable = 1,
        average: Average | None = "binary",
        zero_division: ZeroDivision = 0.0,
        classes: Iterable[Hashable] | None = None,
    ) -> float | dict[Hashable, float]:
        """F-beta, as :func:`~ml_infra_utils.metrics.classification.fbeta_score`."""
        b = check_beta(beta)
        return self._score(
            "f-score",
            beta=b,
            positive_class=positive_class,
            average=average,
            zero_division=zero_division,
            classes=classes,
        )

    def confusion_matrix(
        self,
        *,
        classes: Iterable[Hashable] | None = None,
        normalize: Literal["true", "pred", "all"] | None = None,
    ) -> list[list[Any]]:
        """The confusion matrix, as :func:`~ml_infra_utils.confusion_matrix`."""
        chosen = check_classes(classes)
        if chosen is None:
            chosen = self.classes
        return confusion_rows(
            self._counts,
            self._residuals,
            chosen,
            normalize,
            weighted=self._weighted,
        )

    def classification_report(
        self,
        *,
        digits: int = 2,
        output_dict: bool = False,
        zero_division: ZeroDivision = 0.0,
        classes: Iterable[Hashable] | None = None,
        target_names: Iterable[str] | None = None,
    ) -> Any:
        """The report, as :func:`~ml_infra_utils.classification_report`."""
        check_flag("output_dict", output_dict)
        sums = self._class_sums()
        chosen = check_classes(classes)
        if chosen is None:
            support_total = self.total
        else:  # the exact weight of the reported classes' labels
            wanted = set(chosen)
            pairs = [pair for pair in self._counts if pair[0] in wanted]
            support_total = state_total(self._counts, self._residuals, pairs)
        return build_report(
            sums,
            chosen,
            digits=digits,
            output_dict=output_dict,
            zero_division=zero_division,
            target_names=None if target_names is None else list(target_names),
            # scikit-learn's supports are floats when weighted, and also when
            # no prediction at all is right (its "pathological case").
            float_support=self._weighted or not sums.tp,
            support_total=support_total,
        )
