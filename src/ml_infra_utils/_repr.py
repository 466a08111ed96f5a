"""Bounded reprs: what error messages, reports and retry notes show of a value.

A message must never fail to build, whatever the value: ``repr`` of an ``int``
longer than 4300 digits raises ``ValueError`` (CPython's limit on int-to-str
conversion), a ``__repr__`` may raise, and a list may hold a million elements.
Every module that puts a user's value into a message goes through
:func:`short_repr`. Imports nothing of the package, so every layer may use it.

Examples:
    >>> short_repr(list(range(100)))
    '[0, 1, 2, 3, 4, 5, 6, 7, ...]'
    >>> short_repr(10**5000)
    '<int with 5001 digits>'
"""

from __future__ import annotations

import math
import reprlib

__all__ = ["int_digits", "short_repr"]

# Below this bit length str(int) can never reach the default 4300-digit limit.
_SAFE_INT_BITS = 4000


def int_digits(value: int) -> int:
    """The number of decimal digits of ``abs(value)``, computed without ``str``.

    Examples:
        >>> int_digits(0), int_digits(-999), int_digits(10**400)
        (1, 3, 401)
    """
    magnitude = abs(int(value))
    if magnitude < 10:
        return 1
    digits = int(math.log10(magnitude)) + 1  # may be one off near a power of 10
    if magnitude < 10 ** (digits - 1):
        return digits - 1
    if magnitude >= 10**digits:
        return digits + 1
    return digits


class _Repr(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > _SAFE_INT_BITS:
            sign = "negative " if x < 0 else ""
            return f"<{sign}int with {int_digits(x)} digits>"
        return super().repr_int(x, level)


_REPR = _Repr()
_REPR.maxstring = 120
_REPR.maxother = 200
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8


def short_repr(value: object) -> str:
    """``repr(value)``, shortened to at most a couple of hundred characters.

    Never raises: an ``int`` too long for ``repr`` shows its number of digits,
    and a ``__repr__`` that raises gives ``"<Cls instance at 0x...>"``.

    Examples:
        >>> short_repr(ValueError("x"))
        "ValueError('x')"
        >>> short_repr("a" * 500)[:10], len(short_repr("a" * 500))
        ("'aaaaaaaaa", 120)
    """
    return _REPR.repr(value)
