"""Turn user input into the plain lists the numeric code works on.

One place for both :mod:`~ml_infra_utils.preprocessing` and
:mod:`~ml_infra_utils.metrics`, so every function accepts the same inputs and
rejects bad ones with the same clear errors:

- accepted: ``list``, ``tuple``, ``range``, ``array.array``, generators and other
  finite iterables, and anything with a ``tolist()`` method (numpy arrays, pandas
  Series) — duck-typed, numpy is never imported;
- rejected with :class:`TypeError`: ``str``/``bytes`` (a string is not a sequence of
  numbers), mappings and sets (no meaningful order), non-iterables.

Every error message names the argument (``name``) and, for a bad element, its
position. One predicate, :func:`is_missing`, decides what a missing value is for
every function of the package: ``None``, a NaN of any type, ``pandas.NA`` and
``NaT``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Iterable, Mapping, Set
from decimal import Decimal
from operator import countOf, itemgetter
from typing import Any

from ._errors import (
    InfiniteValueError,
    InputTypeError,
    MissingValueError,
    ShapeError,
)
from ._repr import short_repr

__all__ = [
    "as_labels",
    "as_real_columns",
    "as_reals",
    "check_distinct_labels",
    "check_flag",
    "is_missing",
    "to_list",
]

# Types whose elements pass as real numbers without conversion.
_PLAIN_REALS = frozenset({float, int})
# Label types that can hold neither None nor NaN and are always hashable.
_PLAIN_LABELS = frozenset({int, str, bool})
# Types that are never a missing value (no NaN among their values).
_NEVER_MISSING = frozenset({int, str, bool, bytes})


def _describe(value: object) -> str:
    return type(value).__name__


def to_list(data: object, *, name: str = "data") -> list[Any]:
    """Materialise *data* once as a list (the input itself when it is a list).

    Args:
        data: A finite, ordered iterable, or an object with ``tolist()`` (numpy
            arrays, pandas Series) or ``to_numpy()`` (pandas DataFrames, whose
            rows become lists).
        name: The argument name used in error messages.

    Returns:
        A list of the elements. A ``list`` argument is returned as is, never
        copied: callers must not mutate the result.

    Raises:
        InputTypeError: For strings, bytes, mappings, sets and non-iterables.

    Examples:
        >>> to_list(range(3))
        [0, 1, 2]
        >>> to_list("abc")
        Traceback (most recent call last):
        ...
        ml_infra_utils.InputTypeError: data must be a sequence of \
values, not a str
    """
    if type(data) is list:
        return data
    if isinstance(data, str | bytes | bytearray | memoryview):
        msg = f"{name} must be a sequence of values, not a {_describe(data)}"
        raise InputTypeError(msg)
    if isinstance(data, Mapping | Set):
        msg = f"{name} must be an ordered sequence, not a {_describe(data)}"
        raise InputTypeError(msg)
    tolist = getattr(data, "tolist", None)
    if not callable(tolist):
        # A DataFrame iterates over its column labels: go through its values.
        to_numpy = getattr(data, "to_numpy", None)
        if callable(to_numpy):
            tolist = getattr(to_numpy(), "tolist", None)
    if callable(tolist):
        # numpy arrays and pandas objects: one C-level conversion to Python objects.
        result = tolist()
        if not isinstance(result, list):
            msg = f"{name} must be a sequence of values, not a 0-d {_describe(data)}"
            raise InputTypeError(msg)
        return result
    if not isinstance(data, Iterable):
        msg = f"{name} must be an iterable of values, not {_describe(data)}"
        raise InputTypeError(msg)
    return list(data)


def is_missing(value: object) -> bool:  # noqa: PLR0911 - one return per kind of value
    """Whether *value* is a missing value: ``None``, a NaN or an NA of any type.

    NaN is recognised as a ``float``, ``Decimal`` (quiet or signalling),
    ``complex`` or numpy scalar, and as any other value unequal to itself:
    ``pandas.NaT``, ``numpy.datetime64("NaT")``, and ``pandas.NA``, whose
    comparisons return ``NA`` itself and whose truth value is undefined. An
    object whose self-comparison raises, or that compares element-wise (an
    array), is a value, not a missing one; so are strings such as ``"nan"``.

    Examples:
        >>> from decimal import Decimal
        >>> [is_missing(v) for v in (None, float("nan"), Decimal("sNaN"), "nan", 0)]
        [True, True, True, False, False]
    """
    if value is None:
        return True
    kind = type(value)
    if kind is float:
        return value != value
    if kind in _NEVER_MISSING:
        return False
    if isinstance(value, Decimal):
        return value.is_nan()  # also a signalling NaN, which != would raise on
    try:
        unequal: object = value != value
    except Exception:  # a value that cannot even compare is a value
        return False
    if unequal is True or unequal is False:
        return unequal
    if unequal is value:  # pandas.NA: comparisons return NA itself
        return True
    try:
        return bool(unequal)  # numpy.bool_
    except Exception:
        # Undefined truth: an NA-like scalar is missing; an array compared
        # element-wise (it has a length) is a value.
        return not hasattr(unequal, "__len__")


def _missing_text(value: object) -> str:
    """How a message names a missing value: ``None``, ``NaN`` or its repr."""
    if value is None:
        return "None"
    if isinstance(value, float | Decimal | complex | numbers.Number):
        return "NaN"
    return f"{short_repr(value)} ({_describe(value)})"


def check_flag(name: str, flag: object) -> bool:
    """Validate a boolean option: only ``True`` or ``False``, never a truthy value.

    Examples:
        >>> check_flag("output_dict", "no")
        Traceback (most recent call last):
        ...
        ml_infra_utils.InputTypeError: output_dict must be True or False, got 'no'
    """
    if not isinstance(flag, bool):
        msg = f"{name} must be True or False, got {short_repr(flag)}"
        raise InputTypeError(msg)
    return flag


def as_reals(data: object, *, name: str = "data") -> list[float | int]:
    """Materialise *data* as a list of real numbers, validating every element.

    ``int`` and ``float`` pass through unchanged; other real types (``Fraction``,
    ``Decimal``, numpy scalars) become ``float`` (integral ones ``int``).
    Infinities pass through: each function documents what it does with them.
    A list of plain numbers is returned as is (no copy), after C-level checks
    only: one pass over the element types and one ``sum`` that is NaN exactly
    when an element is NaN (or ``inf`` meets ``-inf``).

    Raises:
        InputTypeError: For a bad container (see :func:`to_list`) or an element
            that is not a real number; ``bool`` is not accepted as a number.
        MissingValueError: For ``None`` or NaN, naming the first position.
        InfiniteValueError: For a value a float cannot hold (``Fraction(10**400)``).

    Examples:
        >>> as_reals((1, 2.5))
        [1, 2.5]
        >>> as_reals([1.0, None])
        Traceback (most recent call last):
        ...
        ml_infra_utils.MissingValueError: data[1] is None; \
missing values are not allowed here
    """
    values = to_list(data, name=name)
    n = len(values)
    if countOf(map(type, values), float) == n:
        total = sum(values)
        if total != total:
            _raise_first_nan(values, name)
        return values
    kinds = set(map(type, values))
    if kinds <= _PLAIN_REALS:
        if float in kinds:
            try:
                total = sum(values)
            except OverflowError:  # an int too large for a float meets a float
                total = math.nan
            if total != total:
                _raise_first_nan(values, name)
        return values
    return [_real(value, i, name) for i, value in enumerate(values)]


def _raise_first_nan(values: list[float | int], name: str) -> None:
    for i, value in enumerate(values):
        if value != value:
            msg = f"{name}[{i}] is NaN; missing values are not allowed here"
            raise MissingValueError(msg)


def _real(value: object, i: int, name: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        if is_missing(value):  # None, pandas.NA, NaT: missing, not a wrong type
            msg = (
                f"{name}[{i}] is {_missing_text(value)}; "
                "missing values are not allowed here"
            )
            raise MissingValueError(msg)
        msg = (
            f"{name}[{i}] must be a real number, not {_describe(value)} "
            f"({short_repr(value)})"
        )
        raise InputTypeError(msg)
    if is_missing(value):
        msg = f"{name}[{i}] is NaN; missing values are not allowed here"
        raise MissingValueError(msg)
    if type(value) in _PLAIN_REALS:
        return value  # type: ignore[return-value]
    if isinstance(value, numbers.Integral):
        return int(value)
    try:
        return float(value)
    except OverflowError:  # e.g. Fraction(10**400): beyond the float range
        msg = (
            f"{name}[{i}] is a {_describe(value)} too large for a float "
            f"({short_repr(value)})"
        )
        raise InfiniteValueError(msg) from None


def as_labels(data: object, *, name: str = "labels") -> list[Hashable]:
    """Materialise *data* as a list of class labels, validating every element.

    Labels may be any hashable value except ``None`` and NaN. The check runs
    at C speed: the elements are hashed once into a set and only the distinct
    values are inspected; the element-wise search that names the position runs
    only when something is wrong.

    Raises:
        InputTypeError: For a bad container or an unhashable element.
        MissingValueError: For ``None`` or NaN, naming the first position.

    Examples:
        >>> as_labels(["cat", "dog"])
        ['cat', 'dog']
        >>> as_labels([[1], [2]])
        Traceback (most recent call last):
        ...
        ml_infra_utils.InputTypeError: labels[0] must be hashable, \
not list ([1])
    """
    values = to_list(data, name=name)
    try:
        distinct = set(values)
    except TypeError:
        _raise_first_bad_label(values, name)
        raise  # an element's __hash__ raised TypeError only on the first try
    if check_distinct_labels(distinct):
        _raise_first_bad_label(values, name)
    return values


def check_distinct_labels(distinct: Iterable[object]) -> bool:
    """Whether some of the *distinct* label values is missing (:func:`is_missing`).

    Cheap when called on the distinct values of a large input (a set, the keys
    of a counter): the caller then locates the position with :func:`as_labels`.

    Examples:
        >>> check_distinct_labels({1, 2}), check_distinct_labels({1, None})
        (False, True)
    """
    return any(
        value is None or (type(value) not in _PLAIN_LABELS and is_missing(value))
        for value in distinct
    )


def _raise_first_bad_label(values: list[Any], name: str) -> None:
    for i, value in enumerate(values):
        if value is None:
            msg = f"{name}[{i}] is None; missing labels are not allowed"
            raise MissingValueError(msg)
        try:
            hash(value)
        except TypeError:
            msg = (
                f"{name}[{i}] must be hashable, not {_describe(value)} "
                f"({short_repr(value)})"
            )
            raise InputTypeError(msg) from None
        if is_missing(value):
            what = _missing_text(value)
            msg = f"{name}[{i}] is {what}; missing labels are not allowed"
            raise MissingValueError(msg)


def as_real_columns(
    data: object, *, name: str = "data"
) -> tuple[list[list[float | int]], bool]:
    """Materialise 1-D or 2-D numeric input as a list of validated columns.

    2-D input is a sequence of equal-length rows (lists, tuples, numpy rows, a
    2-D numpy array, a pandas DataFrame); anything else is 1-D and becomes one
    column. Every value is checked as :func:`as_reals` checks it, and an error
    names the first bad value in row-major order, e.g. ``data[3][1]``.

    Returns:
        ``(columns, two_d)``: the columns as lists, and whether the input was
        2-D. Empty input gives ``([], False)``.

    Raises:
        ShapeError: For rows of different lengths, or empty rows.
        InputTypeError: For a bad container, a row that is not a sequence, or a
            value that is not a real number.
        MissingValueError: For ``None`` or NaN.
        InfiniteValueError: For a value a float cannot hold (``Fraction(10**400)``).

    Examples:
        >>> as_real_columns([[1, 2.5], [3, 4.5]])
        ([[1, 3], [2.5, 4.5]], True)
        >>> as_real_columns([1, 2])
        ([[1, 2]], False)
        >>> as_real_columns([[1, 2], [3]])
        Traceback (most recent call last):
        ...
        ml_infra_utils.ShapeError: data must be rows of equal length: data[0] \
has 2 values, data[1] has 1
    """
    rows = to_list(data, name=name)
    if not rows:
        return [], False
    if not _is_row(rows[0]):
        return [as_reals(rows, name=name)], False
    rows = _as_rows(rows, name)
    width = len(rows[0])
    if width == 0:
        msg = f"{name}[0] is an empty row; each row needs at least one value"
        raise ShapeError(msg)
    if countOf(map(len, rows), width) != len(rows):
        i = next(i for i, row in enumerate(rows) if len(row) != width)
        msg = (
            f"{name} must be rows of equal length: {name}[0] has {width} "
            f"values, {name}[{i}] has {len(rows[i])}"
        )
        raise ShapeError(msg)
    columns: list[list[Any]] = [list(map(itemgetter(j), rows)) for j in range(width)]
    bad = []
    for j, column in enumerate(columns):
        try:
            columns[j] = as_reals(column, name=name)
        except (InputTypeError, MissingValueError, InfiniteValueError):
            bad.append(j)
    if bad:
        # Report the first bad value in reading order, named by row and column.
        for i, row in enumerate(rows):
            for j in bad:
                _real(row[j], j, f"{name}[{i}]")
        msg = "a bad column without a bad value"  # pragma: no cover
        raise AssertionError(msg)  # pragma: no cover
    return columns, True


def _is_row(value: object) -> bool:
    if isinstance(value, list | tuple):
        return True
    return isinstance(value, Iterable) and not isinstance(
        value, str | bytes | bytearray | numbers.Number | Decimal
    )


def _as_rows(rows: list[Any], name: str) -> list[Any]:
    if countOf(map(type, rows), list) == len(rows):
        return rows
    result = []
    for i, row in enumerate(rows):
        if isinstance(row, list | tuple):
            result.append(row)
        elif _is_row(row):
            result.append(to_list(row, name=f"{name}[{i}]"))
        else:
            msg = (
                f"{name}[{i}] must be a row of values like {name}[0], "
                f"not {_describe(row)} ({short_repr(row)})"
            )
            raise InputTypeError(msg)
    return result
