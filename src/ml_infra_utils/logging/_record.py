"""Pieces of a JSON log record: UTC timestamps, caller names, exceptions as data.

Private helpers shared by :class:`~ml_infra_utils.logging.structured.JsonFormatter`
(stdlib records) and :class:`~ml_infra_utils.logging.structured.StructuredLogger`
(its direct-to-stream fast path), so both write the same fields.

Examples:
    >>> iso_utc(0.5)
    '1970-01-01T00:00:00.500000+00:00'
    >>> module_of("/src/pkg/train.py")
    'train'
"""

from __future__ import annotations

import datetime as dt
import logging
import os.path
import re
import time
import traceback
import types
from collections.abc import Container
from typing import Any

from ml_infra_utils._errors import InputTypeError, LoggingConfigError
from ml_infra_utils._repr import short_repr
from ml_infra_utils.logging._json import type_name

__all__ = [
    "RECORD_ATTRIBUTES",
    "STANDARD_KEYS",
    "TS_CACHE",
    "exc_info_to_dict",
    "exception_to_dict",
    "free_key",
    "iso_utc",
    "level_number",
    "module_of",
    "safe_str",
    "stack_frames",
    "traceback_text_to_dict",
]

# Attributes every LogRecord of this Python sets, in the order it sets them;
# derived rather than typed in, since the set grows (taskName in 3.12).
STANDARD_KEYS: tuple[str, ...] = tuple(
    logging.LogRecord("n", logging.INFO, "p", 1, "m", (), None).__dict__
)
# Names `extra=` may not use (the stdlib refuses them) plus those formatters add.
RECORD_ATTRIBUTES: frozenset[str] = frozenset(STANDARD_KEYS) | {"message", "asctime"}

_MAX_CHAIN = 16
# (second, "YYYY-MM-DDTHH:MM:SS") of the last second formatted; replaced in one
# store, so readers in other threads see an old or a new pair, never a mix.
TS_CACHE: list[tuple[int, str]] = [(-1, "")]


def iso_utc(created: float) -> str:
    """ISO 8601 UTC time with microseconds and ``+00:00`` for an epoch time.

    The date-and-seconds prefix is cached per second, so most calls only format
    the microseconds. Equals ``datetime.fromtimestamp(created, UTC).isoformat()``
    up to rounding of the last microsecond.

    Examples:
        >>> iso_utc(1700000000.25)
        '2023-11-14T22:13:20.250000+00:00'
    """
    sec = int(created)
    cached = TS_CACHE[0]
    if cached[0] == sec:
        usec = (created - sec) * 1e6 + 0.5
        if 0.0 <= usec < 1e6:
            return "%s.%06d+00:00" % (cached[1], usec)  # noqa: UP031 - fastest here
    return _iso_utc_slow(created)


def _iso_utc_slow(created: float) -> str:
    sec = int(created)
    usec = int((created - sec) * 1e6 + 0.5)
    if usec >= 1_000_000 or created < 0:
        stamp = dt.datetime.fromtimestamp(created, dt.UTC)
        return stamp.isoformat(timespec="microseconds")
    prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    TS_CACHE[0] = (sec, prefix)
    return f"{prefix}.{usec:06d}+00:00"


_module_cache: dict[str, str] = {}


def module_of(filename: str) -> str:
    """The ``module`` field of a source file, as ``LogRecord`` computes it."""
    try:
        return _module_cache[filename]
    except KeyError:
        name = os.path.splitext(os.path.basename(filename))[0]
        if len(_module_cache) < 4096:
            _module_cache[filename] = name
        return name


def safe_str(value: object) -> str:
    """``str(value)``, or a placeholder when its ``__str__`` raises."""
    try:
        return str(value)
    except Exception:  # a broken __str__ must not lose the record
        return f"<unprintable {type_name(type(value))} object>"


def free_key(key: str, *taken: Container[str]) -> str:
    """*key*, with ``_`` appended until no container in *taken* holds it.

    The clash policy of every JSON record: a field never overwrites another.

    Examples:
        >>> free_key("level", {"level": "INFO", "level_": 1})
        'level__'
    """
    while any(key in t for t in taken):
        key += "_"
    return key


def level_number(level: object, argument: str = "level") -> int:
    """A level number from a number or a (case-insensitive) level name.

    Examples:
        >>> level_number("warning"), level_number(15)
        (30, 15)
    """
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str):
        number = logging.getLevelNamesMapping().get(level.upper())
        if number is not None:
            return number
        names = ", ".join(logging.getLevelNamesMapping())
        msg = (
            f"{argument} must be a level number or one of {names} "
            f"(got {short_repr(level)})"
        )
        raise LoggingConfigError(msg)
    msg = f"{argument} must be an int or a level name (got {type(level).__name__})"
    raise InputTypeError(msg)


def _frames(summaries: traceback.StackSummary) -> list[dict[str, Any]]:
    return [
        {"file": f.filename, "line": f.lineno, "function": f.name, "code": f.line or ""}
        for f in summaries
    ]


def exception_to_dict(
    exc: BaseException, *, _seen: set[int] | None = None
) -> dict[str, Any]:
    """An exception as data: type, message, traceback frames, causes, notes.

    ``traceback`` lists the frames oldest first, each
    ``{"file", "line", "function", "code"}``; local variables are never
    included. An explicit cause (``raise ... from``) nests under ``"cause"``, an
    exception raised while handling another under ``"context"``; an exception
    group lists its members under ``"exceptions"``; ``add_note`` texts appear
    under ``"notes"``.

    Examples:
        >>> try:
        ...     int("x")
        ... except ValueError as exc:
        ...     info = exception_to_dict(exc)
        >>> info["type"], info["message"], info["traceback"][0]["function"]
        ('ValueError', "invalid literal for int() with base 10: 'x'", '<module>')
    """
    seen = set() if _seen is None else _seen
    seen.add(id(exc))
    try:
        frames = _frames(traceback.extract_tb(exc.__traceback__))
    except Exception:  # unreadable frames must not lose the record
        frames = []
    info: dict[str, Any] = {
        "type": type_name(type(exc)),
        "message": safe_str(exc),
        "traceback": frames,
    }
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list | tuple):
        info["notes"] = [safe_str(n) for n in notes]
    if len(seen) < _MAX_CHAIN:
        if exc.__cause__ is not None and id(exc.__cause__) not in seen:
            info["cause"] = exception_to_dict(exc.__cause__, _seen=seen)
        elif (
            exc.__context__ is not None
            and not exc.__suppress_context__
            and id(exc.__context__) not in seen
        ):
            info["context"] = exception_to_dict(exc.__context__, _seen=seen)
        if isinstance(exc, BaseExceptionGroup):
            info["exceptions"] = [
                exception_to_dict(e, _seen=seen)
                for e in exc.exceptions
                if id(e) not in seen
            ]
    return info


def exc_info_to_dict(exc_info: object) -> dict[str, Any] | None:
    """``record.exc_info`` (a tuple, an exception, or ``True``) as data, or None."""
    if isinstance(exc_info, BaseException):
        return exception_to_dict(exc_info)
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc = exc_info[1]
        if isinstance(exc, BaseException):
            return exception_to_dict(exc)
    return None


_FRAME_RE = re.compile(r'^\s*File "(.*)", line (\d+), in (.*)$')
_LAST_LINE_RE = re.compile(r"^([A-Za-z_][\w.]*)(?:: (.*))?$", re.DOTALL)


def _parse_frames(lines: list[str]) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    for line in lines:
        match = _FRAME_RE.match(line)
        if match:
            file, lineno, function = match.groups()
            frames.append(
                {"file": file, "line": int(lineno), "function": function, "code": ""}
            )
        elif frames and line.startswith("    ") and not frames[-1]["code"]:
            frames[-1]["code"] = line.strip()
    return frames


def traceback_text_to_dict(text: str) -> dict[str, Any]:
    """A formatted traceback (``record.exc_text`` after a queue) as data.

    Examples:
        >>> text = (
        ...     "Traceback (most recent call last):\\n"
        ...     '  File "t.py", line 1, in f\\n    g()\\nKeyError: 3'
        ... )
        >>> traceback_text_to_dict(text)["type"]
        'KeyError'
    """
    lines = text.splitlines()
    last = lines[-1] if lines else ""
    match = _LAST_LINE_RE.match(last)
    kind, message = (match.group(1), match.group(2) or "") if match else ("", last)
    return {"type": kind, "message": message, "traceback": _parse_frames(lines)}


def stack_frames(stack: types.FrameType | str) -> list[dict[str, Any]]:
    """The call stack up to *stack* (a frame, or ``record.stack_info`` text)."""
    if isinstance(stack, str):
        return _parse_frames(stack.splitlines())
    return _frames(traceback.extract_stack(stack))
