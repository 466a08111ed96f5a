"""TrackedDict: a dict that records every change.

Private: see :mod:`ml_infra_utils.logging.changes` for the overview.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any, TypeVar

from ._change import (
    ADOPT,
    DICT,
    LOCK,
    MISSING,
    PLAIN,
    TRACKED,
    freeze,
    get_actor,
    next_seq,
    now,
)
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

__all__ = ["TrackedDict", "fill_dict", "reduce_tracked", "restore"]

K = TypeVar("K")
V = TypeVar("V")

_acquire, _release = LOCK.acquire, LOCK.release
_dget, _dset, _dpop = dict.get, dict.__setitem__, dict.pop


class TrackedDict(Tracked, dict[K, V]):
    """A ``dict`` that records every change (see ``docs/changes.md``).

    It *is* a dict (``isinstance(d, dict)``): every read is the built-in's,
    equality, ``json.dumps``, ``copy``, ``deepcopy`` and ``pickle`` work as
    for a dict. Every write (``d[k] = v``, ``del``, ``update``, ``|=``,
    ``setdefault`` when it inserts, ``pop``, ``popitem``, ``clear``) records
    exactly one :class:`~ml_infra_utils.Change` in the history. Dicts and lists
    stored in it become tracked children whose changes reach it with their full
    path. Thread-safe.

    Unlike ``dict(...)``, keyword arguments are options, not keys. ``copy()``
    and ``d | other`` return plain dicts (as for any dict subclass); ``repr``
    is the dict's. Writes through ``dict.__setitem__(d, ...)`` bypass tracking.

    Args:
        data: the initial content: a mapping or an iterable of pairs (not
            recorded as changes).
        track_nested: make dicts and lists stored inside tracked children
            (default; a dict or list subclass is then refused with
            ``InputTypeError``); with ``False`` they are stored as they are.
        max_history: keep at most this many records (the oldest are
            dropped); ``0`` keeps none (observers still see every change);
            ``None`` (default) keeps all.
        snapshots: give each record a plain deep copy of the container after
            the change (costs time and memory in the container's size).
        capture_stack: give each record the caller's stack.
        observers: observers to add now (see :meth:`add_observer`).

    Examples:
        >>> config = TrackedDict({"lr": 0.1, "layers": [64, 32]})
        >>> config["lr"] = 0.01
        >>> config["layers"].append(16)
        >>> [(c.action, c.path, c.old, c.new) for c in config.changes()]
        [('replace', ('lr',), 0.1, 0.01), ('add', ('layers', 2), None, 16)]
        >>> config == {"lr": 0.01, "layers": [64, 32, 16]}
        True
    """

    __slots__ = ("__weakref__", "_tk", "_tk_fast", "_tk_put")
    _tk_kind = DICT
    _tk_put: Any

    def __init__(
        self,
        data: Mapping[K, V] | Iterable[tuple[K, V]] = (),
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
        # dict.__setitem__ bound once: calling it is a third cheaper than
        # calling the unbound slot wrapper (the price: a reference cycle).
        self._tk_put = _dset.__get__(self)
        fill_dict(self, dict(data), check=True)
        for observer in observers:
            self.add_observer(observer)

    # ---------------------------------------------------------------- writes
    def __setitem__(self, key: K, value: V, /) -> None:
        if type(value) not in PLAIN and ADOPT[type(value)]:
            self._tk_set(key, value)
            return
        _acquire()
        try:
            old = _dget(self, key, MISSING)
            self._tk_put(key, value)
            fast = self._tk_fast
            # The fast path stores a compact 7-tuple (the key for the path).
            if old is MISSING:
                if fast is not None:
                    fast((next_seq(), now(), "add", key, None, value, get_actor()))
                    return
                calls = emit(self, "add", (key,), None, value)
            else:
                if type(old) not in PLAIN and ADOPT[type(old)]:
                    old = drop(self, key, old)
                if fast is not None:
                    fast((next_seq(), now(), "replace", key, old, value, get_actor()))
                    return
                calls = emit(self, "replace", (key,), old, value)
        finally:
            _release()
        if calls:
            notify(calls)

    def _tk_set(self, key: Any, value: Any) -> None:
        with LOCK:
            old = _dget(self, key, MISSING)
            if old is value and type(value) in TRACKED:
                return  # stored back after an in-place change (d[k] += ...)
            frozen = prepare(self, value)
            _dset(self, key, adopt(self, key, value))
            if old is MISSING:
                calls = emit(self, "add", (key,), None, frozen)
            else:
                old = drop(self, key, old)
                calls = emit(self, "replace", (key,), old, frozen)
        if calls:
            notify(calls)

    def __delitem__(self, key: K, /) -> None:
        with LOCK:
            old = _dpop(self, key)
            calls = emit(self, "remove", (key,), drop(self, key, old), None)
        if calls:
            notify(calls)

    def pop(self, key: K, default: Any = MISSING, /) -> Any:
        """Remove *key* and return its value (recorded only if it was there)."""
        with LOCK:
            if default is MISSING:
                value = _dpop(self, key)
            else:
                value = _dpop(self, key, MISSING)
                if value is MISSING:
                    return default
            calls = emit(self, "remove", (key,), drop(self, key, value), None)
        if calls:
            notify(calls)
        return value

    def popitem(self) -> tuple[K, V]:
        """Remove and return the last pair inserted."""
        with LOCK:
            key, value = dict.popitem(self)
            calls = emit(self, "remove", (key,), drop(self, key, value), None)
        if calls:
            notify(calls)
        return key, value

    def setdefault(self, key: K, default: Any = None, /) -> Any:
        """``d[key]`` if present (not a change), else insert *default* and return it."""
        with LOCK:
            value = _dget(self, key, MISSING)
            if value is not MISSING:
                return value
            if ADOPT[type(default)]:
                frozen = prepare(self, default)
                value = adopt(self, key, default)
            else:
                frozen = value = default
            _dset(self, key, value)
            calls = emit(self, "add", (key,), None, frozen)
        if calls:
            notify(calls)
        return value

    def update(self, *args: Any, **kwargs: Any) -> None:
        """As ``dict.update``; records one ``"update"`` change for the whole call."""
        if len(args) > 1:
            msg = f"update expected at most 1 positional argument, got {len(args)}"
            raise TypeError(msg)
        pairs = dict(*args, **kwargs)
        self._tk_update(pairs)

    def __ior__(self, other: Any, /) -> TrackedDict[K, V]:  # type: ignore[override,misc]
        self._tk_update(dict(other))
        return self

    def _tk_update(self, pairs: dict[Any, Any]) -> None:
        with LOCK:
            new = {
                k: prepare(self, v) if ADOPT[type(v)] else v for k, v in pairs.items()
            }
            old: dict[Any, Any] = {}
            for key, value in pairs.items():
                previous = _dget(self, key, MISSING)
                stored = adopt(self, key, value) if ADOPT[type(value)] else value
                _dset(self, key, stored)
                if previous is not MISSING:
                    old[key] = drop(self, key, previous)
            calls = emit(self, "update", (), old, new)
        if calls:
            notify(calls)

    def clear(self) -> None:
        """Remove every key; records one ``"clear"`` change holding the old content."""
        with LOCK:
            old = freeze(self)
            for key, value in dict.items(self):
                drop(self, key, value)
            dict.clear(self)
            calls = emit(self, "clear", (), old, {})
        if calls:
            notify(calls)

    def _tk_assign(self, content: Mapping[Any, Any]) -> None:
        """Replace the whole content in one ``"assign"`` change (used by undo)."""
        with LOCK:
            new = prepare(self, dict(content))
            old = freeze(self)
            for key, value in dict.items(self):
                drop(self, key, value)
            dict.clear(self)
            fill_dict(self, dict(content), check=False)
            calls = emit(self, "assign", (), old, new)
        if calls:
            notify(calls)

    @classmethod
    def fromkeys(
        cls, iterable: Iterable[Any], value: Any = None, /
    ) -> TrackedDict[Any, Any]:
        """A new TrackedDict with keys from *iterable* (nothing recorded)."""
        return cls(dict.fromkeys(iterable, value))

    # ---------------------------------------------------------------- copies
    def __reduce__(self) -> tuple[Any, ...]:
        return reduce_tracked(self, TrackedDict, dict(self))

    # ---------------------------------------------------------------- links
    def _tk_holds(self, key: Hashable, child: object) -> bool:
        found: object = dict.get(self, key, MISSING)  # type: ignore[misc, arg-type]
        return found is child

    def _tk_find(self, child: object) -> list[Hashable]:
        return [k for k, v in dict.items(self) if v is child]


def fill_dict(
    target: TrackedDict[Any, Any], data: dict[Any, Any], *, check: bool
) -> None:
    """Put *data* into the empty *target*, adopting its dicts and lists."""
    with LOCK:
        for key, value in data.items():
            stored = value
            if ADOPT[type(value)]:
                if check:
                    prepare(target, value)
                stored = adopt(target, key, value)
            _dset(target, key, stored)


def _wrap_dict(value: dict[Any, Any], options: Options) -> TrackedDict[Any, Any]:
    child: TrackedDict[Any, Any] = TrackedDict.__new__(TrackedDict)
    child._tk_setup(options)
    child._tk_put = _dset.__get__(child)
    fill_dict(child, value, check=False)
    return child


WRAPPERS[dict] = _wrap_dict


def reduce_tracked(
    container: Tracked, base: type[Any], data: dict[Any, Any] | list[Any]
) -> tuple[Any, ...]:
    """``__reduce__`` of a tracked dict or list (pickle, copy, deepcopy).

    The copy is built by *base*'s own constructor, not by the class's: a
    subclass's ``__init__`` may take other arguments. A subclass instance's
    own attributes (its ``__dict__``) travel as the state.
    """
    args = (type(container), data, container._tk_options(), base)
    state = getattr(container, "__dict__", None)
    return (restore, args, dict(state)) if state else (restore, args)


def restore(
    cls: type[Any],
    data: Any,
    options: dict[str, Any],
    base: type[Any] | None = None,
) -> Any:
    """Rebuild a tracked container from :func:`reduce_tracked`'s arguments.

    Pickles made before *base* was passed rebuild through ``cls`` itself.
    """
    if base is None:
        return cls(data, **options)
    make: Any = base.__new__  # dict.__new__ or list.__new__, inherited
    container = make(cls)
    base.__init__(container, data, **options)
    return container
