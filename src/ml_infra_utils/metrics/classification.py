"""Classification metrics with scikit-learn's semantics, in pure Python.

**Argument order: predictions first, then labels** — the reverse of
scikit-learn's ``(y_true, y_pred)``. Passing them by keyword
(``f1_score(predictions=p, labels=y)``) makes the order explicit.

Every function builds a :class:`~ml_infra_utils.metrics.counts.ConfusionCounts`
and asks it for the score, so a function and the accumulator always agree.
Inputs may be lists, tuples, ranges, generators, ``array.array``, numpy arrays
or pandas Series (numpy is never imported); labels may be ints, strings, bools
or any hashable value; results are plain Python floats, lists and dicts.

Options follow scikit-learn (``positive_class`` is its ``pos_label``,
``classes`` its ``labels``). ``average="micro"`` scores the global counts (over
all classes it equals accuracy), ``"macro"`` is the unweighted mean of the
per-class scores, ``"weighted"`` their mean weighted by support, and ``None``
returns a dict class -> score; ``zero_division`` is what a 0/0 gives (NaN
scores are left out of averages). Two deliberate differences:

- ``average="binary"`` scores ``positive_class`` one-vs-rest on multi-class
  data too, where scikit-learn raises (it equals scikit-learn's
  ``average=None, labels=[positive_class]``);
- ``zero_division`` defaults to a silent ``0.0``; ``"warn"`` gives 0.0 with
  an :class:`~ml_infra_utils.UndefinedMetricWarning`, as scikit-learn's default.

Examples:
    >>> predictions = [0, 2, 1, 0, 0, 1]
    >>> labels = [0, 1, 2, 0, 1, 2]
    >>> accuracy(predictions, labels)
    0.3333333333333333
    >>> f1_score(predictions, labels, average="macro")
    0.26666666666666666
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import overload

from ._counting import packed_accuracy
from ._scoring import Average, ZeroDivision
from .reports import classification_report, confusion_matrix, counts_of

__all__ = [
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "f1_score",
    "fbeta_score",
    "precision",
    "recall",
]


def accuracy(
    predictions: object, labels: object, *, sample_weight: object = None
) -> float:
    """Fraction of predictions equal to their label.

    Args:
        predictions: Predicted classes.
        labels: True classes, as many as *predictions*.
        sample_weight: Optional weight per sample: the score is then the share
            of the total weight that is predicted correctly.

    Returns:
        The accuracy as a float; 0.0 for empty input.

    Raises:
        LengthMismatchError: ``"Predictions and labels must have same length
            ..."`` (a ValueError).
        MissingValueError: A None or NaN label or prediction (a ValueError
            naming the position).
        InputTypeError: An unhashable label (a TypeError).

    Examples:
        >>> accuracy(["cat", "dog", "dog"], ["cat", "cat", "dog"])
        0.6666666666666666
        >>> accuracy([], [])
        0.0
        >>> accuracy([1, 0], [1])
        Traceback (most recent call last):
        ...
        ml_infra_utils.LengthMismatchError: Predictions and labels must have \
same length (got 2 predictions and 1 labels)
    """
    if sample_weight is None:
        fast = packed_accuracy(predictions, labels)
        if fast is not None:
            return fast
    return counts_of(predictions, labels, sample_weight).accuracy()


@overload
def precision(
    predictions: object,
    labels: object,
    *,
    positive_class: Hashable = ...,
    average: Average = ...,
    zero_division: ZeroDivision = ...,
    classes: Iterable[Hashable] | None = ...,
    sample_weight: object = ...,
) -> float: ...
@overload
def precision(
    predictions: object,
    labels: object,
    *,
    positive_class: Hashable = ...,
    average: None,
    zero_division: ZeroDivision = ...,
    classes: Iterable[Hashable] | None = ...,
    sample_weight: object = ...,
) -> dict[Hashable, float]: ...
def precision(
    predictions: object,
    labels: object,
    *,
    positive_class: Hashable = 1,
    average: Average | None = "binary",
    zero_division: ZeroDivision = 0.0,
    classes: Iterable[Hashable] | None = None,
    sample_weight: object = None,
) -> float | dict[Hashable, float]:
    """Precision: the fraction of predictions of a class that are right.

    ``tp / (tp + fp)`` per class, averaged as *average* says.

    Args:
        predictions: Predicted classes.
        labels: True classes, as many as *predictions*.
        positive_class: The class ``average="binary"`` scores, one-vs-rest.
        average: ``"binary"``, ``"micro"``, ``"macro"``, ``"weighted"``, or
            ``None`` for a dict class -> score (see the module docstring).
        zero_division: What 0/0 gives: ``0.0``, ``1.0``, ``float("nan")``, or
            ``"warn"`` (0.0 and an UndefinedMetricWarning).
        classes: Restrict to, and order, these classes (by default every class
            seen, sorted).
        sample_weight: Optional weight per sample.

    Raises:
        ValueError: Mismatched lengths, None/NaN labels (MissingValueError),
            invalid options (InvalidParameterError, listing the valid values).
        TypeError: Unhashable labels, or classes that do not sort.

    Examples:
        >>> precision([1, 1, 0, 1], [1, 0, 0, 1])
        0.6666666666666666
        >>> precision(["a", "b", "b"], ["a", "a", "b"], average=None)
        {'a': 1.0, 'b': 0.5}
    """
    return counts_of(predictions, labels, sample_weight).precision(
        positive_class=positive_class,
        average=average,
        zero_division=zero_division,
        classes=classes,
    )


@overload
def recall(
    predictions: object,
    labels: object,
    *,
    positive_class: Hashable = ...,
    average: Average = ...,
    zero_division: ZeroDivision = ...,
    classes: Iterable[Hashable] | None = ...,
    sample_weight: object = ...,
) -> float: ...
@overload
def recall(
    predictions: object,
    labels: object,
    *,
    positive_class: Hashable = ...,
    average: None,
    zero_division: ZeroDivision = ...,
    classes: Iterable[Hashable] | None = ...,
    sample_weight: object = ...,
) -> dict[Hashable, float]: ...
def recall(
    predictions: object,
    labels: object,
    *,
    positive_class: Hashable = 1,
    average: Average | None = "binary",
    zero_division: ZeroDivision = 0.0,
    classes: Iterable[Hashable] | None = None,
    sample_weight: object = None,
) -> float | dict[Hashable, float]:
    """Recall: the fraction of a class's samples that are predicted as it.

    ``tp / (tp + fn)`` per class, averaged as *average* says.

    Args:
        predictions: Predicted classes.
        labels: True classes, as many as *predictions*.
        positive_class: The class ``average="binary"`` scores, one-vs-rest.
        average: ``"binary"``, ``"micro"``, ``"macro"``, ``"weighted"``, or
            ``None`` for a dict class -> score (see the module docstring).
        zero_division: What 0/0 gives: ``0.0``, ``1.0``, ``float("nan")``, or
            ``"warn"`` (0.0 and an UndefinedMetricWarning).
        classes: Restrict to, and order, these classes (by default every class
            seen, sorted).
        sample_weight: Optional weight per sample.

    Raises:
        ValueError: Mismatched lengths, None/NaN labels (MissingValueError),
            invalid options (InvalidParameterError, listing the valid values).
        TypeError: Unhashable labels, or classes that do not sort.

    Examples:
        >>> recall([1, 1, 0, 1], [1, 0, 0, 1])
        1.0
        >>> recall([0, 2, 1, 0], [0, 1, 2, 2], positive_class=2)
        0.0
    """
    return counts_of(predictions, labels, sample_weight).recall(
        positive_class=positive_class,
        average=average,
        zero_division=zero_division,
        classes=classes,
    )


@overload
def f1_score(
    predictions: object,
    labels: object,
    *,
    positive_class: Hashable = ...,
    average: Average = ...,
    zero_division: ZeroDivision = ...,
    classes: Iterable[Hashable] | None = ...,
    sample_weight: object = ...,
) -> float: ...
@overload
def f1_score(
    predictions: object,
    labels: object,
    *,
    positive_class: Hashable = ...,
    average: None,
    zero_division: ZeroDivision = ...,
    classes: Iterable[Hashable] | None = ...,
    sample_weight: object = ...,
) -> dict[Hashable, float]: ...
def f1_score(
    predictions: object,
    labels: object,
    *,
    positive_class: Hashable = 1,
    average: Average | None = "binary",
    zero_division: ZeroDivision = 0.0,
    classes: Iterable[Hashable] | None = None,
    sample_weight: object = None,
) -> float | dict[Hashable, float]:
    """F1: the harmonic mean of precision and recall.

    ``2·tp / (2·tp + fp + fn)`` per class; the macro average is the mean of the
    per-class F1 (not the F1 of macro precision and recall).

    Args:
        predictions: Predicted classes.
        labels: True classes, as many as *predictions*.
        positive_class: The class ``average="binary"`` scores, one-vs-rest.
        average: ``"binary"``, ``"micro"``, ``"macro"``, ``"weighted"``, or
            ``None`` for a dict class -> score (see the module docstring).
        zero_division: What 0/0 gives: ``0.0``, ``1.0``, ``float("nan")``, or
            ``"warn"`` (0.0 and an UndefinedMetricWarning).
        classes: Restrict to, and order, these classes (by default every class
            seen, sorted).
        sample_weight: Optional weight per sample.

    Raises:
        ValueError: Mismatched lengths, None/NaN labels (MissingValueError),
            invalid options (InvalidParameterError, listing the valid values).
        TypeError: Unhashable labels, or classes that do not sort.

    Examples:
        >>> f1_score([1, 1, 0, 1], [1, 0, 0, 1])
        0.8
        >>> f1_score([0, 2, 1, 0, 0, 1], [0, 1, 2, 0, 1, 2], average="weighted")
        0.26666666666666666
    """
    return counts_of(predictions, labels, sample_weight).f1_score(
        positive_class=positive_class,
        average=average,
        zero_division=zero_division,
        classes=classes,
    )


@overload
def fbeta_score(
    predictions: object,
    labels: object,
    *,
    beta: float,
    positive_class: Hashable = ...,
    average: Average = ...,
    zero_division: ZeroDivision = ...,
    classes: Iterable[Hashable] | None = ...,
    sample_weight: object = ...,
) -> float: ...
@overload
def fbeta_score(
    predictions: object,
    labels: object,
    *,
    beta: float,
    positive_class: Hashable = ...,
    average: None,
    zero_division: ZeroDivision = ...,
    classes: Iterable[Hashable] | None = ...,
    sample_weight: object = ...,
) -> dict[Hashable, float]: ...
def fbeta_score(
    predictions: object,
    labels: object,
    *,
    beta: float,
    positive_class: Hashable = 1,
    average: Average | None = "binary",
    zero_division: ZeroDivision = 0.0,
    classes: Iterable[Hashable] | None = None,
    sample_weight: object = None,
) -> float | dict[Hashable, float]:
    """F-beta: recall weighted *beta* times as much as precision.

    ``(1 + beta²)·tp / ((1 + beta²)·tp + beta²·fn + fp)`` per class; ``beta=0``
    is precision and ``beta=float("inf")`` is recall. *beta* must be from 0 to
    inf, otherwise InvalidParameterError.

    Args:
        predictions: Predicted classes.
        labels: True classes, as many as *predictions*.
        positive_class: The class ``average="binary"`` scores, one-vs-rest.
        average: ``"binary"``, ``"micro"``, ``"macro"``, ``"weighted"``, or
            ``None`` for a dict class -> score (see the module docstring).
        zero_division: What 0/0 gives: ``0.0``, ``1.0``, ``float("nan")``, or
            ``"warn"`` (0.0 and an UndefinedMetricWarning).
        classes: Restrict to, and order, these classes (by default every class
            seen, sorted).
        sample_weight: Optional weight per sample.

    Raises:
        ValueError: Mismatched lengths, None/NaN labels (MissingValueError),
            invalid options (InvalidParameterError, listing the valid values).
        TypeError: Unhashable labels, or classes that do not sort.

    Examples:
        >>> fbeta_score([1, 1, 0, 1], [1, 0, 0, 1], beta=2.0)
        0.9090909090909091
    """
    return counts_of(predictions, labels, sample_weight).fbeta_score(
        beta=beta,
        positive_class=positive_class,
        average=average,
        zero_division=zero_division,
        classes=classes,
    )
