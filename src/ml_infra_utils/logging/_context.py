"""The log context: fields every record carries while a ``with`` block runs.

Kept in one :class:`contextvars.ContextVar`, so it follows the code that runs:
an asyncio task sees the context of the code that created it (tasks copy the
context when they are created) and its own changes stay inside the task; a new
thread starts with an empty context unless it is started through
``contextvars.copy_context().run``.

Examples:
    >>> with log_context(run_id="r1"):
    ...     with log_context(epoch=3):
    ...         current_context()
    {'run_id': 'r1', 'epoch': 3}
    >>> current_context()
    {}
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

__all__ = ["CONTEXT", "Captured", "current_context", "log_context"]

_EMPTY: Mapping[str, object] = {}
# Each value is a fresh dict that nobody mutates afterwards: a copy of the
# context (a task, copy_context) can share it safely.
CONTEXT: contextvars.ContextVar[Mapping[str, object]] = contextvars.ContextVar(
    "ml_infra_utils.logging.context", default=_EMPTY
)


class Captured(dict[str, object]):
    """A record's context that already holds the contextvars fields of its call.

    A formatter running later (a queue, another thread) must not merge the
    contextvars context of *its* thread into it.
    """

    __slots__ = ()


def current_context() -> dict[str, object]:
    """A copy of the fields :func:`log_context` has bound here and now."""
    return dict(CONTEXT.get())


@contextmanager
def log_context(**fields: object) -> Iterator[Mapping[str, object]]:
    """Add *fields* to every record logged inside the ``with`` block.

    Nested blocks merge (inner values win) and each block restores the outer
    context when it ends, also on an exception. The fields land in each
    record's ``context`` object, beneath the fields a
    :class:`~ml_infra_utils.StructuredLogger` was bound with and those of the
    call itself, which win on a clash. Records of plain stdlib loggers get them
    too, when a :class:`~ml_infra_utils.JsonFormatter` formats them in the
    logging thread.

    Works in threads and asyncio tasks alike: each sees only its own context
    (see the module docstring for how contexts are inherited).

    Args:
        **fields: Any names and values (values are JSON-encoded when a record
            is written).

    Yields:
        The merged context now in force (read-only by convention).

    Examples:
        >>> import io
        >>> from ml_infra_utils import StructuredLogger
        >>> out = io.StringIO()
        >>> log = StructuredLogger("train", stream=out)
        >>> with log_context(run_id="r1"):
        ...     log.info("epoch end", loss=0.25)
        >>> '"context":{"run_id":"r1","loss":0.25}' in out.getvalue()
        True
    """
    merged = {**CONTEXT.get(), **fields}
    token = CONTEXT.set(merged)
    try:
        yield MappingProxyType(merged)
    finally:
        try:
            CONTEXT.reset(token)
        except ValueError:
            # Exited in another context than it entered (e.g. a generator
            # resumed elsewhere): drop our fields there instead of failing.
            outer = {k: v for k, v in CONTEXT.get().items() if k not in fields}
            CONTEXT.set(outer)
