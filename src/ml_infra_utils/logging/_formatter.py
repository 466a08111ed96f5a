"""The stdlib side of structured logging: JsonFormatter for any handler.

Re-exported by :mod:`ml_infra_utils.logging.structured` (the documented module).

Examples:
    >>> import logging
    >>> record = logging.makeLogRecord(
    ...     {"msg": "ok", "levelname": "INFO", "created": 0.0}
    ... )
    >>> JsonFormatter(fields=["timestamp", "message"]).format(record)
    '{"timestamp":"1970-01-01T00:00:00.000000+00:00","message":"ok"}'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ml_infra_utils._errors import InputTypeError, LoggingConfigError
from ml_infra_utils._repr import short_repr
from ml_infra_utils._sequences import check_flag
from ml_infra_utils.logging._context import CONTEXT, Captured
from ml_infra_utils.logging._json import (
    make_dumps,
    make_value_encoder,
    safe_repr,
    string_encoder,
)
from ml_infra_utils.logging._record import (
    RECORD_ATTRIBUTES,
    STANDARD_KEYS,
    TS_CACHE,
    exc_info_to_dict,
    free_key,
    iso_utc,
    safe_str,
    stack_frames,
    traceback_text_to_dict,
)

__all__ = ["DEFAULT_FIELDS", "JsonFormatter"]

DEFAULT_FIELDS: Final = (
    "timestamp",
    "level",
    "logger",
    "message",
    "module",
    "function",
    "line",
)
_STRUCTURAL: Final = frozenset({"exc_info", "exc_text", "stack_info", "context"})
_N_STD: Final = len(STANDARD_KEYS)
int_repr = int.__repr__
_LAST_STD: Final = STANDARD_KEYS[-1]
_ALIASES: Final = {
    "level": "levelname",
    "logger": "name",
    "function": "funcName",
    "line": "lineno",
}
_FMT_NAMES: Final = {
    "%": re.compile(r"%\((\w+)\)"),
    "{": re.compile(r"\{(\w+)"),
    "$": re.compile(r"\$\{?(\w+)"),
}


class JsonFormatter(logging.Formatter):
    """Format each log record as one line of JSON.

    Fields, in order: ``timestamp`` (ISO 8601 UTC from ``record.created``,
    ``+00:00``), ``level``, ``logger``, ``message``, ``module``, ``function``,
    ``line``; then the ``static_fields``; then ``context`` (the record's
    ``context`` merged over the :func:`log_context` fields) when not empty; then
    every ``extra=`` field at the top level; then ``exception`` and ``stack``
    (see :func:`~ml_infra_utils.logging._record.exception_to_dict`) when the
    record has them. A name already used gets ``_`` appended
    (``extra={"level": 1}`` comes out as ``"level_": 1``), so nothing is
    overwritten. The formatter never raises: a failing ``%``-format keeps the
    raw message and adds ``logging_error``.

    The first four arguments are those of ``logging.Formatter`` so
    ``dictConfig``'s ``"class"`` form and ``fileConfig`` work: a ``fmt`` such
    as ``"%(levelname)s %(message)s"`` selects those fields (record attribute
    names come out under their own name). Everything else is keyword-only and
    needs dictConfig's ``"()"`` form.

    Args:
        fmt: Optional format string whose field names select the fields.
        datefmt: ``strftime`` format for an ``asctime`` field (local time, as
            the stdlib); ``timestamp`` is always ISO UTC.
        style: ``"%"``, ``"{"`` or ``"$"``: how *fmt* names fields.
        validate: Let ``logging.Formatter`` validate *fmt*.
        defaults: Values for selected record attributes a record lacks.
        fields: The fields, in order, by their names above or any record
            attribute (``"process"``, ``"threadName"``, ``"taskName"``, ...).
        rename_fields: Output names, e.g. ``{"level": "severity"}``; also
            renames ``context``, ``exception``, ``stack`` and ``extra`` keys.
        static_fields: Fields added to every record, e.g. ``{"service": "x"}``.
        ensure_ascii: Escape non-ASCII characters (safe for any stream); with
            ``False`` the handler's stream must be UTF-8.
        json_default: Hook for values of no JSON type, tried before the built-in
            mapping.

    Raises:
        LoggingConfigError: Two fields share an output name, a static field
            shadows a field, or *fmt*/*style* is invalid.
        InputTypeError: An option is of the wrong type.

    Examples:
        >>> import logging
        >>> fmt = JsonFormatter(fields=["level", "message"], static_fields={"app": "x"})
        >>> record = logging.makeLogRecord(
        ...     {"msg": "hi %s", "args": ("you",), "levelname": "INFO"}
        ... )
        >>> fmt.format(record)
        '{"level":"INFO","message":"hi you","app":"x"}'
    """

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        style: str = "%",
        validate: bool = True,
        *,
        defaults: Mapping[str, Any] | None = None,
        fields: Sequence[str] | None = None,
        rename_fields: Mapping[str, str] | None = None,
        static_fields: Mapping[str, Any] | None = None,
        ensure_ascii: bool = True,
        json_default: Callable[[object], object] | None = None,
    ) -> None:
        try:
            super().__init__(fmt, datefmt, style, validate, defaults=defaults)  # type: ignore[arg-type]
        except ValueError as exc:
            msg = f"invalid fmt/style for JsonFormatter: {exc}"
            raise LoggingConfigError(msg) from exc
        check_flag("ensure_ascii", ensure_ascii)
        hook: object = json_default  # checked at run time: dictConfig passes anything
        if hook is not None and not callable(hook):
            kind = type(hook).__name__
            msg = f"json_default must be callable or None (got {kind})"
            raise InputTypeError(msg)
        rename = self._mapping(rename_fields, "rename_fields")
        static = self._mapping(static_fields, "static_fields")
        if fields is None:
            names = _FMT_NAMES[style].findall(fmt) if fmt else []
            chosen = tuple(dict.fromkeys(names)) or DEFAULT_FIELDS
        elif isinstance(fields, str) or not all(isinstance(f, str) for f in fields):
            msg = f"fields must be a sequence of field names (got {short_repr(fields)})"
            raise InputTypeError(msg)
        else:
            chosen = tuple(fields)
        chosen = tuple(f for f in chosen if f not in _STRUCTURAL)
        keys = tuple(rename.get(f, f) for f in chosen)
        if len(set(keys)) != len(keys):
            msg = f"fields and rename_fields give two fields one name: {list(keys)}"
            raise LoggingConfigError(msg)
        self._context_key, self._exception_key, self._stack_key = (
            rename.get(k, k) for k in ("context", "exception", "stack")
        )
        special = {self._context_key, self._exception_key, self._stack_key}
        shadowed = (set(static) & (set(keys) | special)) | (set(keys) & special)
        if shadowed:
            msg = f"static_fields and fields may not reuse the names {sorted(shadowed)}"
            raise LoggingConfigError(msg)
        self._fast = chosen == DEFAULT_FIELDS
        self._keys = keys
        self._direct = self._fast and type(self).to_dict is JsonFormatter.to_dict
        self._plan = tuple(zip(keys, chosen, strict=True))
        self._static = static
        self._field_defaults = dict(defaults or {})
        self._taken = frozenset(keys) | frozenset(static) | special
        custom = frozenset(chosen) - frozenset(DEFAULT_FIELDS)
        self._skip = RECORD_ATTRIBUTES | custom | _STRUCTURAL
        self._rename_extra = {k: v for k, v in rename.items() if k not in self._skip}
        self._dumps = make_dumps(ensure_ascii=ensure_ascii, default=json_default)
        # The direct path writes the line field by field with these pieces.
        self._quote = quote = string_encoder(ensure_ascii=ensure_ascii)
        self._value = make_value_encoder(
            ensure_ascii=ensure_ascii, default=json_default
        )
        self._heads = tuple(quote(k) + ":" for k in keys)
        self._context_head = f",{quote(self._context_key)}:"
        self._static_json = "".join(
            f",{quote(k)}:{self._value(v)}" for k, v in static.items()
        )

    @staticmethod
    def _mapping(value: object, argument: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            msg = f"{argument} must be a mapping (got {type(value).__name__})"
            raise InputTypeError(msg)
        return dict(value)

    def format(self, record: logging.LogRecord) -> str:  # noqa: PLR0912 - one flat fast path
        """One JSON object on one line (no newline: the handler adds it)."""
        if not self._direct:
            return self._format_general(record)
        # The default fields, written without a dict (about twice as fast);
        # gives the text of the general path (tested over random records), which
        # takes over when anything unusual raises.
        try:
            d = record.__dict__
            if d["exc_info"] or d["exc_text"] or d["stack_info"]:
                return self._format_general(record)
            message = d["msg"]
            if type(message) is not str:
                message = safe_str(message)
            args = d["args"]
            if args:
                message = message % args
            created = d["created"]
            sec = int(created)
            cached = TS_CACHE[0]
            usec = (created - sec) * 1e6 + 0.5
            if cached[0] == sec and 0.0 <= usec < 1e6:
                stamp = "%s.%06d+00:00" % (cached[1], usec)  # noqa: UP031 - fastest
            else:
                stamp = iso_utc(created)
            quote, value = self._quote, self._value
            h = self._heads
            line = d["lineno"]
            text = (
                f'{{{h[0]}"{stamp}",{h[1]}{quote(d["levelname"])},'
                f"{h[2]}{quote(d['name'])},{h[3]}{quote(message)},"
                f"{h[4]}{quote(d['module'])},{h[5]}{quote(d['funcName'])},"
                f"{h[6]}{int_repr(line) if type(line) is int else value(line)}"
                f"{self._static_json}"
            )
            context = d.get("context")
            kind = type(context)
            if kind is not Captured:
                if context is not None and kind is not dict:
                    return self._format_general(record)
                outer = CONTEXT.get()
                if outer:
                    context = {**outer, **context} if context else outer
            if context:
                text += self._context_head + self._object(context)
            if len(d) > _N_STD:
                keys = list(d)
                skip, taken = self._skip, self._taken
                seen: set[str] = set()
                for key in keys[_N_STD:] if keys[_N_STD - 1] == _LAST_STD else keys:
                    if key not in skip:
                        name = key if type(key) is str else safe_str(key)
                        if self._rename_extra:
                            name = self._rename_extra.get(name, name)
                        if name in taken or name in seen:
                            name = free_key(name, taken, seen, d)
                        seen.add(name)
                        v = d[key]
                        text += (
                            f",{quote(name)}:{quote(v) if type(v) is str else value(v)}"
                        )
            return text + "}"
        except Exception:  # anything unusual: the general path copes with it
            return self._format_general(record)

    def _format_general(self, record: logging.LogRecord) -> str:
        try:
            return self._dumps(self.to_dict(record))
        except Exception as exc:  # the last resort: a minimal line
            return self._dumps(self._fallback(record, exc))

    def _object(self, mapping: dict[str, object]) -> str:
        quote, value = self._quote, self._value
        items = ",".join([f"{quote(k)}:{value(v)}" for k, v in mapping.items()])
        return f"{{{items}}}"

    def to_dict(self, record: logging.LogRecord) -> dict[str, Any]:  # noqa: PLR0912 - one pass over the record
        """The record as the dict :meth:`format` encodes; override to post-process.

        Values are not yet converted; :meth:`format` maps them (see the
        module's JSON table) when it encodes.
        """
        d = record.__dict__
        message = d["msg"]
        if type(message) is not str:
            message = safe_str(message)
        error = None
        args = d["args"]
        if args:
            try:
                message = message % args
            except Exception as exc:  # keep the raw message instead
                error = (
                    f"{type(exc).__name__} formatting the message with args "
                    f"{safe_repr(args)}: {safe_str(exc)}"
                )
        if self._fast:
            k = self._keys
            out: dict[str, Any] = {
                k[0]: iso_utc(d["created"]),
                k[1]: d["levelname"],
                k[2]: d["name"],
                k[3]: message,
                k[4]: d["module"],
                k[5]: d["funcName"],
                k[6]: d["lineno"],
            }
        else:
            out = {
                key: self._field_value(name, record, message)
                for key, name in self._plan
            }
        if self._static:
            out.update(self._static)
        context = d.get("context")
        stray = None
        if context is not None and not isinstance(context, Mapping):
            # Not a mapping: kept as an ordinary field (renamed, as any clash).
            stray, context = context, None
        if type(context) is not Captured:
            outer = CONTEXT.get()
            if outer:
                context = {**outer, **context} if context else outer
        if context:
            out[self._context_key] = context
        if stray is not None:
            out[free_key("context", out, self._taken)] = stray
        if len(d) > _N_STD:
            self._add_extras(out, d)
        exc_info = d["exc_info"]
        if exc_info:
            info = exc_info_to_dict(exc_info)
            if info is not None:
                out[self._exception_key] = info
        elif d["exc_text"]:
            out[self._exception_key] = traceback_text_to_dict(d["exc_text"])
        if d["stack_info"]:
            out[self._stack_key] = stack_frames(d["stack_info"])
        if error is not None:
            out[free_key("logging_error", out, self._taken)] = error
        return out

    def _add_extras(self, out: dict[str, Any], d: dict[str, Any]) -> None:
        """Add the record's ``extra=`` attributes to *out*, renaming clashes."""
        keys = list(d)
        for key in keys[_N_STD:] if keys[_N_STD - 1] == _LAST_STD else keys:
            if key not in self._skip:
                name = key if type(key) is str else safe_str(key)
                if self._rename_extra:
                    name = self._rename_extra.get(name, name)
                if name in out or name in self._taken:
                    # The direct path's rule, so both write the same text: never
                    # take a name that a later extra key of the record uses.
                    name = free_key(name, out, self._taken, d)
                out[name] = d[key]

    def _field_value(
        self, name: str, record: logging.LogRecord, message: str
    ) -> object:
        d = record.__dict__
        if name == "message":
            return message
        if name == "timestamp" or (name == "asctime" and not self.datefmt):
            return iso_utc(d["created"])
        if name == "asctime":
            return self.formatTime(record, self.datefmt)
        source = _ALIASES.get(name, name)
        if source in d:
            return d[source]
        return self._field_defaults.get(name)

    def _fallback(self, record: logging.LogRecord, error: Exception) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, make in (
            ("timestamp", lambda: iso_utc(record.created)),
            ("level", lambda: record.levelname),
            ("logger", lambda: record.name),
            ("message", lambda: safe_str(record.msg)),
            ("context", lambda: record.__dict__.get("context")),
        ):
            try:
                out[key] = make()
            except Exception:  # noqa: S112 - keep what can be kept
                continue
        out["logging_error"] = f"{type(error).__name__}: {safe_str(error)}"
        return out
