"""Process-wide care of open runs: interpreter exit, SIGTERM and fork.

Every open run registers here. Three hooks, installed by the first run (never at
import), keep their records safe:

* **exit** (``atexit``): each open run is flushed and ended, "finished", or
  "failed" when an uncaught exception is ending the interpreter;
* **SIGTERM**, only while a run that asked for it is open: every open run is
  flushed; then, if SIGTERM had its default action, the runs are ended "killed"
  and the signal is delivered again so the process still dies of SIGTERM; if a
  Python handler was installed before, it is called instead and decides;
* **fork**: in the child, every inherited run is detached: its buffer (the
  parent's records) is dropped, nothing is written at the child's exit, and
  logging to it raises. The child may start runs of its own.

The handler runs in the main thread between two bytecodes of whatever it was
doing. If that was a run's own code holding a lock (a flush, a write under
backpressure, waking the writer, an update of params, starting or ending a
run), handling the signal there would take the same lock again and deadlock,
or cut a batch in half; so those sections are marked :func:`critical` and a
signal arriving inside one is handled as soon as it ends.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, Protocol

from ml_infra_utils._errors import RunStateError

__all__ = [
    "acquire_sigterm",
    "critical",
    "guarded",
    "on_fork_child",
    "open_runs",
    "register",
    "release_sigterm",
    "unregister",
]

_log = logging.getLogger("ml_infra_utils.logging.runs")


class Managed(Protocol):
    """What this module needs from a run."""

    def _end_at_exit(self) -> None: ...
    def _flush_for_signal(self) -> None: ...
    def _end_for_signal(self, signum: int) -> None: ...
    def _detach_after_fork(self) -> None: ...


# Reentrant: the SIGTERM handler runs in the main thread, maybe inside one of
# these functions.
_lock = threading.RLock()
_open: dict[int, Managed] = {}
_hooks_installed = False
_fork_callbacks: list[Callable[[], None]] = []
_local = threading.local()

_sigterm_users = 0
_sigterm_previous: Any = None
_pending_signal: int | None = None


def register(run: Managed) -> None:
    """Track *run* until it ends; install the exit and fork hooks once."""
    global _hooks_installed  # noqa: PLW0603 - process-wide state by design
    with _lock:
        if not _hooks_installed:
            atexit.register(_at_exit)
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork_in_child)
            _hooks_installed = True
        _open[id(run)] = run


def unregister(run: Managed) -> None:
    """Stop tracking *run* (it has ended)."""
    with _lock:
        _open.pop(id(run), None)


def open_runs() -> list[Managed]:
    """The runs open in this process, oldest first."""
    with _lock:
        return list(_open.values())


def on_fork_child(callback: Callable[[], None]) -> None:
    """Call *callback* in a forked child, after the runs are detached."""
    _fork_callbacks.append(callback)


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """Mark a section a SIGTERM must not cut: the signal waits until it ends."""
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    try:
        yield
    finally:
        _local.depth = depth
        if depth == 0 and _pending_signal is not None:
            _deliver_pending()


@contextlib.contextmanager
def guarded(lock: threading.Lock | threading.RLock) -> Iterator[None]:
    """Hold *lock* in a :func:`critical` section."""
    with critical(), lock:
        yield


def _at_exit() -> None:
    for run in open_runs():
        try:
            run._end_at_exit()
        except Exception:
            _log.exception("could not flush and end a run at interpreter exit")


def _after_fork_in_child() -> None:
    global _lock, _sigterm_users, _pending_signal  # noqa: PLW0603
    _lock = threading.RLock()
    runs = list(_open.values())
    _open.clear()
    for run in runs:
        run._detach_after_fork()
    _sigterm_users = 0
    _pending_signal = None
    _local.depth = 0
    for callback in _fork_callbacks:
        callback()


def acquire_sigterm() -> None:
    """Install the SIGTERM handler (once) for a run that asked for it.

    Raises:
        RunStateError: not called from the main thread (Python only lets the
            main thread install signal handlers).
    """
    global _sigterm_users, _sigterm_previous  # noqa: PLW0603
    if threading.current_thread() is not threading.main_thread():
        msg = (
            "handle_sigterm=True needs the run to start in the main thread "
            "(only the main thread may install signal handlers)"
        )
        raise RunStateError(msg)
    with _lock:
        if _sigterm_users == 0:
            current = signal.getsignal(signal.SIGTERM)
            # A process that ignores SIGTERM keeps ignoring it.
            if current is not _on_sigterm and current != signal.SIG_IGN:
                _sigterm_previous = current
                signal.signal(signal.SIGTERM, _on_sigterm)
        _sigterm_users += 1


def release_sigterm() -> None:
    """Restore the previous SIGTERM handler when no run needs ours any more."""
    global _sigterm_users  # noqa: PLW0603
    with _lock:
        _sigterm_users = max(0, _sigterm_users - 1)
        if (
            _sigterm_users == 0
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is _on_sigterm
        ):
            previous = _sigterm_previous
            signal.signal(
                signal.SIGTERM, signal.SIG_DFL if previous is None else previous
            )


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _pending_signal  # noqa: PLW0603
    if getattr(_local, "depth", 0):
        _pending_signal = signum  # finish the interrupted write section first
        return
    _handle_signal(signum, frame)


def _deliver_pending() -> None:
    global _pending_signal
    signum, _pending_signal = _pending_signal, None
    if signum is not None and threading.current_thread() is threading.main_thread():
        _handle_signal(signum, None)


def _handle_signal(signum: int, frame: FrameType | None) -> None:
    previous = _sigterm_previous
    runs = open_runs()
    if callable(previous):
        for run in runs:
            try:
                run._flush_for_signal()
            except Exception:
                _log.exception("could not flush a run on signal %d", signum)
        previous(signum, frame)
        return
    for run in runs:
        try:
            run._end_for_signal(signum)
        except Exception:
            _log.exception("could not end a run on signal %d", signum)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
