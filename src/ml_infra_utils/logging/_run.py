"""The :class:`Run`: metrics logged in about a microsecond, nothing lost.

See :mod:`ml_infra_utils.logging.runs` for the overview and ``docs/runs.md`` for
the guide and the record schema.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import platform
import secrets
import socket
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from ml_infra_utils._errors import InputTypeError, InvalidParameterError
from ml_infra_utils._sequences import check_flag

from . import _lifecycle
from ._buffer import BufferedRun, describe
from ._records import SCHEMA_VERSION
from ._settings import (
    DEFAULT_EXPERIMENT,
    ENV_API_KEY,
    ENV_EXPERIMENT,
    ENV_FSYNC,
    ENV_HANDLE_SIGTERM,
    ENV_RUN_NAME,
    ENV_TRACKING_URL,
    env_bool,
    env_str,
    flush_interval_setting,
    max_buffer_setting,
    runs_dir_setting,
    shutdown_timeout_setting,
)
from ._validators import (
    MAX_INT_VALUE,
    MAX_NAME_LENGTH,
    check_experiment,
    check_mapping,
    check_name,
    check_param_value,
    check_status,
    check_step,
    check_tag_value,
    check_value,
)
from .sinks import HttpSink, RunStoreSink, Sink

__all__ = ["Run"]

_clock_ns = time.time_ns
_MAX_INT = MAX_INT_VALUE
_MIN_INT = -MAX_INT_VALUE


class Run(BufferedRun):
    """An experiment run: metrics, results, params and tags, buffered and safe.

    ``metric()`` validates its arguments and appends one tuple to an in-memory
    buffer; a background thread hands the buffer to the sink every
    *flush_interval* seconds, and sooner when it fills up. When the buffer holds
    *max_buffer* records, the logging thread writes it itself (backpressure):
    memory stays bounded and nothing is ever dropped. At interpreter exit every
    open run is flushed and ended; with ``handle_sigterm=True`` so is it on
    SIGTERM. All methods are thread-safe.

    Args:
        experiment: the experiment the run belongs to (a directory name in the
            local store); default ``$ML_INFRA_UTILS_EXPERIMENT`` or "default".
        name: a display name; default ``$ML_INFRA_UTILS_RUN_NAME`` or none.
        params: hyperparameters to record now (see :meth:`log_params`).
        tags: tags to record now (see :meth:`set_tags`).
        runs_dir: the local store's root; default ``$ML_INFRA_UTILS_RUNS_DIR``
            or ``./runs``. Not allowed together with *sink*.
        sink: where the records go instead of the local store (any
            :class:`~ml_infra_utils.Sink`, e.g. a :class:`~ml_infra_utils.MemorySink`).
        flush_interval: seconds between background writes (default 1.0, or
            ``$ML_INFRA_UTILS_RUNS_FLUSH_INTERVAL``). A ``kill -9`` loses at most
            the records of the last interval.
        max_buffer: records held in memory before logging writes synchronously
            (default 100,000, or ``$ML_INFRA_UTILS_RUNS_MAX_BUFFER``).
        handle_sigterm: flush and end the open runs on SIGTERM (default off,
            or ``$ML_INFRA_UTILS_RUNS_HANDLE_SIGTERM``); needs the main thread.
        fsync: fsync the local store's files (default on, or
            ``$ML_INFRA_UTILS_RUNS_FSYNC``); ignored with *sink*.
        tracking_url: send the run to this tracking server (``ml-infra-utils
            serve``) with an :class:`~ml_infra_utils.HttpSink` instead of
            writing the local store; default ``$ML_INFRA_UTILS_TRACKING_URL``
            (``""``: the local store even if the variable is set). *runs_dir*
            is then where requests wait while the server is away.
        api_key: the server's key; default ``$ML_INFRA_UTILS_API_KEY``.
        shutdown_timeout: the longest :meth:`shutdown` (and the exit hook)
            waits for the sink's last writes, in seconds; default 10, or
            ``$ML_INFRA_UTILS_SHUTDOWN_TIMEOUT``. Then it logs an error saying
            how many records were not written, and returns.

    Raises:
        InputTypeError, InvalidParameterError: an argument breaks the rules of
            ``docs/runs.md``.

    Examples:
        >>> import tempfile
        >>> from ml_infra_utils import Run, load_run
        >>> with Run("demo", runs_dir=tempfile.mkdtemp(), params={"lr": 0.1}) as run:
        ...     for step in range(3):
        ...         run.metric("loss", 1.0 / (step + 1))
        ...     run.result("accuracy", 0.93)
        >>> data = load_run(run.path)
        >>> data["status"], data["results"], data["metrics"]["loss"]["values"]
        ('finished', {'accuracy': 0.93}, [1.0, 0.5, 0.3333333333333333])
    """

    __slots__ = (
        "__weakref__",
        "_changes",
        "_host",
        "_names",
        "_params",
        "_results",
        "_start_time",
        "_tags",
        "experiment",
        "name",
    )

    def __init__(
        self,
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
    ) -> None:
        if experiment is None:
            experiment = env_str(ENV_EXPERIMENT, DEFAULT_EXPERIMENT)
        self.experiment: str = check_experiment(experiment)
        self.name: str | None = _run_name(name)
        interval = flush_interval_setting(flush_interval)
        records = max_buffer_setting(max_buffer)
        sigterm = env_bool(
            ENV_HANDLE_SIGTERM, handle_sigterm, default=False, option="handle_sigterm"
        )
        if fsync is not None:  # checked even where a given sink ignores it
            check_flag("fsync", fsync)
        timeout = shutdown_timeout_setting(shutdown_timeout)
        chosen = _choose_sink(
            sink,
            runs_dir,
            fsync,
            remote=(tracking_url, api_key, timeout),
        )
        self._params: dict[str, Any] = {}
        self._changes: list[dict[str, Any]] = []
        self._tags: dict[str, str] = {}
        self._results: dict[str, float] = {}
        if params is not None:
            self._params.update(self._clean_params(params))
        if tags is not None:
            self._tags.update(self._clean_tags(tags))
        self._names: dict[str, list[Any]] = {}
        self._host = socket.gethostname()
        start = dt.datetime.now(dt.UTC)
        self._start_time = start.isoformat(timespec="microseconds")
        self._init_buffer(
            f"{start:%Y%m%d-%H%M%S}-{secrets.token_hex(4)}",
            chosen,
            flush_interval=interval,
            max_buffer=records,
            shutdown_timeout=timeout,
        )
        self._start(sigterm=sigterm)
        if params is not None:
            _watch_params(self, params)

    # ------------------------------------------------------------------ logging
    def metric(self, name: str, value: float, step: int | None = None) -> None:
        """Log one value of metric *name*; returns after an append to memory.

        Args:
            name: the metric's name (see the naming rules in ``docs/runs.md``).
            value: a real number; NaN and infinities are kept.
            step: an int >= 0, or ``None`` for the next step of this name: one
                more than the highest step logged for it so far (0 first).

        Raises:
            InputTypeError: *value* is not a real number (bool and strings
                included) or *step* is not an int.
            InvalidParameterError: a bad name or a negative step.
            RunStateError: the run has ended.
        """
        # The hot path: every check is one cheap test, the slow cases are calls.
        try:
            slot = self._names[name]
        except (KeyError, TypeError):  # new, or unhashable (so never valid)
            slot = self._slot(name, "name")
        if type(value) is not float and (
            type(value) is not int or not _MIN_INT <= value <= _MAX_INT
        ):  # not a float or an int within the float range: the slow path
            value = check_value(value, "value")
        if step is None:
            counter = slot[0]
            step = next(counter)
            if step <= slot[1]:
                step = self._jump(slot, counter)
        else:
            if type(step) is not int or step >> 63:  # not an int in [0, 2**63)
                step = check_step(step)
            if step > slot[1]:  # noqa: PLR1730 - cheaper than max() on the hot path
                slot[1] = step
        buf = self._buf
        record = (slot[2], value, step, _clock_ns() // 1_000_000)
        buf += record
        if len(buf) >= self._trigger:  # -1 once the run has ended
            self._on_full(record)

    def metrics(self, mapping: Mapping[str, float], step: int | None = None) -> None:
        """Log several metrics at once, with one timestamp and the same *step*.

        Every entry is validated before any is logged. With ``step=None`` each
        name takes its own next step.

        Examples:
            >>> from ml_infra_utils import MemorySink
            >>> run = Run("demo", sink=MemorySink())
            >>> run.metrics({"loss": 0.5, "acc": 0.8}, step=10)
            >>> run.shutdown()
        """
        check_mapping(mapping, "mapping")
        if step is not None:
            step = check_step(step)
        items = [
            (self._slot(k, "mapping key"), check_value(v, f"mapping[{k!r}]"))
            for k, v in mapping.items()
        ]
        ts = _clock_ns() // 1_000_000
        records: list[Any] = []
        for slot, value in items:
            if step is None:
                counter = slot[0]
                number = next(counter)
                if number <= slot[1]:
                    number = self._jump(slot, counter)
            else:
                number = step
                slot[1] = max(slot[1], step)
            records += (slot[2], value, number, ts)
        self._buf.extend(records)
        if len(self._buf) >= self._trigger:
            self._on_full(tuple(records))

    def result(self, name: str, value: float) -> None:
        """Record a final result (e.g. test accuracy); the last write wins.

        Raises:
            InputTypeError, InvalidParameterError: as for :meth:`metric`.
            RunStateError: the run has ended.
        """
        name = check_name(name, "name")
        value = check_value(value, "value")
        self._require_open()
        record = (name, value, None, _clock_ns() // 1_000_000)
        self._result_buf.append(record)
        self._results[name] = value
        if 4 * len(self._result_buf) >= self._trigger:
            self._on_full(record)

    def log_params(self, mapping: Mapping[str, Any]) -> None:
        """Record hyperparameters; a later call overwrites the same keys.

        A value strict JSON can hold is stored as JSON (tuples become lists,
        keys become strings); anything else (NaN, a set, an object) as its
        ``repr()``. Written at the next flush.

        A tracked mapping (:class:`~ml_infra_utils.TrackedDict`) is also
        watched until the run ends: each later change of it updates the
        params and its change record goes to the sink (``changes.jsonl`` in the
        local store, see ``docs/runs.md``), so a configuration changed mid-run
        is recorded in the run.

        Examples:
            >>> import tempfile
            >>> from ml_infra_utils import Run, TrackedDict, load_run
            >>> config = TrackedDict({"lr": 0.1})
            >>> with Run("demo", runs_dir=tempfile.mkdtemp()) as run:
            ...     run.log_params(config)
            ...     config["lr"] = 0.01  # e.g. a scheduler, mid-run
            >>> data = load_run(run.path)
            >>> (
            ...     data["params"],
            ...     [(c["path"], c["old"], c["new"]) for c in data["changes"]],
            ... )
            ({'lr': 0.01}, [(['lr'], 0.1, 0.01)])
        """
        clean = self._clean_params(mapping)
        self._require_open()
        with _lifecycle.guarded(self._state):
            self._params.update(clean)
            self._dirty = True
        _watch_params(self, mapping)

    def set_tags(self, mapping: Mapping[str, Any]) -> None:
        """Set tags (str values; int, float and bool are stored as their str)."""
        clean = self._clean_tags(mapping)
        self._require_open()
        with _lifecycle.guarded(self._state):
            self._tags.update(clean)
            self._dirty = True

    # ------------------------------------------------------------------ state
    @property
    def status(self) -> str:
        """ "running", then "finished", "failed" or "killed"."""
        return self._status

    @property
    def path(self) -> Path | None:
        """The run's directory in the local store (``None`` for other sinks)."""
        path = getattr(self._sink, "path", None)
        return path if isinstance(path, Path) else None

    @property
    def sink(self) -> Sink:
        """Where the run's records go (a :class:`~ml_infra_utils.RunStoreSink`,
        an :class:`~ml_infra_utils.HttpSink`, or the sink you gave)."""
        return self._sink

    @property
    def params(self) -> dict[str, Any]:
        """A copy of the params recorded so far."""
        with _lifecycle.guarded(self._state):  # see _end_unless_stuck
            return dict(self._params)

    @property
    def tags(self) -> dict[str, str]:
        """A copy of the tags."""
        with _lifecycle.guarded(self._state):
            return dict(self._tags)

    @property
    def results(self) -> dict[str, float]:
        """A copy of the results recorded so far."""
        return dict(self._results)

    def __repr__(self) -> str:
        return (
            f"Run(experiment={self.experiment!r}, id={self.id!r}, "
            f"status={self._status!r}, buffered={len(self._records) // 4})"
        )

    # ------------------------------------------------------------------ ending
    def shutdown(self, *, status: str = "finished") -> None:
        """Flush, mark the run ended with *status*, close the sink; idempotent.

        Args:
            status: "finished" (default), "failed" or "killed".

        Raises:
            InputTypeError: *status* is not a string.
            InvalidParameterError: an unknown *status*.
        """
        self._end(check_status(status), None)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or (isinstance(exc, SystemExit) and exc.code in (0, None)):
            self._end("finished", None)
        elif isinstance(exc, KeyboardInterrupt):
            self._end("killed", describe(exc))
        else:
            self._end("failed", describe(exc))

    # ------------------------------------------------------------------ internals
    def _param_changed(
        self, watcher: _ParamWatcher, mapping: Mapping[str, Any], change: dict[str, Any]
    ) -> None:
        # A watched tracked mapping changed (see _ParamWatcher). Observers run
        # outside the mapping's lock, so two threads' calls can interleave:
        # the snapshot is taken under the run's lock, so the last call always
        # records the mapping as it is now, never an older snapshot.
        self._require_open()
        with _lifecycle.guarded(self._state):
            clean = self._snapshot_params(mapping)
            gone, watcher.keys = watcher.keys - set(clean), set(clean)
            for key in gone:
                self._params.pop(key, None)
            self._params.update(clean)
            self._changes.append(change)
            self._dirty = True

    def _forget_results(self, records: list[Any]) -> None:
        # A result record dropped as unwritable leaves run.json's results too.
        for name, value, _step, _ts in records:
            if isinstance(name, str) and self._results.get(name) is value:
                del self._results[name]

    def _snapshot_params(self, mapping: Mapping[str, Any]) -> dict[str, Any]:
        # A change in another thread may resize the dict while we read it:
        # read again (that change's own observer call comes after this one).
        for _ in range(9):
            try:
                return self._clean_params(mapping)
            except RuntimeError:  # "dictionary changed size during iteration"
                continue
        return self._clean_params(mapping)

    def _drain(self) -> None:
        # Called with self._io held, like the base's: then the change records.
        super()._drain()
        changes = self._changes
        count = len(changes)
        if not count:
            return
        batch = changes[:count]
        write = getattr(self._sink, "write_changes", None)
        if write is not None:
            write(batch)  # raises: the records stay and are retried
        del changes[:count]

    def _slot(self, name: object, argument: str) -> list[Any]:
        # Per metric name: [auto-step counter, highest explicit step, the name
        # as a plain str]. One dict lookup validates the name and finds both.
        clean = check_name(name, argument)
        return self._names.setdefault(clean, [itertools.count(), -1, clean])

    def _jump(self, slot: list[Any], counter: itertools.count[int]) -> int:
        # An explicit step overtook this name's counter: restart it above. A
        # thread that drew from a counter replaced meanwhile draws again.
        with _lifecycle.guarded(self._state):
            while True:
                current = slot[0]
                if current is counter:
                    current = slot[0] = itertools.count(slot[1] + 1)
                step: int = next(current)
                if step > slot[1]:
                    return step
                counter = current

    def _clean_params(self, mapping: Mapping[str, Any]) -> dict[str, Any]:
        check_mapping(mapping, "params")
        return {str(k): check_param_value(v) for k, v in mapping.items()}

    def _clean_tags(self, mapping: Mapping[str, Any]) -> dict[str, str]:
        check_mapping(mapping, "tags")
        return {str(k): check_tag_value(v, f"tags[{k!r}]") for k, v in mapping.items()}

    def _info(self) -> dict[str, Any]:
        with self._state:
            return {
                "schema_version": SCHEMA_VERSION,
                "id": self.id,
                "experiment": self.experiment,
                "name": self.name,
                "status": self._status,
                "start_time": self._start_time,
                "end_time": self.end_time,
                "duration": self._duration,
                "params": dict(self._params),
                "tags": dict(self._tags),
                "results": dict(self._results),
                "error": self._error,
                "host": self._host,
                "pid": self._pid,
                "python": platform.python_version(),
            }


class _ParamWatcher:
    """The observer a run puts on a tracked params mapping (weak both ways)."""

    __slots__ = ("_mapping", "_run", "keys")

    def __init__(self, run: Run, mapping: Any) -> None:
        self._run = weakref.ref(run)
        self._mapping = weakref.ref(mapping)
        self.keys = {str(k) for k in mapping}

    def __call__(self, record: Any) -> None:
        run, mapping = self._run(), self._mapping()
        if mapping is None:
            return
        if run is None or run.closed:
            mapping.remove_observer(self)
            return
        run._param_changed(self, mapping, record.to_dict())


def _watch_params(run: Run, mapping: Mapping[str, Any]) -> None:
    # Duck-typed on the tracked containers of logging.changes (a sibling layer).
    add = getattr(mapping, "add_observer", None)
    observers = getattr(mapping, "observers", ())
    if not callable(add):
        return
    for observer in observers:
        if isinstance(observer, _ParamWatcher) and observer._run() is run:
            return
    add(_ParamWatcher(run, mapping))


def _run_name(name: object) -> str | None:
    if name is None:
        name = env_str(ENV_RUN_NAME, None)
    if name is None:
        return None
    if not isinstance(name, str):
        msg = f"name must be a string or None, got {type(name).__name__}"
        raise InputTypeError(msg)
    if len(name) > MAX_NAME_LENGTH:
        msg = (
            f"name must be a string of at most {MAX_NAME_LENGTH} characters, "
            f"got {len(name)}: {name[:60]!r}..."
        )
        raise InvalidParameterError(msg)
    return name


def _choose_sink(
    sink: object,
    runs_dir: str | os.PathLike[str] | None,
    fsync: bool | None,
    *,
    remote: tuple[str | None, str | None, float],
) -> Sink:
    tracking_url, api_key, shutdown_timeout = remote
    if sink is None:
        url = tracking_url
        if url is None:
            url = env_str(ENV_TRACKING_URL, None)
        if url:
            return HttpSink(
                url,
                api_key=api_key if api_key is not None else env_str(ENV_API_KEY, None),
                runs_dir=runs_dir,
                shutdown_timeout=shutdown_timeout,
            )
        return RunStoreSink(
            runs_dir_setting(runs_dir),
            fsync=env_bool(ENV_FSYNC, fsync, default=True, option="fsync"),
        )
    if runs_dir is not None or tracking_url:
        msg = "give either sink or runs_dir/tracking_url, not both"
        raise InvalidParameterError(msg)
    if not isinstance(sink, Sink):
        msg = (
            "sink must have open, write, update and close methods, "
            f"got {type(sink).__name__}"
        )
        raise InputTypeError(msg)
    return sink
