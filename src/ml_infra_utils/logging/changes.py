"""Change-tracking containers: every mutation becomes a faithful record.

:class:`TrackedDict`, :class:`TrackedList` and :class:`TrackedObject` behave
like a dict, a list and a plain object, and record each change as a
:class:`Change`: a frozen record with a ``seq``, a UTC ``timestamp``, the
``action``, the ``path`` from the container (a tuple of keys and indices), the
real ``old`` and ``new`` values and the ``actor`` set with
:func:`tracking_actor`. Dicts and lists stored inside become tracked children
whose changes reach every ancestor with the full path. Recording a change
costs a few hundred nanoseconds whatever the history's length.

The history (``changes()``, ``last_change()``, ``changes_since()``) can be
bounded (``max_history``), exported as RFC 6902 JSON Patch
(:func:`to_json_patch`), replayed onto a plain copy (:func:`replay`) and undone
(``undo()``, ``revert()``). Observers run after each change, isolated from
each other; ready-made ones collect (:class:`ChangeCollector`), log, filter,
feed an asyncio queue from any thread, count in a Prometheus Counter, and
export to JSON Lines, HTTP, S3 and Kafka; :func:`observers_from_config` builds
them from JSON without ever importing code. The guide is ``docs/changes.md``.

Examples:
    >>> from ml_infra_utils import TrackedDict, tracking_actor
    >>> config = TrackedDict({"optimizer": {"lr": 0.1}, "layers": [64, 32]})
    >>> with tracking_actor("lr-scheduler"):
    ...     config["optimizer"]["lr"] = 0.01
    >>> record = config.last_change()
    >>> record.action, record.path, record.old, record.new, record.actor
    ('replace', ('optimizer', 'lr'), 0.1, 0.01, 'lr-scheduler')
    >>> config.undo().path
    ('optimizer', 'lr')
    >>> config["optimizer"]["lr"]
    0.1
"""

from __future__ import annotations

from ._change import ACTIONS as CHANGE_ACTIONS
from ._change import Change, tracking_actor
from ._exporters import (
    HttpExporter,
    JsonLinesExporter,
    KafkaExporter,
    S3Exporter,
)
from ._observer_config import OBSERVER_KINDS, observers_from_config
from ._observers import (
    AsyncQueueObserver,
    ChangeCollector,
    CounterObserver,
    FilteredObserver,
    LoggingObserver,
)
from ._patch import replay, to_json_patch
from ._tracked import TrackedDict
from ._tracked_list import TrackedList
from ._tracked_object import TrackedObject

__all__ = [
    "CHANGE_ACTIONS",
    "OBSERVER_KINDS",
    "AsyncQueueObserver",
    "Change",
    "ChangeCollector",
    "CounterObserver",
    "FilteredObserver",
    "HttpExporter",
    "JsonLinesExporter",
    "KafkaExporter",
    "LoggingObserver",
    "S3Exporter",
    "TrackedDict",
    "TrackedList",
    "TrackedObject",
    "observers_from_config",
    "replay",
    "to_json_patch",
    "tracking_actor",
]

# Show the public location in reprs, tracebacks and pickles.
for _name in __all__:
    _obj = globals()[_name]
    if callable(_obj):
        _obj.__module__ = __name__
del _name, _obj
