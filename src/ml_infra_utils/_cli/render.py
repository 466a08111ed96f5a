"""Terminal output: numbers, times, widths, cut text and sparklines.

Everything here turns plain data into text for a terminal or a pipe. Text from
a run (names, params, error messages) is *cleaned* first: control characters
are shown as escapes, so a param holding ``"\\x1b[2J"`` cannot clear the screen.
Widths are display widths (an East Asian wide character takes two cells).
Aligned tables are in :mod:`.table`.

Examples:
    >>> format_number(0.3333333333333333), format_number(float("nan"))
    ('0.333333', 'NaN')
    >>> format_duration(125.4)
    '2m 05s'
    >>> sparkline([3, 1, 4, 1, 5, 9, 2, 6], 8, UNICODE)
    '▃▁▄▁▅█▂▅'
    >>> sparkline([1.0, float("nan"), 2.0], 3, ASCII)
    '_?#'
"""

from __future__ import annotations

import json
import math
import os
import sys
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from ml_infra_utils._repr import int_digits, short_repr

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

__all__ = [
    "ASCII",
    "UNICODE",
    "Glyphs",
    "clean",
    "display_width",
    "format_duration",
    "format_exact",
    "format_number",
    "format_time",
    "format_value",
    "glyphs_for",
    "sparkline",
    "terminal_width",
    "to_float",
    "truncate",
]


@dataclass(frozen=True, slots=True)
class Glyphs:
    """The characters a sparkline and a truncated cell are drawn with."""

    levels: str
    nan: str
    pos_inf: str
    neg_inf: str
    ellipsis: str


UNICODE = Glyphs(
    levels="▁▂▃▄▅▆▇█", nan="\u00d7", pos_inf="↑", neg_inf="↓", ellipsis="…"
)  # nan: the multiplication sign
ASCII = Glyphs(levels="_.-~=+*#", nan="?", pos_inf="^", neg_inf="v", ellipsis="...")


def glyphs_for(stream: TextIO) -> Glyphs:
    """:data:`UNICODE` if *stream*'s encoding can write it, else :data:`ASCII`.

    Examples:
        >>> import io
        >>> glyphs_for(io.TextIOWrapper(io.BytesIO(), encoding="ascii")) is ASCII
        True
    """
    encoding = getattr(stream, "encoding", None) or "ascii"
    sample = UNICODE.levels + UNICODE.nan + UNICODE.pos_inf + UNICODE.neg_inf
    try:
        (sample + UNICODE.ellipsis).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ASCII
    return UNICODE


def terminal_width(stream: TextIO) -> int | None:
    """The columns available to *stream*: ``$COLUMNS``, else the terminal's.

    ``None`` (no limit) when *stream* is not a terminal and ``COLUMNS`` is
    unset: piped output is never cut to a width nobody sees.
    """
    raw = os.environ.get("COLUMNS", "")
    if raw.strip().isdigit() and int(raw) > 0:
        return int(raw)
    isatty = getattr(stream, "isatty", None)
    if isatty is None or not isatty():
        return None
    try:
        return os.get_terminal_size(stream.fileno()).columns or None
    except (OSError, ValueError):
        return None


def clean(text: str) -> str:
    """*text* with control and other non-printable characters escaped.

    Examples:
        >>> clean("a\\tb\\x1b[0m")
        'a\\\\tb\\\\x1b[0m'
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def display_width(text: str) -> int:
    """The terminal cells *text* takes (wide characters count 2, combining 0).

    Examples:
        >>> display_width("abc"), display_width("実験"), display_width("é")
        (3, 4, 1)
    """
    if text.isascii():
        return len(text)
    return sum(_char_width(ch) for ch in text)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def truncate(
    text: str,
    width: int,
    *,
    ellipsis: str = "…",
    keep: Literal["start", "end"] = "start",
) -> str:
    """*text* cut to *width* cells with *ellipsis* marking the cut.

    Args:
        text: The text, already cleaned.
        width: The cells available (>= 0).
        ellipsis: What replaces the cut part.
        keep: Keep the ``"start"`` (cut the end) or the ``"end"`` (cut the
            start, e.g. for run ids whose end is the random part).

    Examples:
        >>> truncate("validation/accuracy", 10)
        'validatio…'
        >>> truncate("20261124-031416-d85c2cd6", 12, keep="end", ellipsis="...")
        '...d85c2cd6'
    """
    if display_width(text) <= width:
        return text
    room = width - display_width(ellipsis)
    if room <= 0:
        return ellipsis[:width]
    chars = text if keep == "start" else text[::-1]
    kept: list[str] = []
    used = 0
    for ch in chars:  # pragma: no branch - text is wider than room: it breaks
        w = _char_width(ch) if not ch.isascii() else 1
        if used + w > room:
            break
        kept.append(ch)
        used += w
    if keep == "start":
        return "".join(kept) + ellipsis
    return ellipsis + "".join(reversed(kept))


def to_float(value: Any) -> float:
    """*value* as a float; an int too large for a float becomes ±inf.

    Examples:
        >>> to_float(10**400), to_float(-(10**400)), to_float(3)
        (inf, -inf, 3.0)
    """
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def format_number(value: Any) -> str:  # noqa: PLR0911 - one return per kind
    """A metric or result value in at most about 12 characters.

    Floats get 6 significant digits (``0.333333``, ``1.5e-05``); NaN and the
    infinities are ``NaN``, ``inf`` and ``-inf``; ints are shown whole up to 12
    digits. Anything else (a value of an unexpected type) is its short repr.

    Examples:
        >>> format_number(12), format_number(2.5e-7), format_number(float("-inf"))
        ('12', '2.5e-07', '-inf')
        >>> format_number(10**20)
        '1e+20'
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return clean(short_repr(value))
    if isinstance(value, int):
        if int_digits(value) <= 12:
            return str(value)
        number = to_float(value)
        if math.isinf(number):
            sign = "-" if value < 0 else ""
            return f"<{sign}int with {int_digits(value)} digits>"
        return f"{number:.6g}"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


def format_exact(value: Any) -> str:
    """A number in full: the shortest text that reads back to the same float.

    Examples:
        >>> format_exact(0.1 + 0.2), format_exact(float("inf")), format_exact(3)
        ('0.30000000000000004', 'inf', '3')
    """
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if int_digits(value) <= 4000 else clean(short_repr(value))
    return format_number(value)


def format_value(value: Any) -> str:
    """A param or tag value: strings as they are, the rest as compact JSON.

    Examples:
        >>> format_value("adam"), format_value([1, 2]), format_value(None)
        ('adam', '[1,2]', 'null')
    """
    if isinstance(value, str):
        return clean(value)
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        text = short_repr(value)
    return clean(text)


def format_duration(seconds: Any) -> str:  # noqa: PLR0911 - one return per range
    """Seconds as ``0.42s``, ``12.3s``, ``2m 05s``, ``3h 07m`` or ``2d 04h``.

    ``-`` when unknown (``None``: the run has not ended) or not a number.

    Examples:
        >>> [format_duration(s) for s in (0.423, 12.34, 3725, 180000, None)]
        ['0.42s', '12.3s', '1h 02m', '2d 02h', '-']
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return "-"
    if not math.isfinite(seconds) or seconds < 0:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d {whole % 86400 // 3600:02d}h"


def format_time(value: Any, *, seconds: bool = True) -> str:
    """An ISO 8601 time as ``YYYY-MM-DD HH:MM:SS`` in UTC; ``-`` if missing.

    A string that is not ISO 8601 is shown cleaned, as it is.

    Examples:
        >>> format_time("2026-11-24T03:14:16.572114+00:00")
        '2026-11-24 03:14:16'
        >>> format_time("2026-11-24T04:14:16+01:00", seconds=False)
        '2026-11-24 03:14'
        >>> format_time(None)
        '-'
    """
    if not isinstance(value, str):
        return "-"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return clean(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def sparkline(values: Sequence[Any], width: int, glyphs: Glyphs) -> str:
    """*values* drawn as at most *width* characters, one level per character.

    With more values than *width*, each character stands for a run of
    consecutive values (their mean). NaN, +inf and -inf are drawn with their
    own marks (a run holding one shows the mark: a diverging loss is never
    averaged away) and excluded from the scale, which spans the smallest to
    the largest finite mean. A constant series sits at the middle level.

    Examples:
        >>> sparkline(range(100), 10, UNICODE)
        '▁▂▃▃▄▅▆▆▇█'
        >>> sparkline([1, float("inf"), 2, float("-inf")], 4, UNICODE)
        '▁↑█↓'
        >>> sparkline([5, 5, 5], 10, ASCII)
        '~~~'
    """
    n = len(values)
    if n == 0 or width <= 0:
        return ""
    if n <= width:
        buckets: list[Sequence[Any]] = [[v] for v in values]
    else:
        buckets = [values[i * n // width : (i + 1) * n // width] for i in range(width)]
    points = [_bucket_mean(bucket, glyphs) for bucket in buckets]
    finite = [p for p in points if isinstance(p, float)]
    if not finite:
        return "".join(str(p) for p in points)
    lo, hi = min(finite), max(finite)
    top = len(glyphs.levels) - 1
    chars = []
    for point in points:
        if isinstance(point, str):
            chars.append(point)
        elif hi == lo:
            chars.append(glyphs.levels[top // 2])
        else:
            span = hi - lo
            if math.isfinite(span):
                frac = (point - lo) / span
            else:  # hi - lo overflowed: the halves do not
                frac = (point / 2 - lo / 2) / (hi / 2 - lo / 2)
            chars.append(glyphs.levels[min(top, max(0, round(frac * top)))])
    return "".join(chars)


def _bucket_mean(bucket: Sequence[Any], glyphs: Glyphs) -> float | str:
    floats = [to_float(v) for v in bucket]
    total = sum(floats)
    if math.isfinite(total):
        return total / len(floats)
    if any(math.isnan(f) for f in floats):
        return glyphs.nan
    if math.inf in floats:
        return glyphs.pos_inf
    if -math.inf in floats:
        return glyphs.neg_inf
    mean = sum(f / len(floats) for f in floats)  # finite values overflowed
    return mean if math.isfinite(mean) else math.copysign(sys.float_info.max, mean)
