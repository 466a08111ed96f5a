"""Observers: order, isolation, and the ready-made ones; observers_from_config."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import prometheus_client
import pytest

from ml_infra_utils import (
    AsyncQueueObserver,
    Change,
    ChangeCollector,
    ChangeHistoryError,
    CounterObserver,
    FilteredObserver,
    HttpExporter,
    InputTypeError,
    InvalidParameterError,
    JsonFormatter,
    JsonLinesExporter,
    KafkaExporter,
    LoggingObserver,
    S3Exporter,
    TrackedDict,
    TrackedList,
    observers_from_config,
)
from ml_infra_utils.logging.changes import OBSERVER_KINDS


def test_observers_run_after_the_change_child_first() -> None:
    """An observer sees the new state; a child's observers run before its parent's."""
    calls: list[tuple[str, Any, Any]] = []
    root = TrackedDict({"c": {"x": 1}})
    child = root["c"]
    root.add_observer(lambda r: calls.append(("root", r.path, root["c"]["x"])))
    child.add_observer(lambda r: calls.append(("child", r.path, child["x"])))
    child["x"] = 2
    assert calls == [("child", ("x",), 2), ("root", ("c", "x"), 2)]


def test_add_and_remove_observers() -> None:
    """Adding twice has no effect; remove says whether it was there; decorator use."""
    d = TrackedList()
    seen: list[Change] = []
    assert d.add_observer(seen.append) is not None
    d.add_observer(seen.append)
    assert len(d.observers) == 1

    @d.add_observer
    def also(record: Change) -> None:
        seen.append(record)

    d.append(1)
    assert len(seen) == 2
    assert d.remove_observer(seen.append) is True
    assert d.remove_observer(seen.append) is False
    assert d.remove_observer(also) is True
    d.append(2)
    assert len(seen) == 2
    assert d._tk_fast  # back on the fast path
    with pytest.raises(InputTypeError):
        d.add_observer("not callable")  # type: ignore[arg-type]


def test_a_failing_observer_never_breaks_the_change_or_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The change is applied, later observers run, the failure is logged and counted."""
    seen: list[Any] = []

    def broken(record: Change) -> None:
        msg = "observer bug"
        raise RuntimeError(msg)

    d = TrackedDict(observers=[broken, seen.append])
    with caplog.at_level(logging.ERROR, logger="ml_infra_utils.logging.changes"):
        for i in range(5):
            d["k"] = i
    assert d == {"k": 4}
    assert len(seen) == 5
    assert d.observer_errors == 5
    assert len(d.changes()) == 5
    logged = [r for r in caplog.records if "observer" in r.getMessage()]
    assert [r.exc_info is not None for r in logged] == [True, True, True]  # 1, 2, 4
    assert "observer bug" in caplog.text


def test_observers_may_change_the_container_they_watch() -> None:
    """Re-entrant changes from an observer are recorded like any other."""
    d = TrackedDict()

    def mirror(record: Change) -> None:
        if record.path == ("a",):
            d["b"] = record.new

    d.add_observer(mirror)
    d["a"] = 1
    assert d == {"a": 1, "b": 1}
    assert [c.path for c in d.changes()] == [("a",), ("b",)]


def _lock_is_free_for_other_threads() -> bool:
    """Whether another thread could take the tracking lock right now."""
    from ml_infra_utils.logging._change import LOCK

    got: list[bool] = []

    def attempt() -> None:
        free = LOCK.acquire(blocking=False)
        if free:
            LOCK.release()
        got.append(free)

    t = threading.Thread(target=attempt)
    t.start()
    t.join()
    return got[0]


@pytest.mark.parametrize("how", ["change", "undo", "revert"])
def test_observers_run_outside_the_lock_also_for_undo_and_revert(how: str) -> None:
    """Other threads can change tracked containers while an observer runs."""
    d = TrackedDict({"a": 1, "b": 1})
    d["a"] = 2
    d["b"] = 2
    free: list[bool] = []
    d.add_observer(lambda _r: free.append(_lock_is_free_for_other_threads()))
    if how == "change":
        d["a"] = 3
    elif how == "undo":
        d.undo()
    else:
        d.revert(0)
    assert free
    assert all(free)
    expected = {"change": {"a": 3, "b": 2}, "undo": {"a": 2, "b": 1}}
    assert d == expected.get(how, {"a": 1, "b": 1})


def test_undo_returns_its_own_record_when_an_observer_writes() -> None:
    """undo() returns the undo's record, not one an observer made in reaction."""
    d = TrackedDict()

    @d.add_observer
    def note(record: Change) -> None:
        if record.path == ("x",) and record.action == "remove":
            d["note"] = "x was removed"

    d["x"] = 1
    done = d.undo()
    assert (done.action, done.path) == ("remove", ("x",))
    assert d == {"note": "x was removed"}
    assert [(c.action, c.path) for c in d.changes()][-2:] == [
        ("remove", ("x",)),
        ("add", ("note",)),
    ]


def test_observers_of_a_revert_that_fails_halfway_still_see_what_was_undone() -> None:
    """A revert stopped by a stale change still notifies the undos it made."""
    d = TrackedDict()
    d["b"] = 1
    d["c"] = 1
    dict.__delitem__(d, "b")  # a back door: the history no longer matches
    seen: list[Change] = []
    d.add_observer(seen.append)
    with pytest.raises(ChangeHistoryError):
        d.revert(0)
    assert [(r.action, r.path) for r in seen] == [("remove", ("c",))]


def test_deferred_observer_calls_run_once_the_outermost_block_ends() -> None:
    """Nested deferral: observers wait for the outer block, then run in order."""
    from ml_infra_utils.logging._tracking import deferred_notify

    seen: list[object] = []
    d = TrackedDict(observers=[lambda r: seen.append(r.new)])
    with deferred_notify():
        d["a"] = 1
        with deferred_notify():
            d["a"] = 2
        assert seen == []
    assert seen == [1, 2]


def test_collector_keeps_records_up_to_capacity() -> None:
    """A collector with a capacity keeps the newest records."""
    collector = ChangeCollector(capacity=2)
    d = TrackedList(observers=[collector])
    assert collector.last() is None
    for i in range(3):
        d.append(i)
    assert [r.new for r in collector] == [1, 2]
    assert [r.new for r in collector.records] == [1, 2]
    assert repr(collector) == "ChangeCollector(records=2)"
    collector.clear()
    assert len(collector) == 0
    with pytest.raises(InvalidParameterError):
        ChangeCollector(capacity=0)


def test_filtered_observer_passes_matching_records_only() -> None:
    """Filter on actions and on a path prefix; bad arguments are refused."""
    collector = ChangeCollector()
    d = TrackedDict({"opt": {"lr": 1}})
    d.add_observer(FilteredObserver(collector, actions="replace", path_prefix=["opt"]))
    d["opt"]["lr"] = 2
    d["opt"]["new"] = 1
    d["top"] = 1
    assert [r.path for r in collector] == [("opt", "lr")]
    assert "FilteredObserver" in repr(FilteredObserver(collector))
    with pytest.raises(InvalidParameterError, match="unknown action"):
        FilteredObserver(collector, actions=["explode"])
    with pytest.raises(InputTypeError):
        FilteredObserver(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("prefix", ["opt", ("opt",), ["opt"]])
def test_filtered_observer_takes_a_lone_string_as_a_one_key_prefix(prefix: Any) -> None:
    """path_prefix="opt" means ("opt",), not ("o", "p", "t"); also from a config."""
    collector = ChangeCollector()
    d = TrackedDict({"opt": {"lr": 1}, "l": [0]})
    d.add_observer(FilteredObserver(collector, path_prefix=prefix))
    d["opt"]["lr"] = 2
    d["top"] = 1
    assert [r.path for r in collector] == [("opt", "lr")]
    [built] = observers_from_config(
        [{"kind": "filter", "path_prefix": prefix, "observer": {"kind": "collector"}}]
    )
    assert built.path_prefix == ("opt",)  # type: ignore[attr-defined]
    indexed = ChangeCollector()
    d["l"].add_observer(FilteredObserver(indexed, path_prefix=0))
    d["l"][0] = 5
    assert [r.path for r in indexed] == [(0,)]


@pytest.mark.parametrize("prefix", [None, 1.5, {"opt": 1}, [["opt"]]])
def test_filtered_observer_refuses_a_prefix_that_is_not_keys(prefix: Any) -> None:
    """A prefix that cannot be a path is an InputTypeError naming path_prefix."""
    with pytest.raises(InputTypeError, match="path_prefix"):
        FilteredObserver(ChangeCollector(), path_prefix=prefix)


def test_logging_observer_writes_json_with_the_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each change is one log record; JsonFormatter writes the record as JSON."""
    logger = logging.getLogger("test.changes.logging_observer")
    observer = LoggingObserver(logger, level=logging.WARNING)
    d = TrackedDict({"lr": 0.1}, observers=[observer, LoggingObserver()])
    with caplog.at_level(logging.INFO):
        d["lr"] = 0.2
    record = next(r for r in caplog.records if r.name == logger.name)
    assert record.levelno == logging.WARNING
    seq = d.last_change().seq  # type: ignore[union-attr]
    assert record.getMessage() == f"change {seq} replace ('lr',) 0.1 -> 0.2"
    line = json.loads(JsonFormatter().format(record))
    assert line["change"]["new"] == 0.2
    assert "LoggingObserver" in repr(observer)
    with pytest.raises(InputTypeError):
        LoggingObserver(42)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError):
        LoggingObserver(level="INFO")  # type: ignore[arg-type]


def test_counter_observer_counts_in_a_prometheus_counter() -> None:
    """The real prometheus_client Counter, with action/actor/key labels."""
    registry = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter(
        "config_changes", "changes", ["action", "key"], registry=registry
    )
    d = TrackedDict(observers=[CounterObserver(counter, labels=("action", "key"))])
    d["lr"] = 1
    d["lr"] = 2
    d.clear()
    value = registry.get_sample_value
    assert value("config_changes_total", {"action": "add", "key": "lr"}) == 1
    assert value("config_changes_total", {"action": "replace", "key": "lr"}) == 1
    assert value("config_changes_total", {"action": "clear", "key": ""}) == 1
    actors = prometheus_client.Counter("by_actor", "c", ["actor"], registry=registry)
    TrackedList(observers=[CounterObserver(actors, labels="actor")]).append(1)
    assert value("by_actor_total", {"actor": ""}) == 1
    assert "CounterObserver" in repr(CounterObserver(counter))
    with pytest.raises(InputTypeError, match="labels"):
        CounterObserver(object())
    with pytest.raises(InvalidParameterError, match="unknown label"):
        CounterObserver(counter, labels=("path",))


def test_async_queue_observer_takes_changes_from_any_thread() -> None:
    """Changes made in worker threads arrive on the loop's queue, none lost."""

    async def main() -> list[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        d = TrackedList(observers=[AsyncQueueObserver(queue)])

        def work(n: int) -> None:
            for i in range(50):
                d.append((n, i))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        await asyncio.to_thread(lambda: [t.join() for t in threads])
        d.append("from the loop")
        return [await queue.get() for _ in range(201)]

    got = asyncio.run(main())
    assert len(got) == 201
    assert sorted(r.seq for r in got) == sorted({r.seq for r in got})
    assert sum(r.new == "from the loop" for r in got) == 1


def test_async_queue_observer_drops_and_counts_when_full() -> None:
    """A full queue never blocks the change: the record is dropped and counted."""

    async def main() -> tuple[int, Any, AsyncQueueObserver]:
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)
        observer = AsyncQueueObserver(queue, as_dict=True)
        d = TrackedDict(observers=[observer])
        d["a"] = 1
        d["b"] = 2
        await asyncio.sleep(0.01)
        return queue.qsize(), queue.get_nowait(), observer

    size, item, observer = asyncio.run(main())
    assert size == 1
    assert item["path"] == ["a"]
    assert observer.dropped == 1
    assert "dropped=1" in repr(observer)


def test_async_queue_observer_needs_a_loop() -> None:
    """Outside a coroutine the loop must be given."""
    with pytest.raises(InvalidParameterError, match="event loop"):
        AsyncQueueObserver(asyncio.Queue())
    loop = asyncio.new_event_loop()
    try:
        assert AsyncQueueObserver(asyncio.Queue(), loop=loop).loop is loop
    finally:
        loop.close()


class _Labels:
    def labels(self, **_values: str) -> Any:
        return self


def _async_queue(**options: Any) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return AsyncQueueObserver(asyncio.Queue(), loop=loop, **options)
    finally:
        loop.close()


@pytest.mark.parametrize(
    ("build", "argument"),
    [
        (lambda: ChangeCollector(capacity="10"), "capacity"),
        (lambda: ChangeCollector(capacity=2.0), "capacity"),
        (lambda: S3Exporter(FakeClient(), "b", batch_size="10"), "batch_size"),
        (lambda: S3Exporter(FakeClient(), "b", max_buffer=True), "max_buffer"),
        (lambda: CounterObserver(_Labels(), labels=5), "labels"),
        (lambda: CounterObserver(_Labels(), labels=[1]), "labels"),
        (lambda: FilteredObserver(ChangeCollector(), actions=5), "actions"),
        (lambda: FilteredObserver(ChangeCollector(), actions=[["add"]]), "actions"),
        (lambda: _async_queue(as_dict="yes"), "as_dict"),
    ],
)
def test_an_option_of_the_wrong_type_is_an_input_type_error(
    build: Any, argument: str
) -> None:
    """As docs/changes.md says: a wrong type is InputTypeError naming the option."""
    with pytest.raises(InputTypeError, match=argument):
        build()


def test_options_given_as_iterators_are_read_once() -> None:
    """A generator of actions or labels is not consumed by the checks."""
    f = FilteredObserver(ChangeCollector(), actions=(a for a in ["add"]))
    assert f.actions == frozenset({"add"})
    c = CounterObserver(_Labels(), labels=(x for x in ["action", "actor"]))
    assert c.labels == ("action", "actor")


# ---------------------------------------------------------------- config
class FakeClient:
    def put_object(self, **kwargs: Any) -> None:
        pass

    def send(self, *args: Any, **kwargs: Any) -> None:
        pass


def test_observers_from_config_builds_every_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All kinds from one JSON file; objects come from objects=, by name."""
    monkeypatch.setenv("ML_INFRA_UTILS_RUNS_DIR", str(tmp_path / "runs"))
    registry = prometheus_client.CollectorRegistry()
    counter = prometheus_client.Counter("c", "c", ["action"], registry=registry)
    loop = asyncio.new_event_loop()
    config = [
        {"kind": "collector", "capacity": 5},
        {"kind": "logging", "logger": "x", "level": "debug"},
        {"kind": "jsonl", "path": str(tmp_path / "out" / "changes.jsonl")},
        {"kind": "filter", "actions": ["add"], "observer": {"kind": "collector"}},
        {"kind": "http", "url": "http://127.0.0.1:9/changes", "batch_size": 10},
        {"kind": "s3", "client": "s3", "bucket": "b", "prefix": "p/"},
        {"kind": "kafka", "producer": "kafka", "topic": "t"},
        {"kind": "counter", "counter": "prom"},
        {"kind": "queue", "queue": "q", "loop": "loop", "as_dict": True},
    ]
    path = tmp_path / "observers.json"
    path.write_text(json.dumps(config))
    objects = {
        "s3": FakeClient(),
        "kafka": FakeClient(),
        "prom": counter,
        "q": asyncio.Queue(),
        "loop": loop,
    }
    try:
        built = observers_from_config(path, objects=objects)
        kinds = [ChangeCollector, LoggingObserver, JsonLinesExporter, FilteredObserver]
        kinds += [HttpExporter, S3Exporter, KafkaExporter, CounterObserver]
        kinds += [AsyncQueueObserver]
        assert [type(o) for o in built] == kinds
        assert built[1].level == logging.DEBUG  # type: ignore[attr-defined]
        d = TrackedDict(observers=built)
        d["a"] = 1
        assert len(built[0]) == 1  # type: ignore[arg-type]
        assert (tmp_path / "out" / "changes.jsonl").read_text().count("\n") == 1
        built[4].shutdown_timeout = 0.1  # type: ignore[attr-defined]  # nobody listens
        for exporter in built[2], built[4], built[5]:
            exporter.close()  # type: ignore[attr-defined]
    finally:
        loop.close()
    assert sorted(OBSERVER_KINDS) == sorted({c["kind"] for c in config})
    assert observers_from_config(json.dumps(config[0]).encode())[0].records == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ([{"kind": "webhook"}], "valid kinds: collector, counter, filter, http"),
        ([{"kind": ["collector"]}], "kind .*list.*valid kinds: collector"),
        ([{"kind": {"a": 1}}], "kind .*dict.*valid kinds: collector"),
        ([{"kind": None}], "kind .*NoneType.*valid kinds: collector"),
        ([{"kind": "collector", "size": 1}], r"unknown option\(s\) \['size'\]"),
        (
            [{"kind": "counter", "counter": "prometheus_client.Counter"}],
            "must name one",
        ),
        ([{"kind": "s3", "client": "c"}], "needs the option 'bucket'"),
        ([{"kind": "kafka", "producer": "c"}], "needs the option 'topic'"),
        ([{"kind": "jsonl"}], "needs the option 'path'"),
        ([{"kind": "filter"}], 'needs an "observer"'),
        ([{"kind": "logging", "level": "LOUD"}], "level must be a level name"),
        ([{"kind": "collector", "capacity": "x"}], "capacity"),
        ([["collector"]], 'must be an object with a "kind"'),
        ('{"kind": ', "not valid JSON"),
        ('"collector"', "JSON list"),
    ],
)
def test_observers_from_config_refuses_bad_configs(config: Any, match: str) -> None:
    """Each mistake is a ValueError that says what is wrong; nothing is imported."""
    modules = set(sys.modules)
    with pytest.raises(ValueError, match=match):
        observers_from_config(config, objects={"c": FakeClient()})
    assert set(sys.modules) == modules


def test_observers_from_config_refuses_other_types() -> None:
    """A number is not a config."""
    with pytest.raises(InputTypeError):
        observers_from_config(42)
