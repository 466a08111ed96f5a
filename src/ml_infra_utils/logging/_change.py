"""The change record, the actor context and the primitives every mutation uses.

Private: the public names are re-exported by :mod:`ml_infra_utils.logging.changes`.

A tracked container stores the fields of a record as a plain tuple in its
history (the cheapest thing Python can build) and turns it into a
:class:`Change` only when somebody looks: an observer, ``changes()``,
``last_change()``. ``Change`` is a ``NamedTuple`` over exactly those fields, so
that is one C-level call.

Examples:
    >>> record = Change(1, 0.0, "replace", ("lr",), 0.1, 0.01, "tuner")
    >>> record.to_dict()["timestamp"], record.path
    ('1970-01-01T00:00:00.000000+00:00', ('lr',))
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import inspect
import itertools
import os
import sys
import threading
import time
import types
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple, TypeVar

from ml_infra_utils._errors import InputTypeError, InvalidParameterError

from ._json import to_jsonable

__all__ = [
    "ACTIONS",
    "MISSING",
    "ActorScope",
    "Change",
    "capture_stack",
    "freeze",
    "thaw",
    "tracking_actor",
]

MISSING: Any = type("_Missing", (), {"__repr__": lambda _self: "<missing>"})()
"""Marks an absent value or key (never stored in a record)."""

ACTIONS = (
    "add",
    "replace",
    "remove",
    "update",
    "extend",
    "splice",
    "clear",
    "sort",
    "reverse",
    "assign",
)
"""Every value of :attr:`Change.action` (see the table in ``docs/changes.md``)."""

# One process-wide re-entrant lock makes "change the container, number the
# change, append it to every ancestor's history" one atomic step for any shape
# of nesting (a child may sit in several parents). It is held for
# microseconds and never while observers run.
LOCK = threading.RLock()
next_seq = itertools.count(1).__next__
now = time.time

_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ml_infra_utils_tracking_actor", default=None
)
get_actor = _actor.get
_F = TypeVar("_F", bound=Callable[..., Any])


class Change(NamedTuple):
    """One change of a tracked container: frozen, slotted, plain Python values.

    Attributes:
        seq: a process-wide number, strictly increasing in every history; the
            copies of one change in a container and its ancestors share it.
        timestamp: when the change happened, in seconds since the Unix epoch
            (UTC); :attr:`datetime` gives it as an aware ``datetime``.
        action: what happened, one of ``ACTIONS`` (see ``docs/changes.md``).
        path: where, as a tuple of keys, list indices and attribute names from
            the container whose history holds the record (``()`` is the
            container itself).
        old: the value before (``None`` when there was none).
        new: the value after (``None`` when there is none). Dicts and lists
            (tracked or not, and their subclasses, as plain dicts and lists)
            are plain deep copies made at the time of the change, so a record
            never changes afterwards; other values are
            the objects themselves.
        actor: the name set with :func:`tracking_actor`, else ``None``.
        snapshot: a plain deep copy of the container after the change, when
            the container was made with ``snapshots=True``.
        stack: the caller's frames (``"file:line in function"``, outermost
            first), when the container was made with ``capture_stack=True``.

    Examples:
        >>> r = Change(7, 1700000000.5, "add", ("layers", 2), None, 64, None)
        >>> r.datetime.isoformat()
        '2023-11-14T22:13:20.500000+00:00'
        >>> for field, value in r.to_dict().items():
        ...     print(field, repr(value))
        seq 7
        timestamp '2023-11-14T22:13:20.500000+00:00'
        action 'add'
        path ['layers', 2]
        old None
        new 64
        actor None
    """

    seq: int
    timestamp: float
    action: str
    path: tuple[Hashable, ...]
    old: Any
    new: Any
    actor: str | None
    snapshot: Any = None
    stack: tuple[str, ...] | None = None

    @property
    def datetime(self) -> dt.datetime:
        """:attr:`timestamp` as a timezone-aware UTC ``datetime``."""
        return dt.datetime.fromtimestamp(self.timestamp, dt.UTC)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-safe data (the JSON Lines exporters write this).

        ``timestamp`` becomes ISO 8601 UTC with microseconds; values follow
        the JSON mapping of ``docs/logging.md`` (NaN as ``"NaN"``, sets as
        lists, a :class:`~ml_infra_utils.TrackedObject` as an object of its
        attributes, ...); ``snapshot`` and ``stack`` appear only when captured.
        """
        out: dict[str, Any] = {
            "seq": self.seq,
            "timestamp": self.datetime.isoformat(timespec="microseconds"),
            "action": self.action,
            "path": [to_json(p) for p in self.path],
            "old": to_json(self.old),
            "new": to_json(self.new),
            "actor": self.actor,
        }
        if self.snapshot is not None:
            out["snapshot"] = to_json(self.snapshot)
        if self.stack is not None:
            out["stack"] = list(self.stack)
        return out


def _namespace_as_dict(value: object) -> object:
    if isinstance(value, types.SimpleNamespace):
        return dict(vars(value))
    return value


def to_json(value: object) -> Any:
    """*value* as plain JSON data; frozen objects become objects of attributes."""
    return to_jsonable(value, default=_namespace_as_dict)


class ActorScope(contextlib.ContextDecorator):
    """What :func:`tracking_actor` returns: a context manager and decorator.

    As a decorator it sets the actor for each call of a function, and for
    the whole run of a coroutine function (``async def``); it refuses
    generator functions, whose suspended frames would leave the actor set in
    their caller (set it inside the generator's body instead). One scope is
    entered by one ``with`` at a time; a decorated function makes a fresh scope
    per call, so it may run in many threads and tasks at once.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._token: contextvars.Token[str | None] | None = None

    def _recreate_cm(self) -> ActorScope:
        return ActorScope(self.name)

    def __enter__(self) -> str:
        if self._token is not None:
            msg = "this tracking_actor scope is already entered; make a new one"
            raise RuntimeError(msg)
        self._token = _actor.set(self.name)
        return self.name

    def __exit__(self, *exc_info: object) -> None:
        token, self._token = self._token, None
        if token is not None:
            _actor.reset(token)

    def __call__(self, func: _F) -> _F:
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            msg = (
                f"tracking_actor cannot decorate the generator function "
                f"{getattr(func, '__qualname__', func)!r}: use "
                "'with tracking_actor(...)' inside it"
            )
            raise InputTypeError(msg)
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run(*args: Any, **kwargs: Any) -> Any:
                with self._recreate_cm():
                    return await func(*args, **kwargs)

            return run  # type: ignore[return-value]
        return super().__call__(func)

    def __repr__(self) -> str:
        return f"tracking_actor({self.name!r})"


def tracking_actor(name: str) -> ActorScope:
    """Attribute the changes made inside the block to *name*.

    The actor lives in a :class:`contextvars.ContextVar`: it is per thread and
    per asyncio task, nests (the innermost wins), and costs one lookup per
    change. A thread started inside the block does not inherit it. Also
    usable as a decorator, of functions and of coroutine functions (for the
    whole coroutine); not of generator functions (``InputTypeError``).

    Raises:
        InputTypeError: *name* is not a string.

    Examples:
        >>> from ml_infra_utils import TrackedDict
        >>> config = TrackedDict({"lr": 0.1})
        >>> with tracking_actor("scheduler"):
        ...     config["lr"] = 0.05
        >>> config.last_change().actor
        'scheduler'
    """
    given: object = name  # users without a type checker pass anything
    if not isinstance(given, str):
        msg = f"name must be a str, got {type(given).__name__}"
        raise InputTypeError(msg)
    return ActorScope(name)


# ---------------------------------------------------------------- value copies
# The kind of each type whose values a record copies (dict, list and the
# tracked classes, which register themselves); ``ADOPT[type(value)]`` says
# whether a value is one of them or a subclass of dict or list (an
# OrderedDict, a Counter, ...), as cheaply as a set lookup.
DICT, LIST, OBJECT = 1, 2, 3
KINDS: dict[type, int] = {dict: DICT, list: LIST}
TRACKED: set[type] = set()
_CACHE_LIMIT = 4096  # classes made in a loop must not fill the cache forever


# The types known never to be adopted, for the hot paths' first test: a
# membership test in an exact set is cheaper than a lookup in ADOPT (a dict
# subclass, which the interpreter's specialised subscript skips).
PLAIN: set[type] = {int, float, str, bool, bytes, tuple, complex, type(None)}


class _Adopt(dict[type, bool]):
    def __missing__(self, kind: type) -> bool:
        found = issubclass(kind, dict | list) or kind in TRACKED
        if len(self) < _CACHE_LIMIT:
            self[kind] = found
            if not found:
                PLAIN.add(kind)
        return found


ADOPT: dict[type, bool] = _Adopt({dict: True, list: True})
ADOPT.update(dict.fromkeys(PLAIN, False))


def freeze(
    value: Any,
    found: list[Any] | None = None,
    _active: frozenset[int] = frozenset(),
) -> Any:
    """A plain deep copy of the dicts, lists and tracked objects in *value*.

    Tracked objects become ``types.SimpleNamespace`` and dict and list
    subclasses plain dicts and lists; other values are shared. With *found*,
    the tracked objects and the dict and list subclasses met outside any
    tracked object are appended to it (the ones that would become children).

    Raises:
        InvalidParameterError: *value* contains itself.
    """
    if not ADOPT[type(value)]:
        return value
    kind = KINDS.get(type(value))
    if kind is None:  # a dict or list subclass: its record is a plain copy
        kind = DICT if isinstance(value, dict) else LIST
        if found is not None:
            found.append(value)
    elif found is not None and type(value) in TRACKED:
        found.append(value)
        found = None
    if id(value) in _active:
        msg = (
            "a tracked container cannot hold a value that contains itself "
            f"(a {type(value).__name__} refers to itself)"
        )
        raise InvalidParameterError(msg)
    active = _active | {id(value)}
    if kind == DICT:
        return {k: freeze(v, found, active) for k, v in dict.items(value)}
    if kind == LIST:
        return [freeze(v, found, active) for v in list.__iter__(value)]
    return types.SimpleNamespace(
        **{k: freeze(v, found, active) for k, v in vars(value).items()}
    )


def thaw(value: Any) -> Any:
    """A fresh copy of a value taken from a record (so replays never share)."""
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    if isinstance(value, types.SimpleNamespace):
        return types.SimpleNamespace(**{k: thaw(v) for k, v in vars(value).items()})
    return value


# ---------------------------------------------------------------- stacks
_HERE = os.path.dirname(os.path.abspath(__file__))
_OWN_FILES = frozenset(
    os.path.join(_HERE, name)
    for name in (
        "_change.py",
        "_tracking.py",
        "_tracked_base.py",
        "_tracked.py",
        "_tracked_list.py",
        "_tracked_object.py",
        "_patch.py",
    )
)
_MAX_FRAMES = 32


def capture_stack() -> tuple[str, ...]:
    """The caller's frames, outermost first, without this package's own."""
    frames: list[str] = []
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and len(frames) < _MAX_FRAMES:
        code = frame.f_code
        if code.co_filename not in _OWN_FILES:
            frames.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        frame = frame.f_back
    frames.reverse()
    return tuple(frames)
