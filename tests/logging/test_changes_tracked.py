"""TrackedDict, TrackedList, TrackedObject: plain behaviour, one record per change."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import types
from collections.abc import Callable
from typing import Any

import pytest

from ml_infra_utils import (
    InputTypeError,
    InvalidParameterError,
    TrackedDict,
    TrackedList,
    TrackedObject,
)


def summary(container: Any) -> list[tuple[Any, ...]]:
    return [(c.action, c.path, c.old, c.new) for c in container.changes()]


# ---------------------------------------------------------------- dict
DICT_CASES: list[tuple[str, Callable[[Any], Any], tuple[Any, ...], dict[str, Any]]] = [
    (
        "set new",
        lambda d: d.__setitem__("z", 9),
        ("add", ("z",), None, 9),
        {"a": 1, "b": [1], "z": 9},
    ),
    (
        "set existing",
        lambda d: d.__setitem__("a", 2),
        ("replace", ("a",), 1, 2),
        {"a": 2, "b": [1]},
    ),
    ("del", lambda d: d.__delitem__("a"), ("remove", ("a",), 1, None), {"b": [1]}),
    ("pop", lambda d: d.pop("b"), ("remove", ("b",), [1], None), {"a": 1}),
    ("pop default", lambda d: d.pop("a", 5), ("remove", ("a",), 1, None), {"b": [1]}),
    ("popitem", lambda d: d.popitem(), ("remove", ("b",), [1], None), {"a": 1}),
    (
        "setdefault",
        lambda d: d.setdefault("c", [2]),
        ("add", ("c",), None, [2]),
        {"a": 1, "b": [1], "c": [2]},
    ),
    (
        "update",
        lambda d: d.update({"a": 3}, c=4),
        ("update", (), {"a": 1}, {"a": 3, "c": 4}),
        {"a": 3, "b": [1], "c": 4},
    ),
    (
        "update pairs",
        lambda d: d.update([("c", 1)]),
        ("update", (), {}, {"c": 1}),
        {"a": 1, "b": [1], "c": 1},
    ),
    (
        "ior",
        lambda d: d.__ior__({"b": 0}),
        ("update", (), {"b": [1]}, {"b": 0}),
        {"a": 1, "b": 0},
    ),
    ("clear", lambda d: d.clear(), ("clear", (), {"a": 1, "b": [1]}, {}), {}),
]


@pytest.mark.parametrize(
    ("op", "expected", "state"),
    [c[1:] for c in DICT_CASES],
    ids=[c[0] for c in DICT_CASES],
)
def test_each_dict_write_records_exactly_one_change(
    op: Callable[[Any], Any], expected: tuple[Any, ...], state: dict[str, Any]
) -> None:
    """Every mutating dict operation gives one record with the real old/new values."""
    tracked, plain = TrackedDict({"a": 1, "b": [1]}), {"a": 1, "b": [1]}
    assert op(tracked) == op(plain)
    assert tracked == plain == state
    assert summary(tracked) == [expected]


def test_augmented_assignment_on_a_nested_value_is_one_change() -> None:
    """d[k] += [...] stores the same child back: only the extend is a change."""
    d = TrackedDict({"layers": [1]})
    d["layers"] += [2]
    d["n"] = 1
    d["n"] += 1
    assert summary(d) == [
        ("extend", ("layers", 1), None, [2]),
        ("add", ("n",), None, 1),
        ("replace", ("n",), 1, 2),
    ]


def test_dict_reads_and_failed_writes_record_nothing() -> None:
    """Reads, setdefault of a present key, pop(missing, default), and errors."""
    d = TrackedDict({"a": 1})
    assert d.setdefault("a", 5) == 1
    assert d.pop("missing", None) is None
    with pytest.raises(KeyError):
        d.pop("missing")
    with pytest.raises(KeyError):
        del d["missing"]
    with pytest.raises(TypeError):
        d[["unhashable"]] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        d[["unhashable"]] = {"nested": 1}  # type: ignore[index]
    with pytest.raises(TypeError):
        d.update({}, {})  # type: ignore[call-arg]
    with pytest.raises(KeyError):
        TrackedDict().popitem()
    _ = (d.get("a"), list(d.items()), "a" in d, d | {"b": 2})
    assert d == {"a": 1}
    assert d.changes() == []
    assert TrackedDict.fromkeys("ab", 0) == {"a": 0, "b": 0}
    assert TrackedDict.fromkeys("ab").changes() == []


def test_tracked_dict_behaves_like_a_dict() -> None:
    """isinstance, equality, json, repr, copy, deepcopy and pickle as for a dict."""
    d = TrackedDict({"a": 1, "m": {"x": [1, 2]}}, max_history=5)
    assert isinstance(d, dict)
    assert isinstance(d["m"], TrackedDict)
    assert isinstance(d["m"]["x"], TrackedList)
    assert d == {"a": 1, "m": {"x": [1, 2]}}
    assert json.dumps(d) == '{"a": 1, "m": {"x": [1, 2]}}'
    assert repr(d) == "{'a': 1, 'm': {'x': [1, 2]}}"
    assert type(d.copy()) is dict
    for clone in (copy.copy(d), copy.deepcopy(d), pickle.loads(pickle.dumps(d))):
        assert type(clone) is TrackedDict
        assert clone == d
        assert clone.changes() == []
        assert clone._tk.options.max_history == 5
    deep = copy.deepcopy(d)
    deep["m"]["x"].append(3)
    assert d["m"]["x"] == [1, 2]
    assert summary(deep) == [("add", ("m", "x", 2), None, 3)]
    assert d.changes() == []


def test_options_are_checked() -> None:
    """Bad options raise clear errors."""
    with pytest.raises(InputTypeError, match="max_history"):
        TrackedDict(max_history="10")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="max_history"):
        TrackedList(max_history=-1)
    with pytest.raises(InputTypeError, match="snapshots"):
        TrackedDict(snapshots=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TrackedDict(a=1)  # type: ignore[call-arg]


# ---------------------------------------------------------------- list
def _sort(lst: Any) -> None:
    lst.sort(key=lambda v: -v)


LIST_CASES: list[tuple[str, Callable[[Any], Any], tuple[Any, ...], list[Any]]] = [
    ("set", lambda s: s.__setitem__(-1, 9), ("replace", (2,), 3, 9), [1, 2, 9]),
    ("del", lambda s: s.__delitem__(-3), ("remove", (0,), 1, None), [2, 3]),
    (
        "setslice",
        lambda s: s.__setitem__(slice(0, 2), "ab"),
        ("splice", (0,), [1, 2], ["a", "b"]),
        ["a", "b", 3],
    ),
    (
        "insert by slice",
        lambda s: s.__setitem__(slice(5, 1), [0]),
        ("splice", (3,), [], [0]),
        [1, 2, 3, 0],
    ),
    (
        "delslice",
        lambda s: s.__delitem__(slice(1, None)),
        ("splice", (1,), [2, 3], []),
        [1],
    ),
    (
        "set extended",
        lambda s: s.__setitem__(slice(None, None, 2), [7, 8]),
        ("assign", (), [1, 2, 3], [7, 2, 8]),
        [7, 2, 8],
    ),
    (
        "del extended",
        lambda s: s.__delitem__(slice(None, None, -2)),
        ("assign", (), [1, 2, 3], [2]),
        [2],
    ),
    ("append", lambda s: s.append([4]), ("add", (3,), None, [4]), [1, 2, 3, [4]]),
    (
        "extend",
        lambda s: s.extend(iter([4, 5])),
        ("extend", (3,), None, [4, 5]),
        [1, 2, 3, 4, 5],
    ),
    ("insert", lambda s: s.insert(-1, 0), ("add", (2,), None, 0), [1, 2, 0, 3]),
    ("insert far", lambda s: s.insert(-10, 0), ("add", (0,), None, 0), [0, 1, 2, 3]),
    ("remove", lambda s: s.remove(2), ("remove", (1,), 2, None), [1, 3]),
    ("pop", lambda s: s.pop(), ("remove", (2,), 3, None), [1, 2]),
    ("pop index", lambda s: s.pop(-3), ("remove", (0,), 1, None), [2, 3]),
    ("clear", lambda s: s.clear(), ("clear", (), [1, 2, 3], []), []),
    ("sort", _sort, ("sort", (), [1, 2, 3], [3, 2, 1]), [3, 2, 1]),
    (
        "reverse",
        lambda s: s.reverse(),
        ("reverse", (), [1, 2, 3], [3, 2, 1]),
        [3, 2, 1],
    ),
    ("iadd", lambda s: s.__iadd__((4,)), ("extend", (3,), None, [4]), [1, 2, 3, 4]),
    (
        "imul",
        lambda s: s.__imul__(2),
        ("extend", (3,), None, [1, 2, 3]),
        [1, 2, 3, 1, 2, 3],
    ),
    ("imul zero", lambda s: s.__imul__(0), ("clear", (), [1, 2, 3], []), []),
]


@pytest.mark.parametrize(
    ("op", "expected", "state"),
    [c[1:] for c in LIST_CASES],
    ids=[c[0] for c in LIST_CASES],
)
def test_each_list_write_records_exactly_one_change(
    op: Callable[[Any], Any], expected: tuple[Any, ...], state: list[Any]
) -> None:
    """Every mutating list operation gives one record, indices normalized."""
    tracked, plain = TrackedList([1, 2, 3]), [1, 2, 3]
    assert op(tracked) == op(plain)
    assert tracked == plain == state
    assert summary(tracked) == [expected]


def _imul_str(lst: Any) -> None:
    lst *= "a"


def _iadd_int(lst: Any) -> None:
    lst += 5


def test_list_errors_match_the_builtin_and_record_nothing() -> None:
    """Out-of-range indices, missing values, bad slices and types raise as list does."""
    t = TrackedList([1, 2])
    for action, error in (
        (lambda s: s.__setitem__(5, 0), IndexError),
        (lambda s: s.__delitem__(-5), IndexError),
        (lambda s: s.pop(9), IndexError),
        (lambda s: s.remove(7), ValueError),
        (lambda s: s.__setitem__(slice(None, None, 2), [1, 2, 3]), ValueError),
        (lambda s: s.__setitem__("a", 1), TypeError),
        (_imul_str, TypeError),
        (_iadd_int, TypeError),
    ):
        with pytest.raises(error) as ours:
            action(t)
        with pytest.raises(error) as theirs:
            action([1, 2])
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(IndexError, match="pop from empty list"):
        TrackedList().pop()
    assert t == [1, 2]
    assert t.changes() == []


def test_a_sort_that_fails_half_way_records_what_it_did() -> None:
    """A comparison error can leave the list permuted: that change is recorded."""
    t = TrackedList([3, 1, 2, "x"])
    with pytest.raises(TypeError):
        t.sort()
    records = t.changes()
    if t == [3, 1, 2, "x"]:
        assert records == []
    else:
        assert summary(t) == [("sort", (), [3, 1, 2, "x"], list(t))]
    clean = TrackedList(["b", "a"])
    with pytest.raises(KeyError):
        clean.sort(key=lambda v: {}[v])  # type: ignore[index]
    assert clean.changes() == []


def test_tracked_list_behaves_like_a_list() -> None:
    """isinstance, equality, json, copies and pickle as for a list."""
    t = TrackedList([1, {"a": [2]}])
    assert isinstance(t, list)
    assert t == [1, {"a": [2]}]
    assert json.dumps(t) == '[1, {"a": [2]}]'
    assert type(t[:]) is list
    assert type(t.__add__([0])) is list
    assert type(t.copy()) is list
    for clone in (copy.copy(t), copy.deepcopy(t), pickle.loads(pickle.dumps(t))):
        assert type(clone) is TrackedList
        assert clone == t


# ---------------------------------------------------------------- object
class Config(TrackedObject, max_history=10):
    def __init__(self, lr: float) -> None:
        self.lr = lr
        self.layers = [64]

    @property
    def rate(self) -> float:
        return self.lr

    @rate.setter
    def rate(self, value: float) -> None:
        self.lr = value


class Deeper(Config):
    def __init__(self) -> None:
        super().__init__(0.5)
        self.extra = True


@dataclasses.dataclass
class DataConfig(TrackedObject, max_history=10):
    lr: float = 0.1
    layers: list[int] = dataclasses.field(default_factory=lambda: [64])

    def __post_init__(self) -> None:
        self.derived = self.lr * 2


class _PlainMixin:
    def __init__(self) -> None:
        self.x = 1


class MixinConfig(_PlainMixin, TrackedObject):
    pass


@pytest.mark.parametrize("make", [DataConfig, lambda: DataConfig(lr=0.5), MixinConfig])
def test_tracked_object_with_a_decorator_or_mixin_init_records_later_writes(
    make: Callable[[], Any],
) -> None:
    """An __init__ from @dataclass or a mixin: the writes after it are recorded."""
    c = make()
    assert c.changes() == []  # __init__ and __post_init__ are the initial state
    c.x = 2
    c.extra = 5
    assert [(r.action, r.path) for r in c.changes()] == [
        ("replace" if isinstance(c, MixinConfig) else "add", ("x",)),
        ("add", ("extra",)),
    ]
    if isinstance(c, DataConfig):
        c.layers.append(32)
        assert c.changes()[-1].path == ("layers", 1)
        assert c == DataConfig(lr=c.lr, layers=[64, 32])  # the dataclass's __eq__


def test_tracked_object_records_attribute_writes_after_init() -> None:
    """Writes made in __init__ (also through super()) are the initial state."""
    c = Deeper()
    assert c.changes() == []
    c.lr = 0.1
    c.layers.append(32)
    c.rate = 0.2  # a property: its setter's write is recorded
    del c.extra
    assert summary(c) == [
        ("replace", ("lr",), 0.5, 0.1),
        ("add", ("layers", 1), None, 32),
        ("replace", ("lr",), 0.1, 0.2),
        ("remove", ("extra",), True, None),
    ]
    with pytest.raises(AttributeError, match="extra"):
        del c.extra
    assert c._tk.options.max_history == 10
    c.__init__()  # type: ignore[misc]  # on a live object: ordinary writes
    paths = [r.path for r in c.changes()[-3:]]
    assert paths == [("lr",), ("layers",), ("extra",)]


def test_tracked_object_behaves_like_a_namespace() -> None:
    """kwargs, repr, equality with SimpleNamespace, copies and pickle."""
    o = TrackedObject(a=1, b=[1])
    assert o == types.SimpleNamespace(a=1, b=[1])
    assert o != TrackedObject(a=2)
    assert o != 1
    assert repr(o) == "TrackedObject(a=1, b=[1])"
    assert isinstance(o.b, TrackedList)
    for clone in (copy.copy(o), copy.deepcopy(o), pickle.loads(pickle.dumps(o))):
        assert type(clone) is TrackedObject
        assert clone == o
        assert clone.changes() == []
    clone = copy.deepcopy(o)
    clone.a = 5
    assert summary(clone) == [("replace", ("a",), 1, 5)]
    with pytest.raises(TypeError):
        hash(o)
    pickled = pickle.loads(pickle.dumps(Config(0.3)))
    assert pickled.lr == 0.3
    assert pickled.changes() == []


def test_tracked_object_options_are_checked() -> None:
    """An unknown class option is a TypeError naming the valid ones."""
    with pytest.raises(TypeError, match="unknown TrackedObject option"):

        class Bad(TrackedObject, history=3):  # type: ignore[call-arg]
            pass

    class Quiet(TrackedObject, snapshots=True):
        pass

    q = Quiet(a=1)
    q.a = 2
    assert q.last_change().snapshot == types.SimpleNamespace(a=2)  # type: ignore[union-attr]


# ---------------------------------------------------------------- slow path
OBJECT_CASES: list[tuple[str, Callable[[Any], Any], tuple[Any, ...]]] = [
    ("setattr new", lambda o: setattr(o, "z", [1]), ("add", ("z",), None, [1])),
    ("setattr", lambda o: setattr(o, "a", 2), ("replace", ("a",), 1, 2)),
    ("setattr nested", lambda o: setattr(o, "b", {}), ("replace", ("b",), [1], {})),
    ("delattr", lambda o: delattr(o, "b"), ("remove", ("b",), [1], None)),
]


@pytest.mark.parametrize(
    ("make", "op", "expected"),
    [(lambda: TrackedDict({"a": 1, "b": [1]}), *c[1:3]) for c in DICT_CASES]
    + [(lambda: TrackedList([1, 2, 3]), *c[1:3]) for c in LIST_CASES]
    + [(lambda: TrackedObject(a=1, b=[1]), *c[1:3]) for c in OBJECT_CASES],
    ids=[f"dict-{c[0]}" for c in DICT_CASES]
    + [f"list-{c[0]}" for c in LIST_CASES]
    + [f"object-{c[0]}" for c in OBJECT_CASES],
)
def test_each_write_reaches_observers_and_parents(
    make: Callable[[], Any], op: Callable[[Any], Any], expected: tuple[Any, ...]
) -> None:
    """With an observer and a parent, every operation reports the same one record."""
    own: list[Any] = []
    above: list[Any] = []
    child = make()
    child.add_observer(own.append)
    parent = TrackedDict({"child": child}, observers=[above.append])
    op(child)
    assert [(r.action, r.path, r.old, r.new) for r in own] == [expected]
    assert own == child.changes()
    assert [r.path for r in above] == [("child", *expected[1])]
    assert above[0].seq == own[0].seq
    assert parent.changes() == above


def test_a_shallow_copy_shares_nested_children_a_deep_copy_does_not() -> None:
    """copy.copy is shallow as for a dict: a shared child reports to both."""
    original = TrackedDict({"layers": [1]})
    shallow, deep = copy.copy(original), copy.deepcopy(original)
    assert shallow["layers"] is original["layers"]
    original["layers"].append(2)
    assert summary(shallow) == summary(original) == [("add", ("layers", 1), None, 2)]
    assert deep["layers"] == [1]
    assert deep.changes() == []


class _Config(TrackedDict[str, Any]):
    """A subclass whose constructor takes other arguments than TrackedDict's."""

    def __init__(self, name: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(data or {}, max_history=5)
        self.name = name


class _Pair(TrackedList[int]):
    __slots__ = ()

    def __init__(self, first: int, second: int) -> None:
        super().__init__([first, second], snapshots=True)


@pytest.mark.parametrize(
    "clone",
    [copy.copy, copy.deepcopy, lambda x: pickle.loads(pickle.dumps(x))],
    ids=["copy", "deepcopy", "pickle"],
)
def test_subclasses_with_their_own_constructor_copy_and_pickle(
    clone: Callable[[Any], Any],
) -> None:
    """The copy is built by the tracked base's constructor (the subclass's may
    take other arguments) and keeps the class, the content, the options, the
    instance's own attributes and tracking."""
    config = _Config("exp", {"lr": 0.1, "layers": [64]})
    config["lr"] = 0.2
    copied = clone(config)
    assert type(copied) is _Config
    assert copied == {"lr": 0.2, "layers": [64]}
    assert copied.name == "exp"
    assert copied._tk_options() == config._tk_options()
    assert copied.changes() == []  # a copy starts without history
    copied["layers"].append(32)
    assert copied.last_change().path == ("layers", 1)  # type: ignore[union-attr]

    pair = clone(_Pair(1, 2))
    assert (type(pair), pair) == (_Pair, [1, 2])
    pair.append(3)
    assert pair.last_change().snapshot == [1, 2, 3]  # type: ignore[union-attr]


def test_pickles_of_earlier_versions_still_load() -> None:
    """A pickle that names restore(cls, data, options) (no base) still loads."""
    from ml_infra_utils.logging._tracked import restore

    rebuilt = restore(TrackedDict, {"a": [1]}, {"max_history": 3})
    assert rebuilt == {"a": [1]}
    assert rebuilt._tk_options()["max_history"] == 3


@pytest.mark.parametrize("name", ["changes", "undo", "revert", "add_observer"])
def test_a_tracked_object_refuses_attributes_named_like_its_history_api(
    name: str,
) -> None:
    """Such an attribute would hide the method: refused, and nothing recorded."""
    obj = TrackedObject(lr=0.1)
    with pytest.raises(InvalidParameterError, match=repr(name)):
        setattr(obj, name, 1)
    with pytest.raises(InvalidParameterError, match=repr(name)):
        TrackedObject(**{name: 1})
    assert obj.changes() == []
    assert callable(getattr(obj, name))


def test_changes_of_children_inside_init_are_the_objects_initial_state() -> None:
    """What a TrackedObject's __init__ does to its children (which record it
    themselves) is not in the object's history; afterwards their changes are."""

    class Inner(TrackedObject):
        def __init__(self, v: int) -> None:
            self.v = v

    class Outer(TrackedObject):
        def __init__(self) -> None:
            self.child = Inner(5)
            self.child.v = 6
            self.items = [1]
            self.items.append(2)

    outer = Outer()
    assert outer.changes() == []
    assert [(c.path, c.new) for c in outer.child.changes()] == [(("v",), 6)]
    outer.child.v = 7
    outer.items.append(3)
    assert [(c.path, c.new) for c in outer.changes()] == [
        (("child", "v"), 7),
        (("items", 2), 3),
    ]
    outer.revert(0)
    assert (outer.child.v, outer.items) == (6, [1, 2])
