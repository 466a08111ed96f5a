"""Finding runs in the local store for the ``runs`` commands.

The layout is the contract of ``docs/runs.md``: ``<root>/<experiment>/<run id>/
run.json``. Directories starting with a dot (the HTTP sink's ``.spool``) and
directories without a ``run.json`` are not runs, as for
:func:`~ml_infra_utils.list_runs`.

A ``RUN`` argument is, in this order: a run directory (or its ``run.json``);
``EXPERIMENT/ID`` where ``ID`` may be a prefix of the run id; a run id or a
prefix of one. When no id starts with the prefix, the random part of the ids
(after the last ``-``: ``d85c2cd6`` in ``20261124-031416-d85c2cd6``) is
matched instead, and then the runs' names (``Run(name=...)``, exactly). A
prefix or name that matches several runs is an error listing them.

Examples:
    >>> import tempfile
    >>> from ml_infra_utils import Run
    >>> root = tempfile.mkdtemp()
    >>> with Run("demo", runs_dir=root, name="baseline", fsync=False) as run:
    ...     run.metric("loss", 0.5)
    >>> find_run("baseline", root) == find_run(run.id[-8:], root) == run.path
    True
    >>> find_run(f"demo/{run.id[:9]}", root) == run.path
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml_infra_utils._errors import (
    CorruptRunError,
    InvalidParameterError,
    RunNotFoundError,
)
from ml_infra_utils.logging._records import RUN_FILE
from ml_infra_utils.logging._settings import ENV_RUNS_DIR, env_str, runs_dir_setting
from ml_infra_utils.logging._store import read_run_info

if TYPE_CHECKING:
    from .progress import Progress

__all__ = [
    "experiments",
    "find_run",
    "read_runs",
    "run_dirs",
    "skipped_lines_note",
    "store_root",
]

_SHOWN = 8  # candidates an ambiguity error names


def store_root(runs_dir: str | None) -> Path:
    """The store's root: *runs_dir*, ``$ML_INFRA_UTILS_RUNS_DIR`` or ``./runs``.

    Raises:
        RunNotFoundError: it does not exist or is not a directory; the message
            says where the path came from.
    """
    root = runs_dir_setting(runs_dir)
    if root.is_dir():
        return root
    if runs_dir is not None:
        source = "--runs-dir"
    elif env_str(ENV_RUNS_DIR, None) is not None:
        source = f"from ${ENV_RUNS_DIR}"
    else:
        source = f"the default; use --runs-dir DIR or set ${ENV_RUNS_DIR}"
    what = "is not a directory" if root.exists() else "does not exist"
    msg = f"runs directory {root} {what} ({source})"
    raise RunNotFoundError(msg)


def experiments(root: Path) -> list[str]:
    """The experiment directories of the store, sorted."""
    return sorted(
        d.name for d in root.iterdir() if not d.name.startswith(".") and d.is_dir()
    )


def run_dirs(root: Path, *, experiment: str | None = None) -> list[Path]:
    """Every run directory of the store (or of one experiment), sorted."""
    names = experiments(root)
    if experiment is not None:  # a name, never a path: "../x" or "/etc" find nothing
        names = [name for name in names if name == experiment]
    found = []
    for name in names:
        found += [
            d for d in sorted((root / name).iterdir()) if (d / RUN_FILE).is_file()
        ]
    return found


def read_runs(
    root: Path, *, experiment: str | None = None, progress: Progress | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The records of the store's runs, oldest first, as ``list_runs`` gives them.

    Returns:
        The run records and, for each run that could not be read, a message
        naming it and why.
    """
    dirs = run_dirs(root, experiment=experiment)
    if progress is not None:
        progress.total = len(dirs)
    runs, problems = [], []
    for i, run_dir in enumerate(dirs):
        if progress is not None:
            progress.update(i)
        try:
            runs.append(read_run_info(run_dir))
        except (CorruptRunError, OSError) as exc:
            problems.append(f"skipped {run_dir}: {exc}")
    runs.sort(key=lambda r: (str(r.get("start_time") or ""), str(r.get("id"))))
    return runs, problems


def _name_of(run_dir: Path) -> object:
    try:
        return read_run_info(run_dir).get("name")
    except (CorruptRunError, OSError):
        return None


def find_run(spec: str, runs_dir: str | None) -> Path:
    """The directory of the run that *spec* names.

    Raises:
        RunNotFoundError: no run matches (or the store does not exist).
        InvalidParameterError: *spec* is empty, or a prefix matching several
            runs (the message lists them).
    """
    if not spec.strip():
        msg = "RUN is empty: give a run id, an id prefix, EXPERIMENT/ID or a path"
        raise InvalidParameterError(msg)
    path = Path(spec)
    if path.name == RUN_FILE and path.is_file():
        return path.parent
    if (path / RUN_FILE).is_file():
        return path
    experiment, slash, prefix = spec.partition("/")
    if slash and (not experiment or not prefix or "/" in prefix or path.is_dir()):
        msg = f"no run at {spec}: not a run directory (it holds no {RUN_FILE})"
        raise RunNotFoundError(msg)
    root = store_root(runs_dir)
    if slash:
        dirs = run_dirs(root, experiment=experiment)
    else:
        dirs, prefix = run_dirs(root), spec
    matches = [d for d in dirs if d.name.startswith(prefix)]
    exact = [d for d in matches if d.name == prefix]
    if exact:
        matches = exact
    elif not matches:  # the random part: the last 8 hex digits of an id
        matches = [d for d in dirs if d.name.rpartition("-")[2].startswith(prefix)]
    if not matches:  # a run's name (name=...), as a last resort
        matches = [d for d in dirs if _name_of(d) == prefix]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        msg = (
            f"no run matches {spec!r} in {root} "
            "(`ml-infra-utils runs list` shows the runs)"
        )
        raise RunNotFoundError(msg)
    names = [f"{d.parent.name}/{d.name}" for d in matches]
    listed = ", ".join(names[:_SHOWN])
    if len(names) > _SHOWN:
        listed += f" and {len(names) - _SHOWN} more"
    msg = (
        f"run {spec!r} is ambiguous: it matches {len(names)} runs: {listed}; "
        "give more of the id, or EXPERIMENT/ID"
    )
    raise InvalidParameterError(msg)


def skipped_lines_note(data: dict[str, Any]) -> str | None:
    """What ``runs show``/``export`` say about unreadable lines of *data*, if any.

    A running run's ``metrics.jsonl`` often ends mid-line while it is being
    written: that is said instead of blaming a crash.

    Examples:
        >>> skipped_lines_note({"skipped_lines": 0}) is None
        True
        >>> skipped_lines_note({"skipped_lines": 2, "status": "failed"})
        '2 unreadable lines of metrics.jsonl skipped (a crash can tear the last line)'
        >>> skipped_lines_note({"skipped_lines": 1, "status": "running"})
        '1 unreadable line of metrics.jsonl skipped (the run is still running: its last line may still be being written)'
    """  # noqa: E501 - a doctest's expected output is one line
    skipped = data.get("skipped_lines")
    if not isinstance(skipped, int) or skipped <= 0:
        return None
    plural = "line" if skipped == 1 else "lines"
    why = (
        "the run is still running: its last line may still be being written"
        if data.get("status") == "running"
        else "a crash can tear the last line"
    )
    return f"{skipped} unreadable {plural} of metrics.jsonl skipped ({why})"
