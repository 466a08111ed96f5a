"""TrackedList: a list that records every change.

Private: see :mod:`ml_infra_utils.logging.changes` for the overview.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Iterable
from typing import Any, SupportsIndex, TypeVar, overload

from ._change import ADOPT, LIST, LOCK, PLAIN, TRACKED, freeze, get_actor, next_seq, now
from ._tracked import reduce_tracked
from ._tracked_base import Tracked
from ._tracking import (
    WRAPPERS,
    Observer,
    Options,
    adopt,
    check_options,
    drop,
    emit,
    notify,
    prepare,
)

__all__ = ["TrackedList"]

T = TypeVar("T")

_acquire, _release = LOCK.acquire, LOCK.release
_lget, _lset = list.__getitem__, list.__setitem__


def _as_index(index: object) -> int:
    try:
        return operator.index(index)  # type: ignore[arg-type]
    except TypeError:
        msg = f"list indices must be integers or slices, not {type(index).__name__}"
        raise TypeError(msg) from None


class TrackedList(Tracked, list[T]):
    """A ``list`` that records every change (see ``docs/changes.md``).

    It *is* a list (``isinstance(l, list)``): reads are the built-in's;
    equality, ``json.dumps``, ``copy``, ``deepcopy`` and ``pickle`` work as for
    a list. Every write records exactly one :class:`~ml_infra_utils.Change`:
    ``l[i] = v``, ``del l[i]``, slice assignment and deletion, ``append``,
    ``extend``, ``insert``, ``remove``, ``pop``, ``clear``, ``sort``,
    ``reverse``, ``+=`` and ``*=``. Indices in records are normalized
    (``l[-1] = v`` on 3 items is recorded at index 2). Dicts and lists stored
    in it become tracked children. Thread-safe.

    ``copy()``, slices, ``+`` and ``*`` return plain lists (as for any list
    subclass). Takes the options of :class:`~ml_infra_utils.TrackedDict`.

    Examples:
        >>> layers = TrackedList([64, 32])
        >>> layers += [16]
        >>> layers[0:2] = [128]
        >>> [(c.action, c.path, c.old, c.new) for c in layers.changes()]
        [('extend', (2,), None, [16]), ('splice', (0,), [64, 32], [128])]
        >>> layers
        [128, 16]
    """

    __slots__ = ("__weakref__", "_tk", "_tk_fast")
    _tk_kind = LIST

    def __init__(
        self,
        iterable: Iterable[T] = (),
        /,
        *,
        track_nested: bool = True,
        max_history: int | None = None,
        snapshots: bool = False,
        capture_stack: bool = False,
        observers: Iterable[Observer] = (),
    ) -> None:
        options = check_options(
            track_nested=track_nested,
            max_history=max_history,
            snapshots=snapshots,
            capture_stack=capture_stack,
        )
        self._tk_setup(options)
        _fill(self, list(iterable), check=True)
        for observer in observers:
            self.add_observer(observer)

    # ---------------------------------------------------------------- items
    @overload
    def __setitem__(self, index: SupportsIndex, value: T, /) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[T], /) -> None: ...
    def __setitem__(self, index: Any, value: Any, /) -> None:
        if type(index) is not int:
            if isinstance(index, slice):
                self._tk_setslice(index, value)
                return
            index = _as_index(index)
        adopting = ADOPT[type(value)]
        _acquire()
        try:
            n = len(self)
            i = index + n if index < 0 else index
            if not 0 <= i < n:
                msg = "list assignment index out of range"
                raise IndexError(msg)
            old = _lget(self, i)
            if old is value and adopting and type(value) in TRACKED:
                return  # stored back after an in-place change (l[i] += ...)
            frozen = prepare(self, value) if adopting else value
            if ADOPT[type(old)]:
                old = drop(self, i, old)
            if adopting:
                value = adopt(self, i, value)
            _lset(self, i, value)
            fast = self._tk_fast
            if fast is not None:
                fast((next_seq(), now(), "replace", i, old, frozen, get_actor()))
                return
            calls = emit(self, "replace", (i,), old, frozen)
        finally:
            _release()
        if calls:
            notify(calls)

    def __delitem__(self, index: SupportsIndex | slice, /) -> None:
        if isinstance(index, slice):
            self._tk_delslice(index)
            return
        index = _as_index(index)
        with LOCK:
            n = len(self)
            i = index + n if index < 0 else index
            if not 0 <= i < n:
                msg = "list assignment index out of range"
                raise IndexError(msg)
            old = list.pop(self, i)
            calls = emit(self, "remove", (i,), drop(self, i, old), None)
        if calls:
            notify(calls)

    def _tk_setslice(self, index: slice, value: Iterable[Any]) -> None:
        items = list(value)
        with LOCK:
            start, stop, step = index.indices(len(self))
            frozen = [prepare(self, v) if ADOPT[type(v)] else v for v in items]
            if step == 1:
                stop = max(stop, start)
                removed = _lget(self, slice(start, stop))
                old = [drop(self, start + k, v) for k, v in enumerate(removed)]
                stored = [
                    adopt(self, start + k, v) if ADOPT[type(v)] else v
                    for k, v in enumerate(items)
                ]
                _lset(self, slice(start, stop), stored)
                calls = emit(self, "splice", (start,), old, frozen)
            else:
                positions = range(start, stop, step)
                if len(items) != len(positions):
                    msg = (
                        f"attempt to assign sequence of size {len(items)} "
                        f"to extended slice of size {len(positions)}"
                    )
                    raise ValueError(msg)
                before = freeze(self)
                for pos, v in zip(positions, items, strict=True):
                    drop(self, pos, _lget(self, pos))
                    _lset(self, pos, adopt(self, pos, v) if ADOPT[type(v)] else v)
                calls = emit(self, "assign", (), before, freeze(self))
        if calls:
            notify(calls)

    def _tk_delslice(self, index: slice) -> None:
        with LOCK:
            start, stop, step = index.indices(len(self))
            if step == 1:
                stop = max(stop, start)
                removed = _lget(self, slice(start, stop))
                old = [drop(self, start + k, v) for k, v in enumerate(removed)]
                list.__delitem__(self, slice(start, stop))
                calls = emit(self, "splice", (start,), old, [])
            else:
                before = freeze(self)
                for pos in range(start, stop, step):
                    drop(self, pos, _lget(self, pos))
                list.__delitem__(self, index)
                calls = emit(self, "assign", (), before, freeze(self))
        if calls:
            notify(calls)

    # ---------------------------------------------------------------- growing
    def append(self, value: T, /) -> None:
        """Append *value*; recorded as ``"add"`` at its index."""
        if type(value) not in PLAIN and ADOPT[type(value)]:
            self._tk_insert(None, value)
            return
        _acquire()
        try:
            i = len(self)
            list.append(self, value)
            fast = self._tk_fast
            if fast is not None:
                fast((next_seq(), now(), "add", i, None, value, get_actor()))
                return
            calls = emit(self, "add", (i,), None, value)
        finally:
            _release()
        if calls:
            notify(calls)

    def insert(self, index: SupportsIndex, value: T, /) -> None:
        """Insert *value* before *index*; recorded as ``"add"`` where it landed."""
        self._tk_insert(operator.index(index), value)

    def _tk_insert(self, index: int | None, value: Any) -> None:
        with LOCK:
            n = len(self)
            if index is None:
                i = n
            else:
                i = index + n if index < 0 else index
                i = min(max(i, 0), n)
            if ADOPT[type(value)]:
                frozen = prepare(self, value)
                value = adopt(self, i, value)
            else:
                frozen = value
            list.insert(self, i, value)
            calls = emit(self, "add", (i,), None, frozen)
        if calls:
            notify(calls)

    def extend(self, iterable: Iterable[T], /) -> None:
        """Append every item; one ``"extend"`` change at the first new index."""
        items = list(iterable)
        with LOCK:
            frozen = [prepare(self, v) if ADOPT[type(v)] else v for v in items]
            start = len(self)
            list.extend(
                self,
                [
                    adopt(self, start + k, v) if ADOPT[type(v)] else v
                    for k, v in enumerate(items)
                ],
            )
            calls = emit(self, "extend", (start,), None, frozen)
        if calls:
            notify(calls)

    def __iadd__(self, other: Iterable[T], /) -> TrackedList[T]:  # type: ignore[override,misc]
        self.extend(other)
        return self

    def __imul__(self, count: SupportsIndex, /) -> TrackedList[T]:
        try:
            n = operator.index(count)
        except TypeError:
            msg = f"can't multiply sequence by non-int of type {type(count).__name__!r}"
            raise TypeError(msg) from None
        if n <= 0:
            self.clear()
            return self
        with LOCK:
            start = len(self)
            added = list(self) * (n - 1)
            frozen = [freeze(v) for v in added]
            list.extend(
                self,
                [
                    adopt(self, start + k, v) if ADOPT[type(v)] else v
                    for k, v in enumerate(added)
                ],
            )
            calls = emit(self, "extend", (start,), None, frozen)
        if calls:
            notify(calls)
        return self

    # ---------------------------------------------------------------- shrinking
    def remove(self, value: T, /) -> None:
        """Remove the first item equal to *value*; ``"remove"`` at its index."""
        with LOCK:
            try:
                i = list.index(self, value)
            except ValueError:
                msg = "list.remove(x): x not in list"
                raise ValueError(msg) from None
            old = list.pop(self, i)
            calls = emit(self, "remove", (i,), drop(self, i, old), None)
        if calls:
            notify(calls)

    def pop(self, index: SupportsIndex = -1, /) -> T:
        """Remove and return the item at *index*; ``"remove"`` at that index."""
        index = operator.index(index)
        with LOCK:
            n = len(self)
            if not n:
                msg = "pop from empty list"
                raise IndexError(msg)
            i = index + n if index < 0 else index
            if not 0 <= i < n:
                msg = "pop index out of range"
                raise IndexError(msg)
            value = list.pop(self, i)
            calls = emit(self, "remove", (i,), drop(self, i, value), None)
        if calls:
            notify(calls)
        return value

    def clear(self) -> None:
        """Remove every item; one ``"clear"`` change holding the old content."""
        self._tk_whole("clear", None)

    # ---------------------------------------------------------------- order
    def sort(
        self, *, key: Callable[[Any], Any] | None = None, reverse: bool = False
    ) -> None:
        """Sort in place (stable); one ``"sort"`` change with the old and new order."""
        with LOCK:
            before = list(self)
            old = freeze(before)
            try:
                list.sort(self, key=key, reverse=reverse)  # type: ignore[type-var, arg-type]
            except BaseException:
                # A failed sort may leave the list permuted: that is a change too.
                if any(a is not b for a, b in zip(before, self, strict=True)):
                    calls = emit(self, "sort", (), old, freeze(self))
                    if calls:
                        notify(calls)
                raise
            calls = emit(self, "sort", (), old, freeze(self))
        if calls:
            notify(calls)

    def reverse(self) -> None:
        """Reverse in place; one ``"reverse"`` change with the old and new order."""
        with LOCK:
            old = freeze(self)
            list.reverse(self)
            calls = emit(self, "reverse", (), old, freeze(self))
        if calls:
            notify(calls)

    def _tk_assign(self, content: Iterable[Any]) -> None:
        """Replace the whole content in one ``"assign"`` change (used by undo)."""
        self._tk_whole("assign", list(content))

    def _tk_whole(self, action: str, content: list[Any] | None) -> None:
        with LOCK:
            new = [] if content is None else prepare(self, content)
            old = freeze(self)
            for i, v in enumerate(list(self)):
                drop(self, i, v)
            list.clear(self)
            if content is not None:
                _fill(self, content, check=False)
            calls = emit(self, action, (), old, new)
        if calls:
            notify(calls)

    # ---------------------------------------------------------------- copies
    def __reduce__(self) -> tuple[Any, ...]:
        return reduce_tracked(self, TrackedList, list(self))

    # ---------------------------------------------------------------- links
    def _tk_holds(self, key: Hashable, child: object) -> bool:
        return type(key) is int and 0 <= key < len(self) and _lget(self, key) is child

    def _tk_find(self, child: object) -> list[Hashable]:
        return [i for i, v in enumerate(list.__iter__(self)) if v is child]


def _fill(target: TrackedList[Any], items: list[Any], *, check: bool) -> None:
    with LOCK:
        start = len(target)
        for k, value in enumerate(items):
            if ADOPT[type(value)]:
                if check:
                    prepare(target, value)
                items[k] = adopt(target, start + k, value)
        list.extend(target, items)


def _wrap_list(value: list[Any], options: Options) -> TrackedList[Any]:
    child: TrackedList[Any] = TrackedList.__new__(TrackedList)
    child._tk_setup(options)
    _fill(child, list(value), check=False)
    return child


WRAPPERS[list] = _wrap_list
