"""Always-valid JSON for arbitrary Python values: the encoder of every JSON line.

Private: the structured logger, experiment runs and change tracking all write
their JSON lines with these functions, so one value maps to one JSON form
everywhere. :func:`dumps` never raises and always returns one line of strict
RFC 8259 JSON (no bare ``NaN``/``Infinity`` tokens, no raw newlines).

How values map (:func:`to_jsonable` applies the table recursively; the fast
path of :func:`dumps` gives the same text):

- ``None``, ``bool``, ``str``, ``int``: ``null``, ``true``/``false``, string,
  number (an ``int`` too long for a decimal string: a ``"0x..."`` string);
- finite ``float`` and its subclasses (``np.float64``): number;
- ``nan``, ``inf``, ``-inf``: the strings ``"NaN"``, ``"Infinity"``,
  ``"-Infinity"`` (as Protobuf's JSON mapping; ``float(s)`` reads them back);
- ``dict`` and other mappings: object; ``str`` keys as they are, ``int``,
  ``float``, ``bool`` and ``None`` keys as ``json`` writes them, other keys as
  their JSON text (``(1, 2)`` -> ``"[1,2]"``);
- ``list``, ``tuple`` (so NamedTuples), ``deque``: array;
- ``set``, ``frozenset``: array, sorted when the items compare;
- ``bytes``, ``bytearray``, ``memoryview``: string, UTF-8 decoded with invalid
  bytes as ``\\xNN`` escapes;
- ``datetime``, ``date``, ``time``: ``isoformat()`` (aware datetimes keep
  their offset, naive ones stay naive);
- ``timedelta``: number of seconds;
- ``Decimal``: string (exact: ``"1.10"``);
- ``uuid.UUID``, ``pathlib`` paths, ``os.PathLike``: string;
- ``enum.Enum`` members: their ``value``, mapped again;
- dataclass instances: object of their fields;
- exceptions: ``{"type": ..., "message": ...}``, the type named as in the
  ``exception`` field (``module.qualname``, bare for builtins);
- anything with ``.tolist()`` (numpy scalars and arrays, torch tensors, pandas
  Series, ``array.array``), else ``.item()``: that, mapped again, so numbers
  stay numbers (duck-typed: numpy is never imported);
- ``complex``: string ``"(1+2j)"``;
- anything else: its ``repr()``; if ``repr`` raises,
  ``"<unrepresentable T object>"``;
- a container met again inside itself: ``"<circular T object>"``; nesting
  deeper than 100 levels: ``"<nested too deep: T>"``.

Examples:
    >>> import math, datetime as dt
    >>> dumps({"loss": math.nan, "at": dt.date(2024, 1, 2), "tags": {"b", "a"}})
    '{"loss":"NaN","at":"2024-01-02","tags":["a","b"]}'
    >>> to_jsonable(b"ok\\xff")
    'ok\\\\xff'
    >>> dumps_line([1, 2.5, None])
    '[1,2.5,null]\\n'
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import decimal
import enum
import json
import json.encoder
import math
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "JSONValue",
    "dumps",
    "dumps_line",
    "make_dumps",
    "make_value_encoder",
    "safe_repr",
    "string_encoder",
    "to_jsonable",
    "type_name",
]

JSONValue = None | bool | int | float | str | list[Any] | dict[str, Any]
"""What :func:`to_jsonable` returns: plain JSON data with finite floats only."""

_MAX_DEPTH = 100
# int -> str is limited to sys.get_int_max_str_digits() (4300 by default) since
# 3.11; well below that bit length no int can hit the limit.
_SAFE_INT_BITS = 4000
_ATOMIC = (str, int, bool, type(None))


def _float(value: float) -> float | str:
    if math.isfinite(value):
        return float(value)
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _int(value: int) -> int | str:
    value = int(value)
    if value.bit_length() > _SAFE_INT_BITS:
        try:
            str(value)
        except ValueError:
            return hex(value)
    return value


def type_name(kind: type) -> str:
    """How every JSON record names a type: ``module.qualname``, bare for builtins.

    One rule for exceptions given as values, the ``exception`` field and the
    placeholders, as Python's own default ``repr`` names a class.

    Examples:
        >>> type_name(ValueError), type_name(dt.date)
        ('ValueError', 'datetime.date')
    """
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def _type_name(value: object) -> str:
    return type_name(type(value))


def safe_repr(value: object) -> str:
    """``repr(value)``, or a placeholder when its ``__repr__`` raises."""
    try:
        return repr(value)
    except Exception:  # a broken __repr__ must not lose the record
        return f"<unrepresentable {_type_name(value)} object>"


def _key(key: object, default: Callable[[object], object] | None) -> str:  # noqa: PLR0911 - one return per key kind
    # The json module's own rules for the key types it accepts.
    if isinstance(key, str):
        return str(key)
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int) and not isinstance(key, enum.Enum):
        return str(_int(key))
    if isinstance(key, float):
        mapped = _float(key)
        return mapped if isinstance(mapped, str) else float.__repr__(mapped)
    mapped_key = to_jsonable(key, default=default)
    if isinstance(mapped_key, str):
        return mapped_key
    return dumps(mapped_key)


def _sorted_if_possible(items: Iterable[object]) -> list[object]:
    listed = list(items)
    try:
        return sorted(listed)  # type: ignore[type-var]
    except Exception:  # unorderable items keep their order
        return listed


def _convert_leaf(value: object) -> tuple[bool, object]:  # noqa: PLR0911, PLR0912 - the table, row by row
    """One step of the table for a non-container value: (converted?, result)."""
    if isinstance(value, enum.Enum):
        return True, value.value
    if isinstance(value, float):
        return True, _float(value)
    if isinstance(value, str):
        return True, str.__str__(value)
    if isinstance(value, int):
        return True, _int(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return True, value.isoformat()
    if isinstance(value, dt.timedelta):
        return True, value.total_seconds()
    if isinstance(value, decimal.Decimal | uuid.UUID | complex):
        return True, str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return True, bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        if isinstance(path, bytes):
            return True, path.decode("utf-8", "backslashreplace")
        return True, path
    if isinstance(value, BaseException):
        return True, {"type": _type_name(value), "message": str(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return True, {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return True, tolist()
    item = getattr(value, "item", None)
    if callable(item):
        return True, item()
    return False, None


def to_jsonable(  # noqa: PLR0911, PLR0912 - the table, row by row
    value: object,
    *,
    default: Callable[[object], object] | None = None,
    _depth: int = 0,
    _active: frozenset[int] = frozenset(),
) -> JSONValue:
    """Return *value* as plain JSON data, following the module's mapping table.

    Never raises for any value: a conversion that fails falls back to the
    value's ``repr`` (or a placeholder). The result holds only ``dict`` (with
    ``str`` keys), ``list``, ``str``, ``int``, finite ``float``, ``bool`` and
    ``None``.

    Args:
        value: Any Python object.
        default: Optional hook tried first for every value not of a JSON type;
            its result is mapped again. If it raises, the table applies.

    Returns:
        The JSON-ready equivalent of *value*.

    Examples:
        >>> import decimal, enum
        >>> class Color(enum.Enum):
        ...     RED = "red"
        >>> to_jsonable({"c": Color.RED, 1: decimal.Decimal("1.10"), "x": float("inf")})
        {'c': 'red', '1': '1.10', 'x': 'Infinity'}
    """
    kind = type(value)
    if kind in _ATOMIC:
        return value if kind is not int else _int(value)  # type: ignore[arg-type, return-value]
    if kind is float:
        return _float(value)  # type: ignore[arg-type]
    if _depth >= _MAX_DEPTH:
        return f"<nested too deep: {_type_name(value)}>"
    if id(value) in _active:
        return f"<circular {_type_name(value)} object>"
    depth, active = _depth + 1, _active | {id(value)}
    try:
        if isinstance(value, Mapping):
            return {
                _key(k, default): to_jsonable(
                    v, default=default, _depth=depth, _active=active
                )
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | collections.deque):
            return [
                to_jsonable(v, default=default, _depth=depth, _active=active)
                for v in value
            ]
        if isinstance(value, set | frozenset):
            return [
                to_jsonable(v, default=default, _depth=depth, _active=active)
                for v in _sorted_if_possible(value)
            ]
        if default is not None:
            try:
                hooked = default(value)
            except Exception:  # noqa: S110 - the table below still applies
                pass
            else:
                if hooked is not value:
                    return to_jsonable(
                        hooked, default=default, _depth=depth, _active=active
                    )
        converted, result = _convert_leaf(value)
        if converted:
            return to_jsonable(result, default=default, _depth=depth, _active=active)
    except Exception:  # noqa: S110 - any failure degrades to the repr below
        pass
    return safe_repr(value)


def _make_c_encoder(
    ensure_ascii: bool, default: Callable[[object], object]
) -> Callable[[object], str]:
    """The fastest strict encoder available: the C encoder object, reused."""
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if (
        c_make_encoder is None
    ):  # pragma: no cover - CPython always has the C accelerator
        encoder = json.JSONEncoder(
            ensure_ascii=ensure_ascii,
            allow_nan=False,
            check_circular=False,
            separators=(",", ":"),
            default=default,
        )
        return encoder.encode
    string_encoder = (
        json.encoder.encode_basestring_ascii
        if ensure_ascii
        else json.encoder.encode_basestring
    )
    # markers=None: no circular check (a cycle ends in RecursionError and the
    # slow path replaces it); reusing one object saves building it per call.
    c_encoder = c_make_encoder(
        None, default, string_encoder, None, ":", ",", False, False, False
    )
    join = "".join

    def encode(obj: object) -> str:
        return join(c_encoder(obj, 0))

    return encode


def make_dumps(
    *,
    ensure_ascii: bool = True,
    default: Callable[[object], object] | None = None,
) -> Callable[[object], str]:
    """Build a :func:`dumps`-like function with its own options.

    Args:
        ensure_ascii: Escape every non-ASCII character (``\\u00e9``), so the line
            is plain ASCII and any stream encoding can write it. With ``False``
            non-ASCII text is written as is and the stream must be UTF-8.
        default: Optional hook for values of no JSON type, tried before the
            module's table (see :func:`to_jsonable`).

    Returns:
        A function ``dumps(obj) -> str`` that never raises.

    Examples:
        >>> make_dumps(ensure_ascii=False)({"name": "Zoë"})
        '{"name":"Zoë"}'
    """

    def fallback(value: object) -> object:
        return to_jsonable(value, default=default)

    fast = _make_c_encoder(ensure_ascii, fallback)
    strict = json.JSONEncoder(
        ensure_ascii=ensure_ascii,
        allow_nan=False,
        check_circular=False,
        separators=(",", ":"),
    ).encode

    def dumps(obj: object) -> str:
        try:
            return fast(obj)
        except Exception:  # noqa: S110 - NaN, odd keys, cycles: the slow path below
            pass
        try:
            return strict(to_jsonable(obj, default=default))
        except Exception as exc:  # pragma: no cover - defensive
            return strict({"encoding_error": safe_repr(exc)})

    return dumps


def string_encoder(*, ensure_ascii: bool = True) -> Callable[[str], str]:
    """The C function that quotes and escapes one ``str`` as a JSON string.

    Examples:
        >>> string_encoder()('say "hé"')
        '"say \\\\"h\\\\u00e9\\\\""'
    """
    if ensure_ascii:
        return json.encoder.encode_basestring_ascii
    return json.encoder.encode_basestring


def make_value_encoder(
    *,
    ensure_ascii: bool = True,
    default: Callable[[object], object] | None = None,
) -> Callable[[object], str]:
    """Build ``value(obj) -> str``: the JSON text of one value, fast for scalars.

    For building a JSON line field by field: ``str``, ``int``, ``float``,
    ``bool`` and ``None`` are written inline (NaN and infinities as the table
    says), anything else goes through :func:`make_dumps` with the same options.
    Never raises, except ``ValueError`` for an ``int`` too long for a decimal
    string (callers fall back to :func:`dumps` of the whole object).

    Examples:
        >>> value = make_value_encoder()
        >>> [value(v) for v in ("a", 3, 0.5, float("-inf"), None, {"k": [1]})]
        ['"a"', '3', '0.5', '"-Infinity"', 'null', '{"k":[1]}']
    """
    quote = string_encoder(ensure_ascii=ensure_ascii)
    generic = make_dumps(ensure_ascii=ensure_ascii, default=default)
    int_repr, float_repr = int.__repr__, float.__repr__

    def value(obj: object) -> str:  # noqa: PLR0911 - one return per JSON type
        kind = type(obj)
        if kind is str:
            return quote(obj)  # type: ignore[arg-type]
        if kind is int:
            return int_repr(obj)
        if kind is float:
            if obj - obj == 0.0:  # type: ignore[operator] # finite
                return float_repr(obj)
            return '"NaN"' if obj != obj else generic(obj)
        if obj is None:
            return "null"
        if obj is True:
            return "true"
        if obj is False:
            return "false"
        return generic(obj)

    return value


_dumps = make_dumps()


def dumps(obj: object) -> str:
    """Encode *obj* as one line of strict JSON; never raises.

    Compact separators, ASCII only, no newline inside; values map as the
    module's table says. Hot paths bind ``make_dumps()`` once instead.

    Examples:
        >>> dumps({"epoch": 3, "loss": float("nan")})
        '{"epoch":3,"loss":"NaN"}'
    """
    return _dumps(obj)


def dumps_line(obj: object) -> str:
    """:func:`dumps` plus the terminating ``"\\n"``: one JSON Lines record.

    Examples:
        >>> dumps_line({"event": "epoch_end"})
        '{"event":"epoch_end"}\\n'
    """
    return _dumps(obj) + "\n"
