"""The machinery under every tracked container: history, links, observers.

Private. Each tracked object has three slots: ``_tk`` (its :class:`State`),
``_tk_fast`` (the history's bound ``append`` while a change needs nothing but
one tuple appended to it: no parent, no observer, no snapshot, no stack; else
``None``). The mutators of the concrete classes take the
process-wide lock, change the container, and then either append one tuple (the
fast path) or call :func:`emit`, which builds the record for the container and
for every ancestor (with the path from that ancestor), appends each to its
history and returns the observer calls to make once the lock is released
(:func:`notify`).

A child knows its parents through weak references, one :class:`Link` per
parent with the keys (dict keys, list indices, attribute names) where it sat
last time; a key is checked (``parent[key] is child``) before use and looked
up again when it went stale (a list shifted), so no insertion ever has to
renumber anything.
"""

from __future__ import annotations

import logging
import weakref
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

from ml_infra_utils._errors import (
    ChangeHistoryError,
    InputTypeError,
    InvalidParameterError,
)

from ._change import (
    ADOPT,
    KINDS,
    LOCK,
    TRACKED,
    Change,
    capture_stack,
    freeze,
    get_actor,
    next_seq,
    now,
)
from ._patch import SameChange, apply, inverse, target_of, to_json_patch

__all__ = [
    "WRAPPERS",
    "Link",
    "Options",
    "State",
    "Tracked",
    "adopt",
    "check_options",
    "drop",
    "emit",
    "link",
    "notify",
    "prepare",
    "refresh",
]

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
        self.history: deque[tuple[Any, ...]] | None = (
            None if limit == 0 else deque(maxlen=limit)
        )
        self.parents: list[Link] = []
        self.observers: tuple[Observer, ...] = ()
        self.errors = 0


class Tracked:
    """The history and observer API shared by the tracked classes (a mixin).

    Subclasses are registered here so that storing one in a tracked container
    links it as a child; their ``_tk_kind`` says how the values are held
    (``1`` dict, ``2`` list, ``3`` attributes).
    """

    __slots__ = ()
    _tk_kind = 0
    _tk: State
    _tk_fast: Callable[[tuple[Any, ...]], None] | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls._tk_kind:
            KINDS[cls] = cls._tk_kind
            TRACKED.add(cls)
            ADOPT.add(cls)

    # ---------------------------------------------------------------- setup
    def _tk_setup(self, options: Options) -> None:
        state = State(options)
        object.__setattr__(self, "_tk", state)
        refresh(self)

    def _tk_holds(self, key: Hashable, child: object) -> bool:
        raise NotImplementedError  # pragma: no cover - each class has one

    def _tk_find(self, child: object) -> list[Hashable]:
        raise NotImplementedError  # pragma: no cover - each class has one

    # ---------------------------------------------------------------- history
    def changes(self) -> list[Change]:
        """Every recorded change, oldest first (at most ``max_history``).

        Includes the changes of nested containers, with their full path from
        this one.
        """
        history = self._tk.history
        if history is None:
            return []
        with LOCK:
            raws = list(history)
        return [as_change(raw) for raw in raws]

    def last_change(self) -> Change | None:
        """The most recent change, or ``None`` if nothing was recorded."""
        history = self._tk.history
        try:
            return as_change(history[-1])  # type: ignore[index]
        except (IndexError, TypeError):
            return None

    def changes_since(self, since: Change | int, /) -> list[Change]:
        """The changes recorded after *since* (a record or a ``seq``), oldest first.

        Costs time in the number of changes returned, not in the history's
        length.

        Raises:
            InputTypeError: *since* is neither a :class:`Change` nor an int.
        """
        seq = _seq_of(since, "since")
        history = self._tk.history
        if history is None:
            return []
        found: list[tuple[Any, ...]] = []
        with LOCK:
            for raw in reversed(history):
                if raw[0] <= seq:
                    break
                found.append(raw)
        found.reverse()
        return [as_change(raw) for raw in found]

    # ---------------------------------------------------------------- observers
    def add_observer(self, observer: Observer, /) -> Observer:
        """Call *observer(record)* after every change here or in a nested container.

        Observers run synchronously in the thread that made the change, after
        it (outside the lock), in the order they were added; this container's
        observers run before its parents'. An observer that raises is logged
        and counted (:attr:`observer_errors`); the change and the other
        observers are unaffected. Adding an observer twice has no effect.
        Returns *observer*, so this works as a decorator.

        Raises:
            InputTypeError: *observer* is not callable.
        """
        given: object = observer  # users without a type checker pass anything
        if not callable(given):
            msg = f"observer must be callable, got {type(given).__name__}"
            raise InputTypeError(msg)
        with LOCK:
            state = self._tk
            if observer not in state.observers:
                state.observers = (*state.observers, observer)
                refresh(self)
        return observer

    def remove_observer(self, observer: Observer, /) -> bool:
        """Stop calling *observer*; returns whether it was registered."""
        with LOCK:
            state = self._tk
            if observer not in state.observers:
                return False
            state.observers = tuple(o for o in state.observers if o != observer)
            refresh(self)
            return True

    @property
    def observers(self) -> tuple[Observer, ...]:
        """The registered observers, in calling order."""
        return self._tk.observers

    @property
    def observer_errors(self) -> int:
        """How many times an observer of this container raised."""
        return self._tk.errors

    def _tk_options(self) -> dict[str, Any]:
        return self._tk.options.as_kwargs()

    # ---------------------------------------------------------------- undo
    def to_json_patch(
        self, *, since: Change | int | None = None, test: bool = False
    ) -> list[dict[str, Any]]:
        """The history (or the changes after *since*) as RFC 6902 operations.

        Applied to a plain copy of this container as it was before those
        changes, the patch gives its current content (see
        :func:`~ml_infra_utils.to_json_patch`).
        """
        records = self.changes() if since is None else self.changes_since(since)
        return to_json_patch(records, test=test)

    def undo(self) -> Change:
        """Undo the most recent change, recording the undo as a new change.

        Like ``git revert``: the undo is itself a change (observers and
        parents see it), so a second ``undo()`` redoes. To go back several
        steps use :meth:`revert`. Dict keys that come back are inserted at
        the end (key order may differ; equality holds).

        Returns:
            The record of the undo.

        Raises:
            ChangeHistoryError: there is nothing to undo, or the change no
                longer applies.
        """
        with LOCK:
            last = self.last_change()
            if last is None:
                msg = f"nothing to undo: the {type(self).__name__}'s history is empty"
                raise ChangeHistoryError(msg)
            self._tk_undo([last])
            done = self.last_change()
        assert done is not None  # noqa: S101 - the undo was just recorded
        return done

    def revert(self, to: Change | int, /) -> int:
        """Undo every change recorded after *to* (a record or a seq), newest first.

        Each undo is recorded as a change. Pass ``0`` to go back to the state
        before the first recorded change (only if nothing was dropped by
        ``max_history``).

        Returns:
            How many changes were undone (a change of a child stored at two
            places is recorded twice but undone once).

        Raises:
            ChangeHistoryError: changes after *to* were dropped by
                ``max_history``, or a change no longer applies.
            InputTypeError: *to* is neither a Change nor an int.
        """
        seq = _seq_of(to, "to")
        with LOCK:
            history = self._tk.history
            if history is None:
                msg = "cannot revert: this container keeps no history (max_history=0)"
                raise ChangeHistoryError(msg)
            if (
                history.maxlen is not None
                and len(history) == history.maxlen
                and history
                and history[0][0] > seq
            ):
                msg = (
                    f"cannot revert to seq {seq}: older changes were dropped "
                    f"(max_history={history.maxlen}); the oldest kept is "
                    f"seq {history[0][0]}"
                )
                raise ChangeHistoryError(msg)
            return self._tk_undo(self.changes_since(seq))

    def _tk_undo(self, records: list[Change]) -> int:
        done: set[int] = set()
        same = SameChange()
        for record in reversed(records):
            try:
                if same.seen(record.seq, target_of(self, record.action, record.path)):
                    continue
                done.add(record.seq)
                apply(self, *inverse(self, *record[2:6]))
            except (LookupError, TypeError, ValueError, AttributeError) as exc:
                msg = (
                    f"cannot undo change {record.seq} ({record.action} at "
                    f"{record.path!r}): the container no longer matches its "
                    f"history ({type(exc).__name__}: {exc})"
                )
                raise ChangeHistoryError(msg) from exc
        return len(done)


def as_change(raw: tuple[Any, ...]) -> Change:
    """The :class:`Change` for a history entry.

    Entries are the record's fields, except that the fast paths store a
    7-tuple whose path is the bare key (no path tuple, no snapshot, no stack).
    """
    if len(raw) == 7:
        seq, t, action, key, old, new, actor = raw
        return _new_change(
            Change, (seq, t, action, (key,), old, new, actor, None, None)
        )
    return _new_change(Change, raw)


def _seq_of(since: object, argument: str) -> int:
    if isinstance(since, Change):
        return since.seq
    if type(since) is int:
        return since
    msg = f"{argument} must be a Change or an int seq, got {type(since).__name__}"
    raise InputTypeError(msg)


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
    """
    found: list[Tracked] = []
    frozen = freeze(value, found)
    for tracked in found:
        if is_within(parent, tracked):
            msg = (
                f"cannot store a {type(tracked).__name__} inside itself "
                "(tracked containers form a tree, not a cycle)"
            )
            raise InvalidParameterError(msg)
    return frozen


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
    return freeze(old) if kind in ADOPT else old


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
                todo.append((parent, (key, *where)))
    return calls


def notify(calls: list[tuple[Tracked, tuple[Observer, ...], tuple[Any, ...]]]) -> None:
    """Call the observers :func:`emit` collected, each isolated from the others."""
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
