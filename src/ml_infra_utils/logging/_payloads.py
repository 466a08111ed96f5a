"""Validation of what a tracking server receives: every payload, field by field.

The server decodes request bodies with these functions before it writes
anything; each raises :class:`~._protocol.ProtocolError` (400 naming the bad
field, 413 for too many logs), so a malformed request never leaves a partial
write. The rules are those of ``docs/protocol.md``.

Examples:
    >>> parse_logs(
    ...     {
    ...         "logs": [
    ...             {
    ...                 "name": "acc",
    ...                 "msg_id": "u1",
    ...                 "value": 0.5,
    ...                 "step": 2,
    ...                 "metadata": {"type": "metric"},
    ...             }
    ...         ]
    ...     },
    ...     now_ms=7,
    ... ).metrics
    ['acc', 0.5, 2, 7]
    >>> parse_logs({"logs": [{"name": "acc", "value": True}]}, now_ms=0)
    Traceback (most recent call last):
    ...
    ml_infra_utils.logging._protocol.ProtocolError: logs[0].value must be a number ...
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from ml_infra_utils._errors import InputTypeError, InvalidParameterError

from ._protocol import MAX_LOGS_PER_REQUEST, ProtocolError
from ._records import SCHEMA_VERSION, decode_number, encode_number
from ._validators import (
    MAX_NAME_LENGTH,
    MAX_STEP,
    check_experiment,
    check_name,
    check_param_value,
    check_tag_value,
)

__all__ = [
    "MAX_DESCRIPTION_LENGTH",
    "MAX_MSG_ID_LENGTH",
    "NewExperiment",
    "ParsedLogs",
    "parse_experiment",
    "parse_json",
    "parse_logs",
    "parse_run_record",
    "parse_workspace",
    "tora_view",
]

MAX_MSG_ID_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 10_000
STATUSES = frozenset({"running", "finished", "failed", "killed"})


def _refuse_constant(token: str) -> None:
    msg = f"bare {token} is not JSON; send NaN and infinities as strings"
    raise ValueError(msg)


def parse_json(body: bytes) -> Any:
    """Decode a request body; 400 for anything but strict UTF-8 JSON.

    Raises:
        ProtocolError: the body is not valid JSON.
    """
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        msg = f"the body is not valid JSON: {exc}"
        raise ProtocolError(400, msg) from None


def _bad(message: str) -> ProtocolError:
    return ProtocolError(400, message)


def _object(payload: object, what: str) -> dict[str, Any]:
    if type(payload) is not dict:
        msg = f"{what} must be a JSON object, got {_kind(payload)}"
        raise _bad(msg)
    return payload


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


class ParsedLogs:
    """A validated ``logs/batch`` payload (private).

    Metrics are flat (``name, value, step, timestamp``) in request order; a
    metric sent without a step has step ``None`` until the store gives it the
    next step of its name.
    """

    __slots__ = ("metric_ids", "metrics", "result_ids", "results", "stepless")

    def __init__(self) -> None:
        self.metrics: list[Any] = []
        self.metric_ids: list[str] = []
        self.results: list[tuple[str, float, None, int]] = []
        self.result_ids: list[str] = []
        self.stepless = False

    def __len__(self) -> int:
        return len(self.metric_ids) + len(self.result_ids)


def parse_logs(  # noqa: PLR0912 - the server's hot loop: each check inline
    payload: object, *, now_ms: int, known_names: set[str] | None = None
) -> ParsedLogs:
    """Validate a ``logs/batch`` payload completely (nothing is stored on error).

    Args:
        payload: the decoded JSON body.
        now_ms: the timestamp of records that bring none (Tora's do not).
        known_names: names validated before (a cache the caller keeps).

    Raises:
        ProtocolError: 400 naming the first bad field (``logs[3].value ...``),
            413 for more than ``MAX_LOGS_PER_REQUEST`` records.
    """
    logs = _object(payload, "the body").get("logs")
    if type(logs) is not list:
        msg = f"the body must have a 'logs' array, got {_kind(logs)}"
        raise _bad(msg)
    if len(logs) > MAX_LOGS_PER_REQUEST:
        msg = (
            f"a batch may hold at most {MAX_LOGS_PER_REQUEST} logs, got {len(logs)}; "
            "send smaller batches"
        )
        raise ProtocolError(413, msg)
    known = set() if known_names is None else known_names
    out = ParsedLogs()
    metrics = out.metrics
    for i, log in enumerate(logs):
        if type(log) is not dict:
            msg = f"logs[{i}] must be an object, got {_kind(log)}"
            raise _bad(msg)
        name = log.get("name")
        if type(name) is not str or name not in known:  # a list is not hashable
            _check(check_name, name, f"logs[{i}].name")
            if len(known) < 100_000:
                known.add(name)  # type: ignore[arg-type]  # checked: a str
        value = log.get("value")
        if type(value) is not float and type(value) is not int:
            value = _value(value, i)
        msg_id = log.get("msg_id")
        if type(msg_id) is not str or not 0 < len(msg_id) <= MAX_MSG_ID_LENGTH:
            msg = (
                f"logs[{i}].msg_id must be a string of 1 to {MAX_MSG_ID_LENGTH} "
                f"characters, got {_kind(msg_id)}"
            )
            raise _bad(msg)
        ts = log.get("timestamp")
        if ts is None:
            ts = now_ms
        elif type(ts) is not int or not 0 <= ts <= MAX_STEP:
            msg = f"logs[{i}].timestamp must be an int >= 0 (milliseconds), got {ts!r}"
            raise _bad(msg)
        metadata = log.get("metadata")
        if (
            metadata is not None
            and (type(metadata) is not dict or metadata.get("type") != "metric")
            and _kind_of(metadata, i) == "result"
        ):
            out.results.append((name, value, None, ts))  # type: ignore[arg-type]
            out.result_ids.append(msg_id)
            continue
        step = log.get("step")
        if step is None:
            out.stepless = True
        elif type(step) is not int or not 0 <= step <= MAX_STEP:
            msg = (
                f"logs[{i}].step must be an int from 0 to 2**63 - 1 or null, "
                f"got {step!r}"
            )
            raise _bad(msg)
        metrics += (name, value, step, ts)
        out.metric_ids.append(msg_id)
    return out


def _value(value: object, i: int) -> float:
    kind = type(value)
    if kind is float or kind is int:
        return value  # type: ignore[return-value]  # narrowed by the identity test
    if kind is str:
        try:
            return decode_number(value)
        except InputTypeError:
            pass
    msg = (
        f'logs[{i}].value must be a number (or "NaN", "Infinity", '
        f'"-Infinity"), got {_kind(value)} {str(value)[:40]!r}'
    )
    raise _bad(msg)


def _kind_of(metadata: object, i: int) -> str:
    if metadata is None:
        return "metric"
    if type(metadata) is not dict:
        msg = f"logs[{i}].metadata must be an object or null, got {_kind(metadata)}"
        raise _bad(msg)
    kind = metadata.get("type", "metric")
    if kind not in ("metric", "result"):
        msg = f"logs[{i}].metadata.type must be 'metric' or 'result', got {kind!r}"
        raise _bad(msg)
    return str(kind)


def _check(check: Any, value: object, argument: str) -> Any:
    try:
        return check(value, argument)
    except (InputTypeError, InvalidParameterError) as exc:
        raise _bad(str(exc)) from None


class NewExperiment(NamedTuple):
    """A validated ``POST /experiments`` payload (private)."""

    name: str
    workspace_id: str | None
    description: str | None
    params: dict[str, Any]
    tags: dict[str, str]


def parse_experiment(payload: object) -> NewExperiment:
    """Validate a Tora ``POST /experiments`` payload.

    The name becomes the experiment (a directory of the store), hyperparams the
    params, each tag a tag with an empty value.

    Raises:
        ProtocolError: 400 naming the bad field.
    """
    body = _object(payload, "the body")
    name = _check(check_experiment, body.get("name"), "name")
    workspace = body.get("workspaceId")
    if workspace is not None and (type(workspace) is not str or not workspace):
        msg = f"workspaceId must be a non-empty string, got {_kind(workspace)}"
        raise _bad(msg)
    description = _description(body.get("description"))
    params: dict[str, Any] = {}
    hyperparams = body.get("hyperparams")
    if hyperparams is not None:
        if type(hyperparams) is not list:
            msg = (
                "hyperparams must be an array of {key, value}, "
                f"got {_kind(hyperparams)}"
            )
            raise _bad(msg)
        for i, item in enumerate(hyperparams):
            entry = _object(item, f"hyperparams[{i}]")
            key = _check(check_name, entry.get("key"), f"hyperparams[{i}].key")
            params[key] = check_param_value(entry.get("value"))
    tags: dict[str, str] = {}
    raw_tags = body.get("tags")
    if raw_tags is not None:
        if type(raw_tags) is not list:
            msg = f"tags must be an array of strings, got {_kind(raw_tags)}"
            raise _bad(msg)
        for i, tag in enumerate(raw_tags):
            tags[_check(check_name, tag, f"tags[{i}]")] = ""
    return NewExperiment(name, workspace, description, params, tags)


def parse_workspace(payload: object) -> tuple[str, str | None]:
    """Validate a ``POST /workspaces`` payload: ``(name, description)``.

    Raises:
        ProtocolError: 400 naming the bad field.
    """
    body = _object(payload, "the body")
    name = body.get("name")
    if type(name) is not str or not name.strip() or len(name) > 255:
        msg = (
            "name must be a non-empty string of at most 255 characters, "
            f"got {_kind(name)}"
        )
        raise _bad(msg)
    return name.strip(), _description(body.get("description"))


def _description(value: object) -> str | None:
    if value is None:
        return None
    if type(value) is not str or len(value) > MAX_DESCRIPTION_LENGTH:
        msg = (
            f"description must be a string of at most {MAX_DESCRIPTION_LENGTH} "
            f"characters, got {_kind(value)}"
        )
        raise _bad(msg)
    return value


def parse_run_record(payload: object, run_id: str) -> dict[str, Any]:
    """Validate a ``PUT /experiments/{id}`` payload: ``{"run": <run.json>}``.

    Returns the run record to store: the documented fields of ``run.json`` (others
    are dropped), results decoded to numbers.

    Raises:
        ProtocolError: 400 naming the bad field.
    """
    record = _object(_object(payload, "the body").get("run"), "run")
    if record.get("id") != run_id:
        msg = (
            f"run.id must equal the id in the path ({run_id!r}), "
            f"got {record.get('id')!r}"
        )
        raise _bad(msg)
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "id": run_id,
        "experiment": _check(
            check_experiment, record.get("experiment"), "run.experiment"
        ),
    }
    name = record.get("name")
    if name is not None and (type(name) is not str or len(name) > MAX_NAME_LENGTH):
        msg = (
            f"run.name must be null or a string of at most {MAX_NAME_LENGTH} characters"
        )
        raise _bad(msg)
    out["name"] = name
    status = record.get("status", "running")
    if type(status) is not str or status not in STATUSES:
        msg = f"run.status must be one of {sorted(STATUSES)}, got {status!r}"
        raise _bad(msg)
    out["status"] = status
    for key in ("start_time", "end_time"):
        out[key] = _time(record.get(key), f"run.{key}")
    duration = record.get("duration")
    if duration is not None and (
        type(duration) not in (int, float) or not 0 <= duration < math.inf
    ):
        msg = f"run.duration must be null or seconds >= 0, got {duration!r}"
        raise _bad(msg)
    out["duration"] = duration
    params = _object(record.get("params", {}), "run.params")
    out["params"] = {
        _check(check_name, k, "run.params key"): check_param_value(v)
        for k, v in params.items()
    }
    tags = _object(record.get("tags", {}), "run.tags")
    out["tags"] = {
        _check(check_name, k, "run.tags key"): _check(
            check_tag_value, v, f"run.tags[{k!r}]"
        )
        for k, v in tags.items()
    }
    results = _object(record.get("results", {}), "run.results")
    out["results"] = {
        _check(check_name, k, "run.results key"): _result_value(v, k)
        for k, v in results.items()
    }
    error = record.get("error")
    if error is not None:
        error = _object(error, "run.error")
        if type(error.get("type")) is not str or type(error.get("message")) is not str:
            msg = 'run.error must be null or {"type": str, "message": str}'
            raise _bad(msg)
        error = {"type": error["type"], "message": error["message"]}
    out["error"] = error
    for key, kind in (
        ("host", str),
        ("pid", int),
        ("python", str),
        ("workspace_id", str),
    ):
        value = record.get(key)
        if value is not None and type(value) is not kind:
            msg = f"run.{key} must be null or {'a string' if kind is str else 'an int'}"
            raise _bad(msg)
        out[key] = value
    out["description"] = _description(record.get("description"))
    return out


def _result_value(value: object, name: str) -> float:
    kind = type(value)
    if kind is float or kind is int:
        return value  # type: ignore[return-value]  # narrowed by the identity test
    try:
        if kind is str:
            return decode_number(value)
    except InputTypeError:
        pass
    msg = f"run.results[{name!r}] must be a number, got {_kind(value)}"
    raise _bad(msg)


def _time(value: object, argument: str) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if when.tzinfo is not None:
                return value
    msg = (
        f"{argument} must be null or an ISO 8601 time with a UTC offset, got {value!r}"
    )
    raise _bad(msg)


def tora_view(info: Mapping[str, Any], url: str) -> dict[str, Any]:
    """A run record in Tora's experiment shape (the ``data`` of a response)."""
    tags = info.get("tags") or {}
    return {
        "id": info["id"],
        "url": url,
        "name": info.get("experiment"),
        "description": info.get("description"),
        "workspaceId": info.get("workspace_id"),
        "hyperparams": [
            {"key": k, "value": v} for k, v in (info.get("params") or {}).items()
        ],
        "tags": [k if v == "" else f"{k}={v}" for k, v in tags.items()],
        "status": info.get("status"),
        "createdAt": info.get("start_time"),
        "results": {
            k: encode_number(v) for k, v in (info.get("results") or {}).items()
        },
    }
