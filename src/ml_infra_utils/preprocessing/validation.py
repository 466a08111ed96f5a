"""Checks to run on raw data before it reaches a model: missing values, ranges, types.

Two kinds of check live here:

- :func:`check_missing_values` and :func:`check_data_types` *report*: they
  return the positions of the offending values (an empty list when all is
  well) and never raise for what they look for;
- :func:`validate_range` *guards*: it returns ``None`` or raises
  :class:`~ml_infra_utils.OutOfRangeError` (a ``ValueError``) saying how many
  values fall outside and where the first few are.

All accept any finite iterable (list, tuple, generator, numpy array, pandas
Series); a string is not a sequence of values (``TypeError``).
"""

from __future__ import annotations

import math
import numbers
import struct
import types
import typing
from collections.abc import Iterable
from itertools import compress
from operator import countOf

from ml_infra_utils._errors import (
    InputTypeError,
    InvalidParameterError,
    OutOfRangeError,
)
from ml_infra_utils._repr import short_repr
from ml_infra_utils._sequences import as_reals, check_flag, is_missing, to_list

from ._kernels import float_extremes

__all__ = ["check_data_types", "check_missing_values", "validate_range"]

# Types whose NaN test is `v != v` and safe (a plain bool, never an exception).
_SIMPLE = frozenset({float, int, bool, str, bytes, type(None)})
# Number types that bool subclasses but that do not "ask for" bool.
_NUMBER_TYPES = frozenset(
    {
        int,
        numbers.Number,
        numbers.Complex,
        numbers.Real,
        numbers.Rational,
        numbers.Integral,
    }
)
_SHOWN = 5  # how many offending values an error message lists
# 1 for a double's top byte (little-endian) whose seven exponent bits are all
# set: NaN, inf, or a magnitude of at least 2**1009. See _nan_positions.
_TOP_BYTE_FLAGS = bytes(int(b & 0x7F == 0x7F) for b in range(256))
_PACK_CHUNK = 1 << 16  # values packed at a time (bounds the extra memory)


def check_missing_values(data: Iterable[object]) -> list[int]:
    """The positions holding a missing value: ``None`` or a NaN of any type.

    NaN is recognised as a ``float``, ``Decimal`` (quiet or signalling),
    ``complex`` or numpy scalar, and any other object that is unequal to itself
    (pandas ``NA`` and ``NaT`` included): the same rule by which every other
    function of the package refuses missing values. Strings such as ``"nan"``
    or ``""`` are values, not missing. Runs at C speed for plain float data.

    Args:
        data: A flat finite iterable of values of any type.

    Returns:
        The positions, in order; ``[]`` when nothing is missing.

    Raises:
        InputTypeError: For a string or non-iterable *data*, or an element that
            is a list or tuple (check 2-D data row by row or column by column).

    Examples:
        >>> check_missing_values([1.0, None, float("nan"), "nan", 4])
        [1, 2]
        >>> from decimal import Decimal
        >>> check_missing_values([Decimal("1.5"), Decimal("NaN")])
        [1]
    """
    values = to_list(data, name="data")
    # Fast paths in C for numbers: their sum is NaN exactly when some value is
    # NaN (or inf meets -inf), and adding None, strings or rows raises.
    try:
        total = sum(values)
        has_nan: bool | None = bool(total != total)
    except Exception:  # not numbers (or a pandas.NA, whose truth is undefined)
        has_nan = None
    if has_nan is False:
        return []
    if has_nan:
        try:
            return _nan_positions(values)
        except (TypeError, ValueError, OverflowError, struct.error):
            pass  # complex, sNaN, ints too large for a float: value by value
    if set(map(type, values)) <= _SIMPLE:
        return [i for i, v in enumerate(values) if v is None or v != v]
    return [i for i, v in enumerate(values) if _is_missing(v, i)]


def _nan_positions(values: list[typing.Any]) -> list[int]:
    """The NaN positions of values that convert to float, at C speed when sparse.

    Each value is packed as a little-endian double (``struct``, in chunks to
    bound the memory); its top byte holds the sign and the seven high exponent
    bits, all set only for NaN, infinities and magnitudes of at least 2**1009.
    ``bytes.translate`` marks those bytes and ``bytes.find`` visits them, so a
    value is tested on its own only when its top byte says it may be NaN. When
    many are marked, one ``isnan`` per value is cheaper.

    Raises:
        TypeError, ValueError, OverflowError, struct.error: A value does not
            convert to float (the caller then checks value by value).

    Examples:
        >>> nan = float("nan")
        >>> _nan_positions([1.0, nan, 2.0, float("inf"), 1e305, nan])
        [1, 5]
    """
    n = len(values)
    found: list[int] = []
    isnan = math.isnan
    for start in range(0, n, _PACK_CHUNK):
        part = values[start : start + _PACK_CHUNK]
        flags = struct.pack(f"<{len(part)}d", *part)[7::8].translate(_TOP_BYTE_FLAGS)
        if flags.count(1) > len(part) // 8:  # dense: test every value
            found += compress(range(start, start + len(part)), map(isnan, part))
            continue
        find = flags.find
        i = find(1)
        while i >= 0:
            if isnan(part[i]):
                found.append(start + i)
            i = find(1, i + 1)
    return found


def _is_missing(value: object, i: int) -> bool:
    if isinstance(value, list | tuple):
        msg = (
            f"data[{i}] is a {type(value).__name__}; check_missing_values takes a "
            "flat sequence of values (check 2-D data row by row or column by column)"
        )
        raise InputTypeError(msg)
    return is_missing(value)


def validate_range(
    data: Iterable[float],
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    inclusive: bool = True,
) -> None:
    """Check that every value lies within ``[min_value, max_value]``.

    Args:
        data: A finite iterable of real numbers (``inf`` is compared as usual).
        min_value: The lower bound, or ``None`` for none.
        max_value: The upper bound, or ``None`` for none.
        inclusive: Whether a value equal to a bound is inside (``True``) or
            outside (``False``) the range.

    Raises:
        OutOfRangeError: A ``ValueError`` saying how many values fall outside
            and the first few positions and values; its ``positions`` attribute
            lists them all.
        MissingValueError: For ``None`` or NaN, which no range contains.
        InputTypeError: For a value that is not a real number (``bool``
            included).
        InvalidParameterError: For a NaN bound or ``min_value > max_value``.

    Examples:
        >>> validate_range([0.2, 0.5, 1.0], min_value=0, max_value=1)
        >>> validate_range([0.2, 1.5, -3, 0.5], min_value=0, max_value=1)
        Traceback (most recent call last):
        ...
        ml_infra_utils.OutOfRangeError: 2 of 4 values in data are outside \
[0, 1]: data[1] = 1.5, data[2] = -3
    """
    low = _check_bound(min_value, "min_value")
    high = _check_bound(max_value, "max_value")
    if low > high:
        msg = (
            "min_value must not exceed max_value, got "
            f"{short_repr(min_value)} > {short_repr(max_value)}"
        )
        raise InvalidParameterError(msg)
    check_flag("inclusive", inclusive)
    values = to_list(data, name="data")
    if not values:
        return
    extremes = float_extremes(values)
    # A NaN sum is a NaN value, or only inf meeting -inf (which is fine here).
    if extremes is not None and (
        (t := extremes[2]) == t or not any(map(math.isnan, values))
    ):
        lo, hi = extremes[0], extremes[1]
    else:
        values = as_reals(values, name="data")
        lo = min(values)
        hi = max(values)
    if inclusive:
        if low <= lo and hi <= high:
            return
        positions = [i for i, x in enumerate(values) if not low <= x <= high]
    else:
        if low < lo and hi < high:
            return
        positions = [i for i, x in enumerate(values) if not low < x < high]
    opening, closing = ("[", "]") if inclusive else ("(", ")")
    lower = "-inf" if min_value is None else short_repr(min_value)
    upper = "inf" if max_value is None else short_repr(max_value)
    if min_value is None:
        opening = "("
    if max_value is None:
        closing = ")"
    shown = ", ".join(
        f"data[{i}] = {short_repr(values[i])}" for i in positions[:_SHOWN]
    )
    more = ", ..." if len(positions) > _SHOWN else ""
    msg = (
        f"{len(positions)} of {len(values)} values in data are outside "
        f"{opening}{lower}, {upper}{closing}: {shown}{more}"
    )
    raise OutOfRangeError(msg, positions)


def _check_bound(bound: object, name: str) -> float:
    if bound is None:
        return -math.inf if name == "min_value" else math.inf
    if isinstance(bound, bool) or not isinstance(bound, numbers.Real):
        msg = f"{name} must be a real number or None, got {short_repr(bound)}"
        raise InputTypeError(msg)
    if bound != bound:
        msg = f"{name} must not be NaN"
        raise InvalidParameterError(msg)
    return bound  # type: ignore[return-value]


def check_data_types(
    data: Iterable[object],
    *,
    expected: type | types.UnionType | tuple[type, ...] | None = None,
) -> list[int]:
    """The positions whose value is not of the expected type.

    With *expected* a type, a tuple of types or a union (``int | float``), a
    value passes when ``isinstance(value, expected)``, except that ``bool``
    passes only when asked for: ``True`` is an ``int`` to Python, but not a
    number to this check unless *expected* names ``bool`` (or ``object``).
    With *expected* ``None``, a value passes when its type is exactly the type
    of the first value (so a float among ints, or a numpy float among floats,
    is reported).

    Args:
        data: A finite iterable of values of any type.
        expected: The accepted type(s), or ``None`` for "the type of the first
            value".

    Returns:
        The positions, in order; ``[]`` when every value passes (or there are
        none).

    Raises:
        InputTypeError: For a string or non-iterable *data*, or an *expected*
            that ``isinstance`` cannot use.

    Examples:
        >>> check_data_types([1, 2.5, "3", True, 4])
        [1, 2, 3]
        >>> check_data_types([1, 2.5, True], expected=int | float)
        [2]
        >>> check_data_types([1, True], expected=(int, bool))
        []
    """
    values = to_list(data, name="data")
    n = len(values)
    if expected is None:
        if not values:
            return []
        reference = type(values[0])
        if countOf(map(type, values), reference) == n:
            return []
        return [i for i, v in enumerate(values) if type(v) is not reference]
    accepted = _flatten_types(expected)
    if len(accepted) == 1 and countOf(map(type, values), accepted[0]) == n:
        return []  # exact types: no bool can be among them unless bool is asked for
    spec = accepted[0] if len(accepted) == 1 else accepted
    bool_ok = any(
        t is bool or (issubclass(bool, t) and t not in _NUMBER_TYPES) for t in accepted
    )
    if bool_ok or not any(issubclass(bool, t) for t in accepted):
        return [i for i, v in enumerate(values) if not isinstance(v, spec)]
    # isinstance lets bools through (they are ints); this check does not.
    return [
        i for i, v in enumerate(values) if not isinstance(v, spec) or type(v) is bool
    ]


def _flatten_types(expected: object) -> tuple[type, ...]:
    try:
        isinstance(None, expected)  # type: ignore[arg-type]
    except TypeError:
        msg = (
            "expected must be a type, a tuple of types or None, "
            f"got {short_repr(expected)}"
        )
        raise InputTypeError(msg) from None
    if isinstance(expected, type):
        return (expected,)
    if (
        isinstance(expected, types.UnionType)
        or typing.get_origin(expected) is typing.Union
    ):
        parts: object = typing.get_args(expected)
    else:
        parts = expected
    flat = tuple(t for part in parts for t in _flatten_types(part))  # type: ignore[attr-defined]
    if not flat:
        msg = "expected must name at least one type"
        raise InvalidParameterError(msg)
    return flat
