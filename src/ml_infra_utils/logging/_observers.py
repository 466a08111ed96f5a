"""Observers of tracked containers: collect, log, filter, queue, count.

Private: the public names are re-exported by :mod:`ml_infra_utils.logging.changes`.
An observer is any callable taking one :class:`~ml_infra_utils.Change`; these
are the ready-made ones. Exporters (observers that write to a sink) are in
``_exporters.py``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ml_infra_utils._errors import InputTypeError, InvalidParameterError

from ._change import ACTIONS, Change

__all__ = [
    "AsyncQueueObserver",
    "ChangeCollector",
    "CounterObserver",
    "FilteredObserver",
    "LoggingObserver",
]


class ChangeCollector:
    """Keeps the records it observes, optionally only the last *capacity*.

    Thread-safe; iterating gives the records oldest first.

    Args:
        capacity: keep at most this many (the oldest are dropped); ``None``
            keeps all.

    Examples:
        >>> from ml_infra_utils import TrackedDict
        >>> collector = ChangeCollector()
        >>> config = TrackedDict({"lr": 0.1}, observers=[collector])
        >>> config["lr"] = 0.2
        >>> len(collector), collector.last().new
        (1, 0.2)
    """

    def __init__(self, *, capacity: int | None = None) -> None:
        if capacity is not None:
            if type(capacity) is not int:
                kind = type(capacity).__name__
                msg = f"capacity must be an int >= 1 or None, got {kind}"
                raise InputTypeError(msg)
            if capacity < 1:
                msg = f"capacity must be an int >= 1 or None, got {capacity!r}"
                raise InvalidParameterError(msg)
        self._records: deque[Change] = deque(maxlen=capacity)

    def __call__(self, record: Change) -> None:
        self._records.append(record)

    @property
    def records(self) -> list[Change]:
        """The records kept, oldest first."""
        return list(self._records)

    def last(self) -> Change | None:
        """The newest record, or ``None``."""
        try:
            return self._records[-1]
        except IndexError:
            return None

    def clear(self) -> None:
        """Forget every record."""
        self._records.clear()

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Change]:
        return iter(list(self._records))

    def __repr__(self) -> str:
        return f"ChangeCollector(records={len(self._records)})"


def _check_names(given: object, noun: str, valid: Sequence[str]) -> tuple[str, ...]:
    """*given* as a tuple of *noun* names from *valid*: one name or several.

    Raises:
        InputTypeError: neither a string nor an iterable of strings.
        InvalidParameterError: a name not in *valid* (the message lists them).

    Examples:
        >>> _check_names("add", "action", ("add", "remove"))
        ('add',)
    """
    if isinstance(given, str):
        given = (given,)
    if not isinstance(given, Iterable) or isinstance(given, Mapping):
        msg = f"{noun}s must be a {noun} name or names, got {type(given).__name__}"
        raise InputTypeError(msg)
    names: tuple[object, ...] = tuple(given)
    chosen = tuple(name for name in names if isinstance(name, str))
    if len(chosen) != len(names):
        wrong = next(name for name in names if not isinstance(name, str))
        msg = f"{noun}s must be strings, got {type(wrong).__name__}"
        raise InputTypeError(msg)
    unknown = sorted(set(chosen) - set(valid))
    if unknown:
        msg = f"unknown {noun}(s) {unknown}; valid: {', '.join(valid)}"
        raise InvalidParameterError(msg)
    return chosen


def _check_actions(actions: Iterable[str] | None) -> frozenset[str] | None:
    if actions is None:
        return None
    return frozenset(_check_names(actions, "action", ACTIONS))


class FilteredObserver:
    """Passes on only the records with one of *actions* and under *path_prefix*.

    Args:
        observer: the observer to call.
        actions: the actions to pass (default all).
        path_prefix: pass only records whose path starts with it, e.g.
            ``("optimizer",)``; a single string or int is a one-key prefix
            (``"optimizer"`` means ``("optimizer",)``; ``"a.b"`` is one key,
            not a dotted path).

    Examples:
        >>> from ml_infra_utils import TrackedDict
        >>> seen = ChangeCollector()
        >>> config = TrackedDict({"opt": {"lr": 0.1}, "seed": 0})
        >>> _ = config.add_observer(FilteredObserver(seen, path_prefix=("opt",)))
        >>> config["seed"] = 1
        >>> config["opt"]["lr"] = 0.2
        >>> [r.path for r in seen]
        [('opt', 'lr')]
    """

    def __init__(
        self,
        observer: Callable[[Change], object],
        *,
        actions: Iterable[str] | None = None,
        path_prefix: Sequence[Hashable] | str | int = (),
    ) -> None:
        given: object = observer  # users without a type checker pass anything
        if not callable(given):
            msg = f"observer must be callable, got {type(given).__name__}"
            raise InputTypeError(msg)
        self.observer = observer
        self.actions = _check_actions(actions)
        self.path_prefix = _as_prefix(path_prefix)

    def __call__(self, record: Change) -> None:
        if self.actions is not None and record.action not in self.actions:
            return
        prefix = self.path_prefix
        if prefix and record.path[: len(prefix)] != prefix:
            return
        self.observer(record)

    def __repr__(self) -> str:
        return (
            f"FilteredObserver({self.observer!r}, actions={self.actions!r}, "
            f"path_prefix={self.path_prefix!r})"
        )


def _as_prefix(path_prefix: object) -> tuple[Hashable, ...]:
    """*path_prefix* as a tuple of keys; a lone string (or key) is one key."""
    if isinstance(path_prefix, str | bytes | int):
        return (path_prefix,)
    if isinstance(path_prefix, Iterable) and not isinstance(path_prefix, Mapping):
        keys = tuple(path_prefix)
        for key in keys:
            if not isinstance(key, Hashable):
                msg = (
                    "path_prefix must hold keys (strings, ints, ...), got a "
                    f"{type(key).__name__} in it"
                )
                raise InputTypeError(msg)
        return keys
    msg = (
        "path_prefix must be a key or a sequence of keys, e.g. ('optimizer',), "
        f"got {type(path_prefix).__name__}"
    )
    raise InputTypeError(msg)


class LoggingObserver:
    """Logs every record to a stdlib logger, one message per change.

    The message is ``"change <seq> <action> <path> <old> -> <new>"`` and the
    record's fields go into the log record's ``extra`` under ``"change"`` (a
    :class:`~ml_infra_utils.JsonFormatter` writes them as JSON).

    Args:
        logger: a logger or a logger name (default
            ``"ml_infra_utils.logging.changes"``).
        level: the level to log at (default ``logging.INFO``).
    """

    def __init__(
        self, logger: logging.Logger | str | None = None, *, level: int = logging.INFO
    ) -> None:
        given: object = logger  # users without a type checker pass anything
        if given is None or isinstance(given, str):
            given = logging.getLogger(given or "ml_infra_utils.logging.changes")
        if not isinstance(given, logging.Logger):
            kind = type(given).__name__
            msg = f"logger must be a logging.Logger or a name, got {kind}"
            raise InputTypeError(msg)
        if type(level) is not int:
            msg = f"level must be an int (e.g. logging.INFO), got {level!r}"
            raise InputTypeError(msg)
        self.logger = given
        self.level = level

    def __call__(self, record: Change) -> None:
        if self.logger.isEnabledFor(self.level):
            self.logger.log(
                self.level,
                "change %d %s %r %r -> %r",
                record.seq,
                record.action,
                record.path,
                record.old,
                record.new,
                extra={"change": record.to_dict()},
            )

    def __repr__(self) -> str:
        return f"LoggingObserver({self.logger.name!r}, level={self.level})"


class AsyncQueueObserver:
    """Puts every record on an ``asyncio.Queue``, from any thread.

    The record is handed to the queue's event loop with
    ``loop.call_soon_threadsafe(queue.put_nowait, ...)``, so a change made in
    a worker thread (or in the loop itself) never blocks and never touches
    the queue outside its loop; the consumer gets it at its next ``await``.
    When the queue is full the record is dropped and counted in
    :attr:`dropped`.

    Args:
        queue: the queue.
        loop: its event loop; by default the running loop (so create the
            observer inside a coroutine, or pass the loop).
        as_dict: put ``record.to_dict()`` instead of the record.

    Raises:
        InvalidParameterError: no loop was given and none is running.

    Examples:
        >>> import asyncio
        >>> from ml_infra_utils import TrackedList
        >>> async def main():
        ...     queue = asyncio.Queue()
        ...     steps = TrackedList(observers=[AsyncQueueObserver(queue)])
        ...     steps.append("warmup")
        ...     return (await queue.get()).new
        >>> asyncio.run(main())
        'warmup'
    """

    def __init__(
        self,
        queue: asyncio.Queue[Any],
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        as_dict: bool = False,
    ) -> None:
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                msg = (
                    "AsyncQueueObserver needs the queue's event loop: create it "
                    "inside a coroutine or pass loop=..."
                )
                raise InvalidParameterError(msg) from None
        flag: object = as_dict  # users without a type checker pass anything
        if not isinstance(flag, bool):
            msg = f"as_dict must be True or False, got {flag!r}"
            raise InputTypeError(msg)
        self.queue = queue
        self.loop = loop
        self.as_dict = as_dict
        self.dropped = 0
        self._lock = threading.Lock()

    def __call__(self, record: Change) -> None:
        item: Any = record.to_dict() if self.as_dict else record
        self.loop.call_soon_threadsafe(self._put, item)

    def _put(self, item: Any) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            with self._lock:
                self.dropped += 1

    def __repr__(self) -> str:
        return f"AsyncQueueObserver(queue={self.queue!r}, dropped={self.dropped})"


_LABELS = ("action", "actor", "key")


class CounterObserver:
    """Counts changes in a prometheus_client-style Counter.

    Calls ``counter.labels(**labels).inc()`` per record (duck-typed: any object
    with that shape works, the package imports nothing). The Counter must be
    declared with the same label names, e.g. ``Counter("config_changes_total",
    "...", ["action"])``.

    Args:
        counter: the counter.
        labels: which labels to set, from ``"action"``, ``"actor"`` (empty
            string when none) and ``"key"`` (the first element of the path,
            empty for the container itself).

    Raises:
        InputTypeError: *counter* has no ``labels`` method.
        InvalidParameterError: an unknown label.
    """

    def __init__(self, counter: Any, *, labels: Sequence[str] = ("action",)) -> None:
        if not callable(getattr(counter, "labels", None)):
            msg = (
                "counter must be a prometheus_client-style Counter with a "
                f"labels() method, got {type(counter).__name__}"
            )
            raise InputTypeError(msg)
        chosen = _check_names(labels, "label", _LABELS)
        self.counter = counter
        self.labels = chosen

    def __call__(self, record: Change) -> None:
        values = {}
        for label in self.labels:
            if label == "action":
                values[label] = record.action
            elif label == "actor":
                values[label] = record.actor or ""
            else:
                values[label] = str(record.path[0]) if record.path else ""
        self.counter.labels(**values).inc()

    def __repr__(self) -> str:
        return f"CounterObserver({self.counter!r}, labels={self.labels!r})"
