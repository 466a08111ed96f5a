"""Min-max scaling, z-scores and percentile clipping of a sequence of numbers.

Each function takes any finite iterable of real numbers (list, tuple, range,
``array.array``, generator, numpy array, pandas Series) and returns a new list
of floats; the input is never modified. ``None`` or NaN raises
:class:`~ml_infra_utils.MissingValueError` and a non-number (``bool``
included) :class:`~ml_infra_utils.InputTypeError`, both naming the position.
What each function does with ``inf`` is in its docstring.

The fit/transform versions, which learn the statistics on training data and
apply them to new data, are :class:`~ml_infra_utils.MinMaxScaler` and
:class:`~ml_infra_utils.StandardScaler`; they are re-exported here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

from ml_infra_utils._errors import (
    ConstantInputError,
    EmptyInputError,
    InputTypeError,
    InvalidParameterError,
)
from ml_infra_utils._repr import short_repr
from ml_infra_utils._sequences import as_reals, to_list

from ._kernels import (
    FLOAT_MAX,
    all_floats,
    check_ddof,
    check_feature_range,
    float_extremes,
    lerp_values,
    linear_percentile,
    moments,
    order_statistics,
    percentile_ranks,
    reject_beyond_float,
    scale_by_power_of_two,
    unit_scale,
)
from .scalers import MinMaxScaler, StandardScaler

__all__ = [
    "MinMaxScaler",
    "StandardScaler",
    "clip_outliers",
    "normalize",
    "standardize",
]


def normalize(
    data: Iterable[float], *, feature_range: tuple[float, float] = (0.0, 1.0)
) -> list[float]:
    """Scale values linearly so that their minimum and maximum span *feature_range*.

    Each value becomes ``(x - min) / (max - min)`` (then mapped onto
    *feature_range*), computed as numpy computes it, so the minimum maps to
    exactly ``feature_range[0]``, the maximum to exactly ``feature_range[1]``
    and no result leaves the range.

    Args:
        data: A finite iterable of real numbers.
        feature_range: ``(low, high)``, finite with ``low < high``.

    Returns:
        A new list of floats.

    Raises:
        EmptyInputError: ``"Cannot normalize empty data"``.
        ConstantInputError: ``"All values are identical, cannot normalize"``.
        InfiniteValueError: For ``inf``/``-inf``: the range would be infinite
            and every finite value would map to the same end.
        MissingValueError: For ``None`` or NaN.
        InputTypeError: For a value that is not a real number.
        InvalidParameterError: For a bad *feature_range*.

    Examples:
        >>> normalize([1, 2, 3, 4, 5])
        [0.0, 0.25, 0.5, 0.75, 1.0]
        >>> normalize([10.0, 20.0, 15.0], feature_range=(-1, 1))
        [-1.0, 1.0, 0.0]
        >>> normalize([])
        Traceback (most recent call last):
        ...
        ml_infra_utils.EmptyInputError: Cannot normalize empty data
    """
    low, high = check_feature_range(feature_range)
    values = to_list(data, name="data")
    if not values:
        msg = "Cannot normalize empty data"
        raise EmptyInputError(msg)
    extremes = float_extremes(values)
    # Not fast for NaN, inf, a sum that overflows, and float subclasses with
    # their own arithmetic (numpy scalars), which take the converting path.
    if extremes is not None and type(t := extremes[2]) is float and t - t == 0.0:
        lo, hi = extremes[0], extremes[1]
    else:
        values = as_reals(values, name="data")
        lo = min(values)
        hi = max(values)
        if not (lo >= -FLOAT_MAX and hi <= FLOAT_MAX):
            reject_beyond_float(values, "data", "normalize")
    if lo == hi:
        msg = "All values are identical, cannot normalize"
        raise ConstantInputError(msg)
    ts = unit_scale(values, lo, hi)
    if low == 0.0 and high == 1.0:
        return ts
    return lerp_values(ts, low, high)


def standardize(data: Iterable[float], *, ddof: int = 0) -> list[float]:
    """Z-scores: ``(x - mean) / std`` for each value.

    The standard deviation divides by ``n - ddof``: population (``ddof=0``, as
    scikit-learn's ``StandardScaler``, ``scipy.stats.zscore`` and ``numpy.std``)
    by default, sample with ``ddof=1``. The mean and spread are computed in two
    passes with compensated C arithmetic (never the one-pass sum of squares), so
    adding ``1e9`` to every value leaves the z-scores unchanged to ~1e-15 of the
    spread.

    Args:
        data: A finite iterable of real numbers.
        ddof: Delta degrees of freedom, an ``int >= 0`` smaller than the number
            of values.

    Returns:
        A new list of floats.

    Raises:
        EmptyInputError: ``"Cannot standardize empty data"``.
        ConstantInputError: When every value is the same (zero variance).
        InfiniteValueError: For ``inf``/``-inf`` (the mean would be infinite).
        MissingValueError: For ``None`` or NaN.
        InputTypeError: For a value that is not a real number.
        InvalidParameterError: For a bad *ddof*.

    Examples:
        >>> standardize([1, 2, 3, 4])
        [-1.3416407864998738, -0.4472135954999579, 0.4472135954999579, \
1.3416407864998738]
        >>> standardize([2.0, 4.0], ddof=1)
        [-0.7071067811865475, 0.7071067811865475]
    """
    check_ddof(ddof)
    values = to_list(data, name="data")
    n = len(values)
    if not n:
        msg = "Cannot standardize empty data"
        raise EmptyInputError(msg)
    total: float | None = None
    if all_floats(values):
        total = sum(values)
        if total - total != 0.0:  # NaN, inf, or a sum that overflowed
            as_reals(values, name="data")  # raises for NaN
            reject_beyond_float(values, "data", "standardize")
            total = None
    else:
        values = as_reals(values, name="data")
        if not (min(values) >= -FLOAT_MAX and max(values) <= FLOAT_MAX):
            reject_beyond_float(values, "data", "standardize")
    values_t = tuple(values)  # math.dist reads a tuple without copying it
    if n <= ddof:
        msg = f"standardize with ddof={ddof} needs more than {ddof} values, got {n}"
        raise InvalidParameterError(msg)
    k, dm, root, e = moments(values_t, total)
    if root <= 8 * math.sqrt(n) * math.ulp(k) and values.count(values[0]) == n:
        msg = "All values are identical, cannot standardize"
        raise ConstantInputError(msg)
    s = root / math.sqrt(n - ddof)
    m = k + dm
    # Multiplying by 1/s rather than dividing by s: 5 % faster, and at most an
    # ulp from the quotient, far below the error numpy's mean already carries.
    inv = 1.0 / s
    if e:  # huge or tiny values: work on the scaled data the moments describe
        return [(x - m) * inv for x in scale_by_power_of_two(values, -e)]
    if math.ulp(m) > s * 2.0**-50:
        # The mean is far from 0 relative to the spread: subtract its two parts
        # separately so its rounding to a float does not reach the z-scores.
        return [((x - k) - dm) * inv for x in values]
    return [(x - m) * inv for x in values]


def clip_outliers(
    data: Iterable[float],
    *,
    lower_percentile: float = 1.0,
    upper_percentile: float = 99.0,
) -> list[float]:
    """Clip values to the given percentiles of the data.

    The percentiles are ``numpy.percentile``'s default ``"linear"`` method
    (Hyndman & Fan type 7), computed with numpy's own sequence of operations, so
    for finite data the bounds are bit-for-bit numpy's and the result equals
    ``np.clip(a, *np.percentile(a, [lower, upper]))``. The outermost values are
    found by selection rather than a full sort.

    ``inf`` and ``-inf`` are allowed: they are the most extreme values and are
    clipped like any other. A percentile that lands exactly on a value is that
    value, and one interpolated towards ``inf`` is ``inf`` (numpy returns NaN
    in both cases); such a bound clips nothing on its side.

    Args:
        data: A finite iterable of real numbers.
        lower_percentile: In ``[0, 100]``.
        upper_percentile: In ``[lower_percentile, 100]``.

    Returns:
        A new list of floats.

    Raises:
        EmptyInputError: For empty data.
        MissingValueError: For ``None`` or NaN.
        InputTypeError: For a value that is not a real number.
        InvalidParameterError: For percentiles outside ``0..100`` or in the
            wrong order.
        InfiniteValueError: When a percentile falls between ``-inf`` and
            ``inf`` and so has no value.

    Examples:
        >>> clip_outliers([1, 2, 3, 4, 100], lower_percentile=0, upper_percentile=75)
        [1.0, 2.0, 3.0, 4.0, 4.0]
        >>> clip_outliers([1.0, 2.0, 3.0, 4.0], lower_percentile=25)  # as numpy
        [1.75, 2.0, 3.0, 3.9699999999999998]
    """
    lower = _check_percentile(lower_percentile, "lower_percentile")
    upper = _check_percentile(upper_percentile, "upper_percentile")
    if lower > upper:
        msg = (
            "lower_percentile must not exceed upper_percentile, got "
            f"{short_repr(lower_percentile)} > {short_repr(upper_percentile)}"
        )
        raise InvalidParameterError(msg)
    values = to_list(data, name="data")
    n = len(values)
    if not n:
        msg = "Cannot clip outliers of empty data"
        raise EmptyInputError(msg)
    floats = all_floats(values)
    if floats:
        total = sum(values)
        if total != total:
            as_reals(values, name="data")  # raises for NaN (inf + -inf is fine)
    else:
        values = as_reals(values, name="data")
        if not (min(values) >= -FLOAT_MAX and max(values) <= FLOAT_MAX):
            # inf is a value clip_outliers handles; an int beyond floats is not.
            reject_beyond_float(values, "data", "clip_outliers", allow_inf=True)
    stats = order_statistics(
        values, percentile_ranks(lower, n) + percentile_ranks(upper, n)
    )
    lo = linear_percentile(lower, n, stats)
    hi = linear_percentile(upper, n, stats)
    lo = min(lo, hi)  # as np.clip, whose upper bound wins if rounding crossed them
    # Conditional expressions, not min/max calls: a call per value is 3x slower.
    if floats:
        return [hi if x > hi else lo if x < lo else x for x in values]  # noqa: FURB136
    return [hi if x > hi else lo if x < lo else float(x) for x in values]


def _check_percentile(q: object, name: str) -> float:
    if isinstance(q, bool) or not isinstance(q, numbers.Real):
        msg = f"{name} must be a number in [0, 100], got {short_repr(q)}"
        raise InputTypeError(msg)
    value = float(q)
    if not 0.0 <= value <= 100.0:
        msg = f"{name} must be in [0, 100], got {short_repr(q)}"
        raise InvalidParameterError(msg)
    return value
