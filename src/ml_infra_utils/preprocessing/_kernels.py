"""Numeric kernels shared by the preprocessing functions and scalers (private).

Everything here works on lists or tuples of plain ``float``/``int`` that the
caller has already validated, and leans on the C loops of the standard library
(``min``, ``max``, ``sum``, ``math.dist``, ``sorted``) so that a Python-level
loop runs at most once per value. The accuracy arguments are in the comments;
``docs/preprocessing.md`` explains the choices for users.
"""

from __future__ import annotations

import math
import numbers
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from operator import countOf

from ml_infra_utils._errors import (
    InfiniteValueError,
    InputTypeError,
    InvalidParameterError,
)
from ml_infra_utils._repr import int_digits, short_repr

__all__ = [
    "FLOAT_MAX",
    "all_floats",
    "as_float",
    "beyond_float_error",
    "check_ddof",
    "check_feature_range",
    "float_extremes",
    "lerp_values",
    "linear_percentile",
    "moments",
    "order_statistics",
    "percentile_ranks",
    "reject_beyond_float",
    "scale_by_power_of_two",
    "two_sum",
    "unit_scale",
]

FLOAT_MAX = sys.float_info.max
# A METH_NOARGS method of float: mapping it over the values is a C-level type
# check (TypeError for anything but a float) that costs less than a separate pass.
as_float = float.conjugate
_DIST_LO = 2.0**-450  # math.dist results whose square cannot under- or overflow
_DIST_HI = 2.0**450
_SORT_BELOW = 1024  # up to this size a full sort beats selection


def all_floats(values: Sequence[object]) -> bool:
    """Whether every element is exactly a ``float`` (one C-level pass).

    Examples:
        >>> all_floats([1.0, 2.5]), all_floats([1.0, 2]), all_floats([True])
        (True, False, False)
    """
    return countOf(map(type, values), float) == len(values)


def float_extremes(values: Sequence[object]) -> tuple[float, float, float] | None:
    """``(min, max, sum)`` at C speed when every value is a ``float``, else ``None``.

    The fast path of the functions that need the extremes: one ``min``, one
    ``max`` whose ``float.conjugate`` map raises ``TypeError`` for anything but a
    float, and one ``sum`` (NaN when a value is NaN or ``inf`` meets ``-inf``,
    ``inf`` when it overflows; callers decide what that means for them).

    Examples:
        >>> float_extremes([2.0, 1.0, 4.0]), float_extremes([2.0, 1])
        ((1.0, 4.0, 7.0), None)
    """
    try:
        lo = min(values)  # type: ignore[type-var]
        hi = max(map(as_float, values))  # type: ignore[arg-type]
        total = sum(values)  # type: ignore[arg-type]
    except TypeError:
        return None
    return lo, hi, total  # type: ignore[return-value]


def beyond_float_error(value: float | int, where: str, what: str) -> InfiniteValueError:
    """The error for *value* at *where* (``"data[3]"``): infinite, or an int too big.

    The digits of a huge int are counted without ``str()``, which refuses ints
    longer than 4300 digits.

    Examples:
        >>> str(beyond_float_error(10**5000, "data[0]", "normalize"))
        'data[0] is an int too large for a float (5001 digits)'
    """
    if isinstance(value, float):
        msg = f"{where} is {value}; {what} needs finite values"
    else:
        msg = f"{where} is an int too large for a float ({int_digits(value)} digits)"
    return InfiniteValueError(msg)


def reject_beyond_float(
    values: Sequence[float | int], name: str, what: str, *, allow_inf: bool = False
) -> None:
    """Raise for the first value that is infinite or an int too large for a float.

    With *allow_inf*, ``inf`` and ``-inf`` pass and only huge ints raise.

    Raises:
        InfiniteValueError: Naming the first such position.
    """
    for i, value in enumerate(values):
        if not -FLOAT_MAX <= value <= FLOAT_MAX and not (
            allow_inf and isinstance(value, float)
        ):
            raise beyond_float_error(value, f"{name}[{i}]", what)


def moments(
    values: Sequence[float | int], total: float | None = None
) -> tuple[float, float, float, int]:
    """Mean and spread of finite values, accurate and in O(1) Python steps.

    Returns:
        ``(k, dm, root, e)`` for the data scaled by ``2**-e`` (``e`` is 0 unless
        the values are huge or tiny): the mean is the double-double ``k + dm``
        and ``root = sqrt(sum((x - mean) ** 2))``. Exactly constant data gives
        ``dm == root == 0.0``. *total*, if given, is ``sum(values)``.

    Raises:
        OverflowError: For an ``int`` too large for a float.

    How: ``k`` is the naive mean (``sum`` in C). ``math.dist`` gives the
    Euclidean distance of the data from a constant, with extended precision and
    overflow-safe scaling, and since
    ``dist(x, a)**2 - dist(x, b)**2 == n * (b - a) * (2 * mean - a - b)``,
    two distances from ``a = k`` and ``b = k + rms`` pin the mean to within a
    few ulps of the *standard deviation*, however far the data sit from 0
    (a one-pass sum of squares would cancel catastrophically; this does not,
    because the distances are taken from points near the mean). The remaining
    spread is ``dist(x, k)**2 - n * dm**2``, or a third distance when ``k``
    was poor.

    Examples:
        >>> k, dm, root, e = moments([1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16])
        >>> k, abs(dm) < 1e-14, root**2 / 4  # mean 1e9 + 10, variance 22.5
        (1000000010.0, True, 22.5)
    """
    n = len(values)
    try:
        k = (sum(values) if total is None else total) / n
    except OverflowError:  # only ints get here: their exact sum / n overflows
        k = math.inf
    if not -FLOAT_MAX <= k <= FLOAT_MAX:
        return _rescaled_moments(values, math.frexp(max(map(abs, values)))[1])
    da = math.dist(values, (k,) * n)
    if da == 0.0:
        return k, 0.0, 0.0, 0
    if not _DIST_LO < da < _DIST_HI:
        # math.dist returns inf when the spread itself overflows.
        spread = da if da < math.inf else max(map(abs, values))
        return _rescaled_moments(values, math.frexp(spread)[1] + 2)
    rn = math.sqrt(n)
    step = da / rn
    b = k + step
    if b == k:  # the spread is below the resolution of k
        b = k + math.ulp(k)
    w = b - k
    db = math.dist(values, (b,) * n)
    dm = (da - db) * (da + db) / (2 * n * w) + w / 2
    if abs(dm) <= 8 * sys.float_info.epsilon * step:
        # Below the estimate's own rounding noise: k needs no correction (and
        # exact data such as small ints keep their exact mean).
        dm = 0.0
    offset = rn * abs(dm)
    if offset <= 0.5 * da:
        root = math.sqrt((da - offset) * (da + offset))
    else:  # k was far from the mean: measure the spread from the mean itself
        k, dm = two_sum(k, dm)
        root = math.dist(values, (k,) * n)
        offset = rn * abs(dm)
        root = math.sqrt((root - offset) * (root + offset)) if offset < root else 0.0
    return k, dm, root, 0


def _rescaled_moments(
    values: Sequence[float | int], e: int
) -> tuple[float, float, float, int]:
    # Scaling by a power of two is exact (bar underflow of values that are
    # negligible next to the spread), and every statistic scales along. ldexp
    # per value, since 2**-e itself may not be a finite float.
    k, dm, root, _ = moments(scale_by_power_of_two(values, -e))
    return k, dm, root, e


def scale_by_power_of_two(values: Sequence[float | int], e: int) -> tuple[float, ...]:
    """Each value times ``2**e``, exactly unless it under- or overflows."""
    ldexp = math.ldexp
    return tuple([ldexp(x, e) for x in values])


def two_sum(a: float, b: float) -> tuple[float, float]:
    """``a + b`` as a rounded sum and its exact rounding error (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def lerp_values(
    ts: list[float], low: float, high: float, *, clip: bool = False
) -> list[float]:
    """``low + t * (high - low)`` for each ``t``, exact at ``t == 0`` and ``t == 1``.

    Follows C++'s ``std::lerp`` (P0811): when ``low`` and ``high`` differ in sign
    the two-product form ``t*high + (1-t)*low`` is exact at both ends and
    bounded; otherwise ``low + t*(high-low)``, capped at ``high`` for
    ``0 <= t <= 1`` so rounding never leaves the range. With ``clip`` every
    result is clamped to ``[low, high]``.

    Examples:
        >>> lerp_values([0.0, 0.5, 1.0], -3.3, 7.9)
        [-3.3, 2.3000000000000003, 7.9]
    """
    if (low <= 0.0 <= high) or (high <= 0.0 <= low):
        out = [t * high + (1.0 - t) * low for t in ts]
    else:
        width = high - low
        # Rounding may carry low + t*width past high near t == 1; capping there
        # keeps the results monotonic and inside the range (as std::lerp does).
        out = [
            high if t == 1.0 or (v > high) is (t <= 1.0) else v
            for t in ts
            for v in (low + t * width,)
        ]
    if clip:
        out = [low if v < low else high if v > high else v for v in out]  # noqa: FURB136
    return out


def linear_percentile(q: float, n: int, at: dict[int, float | int]) -> float:
    """The *q*-th percentile as ``numpy.percentile``'s default (linear) method.

    *at* maps the ranks this needs (see :func:`percentile_ranks`) to the values
    at those ranks of the sorted data. For finite data the result equals numpy's
    bit for bit: same operations in the same order. Where numpy's arithmetic
    meets ``inf - inf`` or ``0 * inf`` and returns NaN, the result is the limit
    instead (a rank that lands exactly on a value gives that value; moving
    towards ``inf`` gives ``inf``); where two finite neighbours are further
    apart than the largest float, so that numpy's difference overflows to
    ``inf``, the result is the finite interpolated value.

    Raises:
        InfiniteValueError: When the percentile falls between ``-inf`` and
            ``inf``, where it has no value.

    Examples:
        >>> s = [1, 2, 3, 4]
        >>> linear_percentile(95.0, 4, dict(enumerate(s)))
        3.8499999999999996
    """
    vi = (n - 1) * (q / 100)
    if vi >= n - 1:
        return float(at[n - 1])
    i = math.floor(vi)
    g = vi - i
    a = at[i]
    b = at[i + 1]
    if math.isinf(a) or math.isinf(b):
        if a == b or g == 0.0:
            return float(a)
        if a == -math.inf and b == math.inf:
            msg = f"the {q:g}th percentile falls between -inf and inf; it is undefined"
            raise InfiniteValueError(msg)
        return float(a) if math.isinf(a) else float(b)
    return _interpolate(a, b, g)


def _interpolate(a: float, b: float, g: float) -> float:
    """``a + (b - a) * g`` for finite ``a <= b``, in numpy's order of operations."""
    d = b - a
    if d == math.inf:
        # Neighbours further apart than the largest float: numpy's arithmetic
        # gives inf or NaN here; interpolating at half scale gives the value,
        # which lies between the two and is representable.
        half = b / 2 - a / 2
        return b - (half * (1 - g)) * 2 if g >= 0.5 else a + (half * g) * 2
    return b - d * (1 - g) if g >= 0.5 else a + d * g


def percentile_ranks(q: float, n: int) -> tuple[int, ...]:
    """The ranks of the sorted data that :func:`linear_percentile` reads."""
    vi = (n - 1) * (q / 100)
    if vi >= n - 1:
        return (n - 1,)
    i = math.floor(vi)
    return (i, i + 1)


def order_statistics(
    values: list[float | int], ranks: Sequence[int]
) -> dict[int, float | int]:
    """The values at the given 0-based *ranks* of ``sorted(values)``.

    Ranks in the tails (the usual case for outlier percentiles) are found
    without sorting everything: a sorted stride sample suggests two pivots,
    one C-speed pass collects the values beyond them, and only those are
    sorted. Counting the collected values proves the pivots were far enough
    out; if not (e.g. data periodic with the stride), everything is sorted.
    Values must not be NaN.

    Examples:
        >>> order_statistics([5.0, 1.0, 4.0, 2.0, 3.0], [0, 4])
        {0: 1.0, 4: 5.0}
    """
    n = len(values)
    wanted = sorted(set(ranks))
    low = [r for r in wanted if r < n // 2]
    high = [r for r in wanted if r >= n // 2]
    need_low = low[-1] + 1 if low else 0  # the smallest values we must see
    need_high = n - high[0] if high else 0  # the largest values we must see
    if n > _SORT_BELOW and need_low + need_high <= n // 8:
        found = _tail_statistics(values, wanted, need_low, need_high)
        if found is not None:
            return found
    ordered = sorted(values)
    return {r: ordered[r] for r in wanted}


def _tail_statistics(
    values: list[float | int], wanted: list[int], need_low: int, need_high: int
) -> dict[int, float | int] | None:
    n = len(values)
    sample = sorted(values[:: n // 256])
    m = len(sample)
    p_low = sample[_sample_rank(need_low, n, m)] if need_low else -math.inf
    p_high = sample[m - 1 - _sample_rank(need_high, n, m)] if need_high else math.inf
    if not p_low < p_high:
        return None
    if not need_low:
        tails = [x for x in values if x >= p_high]
    elif not need_high:
        tails = [x for x in values if x <= p_low]
    else:
        tails = [x for x in values if x <= p_low or x >= p_high]
    tails.sort()
    count_low = bisect_right(tails, p_low) if need_low else 0
    count_high = len(tails) - bisect_left(tails, p_high) if need_high else 0
    if count_low < need_low or count_high < need_high:
        return None
    # Ranks below need_low sit at the start of the tails; the others count
    # back from the end (all values beyond the high pivot were collected).
    return {r: tails[r] if r < need_low else tails[r - n] for r in wanted}


def _sample_rank(count: int, n: int, m: int) -> int:
    # The sample rank whose value has, with a wide margin, at least `count`
    # data values at or below it (binomial spread ~ sqrt of the expectation).
    expected = count * m / n
    return min(m - 1, math.ceil(expected + 4 * math.sqrt(expected) + 4))


def unit_scale(values: list[float | int], lo: float, hi: float) -> list[float]:
    """``(x - lo) / (hi - lo)`` for each value, for ``lo < hi``.

    Rather than ``x * scale + offset``: exact at both ends, and never above 1
    since ``x - lo <= hi - lo`` under monotonic rounding.

    Examples:
        >>> unit_scale([2.0, 4.0, 3.0], 2.0, 4.0)
        [0.0, 1.0, 0.5]
    """
    r = hi - lo
    if r == math.inf:  # finite ends whose distance overflows: halve everything
        lo /= 2
        r = hi / 2 - lo
        return [(x / 2 - lo) / r for x in values]
    return [(x - lo) / r for x in values]


def check_feature_range(feature_range: object) -> tuple[float, float]:
    """Validate a ``(low, high)`` pair of finite reals with ``low < high``."""
    pair = tuple(feature_range) if isinstance(feature_range, list | tuple) else ()
    if len(pair) != 2 or not all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in pair
    ):
        msg = (
            "feature_range must be a pair (min, max) of numbers, "
            f"got {short_repr(feature_range)}"
        )
        raise InputTypeError(msg)
    low, high = float(pair[0]), float(pair[1])
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        msg = f"feature_range must be finite with min < max, got {short_repr(pair)}"
        raise InvalidParameterError(msg)
    return low, high


def check_ddof(ddof: object) -> int:
    """Validate delta degrees of freedom: an integer ``>= 0`` (numpy ints too).

    Raises:
        InputTypeError: For a non-integer (``bool`` included).
        InvalidParameterError: For a negative integer.
    """
    if isinstance(ddof, bool) or not isinstance(ddof, numbers.Integral):
        msg = f"ddof must be an int >= 0, got {short_repr(ddof)}"
        raise InputTypeError(msg)
    if ddof < 0:
        msg = f"ddof must be an int >= 0, got {ddof}"
        raise InvalidParameterError(msg)
    return int(ddof)
