"""ConfusionCounts: the mergeable accumulator every classification metric uses.

A :class:`ConfusionCounts` holds how many samples (or how much sample weight)
had each ``(label, prediction)`` pair. That is all any metric of
:mod:`~ml_infra_utils.metrics.classification` needs, so counts taken over
chunks, threads, processes or machines and merged give exactly the result of
one pass over all the data: the functions themselves are one
``ConfusionCounts(...).metric(...)`` call.

Examples:
    >>> counts = ConfusionCounts()
    >>> counts.update([1, 0, 1], [1, 1, 1])  # predictions, then labels
    ConfusionCounts(total=3, classes=[0, 1])
    >>> other = ConfusionCounts([0, 0], [0, 1])
    >>> merged = counts + other
    >>> merged.accuracy(), merged.f1_score(average="macro")
    (0.6, 0.5833333333333333)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import Any, Self

from ml_infra_utils._errors import InputTypeError, InvalidParameterError
from ml_infra_utils._repr import short_repr
from ml_infra_utils._sequences import check_distinct_labels

from ._counting import Pair, count_pairs, exact_sum, merge_counts
from ._scores import ClassSums
from ._scoring import Scores

__all__ = ["ConfusionCounts"]

_FORMAT = "ml_infra_utils.ConfusionCounts"
_VERSION = 1
_KEYS = frozenset({"format", "version", "weighted", "counts"})


class ConfusionCounts(Scores):
    """Counts of (label, prediction) pairs: update, merge, and score.

    Args:
        predictions: Optional first batch of predicted classes.
        labels: Its true classes (same length).
        sample_weight: Optional weight per sample (real numbers, finite).

    Counts are exact: plain ints without weights, and float weight sums kept as
    exact expansions, so ``update`` over chunks, ``merge`` and ``+`` in any
    order and grouping give identical state and identical scores. Instances
    pickle (for process pools, Dask, Spark) and round-trip through JSON with
    :meth:`to_dict` / :meth:`from_dict`. One instance is not thread-safe: give
    each thread its own and merge them.

    Examples:
        >>> c = ConfusionCounts(["cat", "dog", "dog"], ["cat", "cat", "dog"])
        >>> c.confusion_matrix()
        [[1, 1], [0, 1]]
        >>> c.precision(positive_class="dog"), c.recall(average=None)
        (0.5, {'cat': 0.5, 'dog': 1.0})
    """

    __slots__ = ("_counts", "_residuals", "_weighted")

    def __init__(
        self,
        predictions: object = None,
        labels: object = None,
        *,
        sample_weight: object = None,
    ) -> None:
        self._sums: ClassSums | None = None
        self._weighted = sample_weight is not None
        if predictions is None and labels is None:
            self._counts: dict[Pair, Any] = {}
            self._residuals: dict[Pair, tuple[float, ...]] = {}
        elif predictions is None or labels is None:
            msg = "ConfusionCounts() takes both predictions and labels, or neither"
            raise InputTypeError(msg)
        else:
            self._counts, self._residuals = count_pairs(
                predictions, labels, sample_weight
            )

    # ------------------------------------------------------------ accumulate

    def update(
        self, predictions: object, labels: object, *, sample_weight: object = None
    ) -> Self:
        """Count one more batch of predictions and their true labels.

        Raises:
            LengthMismatchError: ``"Predictions and labels must have same
                length ..."`` (or weights of the wrong length).
            MissingValueError: A None or NaN label, naming its position.
            InputTypeError: An unhashable label or a non-numeric weight.
        """
        counts, residuals = count_pairs(predictions, labels, sample_weight)
        if self._counts:
            merge_counts(self._counts, self._residuals, counts, residuals)
        else:
            self._counts, self._residuals = counts, residuals
        self._weighted = self._weighted or sample_weight is not None
        self._sums = None
        return self

    def merge(self, *others: ConfusionCounts) -> Self:
        """Add the counts of *others* into this one (in place) and return it."""
        for other in others:
            _check_mergeable(other)
            merge_counts(self._counts, self._residuals, other._counts, other._residuals)
            self._weighted = self._weighted or other._weighted
        self._sums = None
        return self

    def copy(self) -> ConfusionCounts:
        """An independent copy."""
        new = ConfusionCounts()
        new.__setstate__(self.__getstate__())
        return new

    def __add__(self, other: object) -> ConfusionCounts:
        if not isinstance(other, ConfusionCounts):
            return NotImplemented
        return self.copy().merge(other)

    def __radd__(self, other: object) -> ConfusionCounts:
        if other == 0:  # sum(list_of_counts) starts from 0
            return self.copy()
        return NotImplemented

    def __iadd__(self, other: object) -> Self:
        if not isinstance(other, ConfusionCounts):
            return NotImplemented
        return self.merge(other)

    # ------------------------------------------------------------ inspect

    @property
    def pair_counts(self) -> dict[tuple[Hashable, Hashable], int | float]:
        """A copy of the counts: ``{(label, prediction): count}``."""
        return dict(self._counts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfusionCounts):
            return NotImplemented
        return self.__getstate__() == other.__getstate__()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        try:
            classes: list[Hashable] = self.classes
        except InputTypeError:
            classes = list(self._class_sums().true)
        shown = repr(classes) if len(classes) <= 10 else f"[... {len(classes)} classes]"
        return f"ConfusionCounts(total={self.total!r}, classes={shown})"

    def __getstate__(self) -> tuple[dict[Pair, Any], dict[Pair, Any], bool]:
        return dict(self._counts), dict(self._residuals), self._weighted

    def __setstate__(
        self, state: tuple[dict[Pair, Any], dict[Pair, Any], bool]
    ) -> None:
        counts, residuals, weighted = state
        self._counts, self._residuals, self._weighted = (
            dict(counts),
            dict(residuals),
            weighted,
        )
        self._sums = None

    # ------------------------------------------------------------ JSON

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the state (labels must be JSON values).

        A count is an int, a float, or, for a float sum one float cannot hold
        exactly, the list of floats whose exact sum it is.

        Examples:
            >>> import json
            >>> c = ConfusionCounts(["a", "b"], ["a", "a"])
            >>> text = json.dumps(c.to_dict())
            >>> text
            '{"format": "ml_infra_utils.ConfusionCounts", "version": 1, "weighted": \
false, "counts": [["a", "a", 1], ["a", "b", 1]]}'
            >>> ConfusionCounts.from_dict(json.loads(text)) == c
            True
        """
        entries: list[list[Any]] = []
        for (label, prediction), count in self._counts.items():
            residual = self._residuals.get((label, prediction))
            value: Any = [count, *residual] if residual else count
            entries.append([label, prediction, value])
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "weighted": self._weighted,
            "counts": entries,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfusionCounts:
        """Rebuild counts from :meth:`to_dict` output (e.g. after ``json.loads``).

        JSON arrays among the labels come back as tuples (JSON has no tuples).
        Only states :meth:`to_dict` can produce are accepted: each
        ``(label, prediction)`` pair once, with a finite count that is an
        ``int >= 0`` in an unweighted state, and an int, a float or an exact
        expansion (a list of floats) in a weighted one (negative sample
        weights are allowed, so weighted counts may be negative).

        Raises:
            InputTypeError: *data* is not a mapping.
            InvalidParameterError: *data* is not the output of :meth:`to_dict`:
                another format or version, a malformed entry, a count that is
                not a finite number of the right kind, a pair given twice, or a
                label that is None or NaN. The message names the entry.
        """
        saved: object = data
        if not isinstance(saved, Mapping):
            kind = type(saved).__name__
            msg = f"from_dict needs a dict from to_dict(), got {kind}"
            raise InputTypeError(msg)
        fmt, version = data.get("format"), data.get("version")
        if fmt != _FORMAT or type(version) is not int or version != _VERSION:
            msg = (
                f"from_dict() needs the output of to_dict() (format {_FORMAT!r}, "
                f"version {_VERSION}), got format {short_repr(fmt)}, version "
                f"{short_repr(version)}"
            )
            raise InvalidParameterError(msg)
        if not set(data) <= _KEYS or "counts" not in data:
            msg = (
                f"from_dict() needs the keys {sorted(_KEYS)}, "
                f"got {sorted(map(str, data))}"
            )
            raise InvalidParameterError(msg)
        weighted = data.get("weighted", False)
        if not isinstance(weighted, bool):
            shown = short_repr(weighted)
            msg = f"from_dict(): 'weighted' must be true or false, got {shown}"
            raise InvalidParameterError(msg)
        entries = data["counts"]
        if not isinstance(entries, list):
            msg = (
                "from_dict(): 'counts' must be a list of [label, prediction, "
                f"count], got {type(entries).__name__}"
            )
            raise InvalidParameterError(msg)
        new = cls()
        for i, entry in enumerate(entries):
            pair, count, residual = _entry(entry, i, weighted=weighted)
            if pair in new._counts:
                msg = (
                    f"from_dict(): counts[{i}] repeats the pair (label, "
                    f"prediction) = {short_repr(pair)}; to_dict() lists each "
                    "pair once"
                )
                raise InvalidParameterError(msg)
            new._counts[pair] = count
            if residual:
                new._residuals[pair] = residual
        if check_distinct_labels({v for pair in new._counts for v in pair}):
            msg = "from_dict(): a label or prediction is None or NaN"
            raise InvalidParameterError(msg)
        new._weighted = weighted
        return new


def _entry(
    entry: object, i: int, *, weighted: bool
) -> tuple[Pair, int | float, tuple[float, ...]]:
    """One ``[label, prediction, count]`` of :meth:`ConfusionCounts.to_dict`."""
    if not isinstance(entry, list | tuple) or len(entry) != 3:
        msg = (
            f"from_dict(): counts[{i}] must be [label, prediction, count], "
            f"got {short_repr(entry)}"
        )
        raise InvalidParameterError(msg)
    label, prediction, value = entry
    pair = (_hashable(label), _hashable(prediction))
    try:
        hash(pair)
    except TypeError:
        msg = (
            f"from_dict(): counts[{i}] has a label or prediction that cannot "
            f"be a class (unhashable): {short_repr(entry)}"
        )
        raise InvalidParameterError(msg) from None
    count, residual = _count_value(value, i, weighted=weighted)
    return pair, count, residual


def _count_value(
    value: object, i: int, *, weighted: bool
) -> tuple[int | float, tuple[float, ...]]:
    """A JSON count: a number, or (weighted) the list of floats of an expansion."""
    parts: list[Any] = value if isinstance(value, list) else [value]
    kinds = {type(p) for p in parts}
    if weighted:
        expected = "a finite number, or a list of finite floats (an exact sum)"
        ok = (
            bool(parts)
            and kinds <= {int, float}
            and all(map(math.isfinite, parts))
            and (len(parts) == 1 or kinds == {float})
        )
    else:
        expected = "an int >= 0 (an unweighted state counts samples)"
        ok = len(parts) == 1 and kinds == {int} and parts[0] >= 0
    if not ok:
        msg = (
            f"from_dict(): the count of counts[{i}] must be {expected}, "
            f"got {short_repr(value)}"
        )
        raise InvalidParameterError(msg)
    if len(parts) == 1:
        return parts[0], ()
    exact = exact_sum(parts)
    return exact[0], exact[1:]


def _check_mergeable(other: object) -> None:
    if not isinstance(other, ConfusionCounts):
        msg = f"can only merge ConfusionCounts, not {type(other).__name__}"
        raise InputTypeError(msg)


def _hashable(value: Any) -> Hashable:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value  # type: ignore[no-any-return]
