"""Where a command's output goes: stdout, a file written atomically, stderr notes.

Examples:
    >>> import io, math
    >>> out = io.StringIO()
    >>> write_json({"loss": math.nan, "steps": [0, 1]}, out, indent=None)
    >>> out.getvalue()
    '{"loss": "NaN", "steps": [0, 1]}\\n'
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import TextIO

__all__ = ["atomic_text_file", "json_ready", "note", "prepare", "write_json"]


def prepare(stream: TextIO) -> TextIO:
    """*stream*, set to escape characters its encoding cannot write.

    A run's experiment name may hold any letter; on a terminal or pipe whose
    encoding is ASCII it is then shown as ``\\u5b9f`` instead of failing the
    whole command.
    """
    reconfigure = getattr(stream, "reconfigure", None)
    if callable(reconfigure) and getattr(stream, "errors", "strict") == "strict":
        with contextlib.suppress(OSError, ValueError, TypeError):
            reconfigure(errors="backslashreplace")
    return stream


def note(message: str, *, kind: str = "warning") -> None:
    """One line on stderr: ``ml-infra-utils: warning: <message>``."""
    prepare(sys.stderr).write(f"ml-infra-utils: {kind}: {message}\n")


def json_ready(value: Any) -> Any:
    """*value* with every NaN and infinity replaced by the store's strings.

    ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, as in ``metrics.jsonl``, so
    the output is strict JSON that jq and JavaScript read.

    Examples:
        >>> json_ready({"a": [1.5, float("-inf")], "b": (float("nan"),)})
        {'a': [1.5, '-Infinity'], 'b': ['NaN']}
    """
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def write_json(value: Any, stream: TextIO, *, indent: int | None = 2) -> None:
    """*value* as strict JSON on *stream*, followed by a newline."""
    text = json.dumps(
        json_ready(value), indent=indent, ensure_ascii=False, allow_nan=False
    )
    stream.write(text + "\n")


@contextlib.contextmanager
def atomic_text_file(path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """A text file that replaces *path* only once it is completely written.

    A new path or a regular file is written as a temporary file next to it
    and renamed over it at the end, so an error (a full disk, Ctrl-C) leaves
    the old file untouched and no half-written one behind; the old file's
    permission bits (and, where allowed, its owner) are kept. A symbolic link
    is followed: its target is replaced and the link stays. Anything else (a
    FIFO, a character device such as ``/dev/null``, ``/dev/stdout``) is opened
    and written directly, never replaced.

    Examples:
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> with atomic_text_file(folder / "out.csv") as file:
        ...     _ = file.write("step,value\\n")
        >>> (folder / "out.csv").read_text()
        'step,value\\n'
    """
    target = Path(path)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    try:
        info: os.stat_result | None = target.stat()
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    if info is not None and not stat.S_ISREG(info.st_mode):
        with target.open("w", encoding="utf-8", newline="") as direct:
            yield direct
        return
    if not target.parent.is_dir():
        where = str(target.parent)
        raise FileNotFoundError(errno.ENOENT, "No such directory", where)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with temp.open("w", encoding="utf-8", newline="") as file:
            if info is not None:
                _keep_owner_and_mode(temp, info)
            yield file
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def _keep_owner_and_mode(path: Path, info: os.stat_result) -> None:
    """Give the file *path* the owner (if allowed) and mode bits of *info*."""
    chown = getattr(os, "chown", None)
    if chown is not None:
        with contextlib.suppress(OSError):  # only root may give a file away
            chown(path, info.st_uid, info.st_gid)
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IMODE(info.st_mode))
