"""Readers of the local run store: :func:`list_runs` and :func:`load_run`.

They return plain data (dicts, lists, strings and numbers), decode the stored
NaN and infinities back to floats, and never fail on a run that a crash cut
short: a torn or unreadable line of ``metrics.jsonl`` is skipped and counted in
``skipped_lines``. The layout and the record schema are in ``docs/runs.md``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from ml_infra_utils._errors import CorruptRunError, InputTypeError, RunNotFoundError

from ._records import CHANGES_FILE, METRICS_FILE, RUN_FILE, decode_number
from ._settings import runs_dir_setting

__all__ = ["list_runs", "load_run", "read_run", "read_run_info"]

_log = logging.getLogger("ml_infra_utils.logging.runs")


def list_runs(
    runs_dir: str | os.PathLike[str] | None = None, *, experiment: str | None = None
) -> list[dict[str, Any]]:
    """Every run in the store, oldest first, without their metric histories.

    Args:
        runs_dir: the store's root; default ``$ML_INFRA_UTILS_RUNS_DIR`` or
            ``./runs``. A directory that does not exist holds no runs.
        experiment: only the runs of this experiment.

    Returns:
        One dict per run: the fields of its ``run.json`` (see ``docs/runs.md``)
        plus ``path``, the run directory as a string. Directories without a
        readable ``run.json`` are skipped (and logged at WARNING).

    Examples:
        >>> import tempfile
        >>> from ml_infra_utils import Run
        >>> root = tempfile.mkdtemp()
        >>> with Run("demo", runs_dir=root) as run:
        ...     run.result("acc", 0.9)
        >>> [(r["experiment"], r["status"], r["results"]) for r in list_runs(root)]
        [('demo', 'finished', {'acc': 0.9})]
    """
    root = runs_dir_setting(runs_dir)
    if not root.is_dir():
        return []
    runs = []
    for exp_dir in sorted(root.iterdir()):
        if exp_dir.name.startswith(".") or not exp_dir.is_dir():
            continue
        if experiment is not None and exp_dir.name != experiment:
            continue
        for run_dir in sorted(exp_dir.iterdir()):
            if not (run_dir / RUN_FILE).is_file():
                continue
            try:
                info = _read_info(run_dir)
            except (CorruptRunError, OSError) as exc:
                _log.warning("skipping run %s: %s", run_dir, exc)
                continue
            runs.append(info)
    runs.sort(key=lambda r: (str(r.get("start_time") or ""), str(r.get("id"))))
    return runs


def load_run(path: str | os.PathLike[str]) -> dict[str, Any]:
    """One run with the full history of every metric.

    Args:
        path: the run's directory (or its ``run.json``).

    Returns:
        The fields of ``run.json`` plus ``path`` (str), ``metrics`` (a dict
        mapping each metric name to ``{"steps": [...], "values": [...],
        "timestamps": [...]}`` in logging order; timestamps are milliseconds
        since the Unix epoch), ``changes`` (the change records of a tracked
        params mapping, from ``changes.jsonl``; usually empty) and
        ``skipped_lines`` (lines of ``metrics.jsonl`` or ``changes.jsonl``
        that could not be read, e.g. one torn by a crash).

    Raises:
        RunNotFoundError: no ``run.json`` at *path*.
        CorruptRunError: ``run.json`` is not a run record.
    """
    return read_run(path)


def read_run(path: str | os.PathLike[str], *, changes: bool = True) -> dict[str, Any]:
    """:func:`load_run`; with ``changes=False`` ``changes.jsonl`` is not read.

    Then ``changes`` is ``[]`` and ``skipped_lines`` counts only lines of
    ``metrics.jsonl``: for readers that never show the changes (the command
    line's ``runs show`` text, ``runs compare`` and ``runs export``), which
    would otherwise parse a file that can be larger than the metrics.

    Examples:
        >>> import tempfile
        >>> from ml_infra_utils import Run
        >>> with Run("demo", runs_dir=tempfile.mkdtemp()) as run:
        ...     run.metric("loss", 0.5)
        >>> read_run(run.path, changes=False)["changes"]
        []
    """
    given: object = path  # users without a type checker pass anything
    if not isinstance(given, str | os.PathLike):
        msg = f"path must be a str or path, got {type(given).__name__}"
        raise InputTypeError(msg)
    run_dir = Path(path)
    if run_dir.name == RUN_FILE:
        run_dir = run_dir.parent
    info = _read_info(run_dir)
    metrics: dict[str, dict[str, list[Any]]] = {}
    skipped = 0
    try:
        data = (run_dir / METRICS_FILE).read_bytes()
    except FileNotFoundError:
        data = b""
    lines = data.split(b"\n")
    if lines.pop():
        skipped += 1  # a last line without its newline was cut by a crash
    try:  # one C-level parse of the whole file; line by line if a line is bad
        parsed: list[Any] = json.loads(b"[" + b",".join(lines) + b"]") if lines else []
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        parsed = [_loads(line) for line in lines]
    for item in parsed:
        record = _check_record(item)
        if record is None:
            skipped += 1
            continue
        name, step, value, ts = record
        history = metrics.get(name)
        if history is None:
            history = metrics[name] = {"steps": [], "values": [], "timestamps": []}
        history["steps"].append(step)
        history["values"].append(value)
        history["timestamps"].append(ts)
    changes_read, bad = _read_changes(run_dir) if changes else ([], 0)
    info["metrics"] = metrics
    info["changes"] = changes_read
    info["skipped_lines"] = skipped + bad
    return info


def _read_changes(run_dir: Path) -> tuple[list[dict[str, Any]], int]:
    # changes.jsonl: the change records of a watched TrackedDict, if any.
    try:
        data = (run_dir / CHANGES_FILE).read_bytes()
    except FileNotFoundError:
        return [], 0
    changes, bad = [], 0
    for line in data.split(b"\n"):
        if not line:
            continue
        item = _loads(line)
        if isinstance(item, dict):
            changes.append(item)
        else:
            bad += 1
    return changes, bad


def _read_info(run_dir: Path) -> dict[str, Any]:
    file = run_dir / RUN_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"no run at {run_dir}: {RUN_FILE} is missing"
        raise RunNotFoundError(msg) from None
    except IsADirectoryError:  # pragma: no cover - a directory named run.json
        msg = f"no run at {run_dir}: {RUN_FILE} is not a file"
        raise RunNotFoundError(msg) from None
    try:
        info = json.loads(text)
    except ValueError as exc:
        msg = f"{file} is not valid JSON: {exc}"
        raise CorruptRunError(msg) from None
    except RecursionError:
        msg = f"{file} is not a run record: its JSON is nested too deeply to read"
        raise CorruptRunError(msg) from None
    if not isinstance(info, dict) or not isinstance(info.get("id"), str):
        msg = f"{file} is not a run record (a JSON object with an 'id')"
        raise CorruptRunError(msg)
    results = info.get("results")
    if isinstance(results, dict):
        try:
            info["results"] = {k: decode_number(v) for k, v in results.items()}
        except InputTypeError as exc:
            msg = f"{file} holds a result that is not a number: {exc}"
            raise CorruptRunError(msg) from None
    info["path"] = str(run_dir)
    return info


def _loads(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        return None


def _check_record(record: Any) -> tuple[str, int, float, int] | None:
    try:
        name = record["name"]
        step = record["step"]
        value = decode_number(record["value"])
        ts = record["timestamp"]
    except (TypeError, KeyError):
        return None
    if (
        not isinstance(name, str)
        or type(step) is not int
        or step < 0
        or type(ts) is not int
    ):
        return None
    return name, step, value, ts


def read_run_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """One run's record without its metrics: what :func:`list_runs` gives per run.

    For readers that walk the store themselves (the command line shows
    progress over thousands of runs this way).

    Args:
        path: the run's directory.

    Raises:
        RunNotFoundError: no ``run.json`` at *path*.
        CorruptRunError: ``run.json`` is not a run record.
    """
    return _read_info(Path(path))
