"""The machinery under every tracked container: history, links, observers.

Private. Each tracked object has two slots: ``_tk`` (its :class:`State`) and
``_tk_fast`` (the history's bound ``append`` while a change needs nothing but
one tuple appended to it: no parent, no observer, no snapshot, no stack; else
``None``). The mutators of the concrete classes take the process-wide lock,
change the container, and then either append one tuple (the fast path) or call
:func:`emit`, which builds the record for the container and for every ancestor
(with the path from that ancestor), appends each to its history and returns
the observer calls to make once the lock is released (:func:`notify`).

A child knows its parents through weak references, one :class:`Link` per
parent with the keys (dict keys, list indices, attribute names) where it sat
last time; a key is checked (``parent[key] is child``) before use and looked
up again when it went stale (a list shifted), so no insertion ever has to
renumber anything.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Any

from ml_infra_utils._errors import InputTypeError, InvalidParameterError

from ._change import (
    ADOPT,
    LOCK,
    TRACKED,
    Change,
    capture_stack,
    freeze,
    get_actor,
    next_seq,
    now,
)

__all__ = [
    "WRAPPERS",
    "Link",
    "Observer",
    "Options",
    "State",
    "adopt",
    "check_options",
    "deferred_notify",
    "drop",
    "emit",
    "kept",
    "link",
    "notify",
    "prepare",
    "refresh",
]

if TYPE_CHECKING:
    from ._tracked_base import Tracked

_log = logging.getLogger("ml_infra_utils.logging.changes")
_new_change = tuple.__new__
Observer = Callable[[Change], object]


class Options:
    """A container's settings; nested containers it creates inherit them."""

    __slots__ = ("capture_stack", "max_history", "snapshots", "track_nested")

    def __init__(
        self,
        *,
        track_nested: bool = True,
        max_history: int | None = None,
        snapshots: bool = False,
        capture_stack: bool = False,
    ) -> None:
        self.track_nested = track_nested
        self.max_history = max_history
        self.snapshots = snapshots
        self.capture_stack = capture_stack

    def as_kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def check_options(
    *,
    track_nested: object,
    max_history: object,
    snapshots: object,
    capture_stack: object,
) -> Options:
    """Validated :class:`Options` (raises InputTypeError/InvalidParameterError)."""
    for name, flag in (
        ("track_nested", track_nested),
        ("snapshots", snapshots),
        ("capture_stack", capture_stack),
    ):
        if not isinstance(flag, bool):
            msg = f"{name} must be True or False, got {flag!r}"
            raise InputTypeError(msg)
    if max_history is not None:
        if type(max_history) is not int:
            msg = (
                f"max_history must be an int or None, got {type(max_history).__name__}"
            )
            raise InputTypeError(msg)
        if max_history < 0:
            msg = f"max_history must be >= 0 or None, got {max_history}"
            raise InvalidParameterError(msg)
    return Options(
        track_nested=bool(track_nested),
        max_history=max_history,
        snapshots=bool(snapshots),
        capture_stack=bool(capture_stack),
    )


class Link:
    """A child's link to one parent: where (keys) and how many times it sits."""

    __slots__ = ("keys", "ref")

    def __init__(self, ref: weakref.ref[Tracked], key: Hashable) -> None:
        self.ref = ref
        self.keys = [key]


class State:
    """The slow-path state of one tracked object."""

    __slots__ = ("errors", "history", "observers", "options", "parents")

    def __init__(self, options: Options) -> None:
        self.options = options
        limit = options.max_history
        # A bounded history keeps one entry more than asked, hidden from
        # readers (see ``kept``): it tells "full" from "lost something".
        self.history: deque[tuple[Any, ...]] | None = (
            None if limit == 0 else deque(maxlen=None if limit is None else limit + 1)
        )
        self.parents: list[Link] = []
        self.observers: tuple[Observer, ...] = ()
        self.errors = 0


def kept(history: deque[tuple[Any, ...]]) -> int:
    """How many of *history*'s entries are visible: all but the witness (lock held).

    A bounded history holds ``max_history + 1`` entries when full; the oldest
    is only a witness that the changes after it are all kept.
    """
    n = len(history)
    return n - 1 if n == history.maxlen else n


def refresh(node: Tracked) -> None:
    """Recompute whether *node* can take the fast path."""
    state = node._tk
    options = state.options
    history = state.history
    fast = (
        history is not None
        and not state.parents
        and not state.observers
        and not options.snapshots
        and not options.capture_stack
    )
    object.__setattr__(node, "_tk_fast", history.append if fast else None)  # type: ignore[union-attr]


# ---------------------------------------------------------------- links
def link(child: Tracked, parent: Tracked, key: Hashable) -> None:
    """Record that *child* now sits at *key* in *parent* (lock held)."""
    links = child._tk.parents
    for entry in links:
        if entry.ref() is parent:
            entry.keys.append(key)
            return
    links.append(Link(weakref.ref(parent), key))
    refresh(child)


def unlink(child: Tracked, parent: Tracked, key: Hashable) -> None:
    """Record that *child* left *key* in *parent* (lock held)."""
    links = child._tk.parents
    for i, entry in enumerate(links):
        if entry.ref() is parent:
            keys = entry.keys
            try:
                keys.remove(key)
            except ValueError:
                keys.pop()
            if not keys:
                del links[i]
                refresh(child)
            return


def is_within(node: Tracked, ancestor: Tracked) -> bool:
    """Whether *ancestor* is *node* or one of its ancestors (lock held)."""
    seen: set[int] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        if current is ancestor:
            return True
        if id(current) in seen:
            continue
        seen.add(id(current))
        for entry in current._tk.parents:
            parent = entry.ref()
            if parent is not None:
                todo.append(parent)
    return False


WRAPPERS: dict[type, Callable[[Any, Options], Tracked]] = {}
"""How a plain dict or list becomes a tracked child (filled by the classes)."""


def prepare(parent: Tracked, value: Any) -> Any:
    """Check that *value* may go into *parent*; return the record's copy of it.

    Called with the lock held, before anything changes, for a value whose type
    is in ``ADOPT``.

    Raises:
        InvalidParameterError: storing *value* would put a container inside
            itself.
        InputTypeError: *value* is or holds a dict or list subclass (an
            OrderedDict, a Counter, ...) and *parent* tracks nested values.
    """
    found: list[Any] = []
    frozen = freeze(value, found)
    for tracked in found:
        if type(tracked) not in TRACKED:  # a dict or list subclass
            if parent._tk.options.track_nested:
                _refuse_subclass(tracked)
            continue
        if is_within(parent, tracked):
            msg = (
                f"cannot store a {type(tracked).__name__} inside itself "
                "(tracked containers form a tree, not a cycle)"
            )
            raise InvalidParameterError(msg)
    return frozen


def _refuse_subclass(value: object) -> None:
    kind = "dict" if isinstance(value, dict) else "list"
    tracked = "TrackedDict" if kind == "dict" else "TrackedList"
    msg = (
        f"value must be a plain {kind} to become a tracked child, got a "
        f"{type(value).__name__} (a {kind} subclass: wrapping it would lose its "
        f"behaviour, storing it would let its writes go unrecorded); store "
        f"{kind}(value) or a {tracked}, or make the container with "
        "track_nested=False (then it is stored as it is and records hold "
        f"plain {kind} copies)"
    )
    raise InputTypeError(msg)


def adopt(parent: Tracked, key: Hashable, value: Any) -> Any:
    """The object to store for *value* at *key* of *parent* (lock held).

    A tracked value is linked as a child; a plain dict or list becomes a new
    tracked child with the parent's options (unless ``track_nested=False``).
    """
    kind = type(value)
    if kind in TRACKED:
        link(value, parent, key)
        return value
    options = parent._tk.options
    if not options.track_nested:
        return value
    child = WRAPPERS[kind](value, options)
    link(child, parent, key)
    return child


def drop(parent: Tracked, key: Hashable, old: Any) -> Any:
    """*old* left *key* of *parent*: unlink it if tracked; the record's copy."""
    kind = type(old)
    if kind in TRACKED:
        unlink(old, parent, key)
    return freeze(old) if ADOPT[kind] else old


def _places(child: Tracked) -> list[tuple[Tracked, Hashable]]:
    state = child._tk
    found: list[tuple[Tracked, Hashable]] = []
    for entry in list(state.parents):
        parent = entry.ref()
        if parent is None:
            state.parents.remove(entry)
            refresh(child)
            continue
        keys = entry.keys
        if len(keys) == 1:  # the usual case: one place, checked in O(1)
            valid = parent._tk_holds(keys[0], child)
        else:
            valid = all(parent._tk_holds(k, child) for k in keys) and len(
                set(map(_hashable_id, keys))
            ) == len(keys)
        if not valid:
            keys = parent._tk_find(child)
            if not keys:  # it left through a back door (dict.__setitem__ ...)
                state.parents.remove(entry)
                refresh(child)
                continue
            entry.keys = keys
        for key in keys:
            found.append((parent, key))  # noqa: PERF401 - cheaper than a generator here
    return found


def _hashable_id(key: Hashable) -> tuple[type, Hashable]:
    return (type(key), key)


# ---------------------------------------------------------------- records
def emit(
    node: Tracked, action: str, path: tuple[Hashable, ...], old: Any, new: Any
) -> list[tuple[Tracked, tuple[Observer, ...], tuple[Any, ...]]] | None:
    """Record one change of *node* in it and every ancestor (lock held).

    Returns the observer calls for :func:`notify`, or ``None``.
    """
    seq, t, actor = next_seq(), now(), get_actor()
    stack: tuple[str, ...] | None = None
    calls: list[tuple[Tracked, tuple[Observer, ...], tuple[Any, ...]]] | None = None
    todo: list[tuple[Tracked, tuple[Hashable, ...]]] = [(node, path)]
    for current, where in todo:  # grows while we walk it: breadth first, upwards
        state = current._tk
        options = state.options
        snapshot = frames = None
        if options.snapshots:
            snapshot = freeze(current)
        if options.capture_stack:
            if stack is None:
                stack = capture_stack()
            frames = stack
        raw = (seq, t, action, where, old, new, actor, snapshot, frames)
        if state.history is not None:
            state.history.append(raw)
        if state.observers:
            if calls is None:
                calls = []
            calls.append((current, state.observers, raw))
        if state.parents:
            for parent, key in _places(current):
                if not parent._tk_depth:  # an object in __init__: initial state
                    todo.append((parent, (key, *where)))
    return calls


Calls = list[tuple["Tracked", tuple[Observer, ...], tuple[Any, ...]]]
_pending = threading.local()


@contextlib.contextmanager
def deferred_notify() -> Iterator[None]:
    """Hold back this thread's observer calls until the block ends.

    For operations that make several changes under one hold of the lock
    (``undo``, ``revert``): the mutators they call release their own
    (re-entrant) hold and call :func:`notify` while the outer hold is still
    there. Inside the block :func:`notify` only queues; the calls run when the
    outermost block ends (the caller takes the lock inside it, so it is
    released by then), also when the block raises after some changes.
    """
    if getattr(_pending, "calls", None) is not None:  # nested: the outer one runs them
        yield
        return
    queued: Calls = []
    _pending.calls = queued
    try:
        yield
    finally:
        _pending.calls = None
        if queued:
            notify(queued)


def notify(calls: Calls) -> None:
    """Call the observers :func:`emit` collected, each isolated from the others."""
    queued = getattr(_pending, "calls", None)
    if queued is not None:
        queued.extend(calls)
        return
    for node, observers, raw in calls:
        record: Change = _new_change(Change, raw)
        for observer in observers:
            try:
                observer(record)
            except Exception:  # an observer never breaks the change or the others
                _failed(node, observer, record)


def _failed(node: Tracked, observer: Observer, record: Change) -> None:
    with LOCK:
        node._tk.errors += 1
        count = node._tk.errors
    if count & (count - 1) == 0:  # 1st, 2nd, 4th, 8th... failure: no log flood
        _log.exception(
            "observer %r of a %s failed on change %d (%s at %r); "
            "%d observer failure(s) on this container so far",
            observer,
            type(node).__name__,
            record.seq,
            record.action,
            record.path,
            count,
        )
