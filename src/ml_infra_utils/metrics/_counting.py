"""Count (label, prediction) pairs: the one state every metric derives from.

The state is a plain ``dict`` mapping ``(label, prediction)`` to the number of
samples (or their summed weight) with that pair. It is exact and mergeable:
counts are Python ints, and float weight sums keep an exact *expansion* (a
short tuple of floats whose exact sum is the true total), so chunked + merged
state is identical to one pass over all the data.

Three ways to fill it, fastest first:

- labels and predictions that are all ints in 0..255 (class indices, the
  common case) are packed into one byte each and counted with ``bytes.translate``
  and big-int popcounts, all at C speed; numpy integer arrays take this path
  straight from their buffer, without making Python objects;
- any other hashable labels are counted with ``collections.Counter(zip(...))``;
  validation then inspects only the distinct pairs, not every element;
- sample weights are grouped per pair in one Python loop.

Examples:
    >>> counts, residuals = count_pairs([0, 1, 1], [0, 1, 0])
    >>> sorted(counts.items()), residuals
    ([((0, 0), 1), ((0, 1), 1), ((1, 1), 1)], {})
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Hashable, Iterable
from functools import cache
from typing import Any

from ml_infra_utils._errors import InfiniteValueError, LengthMismatchError
from ml_infra_utils._repr import short_repr
from ml_infra_utils._sequences import (
    as_labels,
    as_reals,
    check_distinct_labels,
    to_list,
)

__all__ = [
    "Pair",
    "count_pairs",
    "exact_sum",
    "exact_total",
    "length_error",
    "merge_counts",
    "packed_accuracy",
    "state_total",
]

Pair = tuple[Hashable, Hashable]

# Below this size one Counter over nibble-packed pair codes beats popcounts.
_POPCOUNT_MIN_SIZE = 4096
_NIBBLES = bytes(range(16))
_NIBBLE_PAIRS = [(code >> 4, code & 15) for code in range(256)]
# Above this many popcounts per call the Counter over packed bytes wins.
_MAX_POPCOUNTS = 64
_INT_FORMATS = frozenset("bBhHiIlLqQnN?")
_NOT_LABEL_SEQUENCES = (str, bytes, bytearray, memoryview)
_NON_NEGATIVE_INT8 = bytes(range(128))


def length_error(n_predictions: int, n_labels: int) -> LengthMismatchError:
    """The error for predictions and labels of different lengths."""
    msg = (
        "Predictions and labels must have same length "
        f"(got {n_predictions} predictions and {n_labels} labels)"
    )
    return LengthMismatchError(msg)


def count_pairs(
    predictions: object, labels: object, sample_weight: object = None
) -> tuple[dict[Pair, Any], dict[Pair, tuple[float, ...]]]:
    """Count the (label, prediction) pairs of two equally long inputs.

    Returns:
        ``(counts, residuals)``: ``counts[(label, prediction)]`` is the number of
        samples with that pair, or the correctly rounded sum of their weights;
        ``residuals`` holds, for float sums that one float cannot hold exactly,
        the rest of the exact expansion (see :func:`exact_sum`).

    Raises:
        LengthMismatchError: Inputs (or weights) of different lengths.
        MissingValueError: A ``None`` or NaN label, prediction or weight.
        InputTypeError: An unhashable label, a non-numeric weight, a bad container.
        InfiniteValueError: A non-finite weight, or weights whose sum overflows.
    """
    if sample_weight is None:
        packed = _packed_pair_counts(predictions, labels)
        if packed is not None:
            return packed, {}
    predicted = to_list(predictions, name="predictions")
    actual = to_list(labels, name="labels")
    if len(predicted) != len(actual):
        raise length_error(len(predicted), len(actual))
    if sample_weight is None:
        if type(predictions) is not list or type(labels) is not list:
            # Tuples, generators, pandas Series...: now lists, maybe packable.
            packed = _packed_pair_counts(predicted, actual)
            if packed is not None:
                return packed, {}
        try:
            counts = Counter(zip(actual, predicted, strict=True))
        except TypeError:
            _locate_bad_labels(predicted, actual)
            raise
        _check_pairs(counts, predicted, actual)
        return counts, {}
    return _weighted_counts(predicted, actual, sample_weight)


def _pack_pair(
    predictions: object, labels: object
) -> tuple[tuple[bytes, bool | None], tuple[bytes, bool | None]] | None:
    """Both inputs byte-packed (see :func:`_pack`), labels first, or None when
    either does not pack.

    Raises:
        LengthMismatchError: Packed inputs of different lengths.
    """
    packed_labels = _pack(labels)
    if packed_labels is None:
        return None
    packed_predictions = _pack(predictions)
    if packed_predictions is None:
        return None
    n_labels, n_predictions = len(packed_labels[0]), len(packed_predictions[0])
    if n_predictions != n_labels:
        raise length_error(n_predictions, n_labels)
    return packed_labels, packed_predictions


def _packed_pair_counts(predictions: object, labels: object) -> dict[Pair, Any] | None:
    """Pair counts via the byte fast path, or None when the inputs do not pack."""
    packed = _pack_pair(predictions, labels)
    if packed is None:
        return None
    packed_labels, packed_predictions = packed
    counts = _byte_pair_counts(packed_labels[0], packed_predictions[0])
    return _restore_bools(
        counts, (labels, *packed_labels), (predictions, *packed_predictions)
    )


def packed_accuracy(predictions: object, labels: object) -> float | None:
    """Unweighted accuracy via the byte fast path, or None when the inputs do
    not pack (small non-negative ints: lists, arrays, numpy integer arrays).

    Equal bytes are equal labels (bools pack as 0 and 1, which equal them), so
    the share of zero bytes in the XOR of the two is the accuracy: no pair
    counts are built.
    """
    packed = _pack_pair(predictions, labels)
    if packed is None:
        return None
    truth, guess = packed[0][0], packed[1][0]
    n = len(truth)
    if not n:
        return 0.0
    return (int.from_bytes(truth) ^ int.from_bytes(guess)).to_bytes(n).count(0) / n


def _locate_bad_labels(predicted: list[Any], actual: list[Any]) -> None:
    as_labels(predicted, name="predictions")
    as_labels(actual, name="labels")


def _check_pairs(
    counts: dict[Pair, Any], predicted: list[Any], actual: list[Any]
) -> None:
    # Only the distinct values are inspected; the O(n) search that names the
    # position runs only when one of them is None or NaN.
    if check_distinct_labels({p for _, p in counts}):
        as_labels(predicted, name="predictions")
    if check_distinct_labels({t for t, _ in counts}):
        as_labels(actual, name="labels")


def _weighted_counts(
    predicted: list[Any], actual: list[Any], sample_weight: object
) -> tuple[dict[Pair, Any], dict[Pair, tuple[float, ...]]]:
    weights = as_reals(sample_weight, name="sample_weight")
    if len(weights) != len(actual):
        msg = (
            "sample_weight must have one weight per sample "
            f"(got {len(weights)} weights for {len(actual)} samples)"
        )
        raise LengthMismatchError(msg)
    all_ints = set(map(type, weights)) <= {int}
    if not all_ints:
        weights = _finite_floats(weights)
        total = sum(weights)  # C speed; inf (or NaN) only when it overflows
        if total - total != 0.0:
            exact_total(weights)  # every score needs the total: refuse it now
    try:
        groups = _group_weights(zip(actual, predicted, strict=True), weights, all_ints)
    except TypeError:
        _locate_bad_labels(predicted, actual)
        raise
    _check_pairs(groups, predicted, actual)
    if all_ints:
        return groups, {}
    counts: dict[Pair, Any] = {}
    residuals: dict[Pair, tuple[float, ...]] = {}
    for pair, group in groups.items():
        parts = exact_sum(group)
        counts[pair] = parts[0]
        if len(parts) > 1:
            residuals[pair] = parts[1:]
    return counts, residuals


def _finite_floats(weights: list[int | float]) -> list[float]:
    try:
        floats = [float(w) for w in weights]
    except OverflowError:  # an int beyond the float range among floats
        floats = [
            math.inf if abs(w) > sys.float_info.max else float(w) for w in weights
        ]
    if not all(map(math.isfinite, floats)):
        i = next(i for i, w in enumerate(floats) if not math.isfinite(w))
        msg = f"sample_weight[{i}] is {short_repr(weights[i])}; weights must be finite"
        raise InfiniteValueError(msg)
    return floats


def _group_weights(
    pairs: Iterable[Pair], weights: list[Any], all_ints: bool
) -> dict[Pair, Any]:
    """Per pair: the int sum of int weights, or the list of float weights."""
    groups: dict[Pair, Any] = {}
    if all_ints:
        for pair, w in zip(pairs, weights, strict=True):
            groups[pair] = groups.get(pair, 0) + w
        return groups
    for pair, w in zip(pairs, weights, strict=True):
        group = groups.get(pair)
        if group is None:
            groups[pair] = [w]
        else:
            group.append(w)
    return groups


def exact_sum(values: list[float]) -> tuple[float, ...]:
    """The exact sum of floats as its canonical expansion.

    The first element is the correctly rounded sum (``math.fsum``); each next
    one is the correctly rounded remainder, until the remainder is exactly 0.
    The expansion depends only on the exact sum, not on the order or grouping
    of the values, which is what makes merged state identical to one pass.

    Raises:
        InfiniteValueError: The sum overflows the float range.

    Examples:
        >>> exact_sum([0.1, 0.2])
        (0.30000000000000004, -2.7755575615628914e-17)
        >>> exact_sum([1.0, 2.0])
        (3.0,)
    """
    rest = list(values)
    parts: list[float] = []
    try:
        while True:
            part = math.fsum(rest)
            parts.append(part)
            if part == 0.0:
                return tuple(parts[:-1]) or (0.0,)
            rest.append(-part)
    except OverflowError:
        raise _overflow_error() from None


def exact_total(values: Iterable[Any]) -> Any:
    """The exact sum of counts: an ``int`` for ints, else the rounded ``fsum``.

    The one way every total of the metrics is taken (sample counts, weight
    sums, supports), so they agree to the last bit.

    Raises:
        InfiniteValueError: A float sum that overflows the float range.

    Examples:
        >>> exact_total([1, 2]), exact_total([0.1, 0.2, -0.3])
        (3, 2.7755575615628914e-17)
    """
    values = list(values)
    if all(type(v) is int for v in values):
        return sum(values)
    try:
        return math.fsum(values)
    except OverflowError:
        raise _overflow_error() from None


def state_total(
    counts: dict[Pair, Any],
    residuals: dict[Pair, tuple[float, ...]],
    pairs: Iterable[Pair] | None = None,
) -> Any:
    """The exact total of a state's counts (of *pairs* only, if given)."""
    chosen = counts if pairs is None else [p for p in pairs if p in counts]
    parts = [counts[pair] for pair in chosen]
    if residuals:
        parts += [x for pair in chosen for x in residuals.get(pair, ())]
    return exact_total(parts)


def _overflow_error() -> InfiniteValueError:
    msg = (
        "the sum of the sample weights overflows the float range "
        "(about 1.8e308); rescale sample_weight"
    )
    return InfiniteValueError(msg)


def merge_counts(
    counts: dict[Pair, Any],
    residuals: dict[Pair, tuple[float, ...]],
    other_counts: dict[Pair, Any],
    other_residuals: dict[Pair, tuple[float, ...]],
) -> None:
    """Add the second state into the first, in place, exactly."""
    for pair, value in other_counts.items():
        mine = counts.get(pair)
        if mine is None:
            counts[pair] = value
            if pair in other_residuals:
                residuals[pair] = other_residuals[pair]
        elif type(mine) is int and type(value) is int:
            counts[pair] = mine + value
        else:
            parts = exact_sum(
                [
                    float(mine),
                    *residuals.get(pair, ()),
                    float(value),
                    *other_residuals.get(pair, ()),
                ]
            )
            counts[pair] = parts[0]
            if len(parts) > 1:
                residuals[pair] = parts[1:]
            else:
                residuals.pop(pair, None)


# ---------------------------------------------------------------- byte fast path


def _as_byte_labels(data: object) -> bytes | None:
    """*data* as one byte per element when every element is an int in 0..255."""
    packed = _pack(data)
    return None if packed is None else packed[0]


def _pack(data: object) -> tuple[bytes, bool | None] | None:
    """The bytes of :func:`_as_byte_labels`, and whether the input holds bools.

    The flag is None for a list (its elements tell), else whether the buffer's
    items are bools.
    """
    if type(data) is list:
        try:
            return bytes(data), None  # C speed; raises at a non-int or big int
        except (TypeError, ValueError):
            return None
    if isinstance(data, _NOT_LABEL_SEQUENCES):
        return None
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        return None
    low = _buffer_bytes(view)
    return None if low is None else (low, view.format.endswith("?"))


def _buffer_bytes(view: memoryview) -> bytes | None:
    fmt = view.format
    code = fmt[-1]
    if (
        view.ndim != 1
        or code not in _INT_FORMATS
        or len(fmt) > 2
        or (len(fmt) == 2 and fmt[0] not in "@=<>!")
        or not view.c_contiguous
    ):
        return None
    raw = view.tobytes()
    size = view.itemsize
    if size == 1:
        low = raw
    else:
        little = fmt[0] == "<" or (fmt[0] not in ">!" and sys.byteorder == "little")
        offset = 0 if little else size - 1
        low = raw[offset::size]
        # Every other byte must be 0, else some value is negative or above 255.
        expected = bytearray(len(raw))
        expected[offset::size] = low
        if expected != raw:
            return None
    if code == "b" and low.translate(None, _NON_NEGATIVE_INT8):
        return None  # negative int8 values
    return low


def _restore_bools(
    counts: dict[Pair, Any],
    labels: tuple[object, bytes, bool | None],
    predictions: tuple[object, bytes, bool | None],
) -> dict[Pair, Any]:
    """Give bool inputs their False/True classes back (packing made them 0/1).

    Each of 0 and 1 takes the type of its first occurrence in the labels (else
    the predictions), as the keys of a Counter would.
    """
    bool_of: dict[Hashable, bool] = {}
    for value in (0, 1):
        for data, packed, bool_buffer in (labels, predictions):
            if value in packed:  # memchr
                if bool_buffer is None:  # a list: its first such element tells
                    is_bool = type(data[data.index(value)]) is bool  # type: ignore[index, attr-defined]
                else:
                    is_bool = bool_buffer
                if is_bool:
                    bool_of[value] = bool(value)
                break
    if not bool_of:
        return counts
    return {(bool_of.get(t, t), bool_of.get(p, p)): c for (t, p), c in counts.items()}


@cache
def _one_hot(value: int) -> bytes:
    """The translation table mapping byte *value* to 1 and every other to 0."""
    return bytes(value) + b"\x01" + bytes(255 - value)


def _present(data: bytes) -> list[int]:
    return [v for v in range(256) if v in data]  # memchr per value


def _byte_pair_counts(labels: bytes, predictions: bytes) -> dict[Pair, Any]:
    """Pair counts of byte-packed inputs from big-int popcounts (C speed).

    The indicator of "label == t" is a big int with one byte per sample; the
    count of (t, p) is the popcount of the AND of two indicators. The last
    class on each side needs no indicator: its counts follow from the totals.
    """
    n = len(labels)
    if n < _POPCOUNT_MIN_SIZE:
        if labels.translate(None, _NIBBLES) or predictions.translate(None, _NIBBLES):
            return Counter(zip(labels, predictions, strict=True))
        # Both fit in 4 bits: one byte per pair, label in the high nibble.
        pairs = (int.from_bytes(labels) << 4 | int.from_bytes(predictions)).to_bytes(n)
        codes = set(pairs)
        if len(codes) <= 16:  # few pairs: one C-speed scan per pair wins
            return {_NIBBLE_PAIRS[code]: pairs.count(code) for code in codes}
        return {_NIBBLE_PAIRS[code]: c for code, c in Counter(pairs).items()}
    rows, cols = _present(labels), _present(predictions)
    if (len(rows) - 1) * (len(cols) - 1) > _MAX_POPCOUNTS:
        return Counter(zip(labels, predictions, strict=True))
    row_bits = [int.from_bytes(labels.translate(_one_hot(t))) for t in rows[:-1]]
    col_bits = [int.from_bytes(predictions.translate(_one_hot(p))) for p in cols[:-1]]
    col_totals = [bits.bit_count() for bits in col_bits]
    col_totals.append(n - sum(col_totals))
    cells: list[list[int]] = []
    for bits in row_bits:
        row = [(bits & other).bit_count() for other in col_bits]
        row.append(bits.bit_count() - sum(row))
        cells.append(row)
    # The last true class: what the other rows leave of each column's total.
    used = [sum(row[j] for row in cells) for j in range(len(cols))]
    cells.append([total - u for total, u in zip(col_totals, used, strict=True)])
    return {
        (t, p): count
        for t, row in zip(rows, cells, strict=True)
        for p, count in zip(cols, row, strict=True)
        if count
    }
