"""The wire protocol: what the HTTP sink encodes is what the server decodes."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_infra_utils import RecordBatch, Run
from ml_infra_utils.logging._payloads import (
    parse_experiment,
    parse_json,
    parse_logs,
    parse_run_record,
    parse_workspace,
    tora_view,
)
from ml_infra_utils.logging._protocol import (
    MAX_LOGS_PER_REQUEST,
    ProtocolError,
    encode_logs,
    encode_run,
    logs_path,
    run_path,
)
from ml_infra_utils.logging.sinks import MemorySink

NAMES = st.text(alphabet="abcXYZ019_-./: ", min_size=1, max_size=20).filter(
    lambda s: s[0] != " " and s[-1] != " "
)
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
)
STEPS = st.integers(min_value=0, max_value=2**63 - 1)
STAMPS = st.integers(min_value=0, max_value=2**45)


def same(a: float, b: float) -> bool:
    """Equal as stored numbers: NaN equals NaN, ints stay ints."""
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


def bodies(batch: RecordBatch, max_records: int = 10_000) -> list[dict[str, Any]]:
    """The encoded request bodies, parsed as strict JSON (no bare NaN tokens)."""
    return [
        json.loads(body, parse_constant=pytest.fail)
        for body, _ in encode_logs(batch, max_records=max_records)
    ]


@given(
    metrics=st.lists(st.tuples(NAMES, VALUES, STEPS, STAMPS), max_size=30),
    results=st.lists(st.tuples(NAMES, VALUES, STAMPS), max_size=5),
    first_seq=st.integers(min_value=0, max_value=10**9),
    max_records=st.integers(min_value=1, max_value=12),
)
def test_encoded_batches_decode_to_the_same_records(
    metrics: list[tuple[str, float, int, int]],
    results: list[tuple[str, float, int]],
    first_seq: int,
    max_records: int,
) -> None:
    """Every record survives encode -> JSON -> parse exactly, with its msg_id."""
    flat = [item for record in metrics for item in record]
    result_records = [(n, v, None, t) for n, v, t in results]
    batch = RecordBatch("20261124-000000-abcdef01", first_seq, flat, result_records)
    encoded = list(encode_logs(batch, max_records=max_records))
    assert all(0 < count <= max_records for _, count in encoded)
    assert sum(count for _, count in encoded) == len(batch)
    got_metrics: list[Any] = []
    got_results: list[Any] = []
    ids: list[str] = []
    for body, count in encoded:
        parsed = parse_logs(parse_json(body), now_ms=0)
        assert len(parsed) == count
        got_metrics += parsed.metrics
        got_results += parsed.results
        ids += parsed.metric_ids + parsed.result_ids
    assert ids == [batch.msg_id(i) for i in range(len(batch))]
    assert len(got_metrics) == len(flat)
    for i in range(0, len(flat), 4):
        assert got_metrics[i] == flat[i]
        assert same(got_metrics[i + 1], flat[i + 1])
        assert got_metrics[i + 2 : i + 4] == flat[i + 2 : i + 4]
    assert [(r[0], r[2], r[3]) for r in got_results] == [
        (r[0], r[2], r[3]) for r in result_records
    ]
    assert all(
        same(a[1], b[1]) for a, b in zip(got_results, result_records, strict=True)
    )


def test_encoded_records_carry_toras_fields() -> None:
    """Each log has name, msg_id, value, step and metadata.type (+ our timestamp)."""
    batch = RecordBatch("r1", 7, ["loss", 0.5, 3, 1000], [("acc", 0.9, None, 1001)])
    [body] = bodies(batch)
    assert body == {
        "logs": [
            {
                "name": "loss",
                "msg_id": "r1:7",
                "value": 0.5,
                "step": 3,
                "timestamp": 1000,
                "metadata": {"type": "metric"},
            },
            {
                "name": "acc",
                "msg_id": "r1:8",
                "value": 0.9,
                "step": None,
                "timestamp": 1001,
                "metadata": {"type": "result"},
            },
        ]
    }


def test_nonfinite_values_travel_as_strings() -> None:
    """NaN and the infinities are sent as "NaN", "Infinity", "-Infinity"."""
    flat = ["a", math.nan, 0, 1, "b", math.inf, 0, 1, "c", -math.inf, 0, 1]
    [body] = bodies(RecordBatch("r", 0, flat, [("d", math.nan, None, 1)]))
    assert [log["value"] for log in body["logs"]] == [
        "NaN",
        "Infinity",
        "-Infinity",
        "NaN",
    ]


def test_a_batch_with_its_own_msg_ids_keeps_them() -> None:
    """A batch built with msg_ids (e.g. re-sent records) is encoded with those ids."""
    batch = RecordBatch(
        "r", 0, ["x", 1.0, 0, 5], [("y", math.inf, None, 6)], msg_ids=["a", "b"]
    )
    [body] = bodies(batch, max_records=5)
    assert [(log["msg_id"], log["value"]) for log in body["logs"]] == [
        ("a", 1.0),
        ("b", "Infinity"),
    ]
    assert [len(b["logs"]) for b in bodies(batch, max_records=1)] == [1, 1]


def test_results_start_a_new_request_when_the_last_one_is_full() -> None:
    """Results join the last request only while it has room."""
    batch = RecordBatch("r", 0, ["x", 1, 0, 5, "x", 2, 1, 5], [("y", 3, None, 6)])
    assert [len(b["logs"]) for b in bodies(batch, max_records=2)] == [2, 1]
    assert [len(b["logs"]) for b in bodies(batch, max_records=3)] == [3]


def test_paths_quote_the_run_id() -> None:
    """Run ids are percent-encoded in paths."""
    assert run_path("a b") == "/experiments/a%20b"
    assert logs_path("r1") == "/experiments/r1/logs/batch"


# ---------------------------------------------------------------- parse_logs
def tora_log(**fields: Any) -> dict[str, Any]:
    """A log as the Tora SDK sends it (no timestamp)."""
    log = {
        "name": "acc",
        "msg_id": "3f1c6a9e-0000-4000-8000-000000000000",
        "value": 0.5,
        "step": 1,
        "metadata": {"type": "metric"},
    }
    log.update(fields)
    return log


def test_tora_logs_get_the_servers_time_and_kinds() -> None:
    """Tora's logs: timestamp from now_ms; results by metadata; no metadata = metric."""
    payload = {
        "logs": [
            tora_log(),
            tora_log(name="final", step=None, metadata={"type": "result"}, msg_id="r"),
            tora_log(name="x", step=None, metadata=None, msg_id="s"),
        ]
    }
    parsed = parse_logs(payload, now_ms=99)
    assert parsed.metrics == ["acc", 0.5, 1, 99, "x", 0.5, None, 99]
    assert parsed.results == [("final", 0.5, None, 99)]
    assert parsed.stepless


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ([], "the body must be a JSON object"),
        ({}, "'logs' array"),
        ({"logs": {}}, "'logs' array"),
        ({"logs": [1]}, "logs[0] must be an object"),
        ({"logs": [tora_log(name="bad name!")]}, "logs[0].name"),
        ({"logs": [tora_log(name=None)]}, "logs[0].name"),
        ({"logs": [tora_log(value=True)]}, "logs[0].value must be a number"),
        ({"logs": [tora_log(value="0.5")]}, "logs[0].value must be a number"),
        ({"logs": [tora_log(value=None)]}, "logs[0].value must be a number"),
        ({"logs": [tora_log(msg_id=None)]}, "logs[0].msg_id"),
        ({"logs": [tora_log(msg_id="")]}, "logs[0].msg_id"),
        ({"logs": [tora_log(msg_id="x" * 201)]}, "logs[0].msg_id"),
        ({"logs": [tora_log(step=1.5)]}, "logs[0].step"),
        ({"logs": [tora_log(step=-1)]}, "logs[0].step"),
        ({"logs": [tora_log(step=True)]}, "logs[0].step"),
        ({"logs": [tora_log(step=2**63)]}, "logs[0].step"),
        ({"logs": [tora_log(timestamp=-1)]}, "logs[0].timestamp"),
        ({"logs": [tora_log(timestamp="now")]}, "logs[0].timestamp"),
        ({"logs": [tora_log(metadata=[])]}, "logs[0].metadata must be"),
        ({"logs": [tora_log(metadata={"type": "x"})]}, "metadata.type"),
        ({"logs": [tora_log(), tora_log(value="x")]}, "logs[1].value"),
    ],
)
def test_bad_logs_are_refused_with_the_field_named(payload: Any, fragment: str) -> None:
    """Every malformed field gives a 400 whose message names it."""
    with pytest.raises(ProtocolError) as info:
        parse_logs(payload, now_ms=0)
    assert info.value.status == 400
    assert fragment in info.value.message


def test_too_many_logs_in_one_request_are_413() -> None:
    """A batch over the record limit is refused with 413."""
    with pytest.raises(ProtocolError) as info:
        parse_logs({"logs": [{}] * (MAX_LOGS_PER_REQUEST + 1)}, now_ms=0)
    assert info.value.status == 413


def test_validated_names_are_cached() -> None:
    """Names checked once are remembered in the caller's set."""
    known: set[str] = set()
    parse_logs({"logs": [tora_log()]}, now_ms=0, known_names=known)
    assert known == {"acc"}


@pytest.mark.parametrize(
    "body", [b"{", b"\xff\xfe", b'{"logs": [NaN]}', b"Infinity", b"[" * 100_000]
)
def test_bodies_that_are_not_strict_json_are_400(body: bytes) -> None:
    """Invalid JSON, bad UTF-8, bare NaN tokens and absurd nesting are all 400."""
    with pytest.raises(ProtocolError) as info:
        parse_json(body)
    assert info.value.status == 400


# ---------------------------------------------------------------- experiments
def test_a_tora_experiment_becomes_a_run_description() -> None:
    """Name -> experiment, hyperparams -> params, tags -> tags with empty values."""
    new = parse_experiment(
        {
            "name": "mnist",
            "workspaceId": "ws-1",
            "description": "baseline",
            "hyperparams": [
                {"key": "lr", "value": 0.1},
                {"key": "opt", "value": "sgd"},
            ],
            "tags": ["fast", "v1.0"],
        }
    )
    assert new.name == "mnist"
    assert new.workspace_id == "ws-1"
    assert new.description == "baseline"
    assert new.params == {"lr": 0.1, "opt": "sgd"}
    assert new.tags == {"fast": "", "v1.0": ""}


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"name": "../x"}, "name"),
        ({"name": ""}, "name"),
        ({}, "name"),
        ({"name": "x", "workspaceId": ""}, "workspaceId"),
        ({"name": "x", "description": 5}, "description"),
        ({"name": "x", "description": "d" * 10_001}, "description"),
        ({"name": "x", "hyperparams": {"lr": 1}}, "hyperparams must be an array"),
        ({"name": "x", "hyperparams": [5]}, "hyperparams[0]"),
        (
            {"name": "x", "hyperparams": [{"key": "a b!", "value": 1}]},
            "hyperparams[0].key",
        ),
        ({"name": "x", "tags": "t"}, "tags must be an array"),
        ({"name": "x", "tags": ["ok", "no;"]}, "tags[1]"),
    ],
)
def test_bad_experiments_are_400(payload: dict[str, Any], fragment: str) -> None:
    """A bad experiment payload is refused naming the field."""
    with pytest.raises(ProtocolError) as info:
        parse_experiment(payload)
    assert info.value.status == 400
    assert fragment in info.value.message


def test_workspaces_need_a_name() -> None:
    """POST /workspaces: a stripped name of at most 255 characters."""
    assert parse_workspace({"name": " team ", "description": None}) == ("team", None)
    for bad in ({"name": ""}, {"name": "x" * 256}, {}, {"name": 3}):
        with pytest.raises(ProtocolError):
            parse_workspace(bad)


# ---------------------------------------------------------------- run records
def run_record() -> dict[str, Any]:
    """The run record a real Run hands to its sink, with a NaN result."""
    sink = MemorySink()
    with Run(
        "exp", sink=sink, params={"lr": 0.1, "layers": [1, 2]}, tags={"t": 1}
    ) as run:
        run.result("acc", math.nan)
    assert sink.info is not None
    return sink.info


def test_a_runs_own_record_round_trips() -> None:
    """encode_run -> parse_run_record gives the run's record back (NaN included)."""
    info = run_record()
    parsed = parse_run_record(parse_json(encode_run(info)), info["id"])
    for key in ("id", "experiment", "name", "status", "start_time", "end_time"):
        assert parsed[key] == info[key]
    assert parsed["params"] == {"lr": 0.1, "layers": [1, 2]}
    assert parsed["tags"] == {"t": "1"}
    assert math.isnan(parsed["results"]["acc"])
    assert parsed["host"] == info["host"]
    assert parsed["pid"] == info["pid"]


def test_unknown_run_fields_are_dropped() -> None:
    """Only the documented fields of run.json are stored."""
    info = run_record() | {"secret": "x", "path": "/etc"}
    parsed = parse_run_record({"run": info}, info["id"])
    assert "secret" not in parsed
    assert "path" not in parsed


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"id": "other"}, "run.id must equal"),
        ({"experiment": "a/b"}, "run.experiment"),
        ({"name": 5}, "run.name"),
        ({"status": "paused"}, "run.status"),
        ({"start_time": "yesterday"}, "run.start_time"),
        ({"start_time": "2026-01-01T00:00:00"}, "run.start_time"),
        ({"duration": -1}, "run.duration"),
        ({"duration": "1"}, "run.duration"),
        ({"params": []}, "run.params"),
        ({"params": {"bad key!": 1}}, "run.params key"),
        ({"tags": {"t": [1]}}, "run.tags"),
        ({"results": {"acc": "high"}}, "run.results"),
        ({"results": {"acc": None}}, "run.results"),
        ({"error": {"type": 1}}, "run.error"),
        ({"pid": "1"}, "run.pid"),
        ({"host": 1}, "run.host"),
    ],
)
def test_bad_run_records_are_400(change: dict[str, Any], fragment: str) -> None:
    """A bad field of a PUT run record is refused naming the field."""
    info = run_record() | change
    with pytest.raises(ProtocolError) as info_error:
        parse_run_record(
            {"run": info}, run_record()["id"] if "id" in change else info["id"]
        )
    assert info_error.value.status == 400
    assert fragment in info_error.value.message


def test_a_put_body_needs_a_run_object() -> None:
    """The body is {"run": {...}}."""
    with pytest.raises(ProtocolError, match="run must be a JSON object"):
        parse_run_record({"record": {}}, "r")


def test_tora_view_has_what_tora_reads() -> None:
    """GET answers id, url, hyperparams as key/value pairs, tags as a list."""
    info = run_record()
    view = tora_view(info, "http://h/experiments/x")
    assert view["id"] == info["id"]
    assert view["url"] == "http://h/experiments/x"
    assert view["name"] == "exp"
    assert {"key": "lr", "value": 0.1} in view["hyperparams"]
    assert view["tags"] == ["t=1"]
    assert view["results"] == {"acc": "NaN"}
    json.dumps(view, allow_nan=False)  # strict JSON
