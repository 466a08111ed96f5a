"""Progress of a long command: one updating line on stderr, only on a terminal.

The line is redrawn in place with ``\\r`` at most ten times a second and wiped
when the work is done, so it never mixes with the command's output. When
stderr is not a terminal (a pipe, a file, a CI log) nothing at all is written.

Examples:
    >>> import io
    >>> class Tty(io.StringIO):
    ...     def isatty(self):
    ...         return True
    >>> err = Tty()
    >>> with Progress("reading runs", total=3, stream=err) as progress:
    ...     for done in range(1, 4):
    ...         progress.update(done)
    >>> err.getvalue().split("\\r")[1]
    'reading runs 1/3 (33%)'
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType
    from typing import TextIO

__all__ = ["Progress", "format_bytes", "is_terminal"]

_MAX_WIDTH = 78  # a line longer than the terminal would wrap and not redraw


def is_terminal(stream: object) -> bool:
    """Whether *stream* is a terminal (``False`` for anything without ``isatty``).

    Examples:
        >>> import io
        >>> is_terminal(io.StringIO())
        False
    """
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed or detached stream
        return False


def format_bytes(count: int) -> str:
    """A byte count for people: ``512 B``, ``1.5 kB``, ``12.0 MB``.

    Examples:
        >>> format_bytes(512), format_bytes(1536), format_bytes(12 * 10**6)
        ('512 B', '1.5 kB', '12.0 MB')
    """
    if count < 1000:
        return f"{count} B"
    value = count / 1000
    units = ["kB", "MB", "GB", "TB"]
    while value >= 1000 and len(units) > 1:
        value /= 1000
        units.pop(0)
    return f"{value:.1f} {units[0]}"


def _count(n: int) -> str:
    return f"{n:,}" if n >= 10_000 else str(n)


class Progress:
    """One line on *stream* telling how far a long operation is.

    Args:
        label: What is being done, e.g. ``"reading runs"``.
        total: How many units there are, if known (a percentage is shown).
        stream: Where to draw; ``sys.stderr`` by default.
        enabled: Draw at all; by default only when *stream* is a terminal.
        fmt: How a count of units is shown (e.g. :func:`format_bytes`).
        interval: The least seconds between two redraws.
        clock: A monotonic clock (seconds), for tests.
    """

    def __init__(
        self,
        label: str,
        *,
        total: int | None = None,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        fmt: Callable[[int], str] = _count,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = is_terminal(self.stream) if enabled is None else enabled
        self.label = label
        self.total = total
        self._fmt = fmt
        self._interval = interval
        self._clock = clock
        self._last: float | None = None
        self._shown = 0  # the length of the line on screen

    def update(self, done: int) -> None:
        """Report *done* units finished; redraws if enough time has passed."""
        if not self.enabled:
            return
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            return
        self._last = now
        text = f"{self.label} {self._fmt(done)}"
        if self.total is not None:
            percent = 100 * done // self.total if self.total else 100
            text += f"/{self._fmt(self.total)} ({percent}%)"
        text = text[:_MAX_WIDTH]
        pad = " " * max(0, self._shown - len(text))
        self._write("\r" + text + pad)
        self._shown = len(text)

    def close(self) -> None:
        """Wipe the line (if one was drawn); the cursor is back at its start."""
        if self._shown:
            self._write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a vanished terminal must not fail the work
            self.enabled = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
