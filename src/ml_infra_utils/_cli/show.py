"""``runs show`` (one run in detail) and ``runs compare`` (runs side by side).

Both load runs as :func:`~ml_infra_utils.load_run` does (``changes.jsonl``
only for ``runs show --format json``) and read only the fields
of ``docs/runs.md``; a field they do not know is ignored, a field of an
unexpected type is shown as text rather than failing.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

from ml_infra_utils._errors import InvalidParameterError

from .output import prepare, write_json
from .render import (
    ASCII,
    Glyphs,
    clean,
    display_width,
    format_duration,
    format_exact,
    format_number,
    format_time,
    format_value,
    glyphs_for,
    sparkline,
    terminal_width,
)
from .store import find_run, skipped_lines_note
from .table import Column, render_table

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

__all__ = ["compare_lines", "metric_stats", "run_compare", "run_show", "show_lines"]

_SPARK_DEFAULT = 30  # characters of history when the width is unknown (a pipe)
_SPARK_MAX = 60


def run_show(args: argparse.Namespace) -> int:
    """``runs show``: print one run."""
    from ml_infra_utils.logging._store import read_run

    # the text never shows changes.jsonl: only the JSON (the whole run) reads it
    data = read_run(find_run(args.spec, args.runs_dir), changes=args.format == "json")
    out = prepare(sys.stdout)
    if args.format == "json":
        write_json(data, out)
        return 0
    glyphs = ASCII if args.ascii else glyphs_for(out)
    lines = show_lines(data, width=terminal_width(out), glyphs=glyphs)
    out.write("\n".join(lines) + "\n")
    return 0


def show_lines(data: dict[str, Any], *, width: int | None, glyphs: Glyphs) -> list[str]:
    """The text of ``runs show`` for *data*, a :func:`load_run` result."""
    ell = glyphs.ellipsis
    about = [["run", f"{_text(data.get('experiment'))}/{_text(data.get('id'))}"]]
    if data.get("name"):
        about.append(["name", _text(data["name"])])
    about.append(["status", _text(data.get("status"))])
    if data.get("error") is not None:
        about.append(["error", _error_text(data["error"])])
    about.append(["start", _utc(data.get("start_time"))])
    if data.get("end_time") is not None:
        about.append(["end", _utc(data["end_time"])])
    about.append(["duration", format_duration(data.get("duration"))])
    if data.get("host") is not None:
        about.append(["host", _host_text(data)])
    about.append(["path", _text(data.get("path"))])
    cols = [Column("", shrink=False), Column("", shrink=False)]
    lines = render_table(cols, about, header=False)
    for section in ("params", "tags"):
        values = _mapping(data.get(section))
        rows = [["  " + clean(str(k)), format_value(v)] for k, v in sorted(values)]
        lines += _section(section, rows, width=width, ellipsis=ell)
    results = _mapping(data.get("results"))
    rows = [["  " + clean(str(k)), format_exact(v)] for k, v in sorted(results)]
    lines += _section("results", rows, width=width, ellipsis=ell)
    lines.append("")
    lines += _metrics_table(_mapping(data.get("metrics")), width=width, glyphs=glyphs)
    skipped = skipped_lines_note(data)
    if skipped is not None:
        lines += ["", skipped]
    return lines


def _section(
    title: str, rows: list[list[str]], *, width: int | None, ellipsis: str
) -> list[str]:
    if not rows:
        return ["", f"{title}: none"]
    cols = [Column("", min_width=8, max_width=40), Column("", max_width=200)]
    return [
        "",
        title,
        *render_table(cols, rows, header=False, width=width, ellipsis=ellipsis),
    ]


def metric_stats(values: Sequence[Any]) -> dict[str, Any]:
    """Count, last, min and max (over finite values) and the non-finite counts.

    Examples:
        >>> stats = metric_stats([3, float("nan"), 1, float("inf")])
        >>> stats["count"], stats["last"], stats["min"], stats["max"]
        (4, inf, 1, 3)
        >>> stats["nan"], stats["inf"], stats["-inf"]
        (1, 1, 0)
    """
    finite = [v for v in values if isinstance(v, int) or math.isfinite(v)]
    nan = sum(1 for v in values if v != v)
    pos = sum(1 for v in values if isinstance(v, float) and v == math.inf)
    neg = sum(1 for v in values if isinstance(v, float) and v == -math.inf)
    return {
        "count": len(values),
        "last": values[-1] if values else None,
        "min": min(finite) if finite else None,
        "max": max(finite) if finite else None,
        "nan": nan,
        "inf": pos,
        "-inf": neg,
    }


def _nonfinite_text(stats: dict[str, Any]) -> str:
    labels = {"nan": "NaN", "inf": "inf", "-inf": "-inf"}
    return ", ".join(f"{stats[k]} {label}" for k, label in labels.items() if stats[k])


def _metrics_table(
    metrics: list[tuple[Any, Any]], *, width: int | None, glyphs: Glyphs
) -> list[str]:
    if not metrics:
        return ["metrics: none"]
    histories = [(clean(str(k)), _values(h)) for k, h in sorted(metrics)]
    stats = [metric_stats(values) for _, values in histories]
    odd = any(s["nan"] or s["inf"] or s["-inf"] for s in stats)
    cols = [Column("metrics", min_width=10, max_width=40)]
    cols.append(Column("count", align="right", shrink=False))
    if odd:
        cols.append(Column("nan/inf", shrink=False))
    cols += [Column(h, align="right", shrink=False) for h in ("last", "min", "max")]
    rows = []
    for (name, _), s in zip(histories, stats, strict=True):
        row = ["  " + name, str(s["count"])]
        if odd:
            row.append(_nonfinite_text(s))
        row += [_number(s["last"]), _number(s["min"]), _number(s["max"])]
        rows.append(row)
    ell = glyphs.ellipsis
    plain = render_table(cols, rows, width=width, ellipsis=ell)
    used = max(display_width(line) for line in plain)
    spark = (
        _SPARK_DEFAULT if width is None else max(8, min(_SPARK_MAX, width - used - 2))
    )
    cols.append(Column("history", shrink=False))
    for row, (_, values) in zip(rows, histories, strict=True):
        row.append(sparkline(values, spark, glyphs))
    return render_table(cols, rows, width=width, ellipsis=ell)


def _values(history: Any) -> list[Any]:
    values = history.get("values") if isinstance(history, dict) else None
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def _number(value: Any) -> str:
    return "-" if value is None else format_number(value)


def _mapping(value: Any) -> list[tuple[Any, Any]]:
    return list(value.items()) if isinstance(value, dict) else []


def _text(value: Any) -> str:
    if value is None:
        return "-"
    return clean(value if isinstance(value, str) else str(value))


def _utc(value: Any) -> str:
    text = format_time(value)
    return text if text == "-" else f"{text} UTC"


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        kind, message = error.get("type"), error.get("message")
        if kind and message:
            return f"{_text(kind)}: {_text(message)}"
        return _text(kind or message)
    return format_value(error)


def _host_text(data: dict[str, Any]) -> str:
    extra = []
    if data.get("pid") is not None:
        extra.append(f"pid {_text(data['pid'])}")
    if data.get("python") is not None:
        extra.append(f"Python {_text(data['python'])}")
    host = _text(data.get("host"))
    return f"{host} ({', '.join(extra)})" if extra else host


# ---------------------------------------------------------------- compare
def run_compare(args: argparse.Namespace) -> int:
    """``runs compare``: print the runs side by side (at least two)."""
    from ml_infra_utils.logging._store import read_run

    datas = [read_run(find_run(s, args.runs_dir), changes=False) for s in args.runs]
    out = prepare(sys.stdout)
    glyphs = ASCII if args.ascii else glyphs_for(out)
    lines = compare_lines(
        datas,
        stats=args.stat or ["last"],
        diff_only=args.diff,
        width=terminal_width(out),
        ellipsis=glyphs.ellipsis,
    )
    out.write("\n".join(lines) + "\n")
    return 0


_MISSING = object()


def compare_lines(
    datas: Sequence[dict[str, Any]],
    *,
    stats: Sequence[str] = ("last",),
    diff_only: bool = False,
    width: int | None = None,
    ellipsis: str = "…",
) -> list[str]:
    """The text of ``runs compare`` for *datas*, :func:`load_run` results."""
    if not datas:
        msg = "compare needs at least one run"
        raise InvalidParameterError(msg)
    cols = [Column("", min_width=24, max_width=40)]
    cols += [
        Column(_text(d.get("id")), min_width=10, max_width=40, header_keep="end")
        for d in datas
    ]
    rows: list[list[str] | str] = [
        ["experiment", *(_text(d.get("experiment")) for d in datas)]
    ]
    if any(d.get("name") for d in datas):
        rows.append(["name", *(_text(d.get("name") or "") for d in datas)])
    rows.append(["status", *(_text(d.get("status")) for d in datas)])
    rows.append(["start (UTC)", *(format_time(d.get("start_time")) for d in datas)])
    rows.append(["duration", *(format_duration(d.get("duration")) for d in datas)])
    for section in ("params", "tags"):
        rows += _keyed_section(section, datas, diff_only=diff_only)
    results = [dict(_mapping(d.get("results"))) for d in datas]
    names = sorted({str(n) for r in results for n in r})
    if names:
        rows += ["", "results"]
        rows += [
            ["  " + clean(n), *(_number(r.get(n)) for r in results)] for n in names
        ]
    rows += _metric_rows(datas, stats)
    return render_table(cols, rows, width=width, ellipsis=ellipsis)


def _keyed_section(
    section: str, datas: Sequence[dict[str, Any]], *, diff_only: bool
) -> list[list[str] | str]:
    values = [dict(_mapping(d.get(section))) for d in datas]
    keys = sorted({str(k) for v in values for k in v})
    rows: list[list[str] | str] = []
    any_differs = False
    for key in keys:
        cells = [v.get(key, _MISSING) for v in values]
        first = _canonical(cells[0])
        differs = any(_canonical(c) != first for c in cells[1:])
        any_differs = any_differs or differs
        if diff_only and not differs:
            continue
        mark = "* " if differs else "  "
        texts = ["-" if c is _MISSING else format_value(c) for c in cells]
        rows.append([mark + clean(key), *texts])
    if not keys:
        return []
    title = f"{section} (* differs)" if any_differs else section
    if not rows:
        return ["", f"{section}: all equal"]
    return ["", title, *rows]


def _canonical(value: Any) -> Any:
    """A form in which equal params compare equal: 1 == 1.0, but not True or "1"."""
    if isinstance(value, list | tuple):
        return ("list", tuple(_canonical(v) for v in value))
    if isinstance(value, dict):
        return (
            "dict",
            tuple(sorted((str(k), _canonical(v)) for k, v in value.items())),
        )
    kind = (
        "bool"
        if isinstance(value, bool)
        else "number"
        if isinstance(value, int | float)
        else type(value).__name__
    )
    if value is _MISSING or kind not in ("bool", "number", "str", "NoneType"):
        return (kind, repr(value))
    return (kind, value)


def _metric_rows(
    datas: Sequence[dict[str, Any]], stats: Sequence[str]
) -> list[list[str] | str]:
    per_run = [
        {str(k): metric_stats(_values(h)) for k, h in _mapping(d.get("metrics"))}
        for d in datas
    ]
    names = sorted({n for m in per_run for n in m})
    if not names:
        return []
    chosen = list(dict.fromkeys(stats))
    title = f"metrics ({chosen[0]})" if len(chosen) == 1 else "metrics"
    rows: list[list[str] | str] = ["", title]
    for name in names:
        for stat in chosen:
            label = "  " + clean(name) + (f" ({stat})" if len(chosen) > 1 else "")
            cells = [_number(m[name][stat]) if name in m else "-" for m in per_run]
            rows.append([label, *cells])
    return rows
