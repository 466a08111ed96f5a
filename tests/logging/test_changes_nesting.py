"""Nested tracked containers: full paths to every ancestor, detaching, two parents."""

from __future__ import annotations

import collections
from typing import Any

import pytest

from ml_infra_utils import (
    InputTypeError,
    InvalidParameterError,
    TrackedDict,
    TrackedList,
    TrackedObject,
)


def paths(container: object) -> list[tuple[object, ...]]:
    return [c.path for c in container.changes()]  # type: ignore[attr-defined]


def test_a_change_deep_inside_reaches_every_ancestor_with_its_path() -> None:
    """Each ancestor records the change with the path from itself."""
    root = TrackedDict({"model": {"layers": [{"units": 64}]}})
    layer = root["model"]["layers"][0]
    layer["units"] = 128
    assert paths(layer) == [("units",)]
    assert paths(root["model"]["layers"]) == [(0, "units")]
    assert paths(root["model"]) == [("layers", 0, "units")]
    assert paths(root) == [("model", "layers", 0, "units")]
    seqs = {c.seq for node in (root, layer) for c in node.changes()}
    assert len(seqs) == 1  # one change, one seq, seen from each level


def test_empty_parents_track_their_children() -> None:
    """pydatatracker skips linking when the parent is empty (falsy); we do not."""
    root = TrackedDict()
    root["child"] = {}
    root["child"]["s"] = 2
    items = TrackedList()
    items.append([])
    items[0].append(1)
    assert paths(root) == [("child",), ("child", "s")]
    assert paths(items) == [(0,), (0, 0)]


def test_an_already_tracked_container_is_linked_when_stored() -> None:
    """Storing a TrackedDict/TrackedList/TrackedObject makes it a child as it is."""
    child = TrackedDict({"x": 1})
    obj = TrackedObject(y=2)
    root = TrackedDict()
    root["c"] = child
    root["o"] = obj
    assert root["c"] is child
    child["x"] = 5
    obj.y = 3
    assert paths(root)[-2:] == [("c", "x"), ("o", "y")]


def test_list_indices_follow_inserts_sorts_and_reversals() -> None:
    """A child's path is its current index, however the list moved it."""
    root = TrackedList([{"n": 1}, {"n": 2}])
    second = root[1]
    root.insert(0, {"n": 0})
    second["n"] = 20
    root.reverse()
    second["n"] = 21
    root.sort(key=lambda d: d["n"])
    second["n"] = 22
    del root[0]
    second["n"] = 23
    assert [p for p in paths(root) if len(p) == 2] == [
        (2, "n"),
        (0, "n"),
        (2, "n"),
        (1, "n"),
    ]


@pytest.mark.parametrize(
    "remove",
    [
        lambda root: root.__delitem__("c"),
        lambda root: root.pop("c"),
        lambda root: root.__setitem__("c", 0),
        lambda root: root.update(c=0),
        lambda root: root.clear(),
        lambda root: root.popitem(),
    ],
    ids=["del", "pop", "replace", "update", "clear", "popitem"],
)
def test_a_child_removed_from_a_dict_stops_reporting(remove: object) -> None:
    """After any way out of its parent, a child's changes stay its own."""
    root = TrackedDict({"c": {"x": 1}})
    child = root["c"]
    remove(root)  # type: ignore[operator]
    before = len(root.changes())
    child["x"] = 2
    assert len(root.changes()) == before
    assert paths(child) == [("x",)]


@pytest.mark.parametrize(
    "remove",
    [
        lambda root: root.pop(0),
        lambda root: root.remove([]),
        lambda root: root.__delitem__(slice(0, 1)),
        lambda root: root.__setitem__(0, 1),
        lambda root: root.__setitem__(slice(None, None, 2), [1]),
        lambda root: root.__imul__(0),
        lambda root: root.clear(),
    ],
    ids=["pop", "remove-empty", "delslice", "replace", "extended", "imul0", "clear"],
)
def test_a_child_removed_from_a_list_stops_reporting(remove: object) -> None:
    """Empty children are detached too (pydatatracker's remove() misses index 0)."""
    root = TrackedList([[]])
    child = root[0]
    remove(root)  # type: ignore[operator]
    before = len(root.changes())
    child.append(1)
    assert len(root.changes()) == before


def test_a_child_in_two_parents_reports_to_both() -> None:
    """One change, one seq, one record in each parent with that parent's path."""
    shared = TrackedList([1])
    a, b = TrackedDict({"x": shared}), TrackedDict({"y": {"z": shared}})
    shared.append(2)
    assert paths(a) == [("x", 1)]
    assert paths(b) == [("y", "z", 1)]
    assert a.last_change().seq == b.last_change().seq  # type: ignore[union-attr]
    del a["x"]
    shared.append(3)
    assert paths(a) == [("x", 1), ("x",)]
    assert paths(b)[-1] == ("y", "z", 2)


def test_a_child_at_two_places_of_one_parent_reports_at_both() -> None:
    """Aliasing: the parent records the change once per place (same seq)."""
    root = TrackedDict()
    child = TrackedList()
    root["a"] = child
    root["b"] = child
    child.append(1)
    last_two = root.changes()[-2:]
    assert {c.path for c in last_two} == {("a", 0), ("b", 0)}
    assert last_two[0].seq == last_two[1].seq
    del root["a"]
    child.append(2)
    assert paths(root)[-1] == ("b", 1)
    assert root.undo().action == "remove"
    assert root == {"b": [1]}


def test_a_container_cannot_hold_itself() -> None:
    """Cycles would give endless paths: they are refused, nothing changes."""
    root = TrackedDict({"child": {}})
    with pytest.raises(InvalidParameterError, match="inside itself"):
        root["self"] = root
    with pytest.raises(InvalidParameterError, match="inside itself"):
        root["child"]["up"] = root
    with pytest.raises(InvalidParameterError, match="inside itself"):
        root["child"]["up"] = {"deeper": [root]}
    loop: dict[str, object] = {}
    loop["me"] = loop
    with pytest.raises(InvalidParameterError, match="refers to itself"):
        root["loop"] = loop
    assert root == {"child": {}}
    assert root.changes() == []


def test_track_nested_false_stores_plain_values() -> None:
    """track_nested=False: dicts and lists stay plain (records hold copies)."""
    inner = [1]
    root = TrackedDict({"a": {"b": 1}}, track_nested=False)
    root["l"] = inner
    assert type(root["a"]) is dict
    assert root["l"] is inner
    inner.append(2)
    assert root.last_change().new == [1]  # type: ignore[union-attr]
    nested = TrackedDict()
    nested["x"] = {"y": {}}
    assert isinstance(nested["x"]["y"], TrackedDict)


class _MyList(list[int]):
    pass


@pytest.mark.parametrize(
    "value",
    [
        collections.OrderedDict(a=1),
        collections.defaultdict(list),
        collections.Counter("aab"),
        _MyList([1]),
    ],
    ids=["OrderedDict", "defaultdict", "Counter", "list subclass"],
)
def test_a_dict_or_list_subclass_is_refused_where_nested_values_are_tracked(
    value: Any,
) -> None:
    """Wrapping would lose its behaviour, storing it would lose its writes: refused."""
    d = TrackedDict({"a": 1})
    lst = TrackedList()
    obj = TrackedObject()
    for store in (
        lambda: d.__setitem__("x", value),
        lambda: d.update(x={"deep": value}),
        lambda: d.setdefault("x", value),
        lambda: lst.append(value),
        lambda: lst.extend([[value]]),
        lambda: setattr(obj, "x", value),
        lambda: TrackedDict({"cfg": value}),
        lambda: TrackedList([value]),
    ):
        with pytest.raises(InputTypeError, match=type(value).__name__):
            store()
    assert d == {"a": 1}
    assert d.changes() == lst.changes() == obj.changes() == []


def test_a_dict_or_list_subclass_is_copied_into_records_without_track_nested() -> None:
    """track_nested=False keeps the subclass; records hold plain, fixed copies."""
    d = TrackedDict(track_nested=False, snapshots=True)
    od = collections.OrderedDict(a=1)
    d["x"] = od
    added = d.last_change()
    assert d["x"] is od
    od["b"] = 2
    d["x"] = collections.Counter("ab")
    replaced = d.last_change()
    d["x"]["a"] += 5
    assert added is not None
    assert replaced is not None
    assert type(added.new) is dict
    assert added.new == {"a": 1}
    assert added.snapshot == {"x": {"a": 1}}
    assert type(replaced.old) is dict
    assert replaced.old == {"a": 1, "b": 2}
    assert replaced.new == {"a": 1, "b": 1}
    lst = TrackedList(track_nested=False)
    inner = _MyList([1])
    lst.append(inner)
    inner.append(2)
    assert lst.changes()[-1].new == [1]


def test_nested_children_inherit_the_parents_options() -> None:
    """Snapshots, stacks and bounds apply at every level."""
    root = TrackedDict({"c": {"x": 1}}, max_history=1, snapshots=True)
    child = root["c"]
    child["x"] = 2
    child["x"] = 3
    assert len(child.changes()) == 1
    assert child.last_change().snapshot == {"x": 3}  # type: ignore[union-attr]
    assert root.last_change().snapshot == {"c": {"x": 3}}  # type: ignore[union-attr]


def test_a_parent_that_is_gone_is_forgotten() -> None:
    """Children hold their parents weakly: a dropped parent costs nothing."""
    import gc

    child = TrackedList()
    parent = TrackedDict({"c": child})
    assert child._tk.parents
    del parent
    gc.collect()
    child.append(1)
    assert not child._tk.parents
    assert child._tk_fast


def test_a_child_changed_behind_the_trackers_back_is_dropped() -> None:
    """dict.__setitem__ bypasses tracking; the stale link is dropped on use."""
    child = TrackedList()
    parent = TrackedDict({"c": child})
    dict.__setitem__(parent, "c", 0)
    child.append(1)
    assert parent.changes() == []
    assert not child._tk.parents
