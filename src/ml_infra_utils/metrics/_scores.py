"""Scores from pair counts: option checks, per-class sums, P/R/F, averages.

Everything here works on the ``{(label, prediction): count}`` state of
:mod:`._counting` and follows scikit-learn 1.9's definitions:

- ``precision = tp / pred_sum`` and ``recall = tp / true_sum`` per class;
- ``F_beta = (1 + beta²)·tp / (beta²·true_sum + pred_sum)``, computed from the
  counts, not from P and R (so it is 0.0, not ill-defined, when only one of P
  and R is);
- a 0/0 gives ``zero_division`` (0.0, 1.0 or NaN; ``"warn"`` gives 0.0 and an
  :class:`~ml_infra_utils.UndefinedMetricWarning`); NaN entries are left out of
  macro and weighted averages;
- ``"weighted"`` weighs classes by support, falling back to the plain mean when
  every support is 0.

Examples:
    >>> sums = class_sums({(0, 0): 2, (1, 0): 1, (1, 1): 1})
    >>> sums.tp, sums.true, sums.pred
    ({0: 2, 1: 1}, {0: 2, 1: 2}, {0: 3, 1: 1})
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings
from collections.abc import Hashable
from types import FrameType
from typing import Any, Literal, NamedTuple

from ml_infra_utils._errors import (
    InputTypeError,
    InvalidParameterError,
    UndefinedMetricWarning,
)
from ml_infra_utils._repr import short_repr
from ml_infra_utils._sequences import as_labels

from ._counting import Pair, exact_total

__all__ = [
    "AVERAGES",
    "ClassSums",
    "Metric",
    "check_average",
    "check_beta",
    "check_classes",
    "check_zero_division",
    "class_sums",
    "confusion_rows",
    "positive_class_error",
    "prf",
    "resolve_classes",
    "sorted_classes",
]

AVERAGES = ("binary", "micro", "macro", "weighted", None)
NORMALIZE = ("true", "pred", "all", None)
Metric = Literal["precision", "recall", "f-score"]
_MODIFIERS = {
    "precision": "predicted",
    "recall": "true",
    "f-score": "true nor predicted",
}
# With the separator: a sibling such as ml_infra_utils_plugins/ is outside.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class ClassSums(NamedTuple):
    """Per-class sums of a pair-count state: true positives, supports, predictions."""

    tp: dict[Hashable, Any]
    true: dict[Hashable, Any]
    pred: dict[Hashable, Any]


def class_sums(
    counts: dict[Pair, Any], residuals: dict[Pair, tuple[float, ...]] | None = None
) -> ClassSums:
    """Per-class ``tp``, ``true_sum`` (support) and ``pred_sum`` of a state.

    Float sums are the correctly rounded exact sums (``math.fsum`` over the
    counts and their *residuals*), so they do not depend on the order in which
    pairs were first seen: merged state gives the same sums as one pass.
    """
    residuals = residuals or {}
    tp: dict[Hashable, Any] = {}
    true: dict[Hashable, Any] = {}
    pred: dict[Hashable, Any] = {}
    if all(type(c) is int for c in counts.values()):
        for (t, p), c in counts.items():
            true[t] = true.get(t, 0) + c
            pred[p] = pred.get(p, 0) + c
            if t == p:
                tp[t] = c
        return ClassSums(tp, true, pred)
    true_parts: dict[Hashable, list[Any]] = {}
    pred_parts: dict[Hashable, list[Any]] = {}
    for (t, p), c in counts.items():
        parts = [c, *residuals.get((t, p), ())]
        true_parts.setdefault(t, []).extend(parts)
        pred_parts.setdefault(p, []).extend(parts)
        if t == p:
            tp[t] = c
    for by_class, sums in ((true_parts, true), (pred_parts, pred)):
        for cls, values in by_class.items():
            sums[cls] = exact_total(values)
    return ClassSums(tp, true, pred)


def sorted_classes(values: Any) -> list[Hashable]:
    """The classes in sorted order, or a clear error when they do not sort."""
    try:
        return sorted(values)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in values})
        msg = (
            f"the classes cannot be sorted: they mix {' and '.join(kinds)}; "
            "pass classes=[...] to give their order"
        )
        raise InputTypeError(msg) from None


def check_classes(classes: object) -> list[Hashable] | None:
    """Validate ``classes=``: distinct hashable labels, at least one."""
    if classes is None:
        return None
    values = as_labels(classes, name="classes")
    if not values:
        msg = "classes must name at least one class (got an empty sequence)"
        raise InvalidParameterError(msg)
    if len(set(values)) != len(values):
        seen: set[Hashable] = set()
        repeated = next(v for v in values if v in seen or seen.add(v))  # type: ignore[func-returns-value]
        msg = f"classes must not repeat a class ({short_repr(repeated)} appears twice)"
        raise InvalidParameterError(msg)
    return values


def check_average(average: object) -> None:
    """``average`` is one of :data:`AVERAGES` (a str, or ``None``)."""
    if average is None or (isinstance(average, str) and average in AVERAGES):
        return
    msg = f"average must be one of {list(AVERAGES)}, not {short_repr(average)}"
    if not isinstance(average, str):
        raise InputTypeError(msg)
    raise InvalidParameterError(msg)


def check_zero_division(zero_division: object) -> tuple[float, bool]:
    """The value a 0/0 gives, and whether to warn (``"warn"``)."""
    if zero_division == "warn":
        return 0.0, True
    msg = (
        "zero_division must be one of 0.0, 1.0, float('nan') or 'warn', "
        f"not {short_repr(zero_division)}"
    )
    if type(zero_division) is bool or not isinstance(zero_division, numbers.Real | str):
        raise InputTypeError(msg)
    if isinstance(zero_division, numbers.Real):
        value = float(zero_division)
        if value in (0.0, 1.0) or math.isnan(value):
            return value, False
    raise InvalidParameterError(msg)


def check_beta(beta: object) -> float:
    """``beta`` is a real number from 0 to inf (inclusive)."""
    msg = (
        "beta must be a real number from 0.0 to inf (inclusive), "
        f"not {short_repr(beta)}"
    )
    if type(beta) is bool or not isinstance(beta, numbers.Real):
        raise InputTypeError(msg)
    if float(beta) >= 0:  # also refuses NaN
        return float(beta)
    raise InvalidParameterError(msg)


def positive_class_error(positive_class: object, known: list[Hashable]) -> Exception:
    """The error for a ``positive_class`` that is not one of the classes."""
    msg = (
        f"positive_class={short_repr(positive_class)} is not one of the classes "
        f"{short_repr(known)}; "
        "pass positive_class=<one of them>, or an average other than 'binary'"
    )
    return InvalidParameterError(msg)


def resolve_classes(
    sums: ClassSums,
    *,
    average: object,
    positive_class: Hashable,
    classes: list[Hashable] | None,
) -> list[Hashable]:
    """The classes a score is computed over (``[positive_class]`` for binary)."""
    if average == "binary":
        observed = sums.true.keys() | sums.pred.keys()
        known = set(classes) if classes is not None else observed
        try:
            missing = positive_class not in known
        except TypeError:  # unhashable positive_class
            missing = True
        if missing and (classes is not None or len(observed) >= 2):
            shown = classes if classes is not None else sorted_classes(observed)
            raise positive_class_error(positive_class, shown)
        return [positive_class]
    if classes is not None:
        return classes
    return sorted_classes(sums.true.keys() | sums.pred.keys())


def prf(
    sums: ClassSums,
    selected: list[Hashable],
    *,
    metric: Metric,
    beta: float = 1.0,
    micro: bool = False,
    zero_division: float = 0.0,
    warn: bool = False,
) -> list[float]:
    """Precision, recall or F-beta of each selected class (one value if *micro*)."""
    tp = [sums.tp.get(c, 0) for c in selected]
    true = [sums.true.get(c, 0) for c in selected]
    pred = [sums.pred.get(c, 0) for c in selected]
    if micro:
        tp, true, pred = [exact_total(tp)], [exact_total(true)], [exact_total(pred)]
    if metric == "precision" or (metric == "f-score" and beta == 0.0):
        numerators, denominators, kind = tp, pred, "precision"
    elif metric == "recall" or beta == math.inf:
        numerators, denominators, kind = tp, true, "recall"
    else:
        beta2 = beta * beta
        numerators = [(1 + beta2) * x for x in tp]
        denominators = [beta2 * t + p for t, p in zip(true, pred, strict=True)]
        kind = "f-score"
    values = [
        n / d if d != 0 else zero_division
        for n, d in zip(numerators, denominators, strict=True)
    ]
    if warn and kind == metric and 0 in denominators:
        _warn(metric, len(values))
    return [float(v) for v in values]


def average_of(values: list[float], weights: list[Any] | None = None) -> float:
    """Mean (or support-weighted mean) of the non-NaN *values*; NaN if none."""
    kept = [i for i, v in enumerate(values) if v == v]
    if not kept:
        return math.nan
    if weights is not None:
        total = sum(weights[i] for i in kept)
        if total != 0:
            return float(sum(values[i] * weights[i] for i in kept) / total)
    return sum(values[i] for i in kept) / len(kept)


def _warn(metric: Metric, size: int) -> None:
    where = "due to" if size == 1 else "in labels with"
    msg = (
        f"{metric.capitalize()} is ill-defined and being set to 0.0 {where} no "
        f"{_MODIFIERS[metric]} samples. Use `zero_division` parameter to control "
        "this behavior."
    )
    warnings.warn(msg, UndefinedMetricWarning, stacklevel=_stacklevel())


def _stacklevel() -> int:
    """The stack level of the first caller outside this package."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def confusion_rows(
    counts: dict[Pair, Any],
    residuals: dict[Pair, tuple[float, ...]],
    classes: list[Hashable],
    normalize: object,
    *,
    weighted: bool = True,
) -> list[list[Any]]:
    """The confusion matrix of *classes*: rows true, columns predicted."""
    if normalize is not None and (
        not isinstance(normalize, str) or normalize not in NORMALIZE
    ):
        shown = short_repr(normalize)
        msg = f"normalize must be one of {list(NORMALIZE)}, not {shown}"
        if not isinstance(normalize, str):
            raise InputTypeError(msg)
        raise InvalidParameterError(msg)
    rows = [[counts.get((t, p), 0) for p in classes] for t in classes]
    if weighted and not all(type(c) is int for c in counts.values()):
        rows = [[float(c) for c in row] for row in rows]
    if normalize is None:
        return rows
    # Sums of the exact cells: each cell's count and its residual parts.
    cells = [
        [[counts.get((t, p), 0), *residuals.get((t, p), ())] for p in classes]
        for t in classes
    ]
    if normalize == "true":
        sums = [exact_total([x for cell in row for x in cell]) for row in cells]
        return [_divide_all(row, s) for row, s in zip(rows, sums, strict=True)]
    if normalize == "pred":
        sums = [
            exact_total([x for row in cells for x in row[j]])
            for j in range(len(classes))
        ]
        return [
            [v / s if s != 0 else 0.0 for v, s in zip(row, sums, strict=True)]
            for row in rows
        ]
    total = exact_total([x for row in cells for cell in row for x in cell])
    return [_divide_all(row, total) for row in rows]


def _divide_all(values: list[Any], total: Any) -> list[float]:
    if total == 0:
        return [0.0] * len(values)
    return [v / total for v in values]
