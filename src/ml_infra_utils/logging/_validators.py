"""Validation of everything a user hands to an experiment run.

One place holds the rules, so the run, its sinks and the readers agree:

* **names** of metrics, results, params and tags: non-empty strings of at most
  250 characters from ``A-Z a-z 0-9 _ - . / :`` and the space, not starting or
  ending with a space. The set keeps names readable in every tool and means a
  name never needs escaping inside a JSON string;
* **values** of metrics and results: real numbers. ``int`` and ``float`` (and
  their numpy scalar cousins, or a zero-dimensional array) are accepted; NaN and
  the infinities are kept; ``bool``, strings, ``None`` and ``Decimal`` are refused
  with a TypeError, never converted; a number beyond the float range (an int
  like ``10**5000``, whose decimal string Python may even refuse to make) is
  refused with a ValueError, so every stored value reads back as a number;
* **steps**: integers from 0 to 2**63 - 1 (the range a Tora server stores); a
  float step is refused rather than truncated;
* **param values**: mapped to JSON data as every JSON record of the package
  (``to_jsonable``): JSON types stay, numpy numbers stay numbers, NaN is "NaN",
  an object without a JSON form is stored as its ``repr()``;
* **tag values**: strings; ``int``, ``float`` and ``bool`` (numpy's too) are
  stored as their ``str()``;
* **experiment names** become directory names, so they may not contain path
  separators, ``: * ? " < > |``, control characters or NUL, may not be ``.`` or
  ``..`` or start with a dot, and have at most 200 characters.

Examples:
    >>> check_name("train/loss", "name")
    'train/loss'
    >>> check_value(3, "value"), check_value(float("nan"), "value")
    (3, nan)
    >>> check_name("bad name!", "name")
    Traceback (most recent call last):
    ...
    ml_infra_utils.InvalidParameterError: name must use only ...
"""

from __future__ import annotations

import numbers
import re
import sys
from collections.abc import Mapping
from typing import Any

from ml_infra_utils._errors import InputTypeError, InvalidParameterError

from ._json import to_jsonable

__all__ = [
    "MAX_INT_VALUE",
    "MAX_NAME_LENGTH",
    "MAX_STEP",
    "check_experiment",
    "check_mapping",
    "check_name",
    "check_param_value",
    "check_status",
    "check_step",
    "check_tag_value",
    "check_value",
]

MAX_NAME_LENGTH = 250
MAX_EXPERIMENT_LENGTH = 200
MAX_STEP = 2**63 - 1
#: The largest magnitude of an ``int`` value: the largest finite float, exactly.
MAX_INT_VALUE = int(sys.float_info.max)
END_STATUSES = ("finished", "failed", "killed")

_NAME_RE = re.compile(r"[A-Za-z0-9_\-./: ]+")
_NAME_RULE = "letters A-Z a-z, digits and '_ - . / :' or space"
_EXPERIMENT_FORBIDDEN = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_name(name: object, argument: str) -> str:
    """Return *name* if it is a valid metric, result, param or tag name.

    Raises:
        InputTypeError: *name* is not a string.
        InvalidParameterError: it is empty, too long, or uses other characters.
    """
    if not isinstance(name, str):
        msg = f"{argument} must be a string, got {type(name).__name__} {_show(name)}"
        raise InputTypeError(msg)
    if not name or len(name) > MAX_NAME_LENGTH:
        msg = (
            f"{argument} must have 1 to {MAX_NAME_LENGTH} characters, "
            f"got {len(name)}: {_show(name)}"
        )
        raise InvalidParameterError(msg)
    if _NAME_RE.fullmatch(name) is None:
        msg = f"{argument} must use only {_NAME_RULE}, got {_show(name)}"
        raise InvalidParameterError(msg)
    if name[0] == " " or name[-1] == " ":
        msg = f"{argument} must not start or end with a space, got {_show(name)}"
        raise InvalidParameterError(msg)
    return str(name)  # a plain str, even for a str subclass (e.g. a StrEnum)


def check_value(value: object, argument: str) -> float:
    """Return *value* as an ``int`` or ``float`` if it is a real number.

    numpy scalars and zero-dimensional arrays (anything with ``ndim == 0`` and
    ``item()``) are unwrapped. NaN and the infinities pass unchanged.

    Raises:
        InputTypeError: *value* is a bool, a string, None or another non-real.
        InvalidParameterError: *value* is beyond the float range (e.g. the int
            ``10**5000``): no reader could take it as a number.

    Examples:
        >>> check_value(10**5000, "value")
        Traceback (most recent call last):
        ...
        ml_infra_utils.InvalidParameterError: value must be a real number within ...
    """
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]  # narrowed by the identity test
    if kind is int:
        if -MAX_INT_VALUE <= value <= MAX_INT_VALUE:  # type: ignore[operator]
            return value  # type: ignore[return-value]  # narrowed by the identity test
        raise _too_large(value, argument)  # type: ignore[arg-type]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        item = getattr(value, "item", None)
        if getattr(value, "ndim", None) == 0 and callable(item):
            unwrapped = item()
            if not isinstance(unwrapped, bool) and isinstance(unwrapped, numbers.Real):
                return check_value(unwrapped, argument)
        msg = (
            f"{argument} must be a real number (int, float or a numpy scalar), "
            f"got {type(value).__name__} {_show(value)}"
        )
        raise InputTypeError(msg)
    if isinstance(value, numbers.Integral):
        return check_value(int(value), argument)
    try:
        return float(value)
    except OverflowError:  # e.g. Fraction(10**400)
        msg = (
            f"{argument} must be a real number within the float range "
            f"(|{argument}| <= {sys.float_info.max!r}), got a "
            f"{type(value).__name__} too large for a float"
        )
        raise InvalidParameterError(msg) from None


def _too_large(value: int, argument: str) -> InvalidParameterError:
    # Never repr() the int: beyond 4300 digits Python refuses to make the string.
    msg = (
        f"{argument} must be a real number within the float range "
        f"(|{argument}| <= {sys.float_info.max!r}), got an int of "
        f"{value.bit_length()} bits (|{argument}| is about "
        f"10**{int(value.bit_length() * 0.30103)})"
    )
    return InvalidParameterError(msg)


def check_step(step: object, argument: str = "step") -> int:
    """Return *step* as an ``int`` if it is an integer from 0 to 2**63 - 1.

    Raises:
        InputTypeError: *step* is not an integer (a float is refused, not
            truncated; so is a bool).
        InvalidParameterError: it is negative or larger than 2**63 - 1.
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        msg = (
            f"{argument} must be an int >= 0 or None, "
            f"got {type(step).__name__} {_show(step)}"
        )
        raise InputTypeError(msg)
    number = int(step)
    if not 0 <= number <= MAX_STEP:
        msg = f"{argument} must be between 0 and 2**63 - 1, got {number}"
        raise InvalidParameterError(msg)
    return number


def check_param_value(value: object) -> Any:
    """Return *value* as JSON data, mapped as every JSON record of the package.

    The mapping is :func:`~ml_infra_utils.logging._json.to_jsonable` (the table
    in ``docs/logging.md``): JSON types stay (tuples become lists, keys
    strings), numpy scalars and arrays become numbers and lists, NaN and the
    infinities the strings "NaN", "Infinity", "-Infinity", sets sorted lists,
    ``Decimal``, paths, dates and enums strings or their value, and anything
    else its ``repr()``. Never raises; the result is a copy.

    Examples:
        >>> check_param_value((1, 2.5, "a")), check_param_value({1: None})
        ([1, 2.5, 'a'], {'1': None})
        >>> check_param_value(float("nan")), check_param_value({3, 1})
        ('NaN', [1, 3])
    """
    return to_jsonable(value)


def check_status(status: object) -> str:
    """Return *status* if a run may end with it: "finished", "failed" or "killed".

    Raises:
        InputTypeError: *status* is not a string.
        InvalidParameterError: it is another string.
    """
    if isinstance(status, str) and status in END_STATUSES:
        return str(status)
    msg = f"status must be 'finished', 'failed' or 'killed', got {_show(status)}"
    if not isinstance(status, str):
        raise InputTypeError(msg)
    raise InvalidParameterError(msg)


def check_tag_value(value: object, argument: str) -> str:
    """Return a tag value as a string.

    Strings stay; ``bool``, ``int`` and ``float`` (numpy scalars, 0-d arrays and
    other real numbers included) become their ``str()``, NaN and the
    infinities "NaN", "Infinity" and "-Infinity" as in every JSON record.

    Raises:
        InputTypeError: *value* is of another type.

    Examples:
        >>> check_tag_value("gpu", "tag"), check_tag_value(2, "tag")
        ('gpu', '2')
        >>> check_tag_value(float("nan"), "tag"), check_tag_value(True, "tag")
        ('NaN', 'True')
    """
    if isinstance(value, str):
        return str(value)
    item = getattr(value, "item", None)
    if getattr(value, "ndim", None) == 0 and callable(item):
        value = item()  # a numpy scalar or 0-d array: its Python number
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Real):
        try:
            plain = int(value) if isinstance(value, numbers.Integral) else float(value)
        except OverflowError:
            msg = f"{argument} is a number too large for a float: {_show(value)}"
            raise InvalidParameterError(msg) from None
        return str(to_jsonable(plain))
    msg = f"{argument} must be a str, int, float or bool, got {type(value).__name__}"
    raise InputTypeError(msg)


def check_mapping(mapping: object, argument: str) -> Mapping[str, Any]:
    """Return *mapping* if it is a Mapping whose keys are valid names.

    Raises:
        InputTypeError: *mapping* is not a Mapping, or a key is not a string.
        InvalidParameterError: a key breaks the naming rules.
    """
    if not isinstance(mapping, Mapping):
        msg = (
            f"{argument} must be a mapping of names to values, "
            f"got {type(mapping).__name__}"
        )
        raise InputTypeError(msg)
    for key in mapping:
        check_name(key, f"{argument} key")
    return mapping


def check_experiment(name: object, argument: str = "experiment") -> str:
    """Return *name* if it can safely be a directory name under the runs directory.

    Raises:
        InputTypeError: *name* is not a string.
        InvalidParameterError: it is empty, too long, ``.``/``..``, starts with a
            dot or a space, ends with a space or a dot, or holds a path separator,
            one of ``: * ? " < > |``, a control character or NUL.

    Examples:
        >>> check_experiment("mnist baseline")
        'mnist baseline'
        >>> check_experiment("../etc")
        Traceback (most recent call last):
        ...
        ml_infra_utils.InvalidParameterError: experiment must not contain ...
    """
    if not isinstance(name, str):
        msg = f"{argument} must be a string, got {type(name).__name__} {_show(name)}"
        raise InputTypeError(msg)
    if not name or len(name) > MAX_EXPERIMENT_LENGTH:
        msg = (
            f"{argument} must have 1 to {MAX_EXPERIMENT_LENGTH} characters, "
            f"got {len(name)}: {_show(name)}"
        )
        raise InvalidParameterError(msg)
    if _EXPERIMENT_FORBIDDEN.search(name):
        msg = (
            f"{argument} must not contain path separators, ': * ? \" < > |', "
            f"control characters or NUL (it names a directory), got {_show(name)}"
        )
        raise InvalidParameterError(msg)
    if name[0] in ". " or name[-1] in ". ":
        msg = (
            f"{argument} must not start with a dot or a space, or end with one "
            f"(it names a directory), got {_show(name)}"
        )
        raise InvalidParameterError(msg)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        msg = f"{argument} must be encodable as UTF-8, got {_show(name)}"
        raise InvalidParameterError(msg) from None
    return str(name)
