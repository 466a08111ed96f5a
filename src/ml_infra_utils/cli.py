"""The ``ml-infra-utils`` command line (also ``python -m ml_infra_utils``).

Exit codes: 0 success, 1 failure, 2 usage error (argparse's convention); 141
when the reader of stdout goes away (``| head``), as for a program killed by
SIGPIPE. Errors go to stderr as one line, ``ml-infra-utils: error: ...``;
``--debug`` (before or after the command) shows the traceback too.

Each command is a function ``_add_<name>(subparsers)`` that adds its parser
and sets ``run=`` to a function taking the parsed arguments and returning the
exit code; :func:`build_parser` calls them in order. The ``runs`` and
``metrics`` commands live in the private package ``_cli``; their guide is
``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from typing import TYPE_CHECKING

from ._errors import MLInfraError
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
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error"
    )
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND"
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of an error",
    )
    _add_runs(commands, common)
    _add_metrics(commands, common)
    _add_serve(commands, common)
    return parser


# ---------------------------------------------------------------- runs, metrics
def _add_runs(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    from ._cli.runs import add_parser

    add_parser(commands, common)


def _add_metrics(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    from ._cli.metrics import add_parser

    add_parser(commands, common)


# ---------------------------------------------------------------- serve
def _add_serve(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    from .logging._protocol import DEFAULT_MAX_BODY
    from .logging._server_conns import DEFAULT_MAX_CONNECTIONS
    from .logging._settings import ENV_API_KEY, ENV_RUNS_DIR

    parser = commands.add_parser(
        "serve",
        parents=[common],
        help="run the tracking server (Tora's protocol) on a local run store",
        description=(
            "Serve a local run store over HTTP with the Tora SDK's protocol, so "
            "Tora clients and ml-infra-utils runs (tracking_url=...) log to it. "
            "Runs land in RUNS_DIR exactly like local runs. Stops gracefully on "
            "SIGINT/SIGTERM. Each request is logged to stderr as a JSON line. "
            "The protocol is in docs/protocol.md."
        ),
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1, this machine only)",
    )
    parser.add_argument(
        "--port", type=int, default=8787, help="port (default: 8787; 0: any free)"
    )
    parser.add_argument(
        "--runs-dir",
        default=None,
        help=f"the run store (default: ${ENV_RUNS_DIR} or ./runs)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        type=_api_key_option,
        help=(
            f"require this key in the x-api-key header (default: ${ENV_API_KEY}; "
            "the variable keeps the key out of the process list); an empty key "
            "is refused"
        ),
    )
    parser.add_argument(
        "--max-body",
        type=int,
        default=DEFAULT_MAX_BODY,
        help=f"largest request body in bytes (default: {DEFAULT_MAX_BODY})",
    )
    parser.add_argument(
        "--max-open",
        type=int,
        default=128,
        help="runs held open at once; the least recently used closes (default: 128)",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=60.0,
        help=(
            "seconds a client has to send a request's head and body "
            "(default: 60; then 408 and the connection closed)"
        ),
    )
    parser.add_argument(
        "--max-connections",
        type=_max_connections_option,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=(
            "connections open at once, idle keep-alive ones included; more are "
            f"answered 503 and closed (default: {DEFAULT_MAX_CONNECTIONS})"
        ),
    )
    parser.add_argument(
        "--log-file", default=None, help="append the request log here, not to stderr"
    )
    parser.add_argument(
        "--no-fsync",
        action="store_true",
        help="do not fsync (faster; a power cut may lose the last writes)",
    )
    parser.set_defaults(run=_run_serve)


def _api_key_option(text: str) -> str:
    if not text:
        msg = "is empty (an unset variable?); omit --api-key to serve without a key"
        raise argparse.ArgumentTypeError(msg)
    return text


def _max_connections_option(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"must be a whole number >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1:
        msg = f"must be >= 1, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _serve_api_key(given: str | None) -> str | None:
    """--api-key, else a non-empty $ML_INFRA_UTILS_API_KEY, else None."""
    from ._errors import InvalidParameterError
    from .logging._settings import ENV_API_KEY

    if given is not None:
        return given
    value = os.environ.get(ENV_API_KEY)
    if value == "":
        msg = (
            f"${ENV_API_KEY} is set but empty (an unset variable?); "
            "unset it to serve without a key"
        )
        raise InvalidParameterError(msg)
    return value


def _run_serve(args: argparse.Namespace) -> int:
    from .logging import AppendFileHandler, JsonFormatter
    from .logging.server import serve

    api_key = _serve_api_key(args.api_key)

    handler: logging.Handler
    if args.log_file is not None:
        handler = AppendFileHandler(args.log_file)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ml_infra_utils")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if args.debug else logging.INFO)
    logger.propagate = False
    try:
        serve(
            args.runs_dir,
            host=args.host,
            port=args.port,
            api_key=api_key,
            max_body=args.max_body,
            fsync=not args.no_fsync,
            max_open=args.max_open,
            request_timeout=args.request_timeout,
            max_connections=args.max_connections,
        )
    finally:
        logger.removeHandler(handler)
        handler.close()
    return 0


# ---------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` when
            ``None``.

    Returns:
        The process exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stdout)
        return 0
    try:
        code: int = run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left (`| head`): say nothing, and keep Python from
        # complaining again when it flushes stdout at exit.
        _silence_stdout()
        return 141
    except (MLInfraError, OSError, ValueError) as exc:
        if args.debug:
            traceback.print_exc(file=sys.stderr)
        print(f"ml-infra-utils: error: {_message(exc)}", file=sys.stderr)
        return 1
    return code


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (an in-process test)
        pass


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return str(exc) or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
