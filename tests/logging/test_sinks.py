"""Sinks: the record batch, the metrics.jsonl format, the local store, memory."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_infra_utils import (
    InputTypeError,
    InvalidParameterError,
    MemorySink,
    OutputClosedError,
    RecordBatch,
    RunStoreSink,
    Sink,
)
from ml_infra_utils.logging import _records
from ml_infra_utils.logging import sinks as sinks_module
from ml_infra_utils.logging._records import (
    decode_number,
    encode_number,
    format_metric_lines,
    write_json_atomic,
)

NAME_ALPHABET = "ABCXYZabcxyz0189_-./: "
names = st.text(alphabet=NAME_ALPHABET, min_size=1, max_size=30).filter(
    lambda s: s[0] != " " and s[-1] != " "
)
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
)
steps = st.integers(min_value=0, max_value=2**63 - 1)
stamps = st.integers(min_value=0, max_value=2**45)


def same(a: float, b: float) -> bool:
    """Equal as stored numbers: NaN equals NaN, and -0.0 keeps its sign."""
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b and math.copysign(1, a) == math.copysign(1, b)


def info(**extra: Any) -> dict[str, Any]:
    return {"id": "r1", "experiment": "exp", "status": "running", **extra}


# ---------------------------------------------------------------- the format
@given(st.lists(st.tuples(names, values, steps, stamps), max_size=40))
def test_metric_lines_round_trip_exactly(
    records: list[tuple[str, float, int, int]],
) -> None:
    """Every line is strict JSON and gives back the exact name, value, step, time."""
    flat = [item for record in records for item in record]
    text = format_metric_lines(RecordBatch("r", 0, flat))
    lines = text.splitlines()
    assert len(lines) == len(records)
    for line, (name, value, step, ts) in zip(lines, records, strict=True):
        parsed = json.loads(line, parse_constant=pytest.fail)  # no bare NaN tokens
        assert list(parsed) == ["name", "value", "step", "timestamp"]
        assert parsed["name"] == name
        assert same(decode_number(parsed["value"]), value)
        assert parsed["step"] == step
        assert parsed["timestamp"] == ts


def test_nonfinite_values_are_strings_in_the_file() -> None:
    """NaN, inf and -inf are stored as "NaN", "Infinity" and "-Infinity"."""
    flat = [
        "a",
        math.nan,
        0,
        1,
        "b",
        math.inf,
        0,
        1,
        "c",
        -math.inf,
        0,
        1,
        "d",
        1.5,
        0,
        1,
    ]
    values = [
        json.loads(line)["value"]
        for line in format_metric_lines(RecordBatch("r", 0, flat)).splitlines()
    ]
    assert values == ["NaN", "Infinity", "-Infinity", 1.5]


def test_huge_ints_are_exact_json_integers() -> None:
    """An int too large for a float is written exactly (no overflow in NaN checks)."""
    text = format_metric_lines(RecordBatch("r", 0, ["n", 10**400, 0, 1]))
    assert json.loads(text)["value"] == 10**400


def test_batches_larger_than_a_chunk_are_formatted_completely() -> None:
    """Formatting in chunks keeps every record and their order."""
    flat = [x for i in range(5000) for x in ("m", i * 0.5, i, i)]
    lines = format_metric_lines(RecordBatch("r", 0, flat)).splitlines()
    assert [json.loads(line)["step"] for line in lines] == list(range(5000))


def test_lines_carry_msg_ids_when_the_producer_has_them() -> None:
    """Records received with their own message ids keep them, JSON-escaped."""
    batch = RecordBatch.checked(
        "r", 0, [("loss", 0.5, 1, 10), ("acc", 0.9, None, 11)], msg_ids=['a"1', "b2"]
    )
    line = json.loads(format_metric_lines(batch))
    assert line == {
        "name": "loss",
        "value": 0.5,
        "step": 1,
        "timestamp": 10,
        "msg_id": 'a"1',
    }


@given(values)
def test_encode_decode_number_round_trip(value: float) -> None:
    """decode_number(encode_number(x)) is x, through real JSON."""
    text = json.dumps(encode_number(value), allow_nan=False)
    assert same(decode_number(json.loads(text)), value)


@pytest.mark.parametrize("bad", ["nan", "inf", None, True, [1]])
def test_decode_number_refuses_other_values(bad: object) -> None:
    """Only numbers and the three documented strings are numbers."""
    with pytest.raises(InputTypeError):
        decode_number(bad)


# ---------------------------------------------------------------- the batch
def test_batch_records_msg_ids_and_dicts() -> None:
    """A batch gives tuples, stable "<run>:<seq>" ids, and JSON-ready dicts."""
    batch = RecordBatch(
        "run", 10, ["loss", 0.5, 3, 100], [("acc", math.nan, None, 101)]
    )
    assert len(batch) == 2
    assert batch.records == [
        ("loss", 0.5, 3, 100),
        ("acc", batch.records[1][1], None, 101),
    ]
    assert [batch.msg_id(0), batch.msg_id(1)] == ["run:10", "run:11"]
    with pytest.raises(IndexError):
        batch.msg_id(2)
    assert batch.to_dicts()[1] == {
        "msg_id": "run:11",
        "seq": 11,
        "kind": "result",
        "name": "acc",
        "value": "NaN",
        "step": None,
        "timestamp": 101,
    }
    assert batch.to_dicts()[0]["kind"] == "metric"
    assert "metrics=<1>" in repr(batch)
    assert "results=<1>" in repr(batch)


def test_checked_batches_validate_untrusted_records() -> None:
    """RecordBatch.checked refuses bad names, values, steps and id lists."""
    with pytest.raises(InvalidParameterError):
        RecordBatch.checked("r", 0, [("bad name!", 1.0, 0, 1)])
    with pytest.raises(InputTypeError):
        RecordBatch.checked("r", 0, [("loss", "x", 0, 1)])
    with pytest.raises(InvalidParameterError):
        RecordBatch.checked("r", 0, [("loss", 1.0, -1, 1)])
    with pytest.raises(InputTypeError):
        RecordBatch.checked("r", 0, [("loss", 1.0, 0)])
    with pytest.raises(InputTypeError, match="msg_ids"):
        RecordBatch.checked("r", 0, [("loss", 1.0, 0, 1)], msg_ids=["a", "b"])
    batch = RecordBatch.checked("r", 5, [("a", 1, None, 1), ("b", 2, 0, 2)], ["x", "y"])
    assert batch.records == [("b", 2, 0, 2), ("a", 1, None, 1)]
    assert [batch.msg_id(0), batch.msg_id(1)] == ["y", "x"]


# ---------------------------------------------------------------- the local store
def test_store_sink_layout(tmp_path: Path) -> None:
    """open creates <root>/<experiment>/<id>/ with run.json and empty metrics.jsonl."""
    sink = RunStoreSink(tmp_path / "runs", fsync=True)
    assert isinstance(sink, Sink)
    sink.open(info(params={"lr": 0.1}))
    assert sink.path == (tmp_path / "runs" / "exp" / "r1").resolve()
    assert (sink.path / "metrics.jsonl").read_bytes() == b""
    stored = json.loads((sink.path / "run.json").read_text())
    assert stored == {**info(params={"lr": 0.1}), "results": {}}
    sink.write(RecordBatch("r1", 0, ["loss", 0.5, 0, 7], [("acc", math.inf, None, 8)]))
    sink.write(RecordBatch("r1", 2, ["loss", 0.25, 1, 9]))
    lines = (sink.path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["value"] for x in lines] == [0.5, 0.25]
    assert json.loads((sink.path / "run.json").read_text())["results"] == {
        "acc": "Infinity"
    }
    sink.update(info(status="finished"))
    stored = json.loads((sink.path / "run.json").read_text())
    assert stored["status"] == "finished"
    assert stored["results"] == {
        "acc": "Infinity"
    }  # kept across an update without results
    sink.close()
    sink.close()  # idempotent
    assert sorted(p.name for p in sink.path.iterdir()) == ["metrics.jsonl", "run.json"]


def test_store_sink_reopening_a_run_appends(tmp_path: Path) -> None:
    """Opening an existing run directory continues its metrics file."""
    for step in range(2):
        sink = RunStoreSink(tmp_path, fsync=False)
        sink.open(info())
        sink.write(RecordBatch("r1", step, ["m", 1.0, step, 1]))
        sink.close()
    assert (
        len((tmp_path / "exp" / "r1" / "metrics.jsonl").read_text().splitlines()) == 2
    )


def test_store_sink_must_be_open(tmp_path: Path) -> None:
    """Writing before open or after close is the package's OutputClosedError.

    (Review finding 18: it was a bare ValueError; OutputClosedError still is one.)
    """
    sink = RunStoreSink(tmp_path, fsync=False)
    with pytest.raises(OutputClosedError, match="not open"):
        sink.write(RecordBatch("r1", 0, ["m", 1.0, 0, 1]))
    with pytest.raises(OutputClosedError, match="not open"):
        sink.update(info())
    assert "RunStoreSink" in repr(sink)
    sink.open(info())
    sink.close()
    with pytest.raises(OutputClosedError, match="closed"):
        sink.write(RecordBatch("r1", 0, ["m", 1.0, 0, 1]))
    with pytest.raises(OutputClosedError, match="closed"):
        sink.write_changes([{"seq": 0}])


def test_the_sink_modules_export_only_public_names() -> None:
    """Every name in the runs and sinks modules' __all__ is exported at the root.

    (Review finding 21: ``Record``, a type alias, was in sinks.__all__ only.)
    """
    import ml_infra_utils
    from ml_infra_utils.logging import runs, sinks

    for module in (runs, sinks):
        for name in module.__all__:
            assert getattr(ml_infra_utils, name) is getattr(module, name), name


@pytest.mark.parametrize(
    ("experiment", "run_id"),
    [
        ("../escape", "r1"),
        ("/abs", "r1"),
        ("exp", "../../x"),
        ("exp", "a/b"),
        ("exp\x00", "r1"),
        ("..", "r1"),
        ("exp", ".."),
    ],
)
def test_store_sink_never_leaves_the_runs_directory(
    tmp_path: Path, experiment: str, run_id: str
) -> None:
    """Experiment names and run ids that could escape the root are refused."""
    root = tmp_path / "root"
    sink = RunStoreSink(root)
    with pytest.raises(InvalidParameterError):
        sink.open({"id": run_id, "experiment": experiment})
    assert not any(tmp_path.rglob("run.json"))


def test_a_failed_write_leaves_no_partial_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails half-way is truncated away, so the retry writes it cleanly."""
    sink = RunStoreSink(tmp_path, fsync=False)
    sink.open(info())
    sink.write(RecordBatch("r1", 0, ["m", 1.0, 0, 1]))
    real_write = os.write
    calls = {"n": 0}

    def flaky_write(fd: int, data: bytes | memoryview) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data)[:10])  # a short write ...
        msg = "disk full"
        raise OSError(28, msg)  # ... then the disk fills up

    monkeypatch.setattr(_records.os, "write", flaky_write)
    batch = RecordBatch("r1", 1, ["m", 2.0, 1, 2, "m", 3.0, 2, 3])
    with pytest.raises(OSError, match="disk full"):
        sink.write(batch)
    monkeypatch.setattr(_records.os, "write", real_write)
    assert len((sink.path / "metrics.jsonl").read_text().splitlines()) == 1
    sink.write(batch)
    lines = (sink.path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [0, 1, 2]


def test_a_failed_run_json_write_leaves_no_metric_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write() is all-or-nothing: if folding results into run.json fails, the
    batch's metric lines are taken back, so the retry stores each line once.

    (Review finding 2: the retry duplicated the metric lines.)
    """
    sink = RunStoreSink(tmp_path, fsync=False)
    sink.open(info())
    real = sinks_module.write_json_atomic
    failures = [OSError(28, "No space left on device")]

    def flaky(path: Path, data: bytes, *, fsync: bool) -> None:
        if failures:
            raise failures.pop()
        real(path, data, fsync=fsync)

    monkeypatch.setattr(sinks_module, "write_json_atomic", flaky)
    batch = RecordBatch(
        "r1", 0, ["loss", 1.0, 0, 1, "loss", 2.0, 1, 2], [("acc", 0.5, None, 3)]
    )
    with pytest.raises(OSError, match="No space"):
        sink.write(batch)
    assert sink.path is not None
    assert (sink.path / "metrics.jsonl").read_bytes() == b""
    assert json.loads((sink.path / "run.json").read_text())["results"] == {}
    sink.write(batch)
    sink.close()
    lines = (sink.path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [0, 1]
    assert json.loads((sink.path / "run.json").read_text())["results"] == {"acc": 0.5}


def test_a_failed_truncation_is_repeated_before_the_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when taking the lines back fails too, the retry never duplicates them."""
    sink = RunStoreSink(tmp_path, fsync=False)
    sink.open(info())

    def no_space(path: Path, data: bytes, *, fsync: bool) -> None:
        raise OSError(28, "No space left on device")

    def broken(_fd: int, _size: int) -> None:
        raise OSError(5, "Input/output error")

    real_truncate = os.ftruncate
    monkeypatch.setattr(sinks_module, "write_json_atomic", no_space)
    monkeypatch.setattr(sinks_module.os, "ftruncate", broken)
    batch = RecordBatch("r1", 0, ["loss", 1.0, 0, 1], [("acc", 0.5, None, 3)])
    with pytest.raises(OSError, match="No space"):
        sink.write(batch)
    monkeypatch.setattr(sinks_module.os, "ftruncate", real_truncate)
    monkeypatch.undo()
    sink.write(batch)
    sink.close()
    assert sink.path is not None
    lines = (sink.path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [0]


def test_atomic_json_write_replaces_or_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run.json is either the old or the new content, and no temp file is left."""
    target = tmp_path / "run.json"
    write_json_atomic(target, b'{"v": 1}\n', fsync=True)
    assert json.loads(target.read_text()) == {"v": 1}

    def boom(_src: object, _dst: object) -> None:
        msg = "rename failed"
        raise OSError(msg)

    monkeypatch.setattr(_records.os, "replace", boom)
    with pytest.raises(OSError, match="rename failed"):
        write_json_atomic(target, b'{"v": 2}\n', fsync=False)
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


# ---------------------------------------------------------------- memory
def test_memory_sink_keeps_everything() -> None:
    """MemorySink keeps the run record, the batches and their records in order."""
    sink = MemorySink()
    assert isinstance(sink, Sink)
    sink.open(info())
    sink.write(RecordBatch("r1", 0, ["a", 1, 0, 1]))
    sink.write(RecordBatch("r1", 1, (), [("b", 2.0, None, 2)]))
    sink.update(info(status="finished"))
    sink.close()
    assert sink.records == [("a", 1, 0, 1), ("b", 2.0, None, 2)]
    assert sink.info is not None
    assert sink.info["status"] == "finished"
    assert sink.closed
    assert repr(sink) == "MemorySink(batches=2, closed=True)"


def test_continuing_a_run_cuts_a_torn_last_line(tmp_path: Path) -> None:
    """A write cut short by a kill leaves a partial line; reopening removes it
    so the next batch is not glued to it (every later record stays readable)."""
    first = RunStoreSink(tmp_path, fsync=False)
    first.open(info())
    first.write(RecordBatch("r1", 0, ["a", 1, 0, 5, "a", 2, 1, 5]))
    first.close()
    assert first.path is not None
    metrics = first.path / "metrics.jsonl"
    metrics.write_bytes(metrics.read_bytes() + b'{"name":"a","val')
    again = RunStoreSink(tmp_path, fsync=False)
    again.open(info())
    again.write(RecordBatch("r1", 2, ["a", 3, 2, 5]))
    again.close()
    assert [json.loads(line)["step"] for line in metrics.read_text().splitlines()] == [
        0,
        1,
        2,
    ]
    metrics.write_bytes(b'{"name":"a","val')  # nothing but a torn line
    RunStoreSink(tmp_path, fsync=False).open(info())
    assert metrics.read_bytes() == b""
