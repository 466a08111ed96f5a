"""Records and their JSON form: the batch a run hands to its sink, the codec.

The formats are the contract documented in ``docs/runs.md``; the writers here
and the readers in ``_store.py`` are the only code that knows them.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from ml_infra_utils._errors import InputTypeError

from ._validators import check_name, check_step, check_value

__all__ = [
    "CHANGES_FILE",
    "METRICS_FILE",
    "RUN_FILE",
    "SCHEMA_VERSION",
    "Record",
    "RecordBatch",
    "decode_number",
    "encode_number",
    "fix_nonfinite",
    "format_metric_lines",
    "info_bytes",
    "quote_json",
    "split_unwritable",
    "write_all",
    "write_json_atomic",
]

Record: TypeAlias = tuple[str, float, int | None, int]
"""One record: ``(name, value, step, timestamp)``.

``step`` is an ``int >= 0`` for a metric and ``None`` for a final result;
``value`` is an ``int`` or ``float`` (NaN and infinities allowed); ``timestamp``
is integer milliseconds since the Unix epoch (UTC) when the value was logged.
"""

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
CHANGES_FILE = "changes.jsonl"  # change records of a watched TrackedDict
SCHEMA_VERSION = 1

_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_LINE = '{"name":"%s","value":%r,"step":%d,"timestamp":%d}\n'
_LINE_ID = '{"name":"%s","value":%r,"step":%d,"timestamp":%d,"msg_id":%s}\n'
_PLAIN = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII but " and \\: no escaping
_CHUNK = 2048  # records formatted per C call: lets other threads run in between


def encode_number(value: object) -> object:
    """A number as strict JSON can hold it: NaN and infinities become strings.

    Examples:
        >>> encode_number(0.5), encode_number(float("-inf")), encode_number(7)
        (0.5, '-Infinity', 7)
    """
    if type(value) is float and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    return value


def decode_number(value: object) -> float:
    """The inverse of :func:`encode_number` for a value read back from JSON.

    Raises:
        InputTypeError: *value* is neither a number nor one of the three strings.

    Examples:
        >>> decode_number("Infinity"), decode_number(2)
        (inf, 2)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    msg = f"a stored value must be a number or NaN/Infinity/-Infinity, got {value!r}"
    raise InputTypeError(msg)


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """A batch of records a run hands to its sink, with their message ids.

    Metrics travel flat, four items per record (the cheapest form to buffer
    and to format); :attr:`records` gives the usual tuples.

    Attributes:
        run_id: the id of the run the records belong to.
        first_seq: the sequence number of the first record. Sequence numbers
            count every record of a run from 0 in the order of :attr:`records`
            (the batch's metrics, then its results), across batches.
        metrics: ``name, value, step, timestamp`` of each metric record, flat:
            ``["loss", 0.5, 0, 1732420885123, "loss", 0.4, 1, ...]``.
        results: the batch's final results as :data:`Record` tuples (step
            ``None``).
        msg_ids: the records' message ids when the producer has its own (e.g. a
            server storing records a remote client sent); ``None`` means the
            default ``"<run_id>:<seq>"``.

    Build a batch from untrusted input with :meth:`checked`; a run's own
    batches are validated as they are logged.
    """

    run_id: str
    first_seq: int
    metrics: Sequence[Any] = ()
    results: Sequence[Record] = ()
    msg_ids: Sequence[str] | None = None

    def __len__(self) -> int:
        return len(self.metrics) // 4 + len(self.results)

    def __repr__(self) -> str:
        return (
            f"RecordBatch(run_id={self.run_id!r}, first_seq={self.first_seq}, "
            f"metrics=<{len(self.metrics) // 4}>, results=<{len(self.results)}>)"
        )

    @property
    def records(self) -> list[Record]:
        """Every record as a ``(name, value, step, timestamp)`` tuple, in seq order."""
        flat = iter(self.metrics)
        return [*zip(flat, flat, flat, flat, strict=True), *self.results]

    def msg_id(self, index: int) -> str:
        """The message id of record *index*: unique and stable across retries."""
        if self.msg_ids is not None:
            return self.msg_ids[index]
        if not 0 <= index < len(self):
            msg = f"index must be in [0, {len(self)}), got {index}"
            raise IndexError(msg)
        return f"{self.run_id}:{self.first_seq + index}"

    def to_dicts(self) -> list[dict[str, Any]]:
        """The records as JSON-ready dicts (``kind`` is "metric" or "result").

        Examples:
            >>> nan = float("nan")
            >>> RecordBatch("r", 4, results=[("acc", nan, None, 15)]).to_dicts()
            [{'msg_id': 'r:4', 'seq': 4, 'kind': 'result', 'name': 'acc', \
'value': 'NaN', 'step': None, 'timestamp': 15}]
        """
        return [
            {
                "msg_id": self.msg_id(i),
                "seq": self.first_seq + i,
                "kind": "metric" if step is not None else "result",
                "name": name,
                "value": encode_number(value),
                "step": step,
                "timestamp": ts,
            }
            for i, (name, value, step, ts) in enumerate(self.records)
        ]

    @classmethod
    def checked(
        cls,
        run_id: str,
        first_seq: int,
        records: Sequence[Sequence[Any]],
        msg_ids: Sequence[str] | None = None,
    ) -> RecordBatch:
        """Build a batch from untrusted ``(name, value, step, timestamp)`` records.

        Every field is validated; records with ``step=None`` are results. The
        metrics keep their order, then come the results (and their *msg_ids*).

        Raises:
            InputTypeError, InvalidParameterError: a record breaks the rules of
                ``docs/runs.md``, or *msg_ids* does not match the records.

        Examples:
            >>> batch = RecordBatch.checked(
            ...     "r", 0, [("acc", 0.9, None, 5), ("loss", 1, 0, 5)]
            ... )
            >>> batch.records
            [('loss', 1, 0, 5), ('acc', 0.9, None, 5)]
        """
        metrics: list[Any] = []
        results: list[Record] = []
        metric_ids: list[str] = []
        result_ids: list[str] = []
        ids = None if msg_ids is None else list(msg_ids)
        if ids is not None and (
            len(ids) != len(records) or not all(isinstance(m, str) for m in ids)
        ):
            msg = "msg_ids must hold one string per record"
            raise InputTypeError(msg)
        for i, record in enumerate(records):
            if len(record) != 4:
                msg = f"records[{i}] must be (name, value, step, timestamp)"
                raise InputTypeError(msg)
            name = check_name(record[0], f"records[{i}] name")
            value = check_value(record[1], f"records[{i}] value")
            ts = check_step(record[3], f"records[{i}] timestamp")
            if record[2] is None:
                results.append((name, value, None, ts))
                if ids is not None:
                    result_ids.append(ids[i])
            else:
                metrics += (
                    name,
                    value,
                    check_step(record[2], f"records[{i}] step"),
                    ts,
                )
                if ids is not None:
                    metric_ids.append(ids[i])
        return cls(
            run_id,
            first_seq,
            metrics,
            results,
            None if ids is None else metric_ids + result_ids,
        )


def format_metric_lines(batch: RecordBatch) -> str:
    """The ``metrics.jsonl`` lines of the metric records of *batch*.

    One JSON object per metric record (results are kept in ``run.json``)::

        {"name": "loss", "value": 0.25, "step": 3, "timestamp": 1732420885123}

    ``timestamp`` is integer milliseconds since the Unix epoch (UTC); NaN and
    infinities are the strings "NaN", "Infinity", "-Infinity". Records with
    their own message ids also get a ``"msg_id"`` field.

    Examples:
        >>> batch = RecordBatch("r", 7, ["loss", float("inf"), 3, 1500])
        >>> print(format_metric_lines(batch), end="")
        {"name":"loss","value":"Infinity","step":3,"timestamp":1500}
        >>> batch = RecordBatch("r", 0, ["loss", 0.5, 3, 1500], msg_ids=["a-1"])
        >>> print(format_metric_lines(batch), end="")
        {"name":"loss","value":0.5,"step":3,"timestamp":1500,"msg_id":"a-1"}
    """
    flat = batch.metrics
    # The hot loop of the whole store, done in C: names are validated to need no
    # JSON escaping, and int/float reprs are JSON numbers (except nan and inf,
    # fixed below), so %-formatting is exact and several times faster than json.
    if batch.msg_ids is not None:
        text = _format_with_ids(flat, batch.msg_ids)
    else:
        size = 4 * _CHUNK
        text = "".join(
            _LINE * (len(chunk) // 4) % chunk
            for chunk in (tuple(flat[i : i + size]) for i in range(0, len(flat), size))
        )
    return fix_nonfinite(text, flat[1::4])


def fix_nonfinite(text: str, values: Sequence[float]) -> str:
    """*text* (``"value":`` fields %-formatted from *values*) with the reprs of
    NaN and infinities replaced by the store's strings; scanned only when the
    values' sum says one may be there.

    Examples:
        >>> fix_nonfinite('{"value":nan,"step":0}', [float("nan")])
        '{"value":"NaN","step":0}'
    """
    try:
        suspicious = not math.isfinite(sum(values))
    except OverflowError:  # an int too large for a float
        suspicious = True
    if suspicious:
        text = (
            text.replace('"value":nan,', '"value":"NaN",')
            .replace('"value":inf,', '"value":"Infinity",')
            .replace('"value":-inf,', '"value":"-Infinity",')
        )
    return text


def split_unwritable(
    metrics: Sequence[Any], results: Sequence[Record]
) -> tuple[list[Any], list[Record], list[tuple[Record, Exception]]]:
    """Separate the records no JSON line can be written for from the others.

    A run's records are validated as they are logged; this is the safety net
    for a batch a sink failed to *format* (not to write): each record is
    checked again as :meth:`RecordBatch.checked` checks one and formatted on
    its own. Returns the good metrics (flat), the good results and each bad
    record with its error. Cost: one pass over the batch, on a failure only.

    Examples:
        >>> good, results, bad = split_unwritable(
        ...     ["loss", 0.5, 0, 1500, "big", 10**5000, 0, 1500], []
        ... )
        >>> good, results, [(r[0], type(e).__name__) for r, e in bad]
        (['loss', 0.5, 0, 1500], [], [('big', 'InvalidParameterError')])
    """
    good: list[Any] = []
    good_results: list[Record] = []
    bad: list[tuple[Record, Exception]] = []
    for i in range(0, len(metrics) - len(metrics) % 4, 4):
        record: Any = tuple(metrics[i : i + 4])
        try:
            clean = _checked_record(record, metric=True)
            _LINE % clean  # formatting is the check
        except Exception as exc:  # any failure marks the record bad
            bad.append((record, exc))
        else:
            good += clean
    for record in results:
        try:
            clean = _checked_record(record, metric=False)
            json.dumps(encode_number(clean[1]), allow_nan=False)
        except Exception as exc:  # any failure marks the record bad
            bad.append((record, exc))
        else:
            good_results.append(clean)
    return good, good_results, bad


def _checked_record(record: Any, *, metric: bool) -> Record:
    name = check_name(record[0], "name")
    value = check_value(record[1], "value")
    step = check_step(record[2], "step") if metric else None
    return (name, value, step, check_step(record[3], "timestamp"))


def quote_json(text: str) -> str:
    """*text* as a JSON string literal (escaped only when it must be).

    Examples:
        >>> quote_json("run:1"), quote_json('a"b')
        ('"run:1"', '"a\\\\"b"')
    """
    if _PLAIN.fullmatch(text):
        return f'"{text}"'
    return json.dumps(text)


def _format_with_ids(flat: Sequence[Any], ids: Sequence[str]) -> str:
    # Metric records come first in a batch, so their ids are the first ones.
    mine = ids[: len(flat) // 4]
    if _PLAIN.fullmatch("".join(mine)):  # one C call instead of one per id
        quoted: Any = ['"' + i + '"' for i in mine]
    else:
        quoted = map(quote_json, mine)
    line = _LINE_ID.__mod__
    return "".join(
        map(
            line,
            zip(flat[0::4], flat[1::4], flat[2::4], flat[3::4], quoted, strict=True),
        )
    )


def info_bytes(info: Mapping[str, Any]) -> bytes:
    """The bytes of ``run.json`` for the run record *info*."""
    record = dict(info)
    results = record.get("results")
    if isinstance(results, Mapping):
        record["results"] = {k: encode_number(v) for k, v in results.items()}
    return (json.dumps(record, indent=2, allow_nan=False) + "\n").encode("utf-8")


def write_json_atomic(path: Path, data: bytes, *, fsync: bool) -> None:
    """Replace *path* by *data* atomically: a reader sees the old or new file.

    The bytes go to a temporary file in the same directory, which is fsynced
    (when *fsync*) and renamed over *path*; then the directory is fsynced, so
    the rename itself survives a power cut.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            write_all(fd, data)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync and hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_all(fd: int, data: bytes) -> None:
    """Write all of *data* to *fd* (``os.write`` may write less)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
