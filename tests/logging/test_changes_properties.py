"""Property tests: random operations on tracked containers against plain ones.

For random sequences of every mutating operation (on the root and on nested
children), the tracked container must end equal to a plain dict/list given the
same operations, record exactly one change per mutation, and its history must
rebuild the state three ways: replayed onto a plain copy of the original,
applied as JSON Patch by the ``jsonpatch`` package, and undone with ``revert``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jsonpatch
from hypothesis import given, settings
from hypothesis import strategies as st

from ml_infra_utils import TrackedDict, TrackedList, replay

KEYS = ["a", "b", "c", "d/e", "~f"]
scalars = st.integers(-5, 5)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=6,
)

# An operation: (name, counts-as-a-change?, function applied to both sides).
Op = tuple[str, Callable[[Any], Any]]


def dict_ops(key: str, value: Any, other: dict[str, Any]) -> list[tuple[str, Any]]:
    def setitem(d: Any) -> None:
        d[key] = copy.deepcopy(value)

    def delitem(d: Any) -> None:
        del d[key]

    def ior(d: Any) -> None:
        d |= copy.deepcopy(other)

    return [
        ("set", setitem),
        ("del", delitem),
        ("pop", lambda d: d.pop(key)),
        ("pop-default", lambda d: d.pop(key, "x")),
        ("popitem", lambda d: d.popitem()),
        ("setdefault", lambda d: d.setdefault(key, copy.deepcopy(value))),
        ("update", lambda d: d.update(copy.deepcopy(other))),
        ("ior", ior),
        ("clear", lambda d: d.clear()),
    ]


def list_ops(
    index: int, stop: int, value: Any, items: list[Any], n: int
) -> list[tuple[str, Any]]:
    def setitem(lst: Any) -> None:
        lst[index] = copy.deepcopy(value)

    def delitem(lst: Any) -> None:
        del lst[index]

    def setslice(lst: Any) -> None:
        lst[index:stop] = copy.deepcopy(items)

    def delslice(lst: Any) -> None:
        del lst[index:stop]

    def set_ext(lst: Any) -> None:
        size = len(range(*slice(None, None, 2).indices(len(lst))))
        # Separate copies: a plain object stored twice becomes two tracked ones.
        lst[::2] = [copy.deepcopy(v) for v in (items * 4)[:size]]

    def del_ext(lst: Any) -> None:
        del lst[::-2]

    def iadd(lst: Any) -> None:
        lst += copy.deepcopy(items)

    def imul(lst: Any) -> None:
        lst *= n

    def sort(lst: Any) -> None:
        if all(type(v) is int for v in lst):
            lst.sort(reverse=n == 1)
        else:
            lst.reverse()

    return [
        ("set", setitem),
        ("del", delitem),
        ("setslice", setslice),
        ("delslice", delslice),
        ("set-extended", set_ext),
        ("del-extended", del_ext),
        ("append", lambda lst: lst.append(copy.deepcopy(value))),
        ("extend", lambda lst: lst.extend(copy.deepcopy(items))),
        ("insert", lambda lst: lst.insert(index, copy.deepcopy(value))),
        ("remove", lambda lst: lst.remove(value)),
        ("pop", lambda lst: lst.pop(index)),
        ("clear", lambda lst: lst.clear()),
        ("sort", sort),
        ("reverse", lambda lst: lst.reverse()),
        ("iadd", iadd),
        ("imul", imul),
    ]


def containers(root: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths of every dict and list inside *root* (itself first)."""
    found = [path]
    items = root.items() if isinstance(root, dict) else enumerate(root)
    for key, value in items:
        if isinstance(value, dict | list):
            found.extend(containers(value, (*path, key)))
    return found


def walk(root: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        root = root[key]
    return root


def places(root: Any, target: Any) -> int:
    """At how many paths of *root* the object *target* sits."""
    return sum(1 for path in containers(root) if walk(root, path) is target)


def outcome(func: Callable[[Any], Any], target: Any) -> tuple[str, Any]:
    try:
        result = func(target)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        return "raised", type(exc)
    return "ok", json.loads(json.dumps(result))


steps = st.lists(
    st.tuples(
        st.integers(0, 50),  # which container
        st.integers(0, 20),  # which operation
        st.sampled_from(KEYS),
        values,
        st.dictionaries(st.sampled_from(KEYS), values, max_size=3),
        st.integers(-4, 4),
        st.integers(-4, 4),
        st.lists(values, max_size=3),
        st.integers(-1, 3),
    ),
    max_size=25,
)


def run_steps(plain: Any, tracked: Any, chosen: list[Any]) -> int:
    """Apply *chosen* to both sides, checking each outcome; the expected records."""
    expected = 0
    for where, which, key, value, other, index, stop, items, n in chosen:
        paths = containers(plain)
        path = paths[where % len(paths)]
        p, t = walk(plain, path), walk(tracked, path)
        if isinstance(p, dict):
            ops = dict_ops(key, value, other)
        else:
            ops = list_ops(index, stop, value, items, n)
        name, func = ops[which % len(ops)]
        before = len(tracked.changes())
        was_present = isinstance(p, dict) and key in p
        expect, got = outcome(func, p), outcome(func, t)
        assert got == expect, (name, path)
        assert t == p, (name, path)
        counted = expect[0] == "ok" and not (
            (name == "setdefault" and was_present)
            or (name == "pop-default" and not was_present)
        )
        # A child stored at several places (``lst *= 2``) reports at each.
        count = places(tracked, t) if counted else 0
        assert len(tracked.changes()) - before == count, (name, path)
        expected += count
    return expected


def check_history(original: Any, tracked: Any, expected: int) -> None:
    records = tracked.changes()
    assert len(records) == expected
    seqs = [r.seq for r in records]
    assert seqs == sorted(seqs)  # equal seqs: one change seen at two places
    assert replay(records, copy.deepcopy(original)) == tracked
    replayed_json = replay([r.to_dict() for r in records], copy.deepcopy(original))
    assert replayed_json == json.loads(json.dumps(tracked))
    patched = jsonpatch.apply_patch(copy.deepcopy(original), tracked.to_json_patch())
    assert patched == tracked
    tested = jsonpatch.apply_patch(
        copy.deepcopy(original), tracked.to_json_patch(test=True)
    )
    assert tested == tracked
    assert tracked.revert(0) == len(set(seqs))
    assert tracked == original


@settings(max_examples=150)
@given(start=st.dictionaries(st.sampled_from(KEYS), values, max_size=4), chosen=steps)
def test_random_dict_operations_match_a_plain_dict(
    start: dict[str, Any], chosen: list[Any]
) -> None:
    """TrackedDict: same state as dict, one record per mutation, history rebuilds it."""
    plain, original = copy.deepcopy(start), copy.deepcopy(start)
    tracked = TrackedDict(copy.deepcopy(start))
    expected = run_steps(plain, tracked, chosen)
    check_history(original, tracked, expected)


@settings(max_examples=150)
@given(start=st.lists(values, max_size=5), chosen=steps)
def test_random_list_operations_match_a_plain_list(
    start: list[Any], chosen: list[Any]
) -> None:
    """TrackedList: same state as list, one record per mutation, history rebuilds it."""
    plain, original = copy.deepcopy(start), copy.deepcopy(start)
    tracked = TrackedList(copy.deepcopy(start))
    expected = run_steps(plain, tracked, chosen)
    check_history(original, tracked, expected)
