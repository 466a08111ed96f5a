"""``ml-infra-utils runs``: list, show, compare and export experiment runs.

Only the parsers live here, so building the command line stays cheap; each
command's code is imported when it runs: ``list`` from :mod:`.listing`,
``show`` and ``compare`` from :mod:`.show`, ``export`` from :mod:`.export`.
Every command reads the local store through the readers of
:mod:`ml_infra_utils.logging.runs` and ignores fields it does not know, so
newer stores stay readable.

Examples:
    >>> parser = argparse.ArgumentParser(prog="ml-infra-utils")
    >>> add_parser(parser.add_subparsers(), argparse.ArgumentParser(add_help=False))
    >>> args = parser.parse_args(["runs", "list", "--status", "failed"])
    >>> args.status, args.format, args.runs_dir
    (['failed'], 'table', None)
"""

from __future__ import annotations

import argparse
import functools
import sys

__all__ = ["STATS", "STATUSES", "add_parser"]

STATUSES = ("running", "finished", "failed", "killed")
STATS = ("last", "min", "max", "count")
KEY_RESULTS = 3
_RUN_HELP = (
    "a run id, a unique prefix of one, EXPERIMENT/ID, a run directory, or a run name"
)


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``runs`` and its four commands; *common* holds the shared options."""
    parser = commands.add_parser(
        "runs",
        parents=[common],
        help="list, show, compare and export experiment runs",
        description=(
            "Read the local run store (--runs-dir, default $ML_INFRA_UTILS_RUNS_DIR "
            "or ./runs): the runs that ml_infra_utils.Run and `ml-infra-utils "
            "serve` write. A RUN is a run id, a unique prefix of one (or of its "
            "last 8 characters), EXPERIMENT/ID, the path of a run directory, or a "
            "run's name."
        ),
    )
    parser.set_defaults(run=lambda _args: _print_help(parser))
    runs = parser.add_subparsers(
        title="commands", dest="runs_command", metavar="COMMAND"
    )
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument(
        "--runs-dir",
        metavar="DIR",
        default=None,
        help="the run store (default: $ML_INFRA_UTILS_RUNS_DIR or ./runs)",
    )
    display = argparse.ArgumentParser(add_help=False)
    display.add_argument(
        "--ascii",
        action="store_true",
        help="draw with ASCII only (default: when stdout cannot encode Unicode)",
    )
    _add_list_parser(runs, [common, store, display])
    _add_show_parser(runs, [common, store, display])
    _add_compare_parser(runs, [common, store, display])
    _add_export_parser(runs, [common, store])


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stdout)
    return 0


def _add_list_parser(
    runs: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    parser = runs.add_parser(
        "list",
        parents=parents,
        help="a table of the runs, oldest first",
        description=(
            "A table of the runs, oldest first: experiment, run id, (name), "
            "status, start time in UTC, duration and key results. The key results "
            f"are the {KEY_RESULTS} result names most runs of the table have "
            "(ties: alphabetical), or those of --results. Long values are cut "
            "to fit the terminal; piped output is never cut."
        ),
    )
    parser.add_argument("--experiment", metavar="NAME", help="only this experiment")
    parser.add_argument(
        "--status",
        action="append",
        choices=STATUSES,
        help="only runs with this status (repeat for several)",
    )
    parser.add_argument(
        "--results",
        metavar="NAMES",
        help="the result columns, comma-separated (default: the most common 3)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="a table (default) or a JSON array of the run records",
    )
    parser.set_defaults(run=_run_list)


def _add_show_parser(
    runs: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """Add ``runs show``."""
    parser = runs.add_parser(
        "show",
        parents=parents,
        help="one run: params, tags, results, and each metric with a sparkline",
        description=(
            "One run in detail: status (and error), timing, host, params, tags, "
            "results, and per metric its count, last, min and max value and a "
            "sparkline of its history. NaN and infinities are counted, drawn "
            "with their own marks and left out of min, max and the scale."
        ),
    )
    parser.add_argument("spec", metavar="RUN", help=_RUN_HELP)
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default) or the whole run as JSON, with every metric value",
    )
    parser.set_defaults(run=_run_show)


def _add_compare_parser(
    runs: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """Add ``runs compare``."""
    parser = runs.add_parser(
        "compare",
        parents=parents,
        help="two or more runs side by side",
        description=(
            "Runs side by side, one column each: status and timing, params and "
            "tags (a row whose values differ is marked with *), results, and "
            "per metric its last value (or --stat)."
        ),
    )
    parser.add_argument("runs", nargs="+", metavar="RUN", help=_RUN_HELP)
    parser.add_argument(
        "--diff",
        action="store_true",
        help="show only the params and tags that differ",
    )
    parser.add_argument(
        "--stat",
        action="append",
        choices=STATS,
        help="what to show per metric (repeat for several; default: last)",
    )
    parser.set_defaults(run=functools.partial(_run_compare, parser=parser))


def _add_export_parser(
    runs: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """Add ``runs export``."""
    parser = runs.add_parser(
        "export",
        parents=parents,
        help="a run's metrics as CSV or JSON Lines",
        description=(
            "Write a run's metric values to stdout (or --output FILE, replaced "
            "atomically). CSV columns: name,step,value,timestamp. JSON Lines: "
            "the records of metrics.jsonl. NaN and infinities are the strings "
            "NaN, Infinity and -Infinity; timestamps are milliseconds since the "
            "Unix epoch (UTC). Results are not metrics: see `runs show`."
        ),
    )
    parser.add_argument(
        "spec",
        metavar="RUN",
        help=_RUN_HELP,
    )
    parser.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        default="csv",
        help="csv (default) or jsonl",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default=None,
        help="write to FILE instead of stdout (- is stdout)",
    )
    parser.add_argument(
        "--metric",
        action="append",
        metavar="NAME",
        help="only this metric (repeat for several)",
    )
    parser.set_defaults(run=_run_export)


def _run_list(args: argparse.Namespace) -> int:
    from .listing import run_list

    return run_list(args)


def _run_show(args: argparse.Namespace) -> int:
    from .show import run_show

    return run_show(args)


def _run_compare(args: argparse.Namespace, *, parser: argparse.ArgumentParser) -> int:
    if len(args.runs) < 2:
        parser.error("compare needs at least two runs")
    from .show import run_compare

    return run_compare(args)


def _run_export(args: argparse.Namespace) -> int:
    from .export import run_export

    return run_export(args)
