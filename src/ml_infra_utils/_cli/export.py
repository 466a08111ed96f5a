"""``runs export``: a run's metrics as CSV or JSON Lines, for other tools.

CSV has the header ``name,step,value,timestamp``; JSON Lines has one object per
value with the fields of ``metrics.jsonl`` (``name``, ``value``, ``step``,
``timestamp``). Rows come metric by metric, in the order the metrics were
first logged, each in logging order. Values are written exactly (the shortest
decimal that reads back to the same float); NaN and the infinities are the
store's strings ``NaN``, ``Infinity`` and ``-Infinity``; timestamps are integer
milliseconds since the Unix epoch (UTC).

Examples:
    >>> import io
    >>> out = io.StringIO()
    >>> write_csv(
    ...     out,
    ...     [
    ...         (
    ...             "loss",
    ...             {
    ...                 "steps": [0, 1],
    ...                 "values": [0.5, float("nan")],
    ...                 "timestamps": [1000, 2000],
    ...             },
    ...         )
    ...     ],
    ... )
    2
    >>> print(out.getvalue(), end="")
    name,step,value,timestamp
    loss,0,0.5,1000
    loss,1,NaN,2000
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from ml_infra_utils._errors import InvalidParameterError
from ml_infra_utils.logging._records import encode_number

from .output import atomic_text_file, note, prepare
from .progress import Progress, is_terminal
from .render import clean
from .store import find_run, skipped_lines_note

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import TextIO

__all__ = ["run_export", "write_csv", "write_jsonl"]

_CHUNK = 10_000  # rows written between two progress updates

Metric = tuple[str, dict[str, list[Any]]]


def run_export(args: argparse.Namespace) -> int:
    """``runs export``: write the metrics."""
    from ml_infra_utils.logging._store import read_run

    data = read_run(find_run(args.spec, args.runs_dir), changes=False)
    metrics = data.get("metrics")
    available: list[Metric] = list(metrics.items()) if isinstance(metrics, dict) else []
    selected = _select(available, args.metric, run=str(data.get("id")))
    total = sum(len(history.get("steps", ())) for _, history in selected)
    to_stdout = args.output in (None, "-")
    writer = write_csv if args.format == "csv" else write_jsonl
    show = is_terminal(sys.stderr) and not (to_stdout and is_terminal(sys.stdout))
    with Progress("exporting records", total=total, enabled=show) as progress:
        if to_stdout:
            writer(prepare(sys.stdout), selected, progress=progress)
        else:
            with atomic_text_file(args.output) as file:
                writer(file, selected, progress=progress)
    skipped = skipped_lines_note(data)
    if skipped is not None:
        note(skipped)
    return 0


def _select(
    available: list[Metric], wanted: list[str] | None, *, run: str
) -> list[Metric]:
    if not wanted:
        return available
    by_name = dict(available)
    missing = [name for name in wanted if name not in by_name]
    if missing:
        names = ", ".join(clean(str(n)) for n, _ in available) or "none"
        msg = (
            f"run {clean(run)} has no metric {clean(missing[0])!r} "
            f"(its metrics: {names})"
        )
        raise InvalidParameterError(msg)
    return [(name, by_name[name]) for name in dict.fromkeys(wanted)]


def _rows(selected: Sequence[Metric]) -> Any:
    for name, history in selected:
        yield from (
            (name, step, value, ts)
            for step, value, ts in zip(
                history["steps"], history["values"], history["timestamps"], strict=True
            )
        )


def write_csv(
    stream: TextIO, selected: Sequence[Metric], *, progress: Progress | None = None
) -> int:
    """Write *selected* metrics as CSV rows; returns the number of rows."""
    import csv

    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["name", "step", "value", "timestamp"])
    count = 0
    batch = []
    for name, step, value, ts in _rows(selected):
        batch.append((name, step, _value_text(value), ts))
        if len(batch) == _CHUNK:
            writer.writerows(batch)
            count += len(batch)
            batch.clear()
            if progress is not None:
                progress.update(count)
    writer.writerows(batch)
    return count + len(batch)


def write_jsonl(
    stream: TextIO, selected: Sequence[Metric], *, progress: Progress | None = None
) -> int:
    """Write *selected* metrics as JSON Lines; returns the number of lines.

    Examples:
        >>> import io
        >>> out = io.StringIO()
        >>> write_jsonl(
        ...     out,
        ...     [("acc", {"steps": [3], "values": [float("inf")], "timestamps": [7]})],
        ... )
        1
        >>> out.getvalue()
        '{"name":"acc","value":"Infinity","step":3,"timestamp":7}\\n'
    """
    count = 0
    lines = []
    for name, step, value, ts in _rows(selected):
        encoded = encode_number(value)
        text = json.dumps(encoded) if isinstance(encoded, str) else _value_text(value)
        lines.append(
            f'{{"name":{json.dumps(name)},"value":{text},"step":{step},"timestamp":{ts}}}\n'
        )
        if len(lines) == _CHUNK:
            stream.write("".join(lines))
            count += len(lines)
            lines.clear()
            if progress is not None:
                progress.update(count)
    stream.write("".join(lines))
    return count + len(lines)


def _value_text(value: Any) -> str:
    return str(encode_number(value))
