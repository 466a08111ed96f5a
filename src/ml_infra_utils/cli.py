"""The ``ml-infra-utils`` command line (also ``python -m ml_infra_utils``).

Exit codes: 0 success, 1 failure, 2 usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["build_parser", "main"]

_SUBPACKAGE_SUMMARIES = {
    "preprocessing": "normalize, standardize, clip outliers, validate; scalers",
    "metrics": "accuracy, precision, recall, F-scores, confusion matrix, report",
    "decorators": "timer and retry for sync and async functions",
    "logging": "structured JSON logs, experiment runs, change tracking",
}


def _description() -> str:
    lines = [
        "ML infrastructure utilities with zero runtime dependencies.",
        "",
        "subpackages (import everything from `ml_infra_utils`):",
    ]
    lines += [f"  {name:<14} {text}" for name, text in _SUBPACKAGE_SUMMARIES.items()]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``ml-infra-utils`` command."""
    parser = argparse.ArgumentParser(
        prog="ml-infra-utils",
        description=_description(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"ml-infra-utils {__version__}",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` when
            ``None``.

    Returns:
        The process exit code.
    """
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help(sys.stdout)
    return 0
