"""What one logging call needs: the caller's frame, level names, the stdlib hand-off.

Private helpers of :class:`~ml_infra_utils.logging.structured.StructuredLogger`
and :func:`~ml_infra_utils.logging.structured.log_ml_event`.

Examples:
    >>> level_name(20), level_json(30)
    ('INFO', '"WARNING"')
    >>> caller_frame(0).f_code.co_name
    '<module>'
"""

from __future__ import annotations

import logging
import sys
import traceback
import types
from typing import Any

from ml_infra_utils._errors import InputTypeError
from ml_infra_utils.logging._json import string_encoder

__all__ = [
    "caller_frame",
    "exc_tuple",
    "level_json",
    "level_name",
    "require_str",
    "stacklevel_of",
    "to_stdlib",
]

_QUOTE = string_encoder()
_level_names: dict[int, str] = {}
_level_jsons: dict[int, str] = {}


def level_json(levelno: int) -> str:
    try:
        return _level_jsons[levelno]
    except KeyError:
        name = level_name(levelno)
        text = _QUOTE(name)
        if levelno in _level_names:
            _level_jsons[levelno] = text
        return text


def require_str(value: object, argument: str) -> str:
    if isinstance(value, str):
        return value
    msg = f"{argument} must be a str (got {type(value).__name__})"
    raise InputTypeError(msg)


def stacklevel_of(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 1)
    msg = f"stacklevel must be an int (got {type(value).__name__})"
    raise InputTypeError(msg)


def level_name(levelno: int) -> str:
    try:
        return _level_names[levelno]
    except KeyError:
        name = logging.getLevelName(levelno)
        if not name.startswith("Level "):
            # Only registered names: addLevelName() may name this level later.
            _level_names[levelno] = name
        return name


def exc_tuple(exc_info: object) -> tuple[Any, Any, Any] | None:
    if not exc_info:
        return None
    if isinstance(exc_info, BaseException):
        return (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple):
        return exc_info
    return sys.exc_info()


def caller_frame(depth: int) -> types.FrameType:
    # depth frames above the caller of the caller; the outermost frame when the
    # stack is shallower (as the stdlib does with a too-large stacklevel).
    try:
        return sys._getframe(depth + 1)
    except ValueError:
        frame = sys._getframe(1)
        while frame.f_back is not None:
            frame = frame.f_back
        return frame


def to_stdlib(  # noqa: PLR0917 - private, positional for speed
    logger: logging.Logger,
    levelno: int,
    message: object,
    context: dict[str, object],
    exc_info: object,
    stack_info: object,
    frame: types.FrameType,
) -> None:
    """Hand one record to a stdlib logger, as ``Logger._log`` would."""
    code = frame.f_code
    sinfo = None
    if stack_info:
        stack = "".join(traceback.format_stack(frame)).rstrip("\n")
        sinfo = "Stack (most recent call last):\n" + stack
    record = logger.makeRecord(
        logger.name, levelno, code.co_filename, frame.f_lineno, message,
        (), exc_tuple(exc_info), code.co_name, None, sinfo,
    )  # fmt: skip
    if context:
        record.context = context
    logger.handle(record)
