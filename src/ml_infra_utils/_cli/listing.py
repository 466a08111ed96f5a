"""``runs list``: the table of the runs in the store.

Columns: experiment, run id, name (when a run has one), status, start time in
UTC (to the minute), duration, and key results: the result names most listed
runs have (ties alphabetical; at most three), or those of ``--results``. On a
terminal the table fits its width: long experiment names and names are cut
with an ellipsis, and result columns that still do not fit are left out (a
note says which). Piped output is never cut.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .output import note, prepare, write_json
from .progress import Progress
from .render import (
    ASCII,
    clean,
    display_width,
    format_duration,
    format_number,
    format_time,
    glyphs_for,
    terminal_width,
)
from .runs import KEY_RESULTS
from .store import experiments, read_runs, store_root
from .table import Column, layout, render_table

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

__all__ = ["pick_results", "run_list"]


def run_list(args: argparse.Namespace) -> int:
    """``runs list``: the table (or JSON) of the runs."""
    root = store_root(args.runs_dir)
    out = prepare(sys.stdout)
    with Progress("reading runs") as progress:
        runs, problems = read_runs(root, experiment=args.experiment, progress=progress)
    for problem in problems:
        note(problem)
    total = len(runs)
    if args.status:
        runs = [r for r in runs if r.get("status") in args.status]
    if args.format == "json":
        write_json(runs, out)
        return 0
    if not runs:
        out.write(_nothing_found(args, root_text=str(root), total=total) + "\n")
        return 0
    names = (
        [n.strip() for n in args.results.split(",") if n.strip()]
        if args.results is not None
        else pick_results(runs)
    )
    glyphs = ASCII if args.ascii else glyphs_for(out)
    lines = _runs_table(
        runs, names, width=terminal_width(out), ellipsis=glyphs.ellipsis
    )
    out.write("\n".join(lines) + "\n")
    return 0


def _nothing_found(args: argparse.Namespace, *, root_text: str, total: int) -> str:
    if total == 0 and args.experiment is None:
        return (
            f"No runs in {root_text} yet. A program that logs with "
            "ml_infra_utils.Run (or start_run) creates them."
        )
    if total == 0:
        known = experiments(Path(root_text))
        listed = ", ".join(clean(e) for e in known) if known else "none"
        return (
            f"No runs of experiment {clean(args.experiment)!r} in {root_text} "
            f"(experiments: {listed})."
        )
    statuses = " or ".join(args.status)
    return f"No {statuses} runs among the {total} in {root_text}."


def pick_results(runs: Sequence[dict[str, Any]], count: int = KEY_RESULTS) -> list[str]:
    """The *count* result names that most *runs* have (ties: alphabetical).

    Examples:
        >>> runs = [{"results": {"acc": 1, "f1": 1}}, {"results": {"f1": 0}}, {}]
        >>> pick_results(runs)
        ['f1', 'acc']
    """
    seen: Counter[str] = Counter()
    for run in runs:
        results = run.get("results")
        if isinstance(results, dict):
            seen.update(str(name) for name in results)
    ranked = sorted(seen.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, _ in ranked[:count]]


def _runs_table(
    runs: Sequence[dict[str, Any]],
    names: Sequence[str],
    *,
    width: int | None,
    ellipsis: str,
) -> list[str]:
    with_names = any(isinstance(r.get("name"), str) and r["name"] for r in runs)
    columns = [Column("EXPERIMENT", min_width=8, max_width=40)]
    columns.append(Column("RUN", shrink=False))
    if with_names:
        columns.append(Column("NAME", min_width=6, max_width=30))
    columns += [
        Column("STATUS", shrink=False),
        Column("START (UTC)", shrink=False),
        Column("DURATION", align="right", shrink=False),
    ]
    for name in names:
        header = clean(name)
        columns.append(
            Column(
                header,
                align="right",
                min_width=min(display_width(header), 12),
                max_width=24,
                optional=True,
            )
        )
    rows: list[list[str] | str] = []
    for run in runs:
        row = [_text(run.get("experiment")), _text(run.get("id"))]
        if with_names:
            row.append(_text(run.get("name"), missing=""))
        row += [
            _text(run.get("status")),
            format_time(run.get("start_time"), seconds=False),
            format_duration(run.get("duration")),
        ]
        results = run.get("results")
        results = results if isinstance(results, dict) else {}
        row += [format_number(results[n]) if n in results else "-" for n in names]
        rows.append(row)
    lines = render_table(columns, rows, width=width, ellipsis=ellipsis)
    widths = layout(columns, rows, width=width)
    hidden = [c.header for c, w in zip(columns, widths, strict=True) if w is None]
    if hidden:
        lines.append(
            f"({len(hidden)} of {len(names)} result columns left out to fit the "
            f"terminal: {', '.join(hidden)}; choose them with --results)"
        )
    return lines


def _text(value: Any, *, missing: str = "-") -> str:
    if value is None:
        return missing
    return clean(value if isinstance(value, str) else str(value))
