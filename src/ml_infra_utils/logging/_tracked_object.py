"""TrackedObject: an object whose attribute writes are recorded.

Private: see :mod:`ml_infra_utils.logging.changes` for the overview.
"""

from __future__ import annotations

import functools
import reprlib
import types
from collections.abc import Callable, Hashable
from typing import Any, ClassVar

from ml_infra_utils._errors import InvalidParameterError

from ._change import ADOPT, LOCK, MISSING, OBJECT, TRACKED, get_actor, next_seq, now
from ._tracked_base import Tracked
from ._tracking import (
    Options,
    adopt,
    check_options,
    drop,
    emit,
    notify,
    prepare,
)

__all__ = ["TrackedObject"]

_INTERNAL = frozenset(("_tk", "_tk_depth", "_tk_fast"))
# The history API's names: an attribute of that name would hide the method.
_TAKEN = frozenset(name for name in dir(Tracked) if not name.startswith("_"))
_descriptor_cache: dict[tuple[type, str], bool] = {}


def _is_data_descriptor(cls: type, name: str) -> bool:
    key = (cls, name)
    found = _descriptor_cache.get(key)
    if found is None:
        found = False
        for klass in cls.__mro__:
            attr = klass.__dict__.get(name, MISSING)
            if attr is not MISSING:
                kind = type(attr)
                found = hasattr(kind, "__set__") or hasattr(kind, "__delete__")
                break
        _descriptor_cache[key] = found
    return found


def _during_init(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap an ``__init__`` so the writes it makes are the initial state."""

    @functools.wraps(init)
    def __init__(self: TrackedObject, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - it replaces __init__
        depth = self._tk_depth
        if depth == 0:  # __init__ called again on a live object: ordinary writes
            init(self, *args, **kwargs)
            return
        object.__setattr__(self, "_tk_depth", depth + 1)
        try:
            init(self, *args, **kwargs)
        finally:
            object.__setattr__(self, "_tk_depth", 0 if depth == 1 else depth)

    __init__._tk_wrapped = True  # type: ignore[attr-defined]
    return __init__


class TrackedObject(Tracked):
    """An object whose attribute writes and deletions are recorded.

    Used directly it is a tracked ``types.SimpleNamespace``:
    ``TrackedObject(lr=0.1)``, a ``repr`` and an ``==`` that compare the
    attributes (with other TrackedObjects and SimpleNamespaces). Subclass it
    for your own classes; options are class keywords::

        class Config(TrackedObject, max_history=100):
            def __init__(self):
                self.lr = 0.1

    Attributes set while ``__init__`` runs are the initial state, not changes;
    every later ``setattr`` (``"add"`` or ``"replace"``) and ``delattr``
    (``"remove"``) records one change with the path ``(name,)``. Dicts and lists
    assigned to attributes become tracked children. Attributes handled by a
    property or stored in ``__slots__`` are not recorded themselves (the
    writes a property setter makes to plain attributes are). The method names
    of the history API (``changes``, ``undo``, ...) and names starting with
    ``_tk`` are taken. Not a subclass of SimpleNamespace; thread-safe.

    Examples:
        >>> opts = TrackedObject(lr=0.1, layers=[64])
        >>> opts.lr = 0.01
        >>> opts.layers.append(32)
        >>> del opts.lr
        >>> for c in opts.changes():
        ...     print(c.action, c.path, c.old, c.new)
        replace ('lr',) 0.1 0.01
        add ('layers', 1) None 32
        remove ('lr',) 0.01 None
        >>> opts
        TrackedObject(layers=[64, 32])
    """

    __slots__ = (
        "__dict__",
        "__weakref__",
        "_tk",
        "_tk_depth",
        "_tk_fast",
    )
    _tk_kind = OBJECT
    _tk_defaults: ClassVar[Options] = Options()
    _tk_depth: int

    def __init_subclass__(cls, **options: Any) -> None:
        super().__init_subclass__()
        if options:
            merged = {**cls._tk_defaults.as_kwargs(), **options}
            unknown = set(merged) - set(Options.__slots__)
            if unknown:
                msg = (
                    f"unknown TrackedObject option(s) {sorted(unknown)}; "
                    f"valid: {sorted(Options.__slots__)}"
                )
                raise TypeError(msg)
            cls._tk_defaults = check_options(**merged)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "_tk_wrapped", False):
            cls.__init__ = _during_init(init)  # type: ignore[method-assign]

    def __new__(cls, *_args: Any, **_kwargs: Any) -> TrackedObject:
        # The class statement's check misses an __init__ added afterwards (a
        # @dataclass or attrs decorator) or inherited from a plain mixin;
        # wrap whatever __init__ this class really runs, once per class.
        init = cls.__init__
        if not getattr(init, "_tk_wrapped", False):
            cls.__init__ = _during_init(init)  # type: ignore[method-assign]
        self = object.__new__(cls)
        self._tk_setup(cls._tk_defaults)
        object.__setattr__(self, "_tk_depth", 1)
        return self

    @_during_init
    def __init__(self, /, **attributes: Any) -> None:
        for name, value in attributes.items():
            setattr(self, name, value)

    # ---------------------------------------------------------------- writes
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _INTERNAL or _is_data_descriptor(type(self), name):
            object.__setattr__(self, name, value)
            return
        if name in _TAKEN:
            msg = (
                f"{name!r} is a TrackedObject method (the history API); "
                "choose another attribute name"
            )
            raise InvalidParameterError(msg)
        adopting = ADOPT[type(value)]
        namespace = self.__dict__
        with LOCK:
            old = namespace.get(name, MISSING)
            if old is value and adopting and type(value) in TRACKED:
                return  # stored back after an in-place change (obj.x += ...)
            frozen = prepare(self, value) if adopting else value
            if ADOPT[type(old)]:
                old = drop(self, name, old)
            namespace[name] = adopt(self, name, value) if adopting else value
            if self._tk_depth:
                return
            if old is MISSING:
                action, old = "add", None
            else:
                action = "replace"
            fast = self._tk_fast
            if fast is not None:
                fast((next_seq(), now(), action, name, old, frozen, get_actor()))
                return
            calls = emit(self, action, (name,), old, frozen)
        if calls:
            notify(calls)

    def __delattr__(self, name: str) -> None:
        if name in _INTERNAL or _is_data_descriptor(type(self), name):
            object.__delattr__(self, name)
            return
        namespace = self.__dict__
        with LOCK:
            old = namespace.pop(name, MISSING)
            if old is MISSING:
                msg = f"{type(self).__name__!r} object has no attribute {name!r}"
                raise AttributeError(msg)
            old = drop(self, name, old)
            if self._tk_depth:
                return
            calls = emit(self, "remove", (name,), old, None)
        if calls:
            notify(calls)

    # ---------------------------------------------------------------- reads
    def __eq__(self, other: object) -> bool:
        if isinstance(other, TrackedObject | types.SimpleNamespace):
            return vars(self) == vars(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"

    # ---------------------------------------------------------------- copies
    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_object, (type(self), dict(vars(self)), self._tk_options()))

    # ---------------------------------------------------------------- links
    def _tk_holds(self, key: Hashable, child: object) -> bool:
        return self.__dict__.get(key, MISSING) is child  # type: ignore[call-overload]

    def _tk_find(self, child: object) -> list[Hashable]:
        return [k for k, v in self.__dict__.items() if v is child]


def _restore_object(
    cls: type[TrackedObject], attributes: dict[str, Any], options: dict[str, Any]
) -> TrackedObject:
    obj = cls.__new__(cls)
    obj._tk_setup(check_options(**options))
    for name, value in attributes.items():
        setattr(obj, name, value)
    object.__setattr__(obj, "_tk_depth", 0)
    return obj
