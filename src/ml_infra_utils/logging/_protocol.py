"""The wire protocol of remote runs: Tora's, plus two small extensions.

The HTTP sink encodes with the functions here; the tracking server validates
with :mod:`._payloads` (tested against each other). The full description (every
endpoint, payload, status code and limit) is ``docs/protocol.md``:

* ``POST /experiments`` ``{"name", "workspaceId"?, "description"?,
  "hyperparams": [{"key", "value"}]?, "tags": [...]?}`` creates a run;
* ``GET /experiments/{id}`` answers the run in Tora's shape;
* ``POST /experiments/{id}/logs/batch`` ``{"logs": [{"name", "msg_id",
  "value", "step", "metadata": {"type": "metric" | "result"}, "timestamp"?}]}``;
* ``PUT /experiments/{id}`` ``{"run": <run.json>}`` (our extension) creates or
  updates a run with a client-chosen id, so a client can log before the server
  is reachable; ``timestamp`` on a log (ms since the epoch) is the other one.

Examples:
    >>> from ml_infra_utils import RecordBatch
    >>> [(body, n)] = encode_logs(RecordBatch("r1", 0, ["loss", 0.5, 0, 1000]))
    >>> body.decode(), n
    ('{"logs":[{"name":"loss","msg_id":"r1:0","value":0.5,"step":0,"timestamp":1000,\
"metadata":{"type":"metric"}}]}', 1)
    >>> logs_path("r1")
    '/experiments/r1/logs/batch'
"""

from __future__ import annotations

import json
import math
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

from ._records import RecordBatch, encode_number, fix_nonfinite, quote_json

__all__ = [
    "API_KEY_HEADER",
    "DEFAULT_MAX_BODY",
    "MAX_LOGS_PER_REQUEST",
    "ProtocolError",
    "encode_logs",
    "encode_run",
    "logs_path",
    "number_json",
    "run_path",
]

API_KEY_HEADER = "x-api-key"
DEFAULT_MAX_BODY = 16 * 1024 * 1024
MAX_LOGS_PER_REQUEST = 100_000

_METRIC = (
    '{"name":"%s","msg_id":"%s%d","value":%r,"step":%d,"timestamp":%d,'
    '"metadata":{"type":"metric"}}'
)
_RESULT = (
    '{"name":"%s","msg_id":"%s%d","value":%s,"step":null,"timestamp":%d,'
    '"metadata":{"type":"result"}}'
)


class ProtocolError(Exception):
    """A request the server answers with an error status (private).

    Attributes:
        status: the HTTP status to answer with.
        message: the text of the JSON error body.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------- paths
def run_path(run_id: str) -> str:
    """The path of a run: ``/experiments/<id>`` (the id percent-encoded)."""
    return "/experiments/" + urllib.parse.quote(run_id, safe="")


def logs_path(run_id: str) -> str:
    """The path a run's batches are posted to."""
    return run_path(run_id) + "/logs/batch"


# ---------------------------------------------------------------- client side
def encode_logs(
    batch: RecordBatch, *, max_records: int = 10_000
) -> Iterator[tuple[bytes, int]]:
    """The request bodies of a batch: at most *max_records* records each.

    Yields ``(body, number of records)``. Each record carries its message id
    (``"<run id>:<seq>"`` unless the batch has its own), its ``timestamp`` and
    ``metadata.type``; NaN and infinities are sent as "NaN", "Infinity" and
    "-Infinity" (a strict-JSON extension our server reads).
    """
    if batch.msg_ids is not None:
        yield from _encode_with_ids(batch, max_records)
        return
    flat = batch.metrics
    prefix = quote_json(batch.run_id)[1:-1] + ":"
    count = len(flat) // 4
    seq = batch.first_seq
    chunks: list[tuple[str, int]] = []
    for start in range(0, count, max_records):
        stop = min(count, start + max_records)
        part = flat[4 * start : 4 * stop]
        text = ",".join(
            map(
                _METRIC.__mod__,
                zip(
                    part[0::4],
                    [prefix] * (stop - start),
                    range(seq + start, seq + stop),
                    part[1::4],
                    part[2::4],
                    part[3::4],
                    strict=True,
                ),
            )
        )
        chunks.append((fix_nonfinite(text, part[1::4]), stop - start))
    results = [
        _RESULT % (name, prefix, seq + count + i, number_json(value), ts)
        for i, (name, value, _, ts) in enumerate(batch.results)
    ]
    for start in range(0, len(results), max_records):
        part = results[start : start + max_records]
        if chunks and chunks[-1][1] + len(part) <= max_records:
            text, size = chunks[-1]
            chunks[-1] = (text + "," + ",".join(part), size + len(part))
        else:
            chunks.append((",".join(part), len(part)))
    for text, size in chunks:
        yield ('{"logs":[' + text + "]}").encode("utf-8"), size


def _encode_with_ids(
    batch: RecordBatch, max_records: int
) -> Iterator[tuple[bytes, int]]:
    records = batch.records
    ids = batch.msg_ids
    assert ids is not None  # noqa: S101 - checked by the caller
    for start in range(0, len(records), max_records):
        logs = [
            {
                "name": name,
                "msg_id": ids[i],
                "value": encode_number(value),
                "step": step,
                "timestamp": ts,
                "metadata": {"type": "metric" if step is not None else "result"},
            }
            for i, (name, value, step, ts) in enumerate(
                records[start : start + max_records], start
            )
        ]
        body = json.dumps({"logs": logs}, separators=(",", ":"), allow_nan=False)
        yield body.encode("utf-8"), len(logs)


def number_json(value: float) -> str:
    """*value* as JSON text: NaN and infinities as the strings of the protocol.

    Examples:
        >>> number_json(0.5), number_json(float("nan"))
        ('0.5', '"NaN"')
    """
    if type(value) is float and not math.isfinite(value):
        return (
            '"NaN"'
            if value != value
            else ('"Infinity"' if value > 0 else '"-Infinity"')
        )
    return repr(value)


def encode_run(info: Mapping[str, Any]) -> bytes:
    """The body of ``PUT /experiments/{id}``: ``{"run": <the run record>}``."""
    record = dict(info)
    results = record.get("results")
    if isinstance(results, Mapping):
        record["results"] = {k: encode_number(v) for k, v in results.items()}
    text = json.dumps({"run": record}, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")
