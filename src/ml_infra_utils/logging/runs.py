"""Experiment runs: metrics, params and results logged in about a microsecond.

A :class:`Run` records one training run: metrics over steps, final results,
hyperparameters and tags. Logging only appends to memory; a background thread
writes batches to a sink, by default the local run store under ``./runs/``
(no server needed)::

    runs/<experiment>/<run id>/run.json        the run record, replaced atomically
    runs/<experiment>/<run id>/metrics.jsonl   one JSON line per metric value

Nothing is lost at a normal exit (``atexit``), when an exception escapes a
``with Run(...)`` block (the run is marked "failed"), on SIGTERM when the run
asked for it, and a ``kill -9`` loses at most the last ``flush_interval`` of
records. :func:`list_runs` and :func:`load_run` read the store back as plain
data. The guide, every environment variable and the record schema (the contract
for the command line, a server and your own tools) are in ``docs/runs.md``.

For scripts there is a global run: :func:`start_run`, then :func:`log_metric`,
:func:`log_metrics`, :func:`log_result`, :func:`log_params`, and
:func:`end_run` (or nothing: the active run ends at interpreter exit).

Examples:
    >>> import tempfile
    >>> from ml_infra_utils import start_run, log_metric, log_result, end_run
    >>> run = start_run("demo", runs_dir=tempfile.mkdtemp(), params={"lr": 0.01})
    >>> for step in range(100):
    ...     log_metric("loss", 1.0 / (step + 1))
    >>> log_result("accuracy", 0.97)
    >>> end_run()
    >>> data = load_run(run.path)
    >>> data["status"], len(data["metrics"]["loss"]["steps"]), data["params"]
    ('finished', 100, {'lr': 0.01})
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from ml_infra_utils._errors import RunStateError

from . import _lifecycle
from ._run import Run
from ._store import list_runs, load_run
from ._validators import check_status
from .sinks import Sink

__all__ = [
    "Run",
    "active_run",
    "end_run",
    "list_runs",
    "load_run",
    "log_metric",
    "log_metrics",
    "log_params",
    "log_result",
    "start_run",
]

_active: Run | None = None
_global_lock = threading.Lock()


def _forget_after_fork() -> None:
    global _active, _global_lock  # noqa: PLW0603 - process-wide state by design
    _active = None
    _global_lock = threading.Lock()


_lifecycle.on_fork_child(_forget_after_fork)


def start_run(
    experiment: str | None = None,
    *,
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    sink: Sink | None = None,
    flush_interval: float | None = None,
    max_buffer: int | None = None,
    handle_sigterm: bool | None = None,
    fsync: bool | None = None,
    tracking_url: str | None = None,
    api_key: str | None = None,
    shutdown_timeout: float | None = None,
) -> Run:
    """Start the global run that the ``log_*`` functions write to.

    Takes the arguments of :class:`Run`. The run ends with :func:`end_run`, or
    at interpreter exit ("failed" if an uncaught exception ends the program).

    Raises:
        RunStateError: a global run is active already (call ``end_run()``).

    Examples:
        >>> from ml_infra_utils import MemorySink
        >>> run = start_run("demo", sink=MemorySink())
        >>> start_run("demo", sink=MemorySink())
        Traceback (most recent call last):
        ...
        ml_infra_utils.RunStateError: a run is active already (...); ...
        >>> end_run()
    """
    global _active  # noqa: PLW0603
    with _global_lock:
        if _active is not None and not _active.closed:
            msg = (
                f"a run is active already ({_active.experiment}/{_active.id}); "
                "call end_run() before starting another"
            )
            raise RunStateError(msg)
        _active = Run(
            experiment,
            name=name,
            params=params,
            tags=tags,
            runs_dir=runs_dir,
            sink=sink,
            flush_interval=flush_interval,
            max_buffer=max_buffer,
            handle_sigterm=handle_sigterm,
            fsync=fsync,
            tracking_url=tracking_url,
            api_key=api_key,
            shutdown_timeout=shutdown_timeout,
        )
        return _active


def active_run() -> Run | None:
    """The global run if one is active (started and not ended), else ``None``."""
    run = _active
    return run if run is not None and not run.closed else None


def end_run(*, status: str = "finished") -> None:
    """End the global run (see :meth:`Run.shutdown`); no-op without one.

    Raises:
        InputTypeError: *status* is not a string.
        InvalidParameterError: *status* is not "finished", "failed" or "killed".
    """
    global _active
    check_status(status)
    with _global_lock:
        run, _active = _active, None
    if run is not None:
        run.shutdown(status=status)


def _require_active() -> Run:
    run = _active
    if run is None:
        msg = "no active run: call start_run(...) first"
        raise RunStateError(msg)
    return run


def log_metric(name: str, value: float, step: int | None = None) -> None:
    """Log a metric to the global run (see :meth:`Run.metric`).

    Raises:
        RunStateError: no active run, or it has ended.
    """
    run = _active
    if run is None:
        run = _require_active()
    run.metric(name, value, step)


def log_metrics(mapping: Mapping[str, float], step: int | None = None) -> None:
    """Log several metrics to the global run (see :meth:`Run.metrics`)."""
    _require_active().metrics(mapping, step)


def log_result(name: str, value: float) -> None:
    """Record a final result of the global run (see :meth:`Run.result`)."""
    _require_active().result(name, value)


def log_params(mapping: Mapping[str, Any]) -> None:
    """Record hyperparameters of the global run (see :meth:`Run.log_params`)."""
    _require_active().log_params(mapping)
