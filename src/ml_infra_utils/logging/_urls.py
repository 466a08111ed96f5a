"""Checks of a client's server URL and timeouts (light: no network imports).

Examples:
    >>> check_url("http://127.0.0.1:8787/")
    'http://127.0.0.1:8787'
    >>> redact_url("https://user:pw@example.org/api?token=x")
    'https://example.org/api'
"""

from __future__ import annotations

import math
import urllib.parse

from ml_infra_utils._errors import InputTypeError, InvalidParameterError

__all__ = ["check_api_key", "check_url", "positive_seconds", "redact_url"]


def check_url(url: object, argument: str = "url") -> str:
    """Return *url* if it is an ``http://`` or ``https://`` URL with a host.

    Raises:
        InputTypeError: *url* is not a string.
        InvalidParameterError: another scheme, no host, credentials in it, or
            a space or control character in it, or a non-ASCII path (every
            request would fail).
    """
    if not isinstance(url, str):
        msg = f"{argument} must be a string, got {type(url).__name__}"
        raise InputTypeError(msg)
    for position, char in enumerate(url):
        if char <= " " or char == "\x7f":
            msg = (
                f"{argument} contains a space or a control character at position "
                f"{position}; percent-encode it (%20...)"
            )
            raise InvalidParameterError(msg)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"{argument} must be an http:// or https:// URL with a host, got {url!r}"
        raise InvalidParameterError(msg)
    if parts.username is not None or parts.password is not None:
        msg = (
            f"{argument} must not contain credentials (user:password@); pass the key "
            "as api_key (or $ML_INFRA_UTILS_API_KEY)"
        )
        raise InvalidParameterError(msg)
    if not (parts.path + parts.query).isascii():  # the host may be (IDNA)
        msg = f"{argument} has a non-ASCII path or query; percent-encode it"
        raise InvalidParameterError(msg)
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        msg = f"{argument} has an invalid port: {redact_url(url)!r}"
        raise InvalidParameterError(msg) from None
    return url.rstrip("/")


def check_api_key(
    key: object, argument: str = "api_key", *, allow_empty: bool = True
) -> str | None:
    """Return *key* if it is ``None`` or a string of visible ASCII characters.

    A key travels in an HTTP header, where only visible ASCII is safe: a
    control character (often the trailing newline of a key read from a file)
    or a non-ASCII letter would make every request fail, or never match on
    the server. The message never shows the key, only where it is wrong.

    Args:
        key: the API key, or ``None``.
        argument: the argument's name, for the message.
        allow_empty: whether ``""`` is accepted (a client then sends no key).

    Raises:
        InputTypeError: *key* is neither a string nor ``None``.
        InvalidParameterError: empty (unless allowed), or a character other
            than ``"!"`` to ``"~"`` (a space, a control character, non-ASCII).

    Examples:
        >>> check_api_key("s3cret-KEY")
        's3cret-KEY'
        >>> try:
        ...     check_api_key("s3cret-KEY\\n")
        ... except ValueError as error:
        ...     print(str(error)[:51])
        api_key contains a control character at position 10
    """
    if key is None:
        return None
    if not isinstance(key, str):
        msg = f"{argument} must be a string or None, got {type(key).__name__}"
        raise InputTypeError(msg)
    if not key and not allow_empty:
        msg = f"{argument} must be a non-empty string or None"
        raise InvalidParameterError(msg)
    for position, char in enumerate(key):
        if not "!" <= char <= "~":
            what = (
                "a space"
                if char == " "
                else "a control character"
                if char < " " or char == "\x7f"
                else "a non-ASCII character"
            )
            msg = (
                f"{argument} contains {what} at position {position} (of {len(key)} "
                "characters); only visible ASCII is allowed"
            )
            if char in "\r\n" and key.rstrip("\r\n") != key:
                msg += " (a key read from a file? strip its trailing newline)"
            raise InvalidParameterError(msg)
    return key


def redact_url(url: str) -> str:
    """*url* without credentials, query or fragment (what logs may show).

    Examples:
        >>> redact_url("https://user:pw@example.org/api?token=x")
        'https://example.org/api'
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None else f"{host}:{port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def positive_seconds(
    value: object, argument: str, *, allow_zero: bool = False
) -> float:
    """Return *value* as float seconds if it is a finite number > 0 (or >= 0).

    Raises:
        InputTypeError: not a real number.
        InvalidParameterError: out of range, NaN or infinite.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{argument} must be a number of seconds, got {type(value).__name__}"
        raise InputTypeError(msg)
    if not (value >= 0 if allow_zero else value > 0) or not math.isfinite(value):
        bound = ">= 0" if allow_zero else "> 0"
        msg = f"{argument} must be {bound} and finite, got {value!r}"
        raise InvalidParameterError(msg)
    return float(value)
