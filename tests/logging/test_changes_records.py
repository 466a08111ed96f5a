"""Change records, actors, stacks, snapshots, history, JSON Patch and undo."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import math
import threading
import types
from collections.abc import AsyncIterator, Iterator
from typing import Any

import jsonpatch
import pytest

from ml_infra_utils import (
    Change,
    ChangeHistoryError,
    InputTypeError,
    InvalidParameterError,
    TrackedDict,
    TrackedList,
    TrackedObject,
    replay,
    to_json_patch,
    tracking_actor,
)
from ml_infra_utils.logging.changes import CHANGE_ACTIONS


def test_a_record_is_frozen_and_slotted() -> None:
    """Records cannot change after the fact and carry no __dict__."""
    d = TrackedDict({"a": 1})
    d["a"] = 2
    record = d.last_change()
    assert record is not None
    with pytest.raises(AttributeError):
        record.new = 3  # type: ignore[misc]
    assert not hasattr(record, "__dict__")
    assert Change.__slots__ == ()
    assert record.action in CHANGE_ACTIONS


def test_record_fields_hold_real_values_and_utc_time() -> None:
    """old/new are the values themselves (1 is not "1"), the time is UTC."""
    d = TrackedDict({"n": 1})
    before = dt.datetime.now(dt.UTC)
    d["n"] = "1"
    record = d.last_change()
    assert record is not None
    assert (record.old, record.new) == (1, "1")
    assert record.datetime.tzinfo is dt.UTC
    assert (
        before - dt.timedelta(seconds=1) <= record.datetime <= dt.datetime.now(dt.UTC)
    )
    assert record.actor is None
    assert record.snapshot is None
    assert record.stack is None


def test_records_never_change_after_the_fact() -> None:
    """Dicts and lists in records are copies taken at the change."""
    d = TrackedDict()
    d["layers"] = [64]
    d["layers"].append(32)
    removed = d["layers"]
    del d["layers"]
    removed.append(16)
    assert [c.new for c in d.changes()] == [[64], 32, None]
    assert d.changes()[-1].old == [64, 32]


def test_seq_is_strictly_increasing_across_containers() -> None:
    """seq numbers every change in the process, in order."""
    a, b = TrackedList(), TrackedList()
    for i in range(5):
        a.append(i)
        b.append(i)
    seqs = [c.seq for c in a.changes()] + [c.seq for c in b.changes()]
    assert [c.seq for c in a.changes()] == sorted({c.seq for c in a.changes()})
    assert len(set(seqs)) == 10


def test_to_dict_is_strict_json_for_any_value() -> None:
    """NaN, sets, bytes, odd keys, objects become JSON; snapshot/stack if captured."""

    @dataclasses.dataclass
    class Point:
        x: int

    d = TrackedDict(snapshots=True, capture_stack=True)
    d[(1, 2)] = {"nan": math.nan, "set": {2, 1}, "bytes": b"\xff", "p": Point(1)}
    d["o"] = TrackedObject(k=[1])
    record, last = d.changes()
    data = record.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["path"] == [[1, 2]]
    assert data["new"] == {"nan": "NaN", "set": [1, 2], "bytes": "\\xff", "p": {"x": 1}}
    assert data["snapshot"] == {"[1,2]": data["new"]}
    assert any("test_changes_records.py" in frame for frame in data["stack"])
    assert last.to_dict()["new"] == {"k": [1]}
    assert set(Change(1, 0.0, "add", (), None, 1, None).to_dict()) == {
        "seq",
        "timestamp",
        "action",
        "path",
        "old",
        "new",
        "actor",
    }


def test_tracking_actor_nests_and_stays_in_its_thread() -> None:
    """The innermost actor wins; other threads do not see it."""
    d = TrackedList()
    seen: list[str | None] = []

    def other_thread() -> None:
        d.append("t")
        seen.append(d.last_change().actor)  # type: ignore[union-attr]

    with tracking_actor("alice"):
        d.append(1)
        with tracking_actor("bob"):
            d.append(2)
            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join()
        d.append(3)
    d.append(4)
    assert [c.actor for c in d.changes()] == ["alice", "bob", None, "alice", None]
    assert seen == [None]
    with pytest.raises(InputTypeError), tracking_actor(42):  # type: ignore[arg-type]
        pass


def test_tracking_actor_is_per_asyncio_task_and_a_decorator() -> None:
    """Two tasks interleaving keep their own actors."""
    d = TrackedList()

    async def worker(name: str) -> None:
        with tracking_actor(name):
            for i in range(3):
                d.append((name, i))
                await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(worker("a"), worker("b"))

    asyncio.run(main())
    assert all(c.actor == c.new[0] for c in d.changes())

    @tracking_actor("decorated")
    def change() -> None:
        d.append(0)

    change()
    assert d.last_change().actor == "decorated"  # type: ignore[union-attr]


def test_tracking_actor_decorates_coroutine_functions_for_the_whole_run() -> None:
    """A decorated ``async def`` keeps its actor across awaits, per task, and
    leaves none behind."""
    d = TrackedList()

    @tracking_actor("loader")
    async def load(n: int) -> int:
        for i in range(n):
            d.append(("loader", i))
            await asyncio.sleep(0)
        return n

    @tracking_actor("saver")
    async def save(n: int) -> int:
        for i in range(n):
            d.append(("saver", i))
            await asyncio.sleep(0)
        return n

    async def main() -> list[int]:
        results = await asyncio.gather(load(3), save(3), load(2))
        d.append(("none", 0))
        return list(results)

    assert asyncio.run(main()) == [3, 3, 2]
    assert load.__name__ == "load"
    assert [c.actor for c in d.changes()][:-1] == [c.new[0] for c in d.changes()][:-1]
    assert d.last_change().actor is None  # type: ignore[union-attr]


def test_tracking_actor_refuses_generator_functions() -> None:
    """A generator would carry the actor into its caller while suspended."""

    def gen() -> Iterator[int]:
        yield 1

    async def agen() -> AsyncIterator[int]:
        yield 1

    for func in (gen, agen):
        with pytest.raises(InputTypeError, match="generator function"):
            tracking_actor("x")(func)


def test_a_decorated_function_runs_in_many_threads_at_once() -> None:
    """Each call gets its own scope: concurrent calls neither clash nor leak."""
    d = TrackedList()
    barrier = threading.Barrier(4)

    @tracking_actor("worker")
    def work() -> None:
        barrier.wait()
        d.append(1)
        barrier.wait()
        d.append(2)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    d.append(3)
    assert [c.actor for c in d.changes()] == ["worker"] * 8 + [None]


def test_one_scope_is_entered_once_at_a_time() -> None:
    """Re-entering the same scope object is an error (make a new one)."""
    scope = tracking_actor("a")
    with scope, pytest.raises(RuntimeError, match="already entered"), scope:
        pass
    with scope:  # free again afterwards
        pass


def test_stack_capture_is_opt_in_and_points_at_the_caller() -> None:
    """The stack names this test, not the package's own frames."""
    quiet = TrackedDict()
    quiet["a"] = 1
    assert quiet.last_change().stack is None  # type: ignore[union-attr]
    loud = TrackedDict(capture_stack=True)
    with tracking_actor("someone"):  # an actor does not switch stacks off
        loud["a"] = 1
    stack = loud.last_change().stack  # type: ignore[union-attr]
    assert stack is not None
    assert "test_stack_capture_is_opt_in_and_points_at_the_caller" in stack[-1]
    assert not any("_tracked.py" in frame or "_tracking.py" in frame for frame in stack)


def test_history_bounds_and_queries() -> None:
    """max_history keeps the newest; changes_since takes a record or a seq."""
    d = TrackedDict(max_history=3)
    for i in range(5):
        d["k"] = i
    assert [c.new for c in d.changes()] == [2, 3, 4]
    first = d.changes()[0]
    assert [c.new for c in d.changes_since(first)] == [3, 4]
    assert [c.new for c in d.changes_since(first.seq)] == [3, 4]
    assert d.changes_since(d.last_change()) == []  # type: ignore[arg-type]
    with pytest.raises(InputTypeError):
        d.changes_since("yesterday")  # type: ignore[arg-type]
    none = TrackedDict(max_history=0)
    none["a"] = 1
    assert none.changes() == []
    assert none.last_change() is None
    assert none.changes_since(0) == []
    assert TrackedList().last_change() is None


# ---------------------------------------------------------------- JSON Patch
def test_json_patch_escapes_pointers_and_applies_with_jsonpatch() -> None:
    """Keys with / and ~, list indices, root replacement: jsonpatch agrees."""
    original = {"a/b": {"~c": [1, 2]}, "l": [3, 1, 2]}
    d = TrackedDict(json.loads(json.dumps(original)))
    d["a/b"]["~c"][0] = 9
    d["l"].sort()
    d.update({"new": None, "a/b": {"x": 1}})
    ops = d.to_json_patch()
    assert ops[0] == {"op": "replace", "path": "/a~1b/~0c/0", "value": 9}
    assert jsonpatch.apply_patch(original, ops) == d
    root = TrackedList([2, 1])
    root.sort()
    assert root.to_json_patch() == [{"op": "replace", "path": "", "value": [1, 2]}]
    assert jsonpatch.apply_patch([2, 1], root.to_json_patch()) == [1, 2]


def test_json_patch_test_ops_catch_a_document_in_another_state() -> None:
    """With test=True a patch refuses to overwrite a value it did not expect."""
    d = TrackedDict({"lr": 0.1})
    d["lr"] = 0.2
    ops = d.to_json_patch(test=True)
    assert ops[0] == {"op": "test", "path": "/lr", "value": 0.1}
    with pytest.raises(jsonpatch.JsonPatchTestFailed):
        jsonpatch.apply_patch({"lr": 0.5}, ops)
    since = d.last_change()
    d["lr"] = 0.3
    assert d.to_json_patch(since=since) == [
        {"op": "replace", "path": "/lr", "value": 0.3}
    ]


def test_non_string_keys_become_their_json_text_in_pointers() -> None:
    """Keys 1, None, True, 1.5 and tuples map as json.dumps writes them."""
    d = TrackedDict()
    for key in (1, None, True, 1.5, (1, "a")):
        d[key] = 0
    assert [op["path"] for op in d.to_json_patch()] == [
        "/1",
        "/null",
        "/true",
        "/1.5",
        '/[1,"a"]',
    ]


def test_records_are_checked_before_use() -> None:
    """Bad records raise clear errors in replay and to_json_patch."""
    with pytest.raises(InvalidParameterError, match="unknown change action"):
        to_json_patch([{"action": "explode", "path": []}])
    with pytest.raises(InvalidParameterError, match="needs 'action' and 'path'"):
        replay([{"path": []}], {})
    with pytest.raises(InvalidParameterError, match="path must be a list"):
        replay([{"action": "add", "path": "a"}], {})
    with pytest.raises(InputTypeError):
        replay(["add"], {})


def test_replay_from_exported_dicts_and_onto_objects() -> None:
    """to_dict() records replay onto plain data; attribute paths onto namespaces."""
    o = TrackedObject(a=1, cfg={"x": [1]})
    o.a = 2
    o.cfg["x"].append(2)
    o.b = TrackedObject(c=1)
    del o.a
    target = types.SimpleNamespace(a=1, cfg={"x": [1]})
    replay(o.changes(), target)
    assert target == types.SimpleNamespace(
        cfg={"x": [1, 2]}, b=types.SimpleNamespace(c=1)
    )
    as_json = replay([c.to_dict() for c in o.changes()], {"a": 1, "cfg": {"x": [1]}})
    assert as_json == {"cfg": {"x": [1, 2]}, "b": {"c": 1}}


# ---------------------------------------------------------------- undo
def test_undo_is_a_recorded_change_and_twice_redoes() -> None:
    """undo() applies the inverse as a new change; a second undo redoes."""
    d = TrackedDict({"lr": 0.1})
    d["lr"] = 0.2
    record = d.undo()
    assert (record.action, record.old, record.new) == ("replace", 0.2, 0.1)
    assert d == {"lr": 0.1}
    d.undo()
    assert d == {"lr": 0.2}
    with pytest.raises(ChangeHistoryError, match="nothing to undo"):
        TrackedList().undo()


def test_revert_goes_back_to_any_recorded_state() -> None:
    """Every action is undone exactly, newest first."""
    states: list[Any] = []
    d = TrackedDict({"a": 1, "l": [3, 1, 2], "m": {"x": 1}})
    steps = [
        lambda: d.__setitem__("a", 2),
        lambda: d["l"].sort(reverse=False),
        lambda: d["l"].__setitem__(slice(None, None, 2), [7, 8]),
        lambda: d["l"].extend([4, 5]),
        lambda: d["l"].__delitem__(slice(0, 2)),
        lambda: d.update({"m": 0, "n": 1}),
        lambda: d.pop("a"),
        d.clear,
    ]
    for step in steps:
        states.append((json.loads(json.dumps(d)), d.last_change()))
        step()
    for state, record in reversed(states[1:]):
        d.revert(record)  # type: ignore[arg-type]
        assert d == state
    recorded = len({c.seq for c in d.changes()})
    assert d.revert(0) == recorded
    assert d == {"a": 1, "l": [3, 1, 2], "m": {"x": 1}}
    o = TrackedObject(a=1)
    o.a = 2
    o.b = 3
    o.revert(0)
    assert o == TrackedObject(a=1)


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_revert_on_a_bounded_history_that_is_exactly_full(limit: int) -> None:
    """N changes in max_history=N lose nothing: revert(0) works; N + 1 is refused."""
    d = TrackedDict({"a": 0}, max_history=limit)
    for i in range(1, limit + 1):
        d["a"] = i
    assert [c.new for c in d.changes()] == list(range(1, limit + 1))
    assert len(d.changes_since(0)) == limit
    assert d.revert(0) == limit
    assert d == {"a": 0}
    assert len(d.changes()) == limit  # the undos pushed the oldest out
    over = TrackedDict({"a": 0}, max_history=limit)
    for i in range(1, limit + 2):
        over["a"] = i
    assert [c.new for c in over.changes()] == list(range(2, limit + 2))
    assert [c.new for c in over.changes_since(0)] == list(range(2, limit + 2))
    assert len(over.to_json_patch()) == limit
    with pytest.raises(ChangeHistoryError, match=f"dropped \\(max_history={limit}\\)"):
        over.revert(0)
    first = over.changes()[0]
    assert over.revert(first.seq - 1) == limit  # back to just before the oldest kept
    assert over == {"a": 1}


def test_revert_refuses_what_the_history_no_longer_holds() -> None:
    """Changes dropped by max_history, or a container changed behind our back."""
    d = TrackedDict(max_history=2)
    for i in range(4):
        d["k"] = i
    with pytest.raises(ChangeHistoryError, match="dropped"):
        d.revert(0)
    d.revert(d.changes()[0])
    assert d == {"k": 2}
    with pytest.raises(ChangeHistoryError, match="no history"):
        TrackedDict(max_history=0).revert(0)
    with pytest.raises(InputTypeError):
        d.revert("start")  # type: ignore[arg-type]
    broken = TrackedDict({"k": 1})
    broken["new"] = 1
    dict.__delitem__(broken, "new")
    with pytest.raises(ChangeHistoryError, match="no longer matches"):
        broken.undo()
