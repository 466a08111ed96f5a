"""``ml-infra-utils metrics``: the classification report of two label files.

The files are read by :mod:`.labels` (its rules are in ``docs/cli.md``) and
scored by :func:`~ml_infra_utils.classification_report`, so the text is
scikit-learn's, character for character. Only the parser is built at start-up;
the rest is imported when the command runs.

Examples:
    >>> parser = argparse.ArgumentParser(prog="ml-infra-utils")
    >>> add_parser(parser.add_subparsers(), argparse.ArgumentParser(add_help=False))
    >>> args = parser.parse_args(["metrics", "--predictions", "p", "--labels", "l"])
    >>> args.digits, args.json, args.header
    (2, False, None)
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING

from ml_infra_utils._errors import InvalidParameterError, LengthMismatchError

if TYPE_CHECKING:
    from collections.abc import Hashable

    from .labels import LabelFile

__all__ = ["add_parser"]

_ZERO_DIVISION = {"0": 0.0, "1": 1.0, "nan": math.nan}


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``metrics``."""
    parser = commands.add_parser(
        "metrics",
        parents=[common],
        help="classification report from a predictions file and a labels file",
        description=(
            "Print precision, recall, F1 and support per class (scikit-learn's "
            "classification report) for two files: one label per line, or a "
            "column of a CSV file with a header row. Labels are strings, or ints "
            "when every label of both files is a whole number (1, 1.0 and 1e0 "
            "are the class 1). The reading rules are in docs/cli.md."
        ),
    )
    parser.add_argument(
        "--predictions",
        required=True,
        metavar="FILE",
        help="the predicted classes (- for stdin)",
    )
    parser.add_argument(
        "--labels",
        required=True,
        metavar="FILE",
        help="the true classes, as many as predictions (- for stdin)",
    )
    parser.add_argument(
        "--column",
        metavar="NAME",
        help=(
            "the column to read from CSV files (a one-label-per-line file whose "
            "first line is NAME has that line as its header)"
        ),
    )
    parser.add_argument(
        "--predictions-column",
        metavar="NAME",
        help="the column of the predictions file (wins over --column)",
    )
    parser.add_argument(
        "--labels-column",
        metavar="NAME",
        help="the column of the labels file (wins over --column)",
    )
    parser.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "whether a one-label-per-line file starts with a header row "
            "(default: only a first line that is the one non-number above "
            "numbers, with a warning)"
        ),
    )
    parser.add_argument(
        "--digits",
        type=int,
        default=2,
        metavar="N",
        help="decimals of the scores in the text (default: 2)",
    )
    parser.add_argument(
        "--zero-division",
        choices=tuple(_ZERO_DIVISION),
        default="0",
        help="the score when a class has no predictions or no labels (default: 0)",
    )
    parser.add_argument(
        "--json",
        "--output-dict",
        dest="json",
        action="store_true",
        help="print the report as JSON (the output_dict=True form) instead",
    )
    parser.set_defaults(run=run_metrics)


def run_metrics(args: argparse.Namespace) -> int:
    """``metrics``: read both files and print the report."""
    from ml_infra_utils.metrics import classification_report

    from .labels import convert, read_labels
    from .output import note, prepare, write_json
    from .progress import Progress, format_bytes
    from .render import clean

    if args.predictions == "-" and args.labels == "-":
        msg = "--predictions and --labels cannot both be - (stdin)"
        raise InvalidParameterError(msg)
    files = []
    for role, path, own in (
        ("predictions", args.predictions, args.predictions_column),
        ("labels", args.labels, args.labels_column),
    ):
        with Progress(f"reading {role}", fmt=format_bytes) as progress:
            files.append(
                read_labels(
                    path,
                    role=role,
                    column=own or args.column,
                    strict_column=own is not None,
                    header=args.header,
                    progress=progress,
                )
            )
    if args.header is None:
        files = _unguess(files)
    predicted, truth = files
    for f in files:
        if args.header is None and f.column is None and f.header is not None:
            note(
                f"{f.source}: first line {clean(f.header)[:60]!r} read as a header "
                "(the only line that is not a number; --no-header keeps it)"
            )
    if len(predicted.labels) != len(truth.labels):
        msg = (
            f"{predicted.source} has {len(predicted.labels)} predictions but "
            f"{truth.source} has {len(truth.labels)} labels"
        )
        skipped = [f.source for f in files if f.header_skipped and f.column is None]
        if skipped:
            msg += (
                f" (a header row was left out of {' and '.join(skipped)}; "
                "--no-header keeps it)"
            )
        raise LengthMismatchError(msg)
    y_pred, y_true = convert(predicted, truth)
    if not set(y_pred) & set(y_true):
        note(
            "no predicted class is among the true classes: are the files of "
            "the same kind (e.g. not class names against class numbers)?"
        )
    if not args.json:  # JSON escapes control characters itself
        y_pred, y_true = _printable(y_pred, y_true)
    report = classification_report(
        y_pred,
        y_true,
        digits=args.digits,
        output_dict=args.json,
        zero_division=_ZERO_DIVISION[args.zero_division],
    )
    out = prepare(sys.stdout)
    if args.json:
        write_json(report, out)
    else:
        out.write(report if report.endswith("\n") else report + "\n")
    return 0


def _printable(
    y_pred: list[Hashable], y_true: list[Hashable]
) -> tuple[list[Hashable], list[Hashable]]:
    """The classes with control characters escaped, for the text report.

    A label file must not recolour or clear the terminal: ``a\\x1b[31m`` is
    shown as ``a\\\\x1b[31m``. Two classes never merge: if escaping would make
    two labels alike, every label is shown as its Python repr instead.

    Examples:
        >>> _printable(["a\\tb", "c"], ["c", "c"])
        (['a\\\\tb', 'c'], ['c', 'c'])
        >>> _printable(["a\\tb", "a\\\\tb"], ["c", "c"])[0]
        ["'a\\\\tb'", "'a\\\\\\\\tb'"]
    """
    from .render import clean

    distinct = set(y_pred) | set(y_true)
    if all(not isinstance(c, str) or c.isprintable() for c in distinct):
        return y_pred, y_true
    names = {c: clean(str(c)) for c in distinct}
    if len(set(names.values())) < len(names):
        names = {c: repr(c) for c in distinct}
    return [names[c] for c in y_pred], [names[c] for c in y_true]


def _unguess(files: list[LabelFile]) -> list[LabelFile]:
    """Put back a guessed header that the other file holds as a label.

    ``other`` above numbers looks like a header, but when the other file has
    the class ``other`` among its labels it is one of the labels.
    """
    from .labels import LabelFile

    predicted, truth = files
    kept = []
    for f, other in ((predicted, truth), (truth, predicted)):
        head = f.header
        if f.column is None and head is not None and head in other.labels:
            kept.append(LabelFile(f.source, [head, *f.labels], f.first_line - 1))
        else:
            kept.append(f)
    return kept
