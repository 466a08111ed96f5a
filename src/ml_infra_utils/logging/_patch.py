"""Change records as RFC 6902 JSON Patch, replayed forward, or undone.

Private: the public names are re-exported by :mod:`ml_infra_utils.logging.changes`.

Every record says what happened at one path with the values before and after,
so each action has an exact forward form (:func:`apply`) and an exact inverse
(:func:`inverse`); replaying records onto a plain copy of the original
reproduces the tracked state, and undoing them newest first restores an
earlier one.

Examples:
    >>> from ml_infra_utils import TrackedDict
    >>> config = TrackedDict({"lr": 0.1, "layers": [64]})
    >>> original = {"lr": 0.1, "layers": [64]}
    >>> config["lr"] = 0.01
    >>> config["layers"].append(32)
    >>> for op in to_json_patch(config.changes()):
    ...     print(op)
    {'op': 'replace', 'path': '/lr', 'value': 0.01}
    {'op': 'add', 'path': '/layers/1', 'value': 32}
    >>> replay(config.changes(), original) == config
    True
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, TypeVar

from ml_infra_utils._errors import InputTypeError, InvalidParameterError

from ._change import ACTIONS, Change, thaw, to_json
from ._json import dumps

__all__ = [
    "SameChange",
    "apply",
    "fields",
    "inverse",
    "pointer",
    "replay",
    "target_of",
    "to_json_patch",
]

T = TypeVar("T")
_WHOLE = frozenset(("clear", "sort", "reverse", "assign"))
Fields = tuple[str, tuple[Hashable, ...], Any, Any]


def fields(record: object) -> Fields:
    """``(action, path, old, new)`` of a :class:`Change` or of its ``to_dict()``."""
    if isinstance(record, Change):
        return record.action, record.path, record.old, record.new
    if isinstance(record, Mapping):
        try:
            action, path = record["action"], record["path"]
        except KeyError as exc:
            msg = f"a change record needs 'action' and 'path', this one lacks {exc}"
            raise InvalidParameterError(msg) from None
        if not isinstance(path, list | tuple):
            msg = f"a change record's path must be a list, got {type(path).__name__}"
            raise InvalidParameterError(msg)
        old, new = record.get("old"), record.get("new")
        result: Fields = (action, tuple(path), old, new)
    else:
        kind = type(record).__name__
        msg = f"records must be Change objects or their dicts, got {kind}"
        raise InputTypeError(msg)
    if action not in ACTIONS:
        msg = f"unknown change action {action!r}; valid: {', '.join(ACTIONS)}"
        raise InvalidParameterError(msg)
    return result


# ---------------------------------------------------------------- JSON Patch
def _segment(key: Hashable) -> str:
    if isinstance(key, str):
        text = key
    elif key is None or isinstance(key, bool | int | float):
        text = json.dumps(key)
    else:
        converted = to_json(key)
        text = converted if isinstance(converted, str) else dumps(converted)
    return text.replace("~", "~0").replace("/", "~1")


def pointer(path: Iterable[Hashable]) -> str:
    """An RFC 6901 JSON Pointer for *path* (``~`` and ``/`` escaped).

    Examples:
        >>> pointer(("a/b", 0, "c~d"))
        '/a~1b/0/c~0d'
    """
    return "".join("/" + _segment(key) for key in path)


def to_json_patch(
    records: Iterable[Any], /, *, test: bool = False
) -> list[dict[str, Any]]:
    """The RFC 6902 operations that replay *records* on a JSON document.

    Each record gives one operation, or several for the bulk actions
    (``update``, ``extend``, ``splice``); values are JSON-safe (see
    :meth:`Change.to_dict`). Dict keys that are not strings become their JSON
    text in the pointer, as ``json.dumps`` writes them.

    Args:
        records: :class:`Change` objects (or their ``to_dict()`` form), oldest
            first.
        test: put a ``test`` operation with the old value before every
            ``replace`` and ``remove``, so applying the patch to a document in
            another state fails instead of silently overwriting it.

    Returns:
        The operations, as a list of dicts ready for ``json.dumps``.

    Examples:
        >>> r = Change(1, 0.0, "splice", ("layers", 0), [64, 32], [128], None)
        >>> for op in to_json_patch([r]):
        ...     print(op)
        {'op': 'remove', 'path': '/layers/0'}
        {'op': 'remove', 'path': '/layers/0'}
        {'op': 'add', 'path': '/layers/0', 'value': 128}
    """
    ops: list[dict[str, Any]] = []
    for record in records:
        action, path, old, new = fields(record)
        if action == "update":
            _update_ops(ops, pointer(path), old or {}, new, test=test)
        elif action in ("extend", "splice"):  # the path ends with the first index
            _splice_ops(ops, pointer(path[:-1]), path[-1], old, new, test=test)
        else:
            _single_ops(ops, action, pointer(path), old, new, test=test)
    return ops


def _single_ops(
    ops: list[dict[str, Any]],
    action: str,
    where: str,
    old: Any,
    new: Any,
    *,
    test: bool,
) -> None:
    if action == "add":
        ops.append({"op": "add", "path": where, "value": to_json(new)})
        return
    if test:
        ops.append({"op": "test", "path": where, "value": to_json(old)})
    if action == "remove":
        ops.append({"op": "remove", "path": where})
    else:  # replace, and the whole-content actions (clear, sort, reverse, assign)
        ops.append({"op": "replace", "path": where, "value": to_json(new)})


def _update_ops(
    ops: list[dict[str, Any]], where: str, old: Any, new: Any, *, test: bool
) -> None:
    for key, value in new.items():
        at = f"{where}/{_segment(key)}"
        if key in old:
            if test:
                ops.append({"op": "test", "path": at, "value": to_json(old[key])})
            ops.append({"op": "replace", "path": at, "value": to_json(value)})
        else:
            ops.append({"op": "add", "path": at, "value": to_json(value)})


def _splice_ops(
    ops: list[dict[str, Any]], base: str, start: Any, old: Any, new: Any, *, test: bool
) -> None:
    at = f"{base}/{start}"
    for value in old or ():
        if test:
            ops.append({"op": "test", "path": at, "value": to_json(value)})
        ops.append({"op": "remove", "path": at})
    for offset, value in enumerate(new):
        ops.append(
            {"op": "add", "path": f"{base}/{start + offset}", "value": to_json(value)}
        )


# ---------------------------------------------------------------- replay
def _walk(root: Any, path: Iterable[Any]) -> Any:
    for key in path:
        root = root[key] if isinstance(root, Mapping | list) else getattr(root, key)
    return root


def _assign(container: Any, content: Any) -> None:
    assign = getattr(container, "_tk_assign", None)
    if assign is not None:
        assign(content)
    elif isinstance(container, list):
        container[:] = content
    else:
        container.clear()
        container.update(content)


def apply(root: Any, action: str, path: tuple[Any, ...], old: Any, new: Any) -> None:
    """Apply one change to *root*, a tracked or plain container, in place."""
    if action in _WHOLE:
        _assign(_walk(root, path), thaw(new))
    elif action == "update":
        _walk(root, path).update(thaw(new))
    else:
        _apply_at(_walk(root, path[:-1]), path[-1], action, old, thaw(new))


def _apply_at(parent: Any, key: Any, action: str, old: Any, new: Any) -> None:
    container = isinstance(parent, Mapping | list)
    if action == "remove":
        if container:
            del parent[key]
        else:
            delattr(parent, key)
    elif action == "add" and isinstance(parent, list):
        parent.insert(key, new)
    elif action in ("add", "replace"):
        if container:
            parent[key] = new
        else:
            setattr(parent, key, new)
    elif action == "extend" and key == len(parent):
        parent.extend(new)
    else:  # extend (elsewhere than the end), splice
        parent[key : key + len(old or ())] = new


_INVERSE = {
    "add": "remove",
    "remove": "add",
    "replace": "replace",
    "extend": "splice",
    "splice": "splice",
}


def inverse(
    root: Any, action: str, path: tuple[Any, ...], old: Any, new: Any
) -> Fields:
    """The change that undoes one change, given the current state *root*."""
    if action in _WHOLE:
        return "assign", path, new, old
    if action == "update":
        content = dict(_walk(root, path))
        for key in new:
            if key in old:
                content[key] = old[key]
            else:
                content.pop(key, None)
        return "assign", path, None, content
    return _INVERSE[action], path, new, [] if action == "extend" else old


def target_of(root: Any, action: str, path: tuple[Any, ...]) -> Any:
    """The container a change modifies in place."""
    return _walk(root, path if action in _WHOLE or action == "update" else path[:-1])


class SameChange:
    """Tells the places of one change that share a container (aliasing).

    A tracked child stored at several places reports each change once per
    place, under one seq. Applied to data where those places are still one
    object, the change must be applied once; where they are copies, once per
    copy. :meth:`seen` answers "was this change applied to this container?".
    """

    __slots__ = ("_seq", "_targets")

    def __init__(self) -> None:
        self._seq: object = None
        self._targets: list[Any] = []

    def seen(self, seq: object, target: Any) -> bool:
        if seq != self._seq:
            self._seq, self._targets = seq, [target]
            return False
        if any(t is target for t in self._targets):
            return True
        self._targets.append(target)
        return False


def replay(records: Iterable[Any], target: T, /) -> T:
    """Apply *records* (oldest first) to *target* in place and return it.

    *target* is typically a plain copy of the container as it was before the
    first record (``json.loads(json.dumps(...))`` or ``copy.deepcopy`` of the
    plain data); replaying a container's whole history reproduces its state.
    Records may be :class:`Change` objects or their ``to_dict()`` form, e.g.
    read back from a JSON Lines export. A tracked *target* records the replayed
    changes like any others.

    Raises:
        InvalidParameterError: a record has an unknown action or no path.
        LookupError, TypeError: a record does not fit *target*'s structure.

    Examples:
        >>> r = Change(1, 0.0, "add", ("b",), None, [1, 2], None)
        >>> replay([r], {"a": 0})
        {'a': 0, 'b': [1, 2]}
    """
    same = SameChange()
    for record in records:
        action, path, old, new = fields(record)
        seq = record.seq if isinstance(record, Change) else record.get("seq")
        if seq is not None and same.seen(seq, target_of(target, action, path)):
            continue
        apply(target, action, path, old, new)
    return target
