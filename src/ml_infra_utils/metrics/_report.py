"""The classification report: scikit-learn's text layout and dict, from pair counts.

The layout is scikit-learn 1.9's, character for character: a first column as
wide as the longest class name (at least ``len("weighted avg")``), four 9-wide
columns, an ``accuracy`` row when every observed class is reported (otherwise a
``micro avg`` row), then ``macro avg`` and ``weighted avg``.

Examples:
    >>> from ml_infra_utils.metrics._scores import class_sums
    >>> sums = class_sums({(0, 0): 2, (1, 0): 1, (1, 1): 1})
    >>> print(build_report(sums, None, digits=2), end="")
                  precision    recall  f1-score   support
    <BLANKLINE>
               0       0.67      1.00      0.80         2
               1       1.00      0.50      0.67         2
    <BLANKLINE>
        accuracy                           0.75         4
       macro avg       0.83      0.75      0.73         4
    weighted avg       0.83      0.75      0.73         4
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable
from typing import Any

from ml_infra_utils._errors import InputTypeError, InvalidParameterError
from ml_infra_utils._repr import short_repr

from ._counting import exact_total
from ._scores import (
    ClassSums,
    average_of,
    check_zero_division,
    prf,
    sorted_classes,
)

__all__ = ["HEADERS", "build_report"]

HEADERS = ("precision", "recall", "f1-score", "support")


def build_report(
    sums: ClassSums,
    classes: list[Hashable] | None,
    *,
    digits: object = 2,
    output_dict: bool = False,
    zero_division: object = 0.0,
    target_names: list[str] | None = None,
    float_support: bool = False,
    support_total: Any = None,
) -> str | dict[str, Any]:
    """The report of a state's class sums (see ``classification_report``).

    *support_total* is the exact total weight of the reported classes (the
    averages' support); by default the sum of their rounded supports.
    """
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral):
        msg = f"digits must be a non-negative int, not {short_repr(digits)}"
        raise InputTypeError(msg)
    if digits < 0:
        msg = f"digits must be a non-negative int, not {digits}"
        raise InvalidParameterError(msg)
    digits = int(digits)
    zd, warn = check_zero_division(zero_division)
    observed = sums.true.keys() | sums.pred.keys()
    labels = classes if classes is not None else sorted_classes(observed)
    names = _names(labels, target_names)
    micro_is_accuracy = classes is None or set(classes) >= observed

    options: dict[str, Any] = {"zero_division": zd, "warn": warn}
    precision = prf(sums, labels, metric="precision", **options)
    recall = prf(sums, labels, metric="recall", **options)
    f_score = prf(sums, labels, metric="f-score", **options)
    support = [sums.true.get(c, 0) for c in labels]
    total = exact_total(support) if support_total is None else support_total
    if float_support:
        support = [float(s) for s in support]
        total = float(total)

    rows = list(zip(names, precision, recall, f_score, support, strict=True))
    micro = [
        prf(sums, labels, metric=m, micro=True, **options)[0]
        for m in ("precision", "recall", "f-score")
    ]
    averages: list[tuple[str, list[float]]] = [
        ("accuracy" if micro_is_accuracy else "micro avg", micro),
        (
            "macro avg",
            [average_of(v) if v else zd for v in (precision, recall, f_score)],
        ),
        (
            "weighted avg",
            [average_of(v, support) if v else zd for v in (precision, recall, f_score)],
        ),
    ]
    if output_dict:
        return _as_dict(rows, averages, total)
    return _as_text(rows, averages, total, digits)


def _names(labels: list[Hashable], target_names: list[str] | None) -> list[str]:
    if target_names is None:
        return [f"{label}" for label in labels]
    names = [str(name) for name in target_names]
    if len(names) != len(labels):
        msg = (
            f"target_names must name each of the {len(labels)} classes "
            f"(got {len(names)} names)"
        )
        raise InvalidParameterError(msg)
    return names


def _as_dict(
    rows: list[tuple[Any, ...]],
    averages: list[tuple[str, list[float]]],
    total: Any,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        name: dict(zip(HEADERS, (float(v) for v in values), strict=True))
        for name, *values in rows
    }
    for heading, (p, r, f) in averages:
        if heading == "accuracy":
            report[heading] = p
        else:
            report[heading] = dict(zip(HEADERS, (p, r, f, float(total)), strict=True))
    return report


def _as_text(
    rows: list[tuple[Any, ...]],
    averages: list[tuple[str, list[float]]],
    total: Any,
    digits: int,
) -> str:
    width = max([len("weighted avg"), digits, *(len(row[0]) for row in rows)])
    lines = [f"{'':>{width}} " + "".join(f" {h:>9}" for h in HEADERS), "\n\n"]
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    lines += [row_fmt.format(*row, width=width, digits=digits) for row in rows]
    lines.append("\n")
    for heading, values in averages:
        if heading == "accuracy":
            lines.append(
                f"{heading:>{width}s} "
                + " " * 20
                + f" {values[2]:>9.{digits}f} {total:>9}\n"
            )
        else:
            lines.append(
                row_fmt.format(heading, *values, total, width=width, digits=digits)
            )
    return "".join(lines)
