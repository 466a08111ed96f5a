"""The tabular metrics: confusion matrix and classification report.

Both are re-exported by :mod:`~ml_infra_utils.metrics.classification` (their
documented home) and the package root. Argument order, as everywhere in
:mod:`~ml_infra_utils.metrics`: **predictions first, then labels**.

Examples:
    >>> confusion_matrix(predictions=[1, 1, 0], labels=[1, 0, 0])
    [[1, 1], [0, 1]]
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, Literal

from ml_infra_utils._errors import InvalidParameterError
from ml_infra_utils._sequences import as_reals

from ._scoring import ZeroDivision
from .counts import ConfusionCounts

__all__ = ["classification_report", "confusion_matrix"]


def counts_of(
    predictions: object, labels: object, sample_weight: object
) -> ConfusionCounts:
    """The counts of one call of a metric function (all-zero weights refused).

    Private to the subpackage (not in ``__all__``): the functions of
    :mod:`.classification` and this module share it.
    """
    if sample_weight is not None:
        weights = as_reals(sample_weight, name="sample_weight")
        if weights and not any(weights):
            msg = (
                "sample_weight must contain at least one non-zero weight "
                f"(all {len(weights)} are 0)"
            )
            raise InvalidParameterError(msg)
        sample_weight = weights
    return ConfusionCounts(predictions, labels, sample_weight=sample_weight)


def confusion_matrix(
    predictions: object,
    labels: object,
    *,
    classes: Iterable[Hashable] | None = None,
    normalize: Literal["true", "pred", "all"] | None = None,
    sample_weight: object = None,
) -> list[list[Any]]:
    """Counts of each (true class, predicted class) pair as a list of rows.

    Args:
        predictions: Predicted classes.
        labels: True classes, as many as *predictions*.
        classes: The classes and their order (rows and columns); pairs with
            another class are left out. By default all classes seen, sorted.
            When none of them occurs in the labels the result is all zeros
            (scikit-learn raises instead: a deliberate difference, so that a
            batch missing some classes still gives a mergeable matrix).
        normalize: ``"true"`` divides each row by its sum, ``"pred"`` each
            column, ``"all"`` everything by the total; a zero sum gives zeros.
        sample_weight: Optional weight per sample.

    Returns:
        ``matrix[i][j]``: how many samples of class ``i`` were predicted as
        class ``j`` (ints; floats when weighted by floats or normalized).

    Raises:
        LengthMismatchError, MissingValueError, InputTypeError: As
            :func:`accuracy`.
        InvalidParameterError: An invalid ``normalize`` or ``classes``.

    Examples:
        >>> confusion_matrix([0, 2, 1, 0], [0, 1, 2, 2])
        [[1, 0, 0], [0, 0, 1], [1, 1, 0]]
        >>> confusion_matrix(["b", "a"], ["a", "a"], normalize="true")
        [[0.5, 0.5], [0.0, 0.0]]
    """
    return counts_of(predictions, labels, sample_weight).confusion_matrix(
        classes=classes, normalize=normalize
    )


def classification_report(
    predictions: object,
    labels: object,
    *,
    digits: int = 2,
    output_dict: bool = False,
    zero_division: ZeroDivision = 0.0,
    classes: Iterable[Hashable] | None = None,
    target_names: Iterable[str] | None = None,
    sample_weight: object = None,
) -> Any:
    """Precision, recall, F1 and support per class, with their averages.

    The text and the dict are scikit-learn's, character for character: an
    ``accuracy`` row when every class seen is reported (otherwise ``micro
    avg``), then ``macro avg`` and ``weighted avg``.

    Args:
        predictions: Predicted classes.
        labels: True classes, as many as *predictions*.
        digits: Decimals of the scores in the text.
        output_dict: Return a dict (``{name: {"precision": ..., "recall": ...,
            "f1-score": ..., "support": ...}, "accuracy": ..., ...}``) instead.
        zero_division: As in :func:`precision`.
        classes: The classes to report, in order (by default all, sorted).
        target_names: Display names of the classes, in the same order.
        sample_weight: Optional weight per sample (supports become floats).

    Returns:
        The report as a ``str``, or a ``dict`` with ``output_dict=True``.

    Raises:
        LengthMismatchError, MissingValueError: As :func:`accuracy`.
        InvalidParameterError: An invalid ``digits``, ``zero_division``,
            ``classes`` or ``target_names`` value.
        InputTypeError: An option of the wrong type (``output_dict="no"``).

    Examples:
        >>> print(classification_report(["a", "b", "b"], ["a", "a", "b"]))
                      precision    recall  f1-score   support
        <BLANKLINE>
                   a       1.00      0.50      0.67         2
                   b       0.50      1.00      0.67         1
        <BLANKLINE>
            accuracy                           0.67         3
           macro avg       0.75      0.75      0.67         3
        weighted avg       0.83      0.67      0.67         3
        <BLANKLINE>
    """
    return counts_of(predictions, labels, sample_weight).classification_report(
        digits=digits,
        output_dict=output_dict,
        zero_division=zero_division,
        classes=classes,
        target_names=target_names,
    )
