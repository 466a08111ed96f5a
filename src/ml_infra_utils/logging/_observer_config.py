"""observers_from_config: observers built from JSON, from an allow-list of kinds.

Private: the public name is re-exported by :mod:`ml_infra_utils.logging.changes`.

A config never names code: each item picks a *kind* from a fixed table, and the
objects a kind needs (an S3 client, a Kafka producer, an SSL context, a
Counter, a queue) are passed in by the program under names the config refers
to. Nothing is imported and nothing is called at load time except the
observers' own constructors.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from ml_infra_utils._errors import InputTypeError, InvalidParameterError

from ._change import Change
from ._exporters import HttpExporter, JsonLinesExporter, KafkaExporter, S3Exporter
from ._observers import (
    AsyncQueueObserver,
    ChangeCollector,
    CounterObserver,
    FilteredObserver,
    LoggingObserver,
)

__all__ = ["OBSERVER_KINDS", "observers_from_config"]

Observer = Callable[[Change], object]

# kind -> (options taken as they are, options naming an object in `objects`)
_TABLE: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "collector": (frozenset({"capacity"}), frozenset()),
    "counter": (frozenset({"labels"}), frozenset({"counter"})),
    "filter": (frozenset({"actions", "path_prefix", "observer"}), frozenset()),
    "http": (
        frozenset(
            {"url", "api_key", "name", "runs_dir", "batch_size", "flush_interval"}
            | {"timeout", "max_retry_delay", "shutdown_timeout"}
        ),
        frozenset({"ssl_context"}),
    ),
    "jsonl": (frozenset({"path"}), frozenset()),
    "kafka": (frozenset({"topic"}), frozenset({"producer"})),
    "logging": (frozenset({"logger", "level"}), frozenset()),
    "queue": (frozenset({"as_dict"}), frozenset({"queue", "loop"})),
    "s3": (
        frozenset(
            {
                "bucket",
                "prefix",
                "batch_size",
                "flush_interval",
                "max_buffer",
                "shutdown_timeout",
            }
        ),
        frozenset({"client"}),
    ),
}
OBSERVER_KINDS = tuple(sorted(_TABLE))
"""The kinds :func:`observers_from_config` builds."""


def observers_from_config(
    config: Any, /, *, objects: Mapping[str, Any] | None = None
) -> list[Observer]:
    """Build observers from a JSON config, choosing only from a fixed set of kinds.

    The config is a list of items ``{"kind": ..., <options>}``:

    ========== =============================================================
    kind       options
    ========== =============================================================
    collector  ``capacity``
    logging    ``logger`` (a name), ``level`` (``"INFO"`` or a number)
    jsonl      ``path``
    filter     ``observer`` (a nested item), ``actions``, ``path_prefix``
    http       ``url``, ``api_key``, ``name``, ``runs_dir``, ``batch_size``,
               ``flush_interval``, ``timeout``, ``max_retry_delay``,
               ``shutdown_timeout``, ``ssl_context`` (object name)
    s3         ``client`` (object name), ``bucket``, ``prefix``, ``batch_size``,
               ``flush_interval``, ``max_buffer``, ``shutdown_timeout``
    kafka      ``producer`` (object name), ``topic``
    counter    ``counter`` (object name), ``labels``
    queue      ``queue`` (object name), ``loop`` (object name), ``as_dict``
    ========== =============================================================

    Options marked "object name" are looked up in *objects*: the config says
    ``"client": "s3"`` and the program passes ``objects={"s3": boto3_client}``.
    A config therefore cannot run code: nothing is imported, no factory is
    called, unlike pydatatracker's dotted-path loader.

    Args:
        config: the list (or one item on its own), or its JSON text
            (``str``/``bytes``), or a ``pathlib.Path`` to a JSON file.
        objects: the objects the config may refer to by name.

    Returns:
        The observers, in config order (add them with ``add_observer`` or pass
        them as ``observers=``).

    Raises:
        InvalidParameterError: an unknown kind (the message lists the valid
            ones), an unknown option, a missing or unknown object name, or
            JSON that is neither a list of objects nor one object.
        InputTypeError: *config* is of none of the accepted types.

    Examples:
        >>> [collector] = observers_from_config(
        ...     '[{"kind": "collector", "capacity": 10}]'
        ... )
        >>> collector
        ChangeCollector(records=0)
        >>> observers_from_config([{"kind": "webhook"}])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ml_infra_utils.InvalidParameterError: ... valid kinds: collector, counter, ...
    """
    items = _load(config)
    named = dict(objects or {})
    return [_build(item, f"config[{i}]", named) for i, item in enumerate(items)]


def _load(config: Any) -> list[Any]:
    if isinstance(config, os.PathLike):
        with open(config, encoding="utf-8") as file:
            config = file.read()
    if isinstance(config, str | bytes | bytearray):
        try:
            config = json.loads(config)
        except ValueError as exc:
            msg = f"config is not valid JSON: {exc}"
            raise InvalidParameterError(msg) from None
    elif not isinstance(config, list | tuple | dict):
        msg = (
            "config must be a list of observer items, their JSON text or a "
            f"pathlib.Path, got {type(config).__name__}"
        )
        raise InputTypeError(msg)
    if isinstance(config, dict):
        config = [config]
    if not isinstance(config, list | tuple):
        msg = (
            f"config must be a JSON list of observer items, got {type(config).__name__}"
        )
        raise InvalidParameterError(msg)
    return list(config)


def _build(item: Any, where: str, objects: dict[str, Any]) -> Observer:
    if not isinstance(item, dict) or "kind" not in item:
        msg = f'{where} must be an object with a "kind", got {item!r}'
        raise InvalidParameterError(msg)
    kind = item["kind"]
    if not isinstance(kind, str) or kind not in _TABLE:
        valid = ", ".join(OBSERVER_KINDS)
        what = (
            "kind"
            if isinstance(kind, str)
            else f"kind (not a string) {type(kind).__name__}"
        )
        msg = f"{where}: unknown observer {what} {kind!r}; valid kinds: {valid}"
        raise InvalidParameterError(msg)
    plain, refs = _TABLE[kind]
    options = {k: v for k, v in item.items() if k != "kind"}
    unknown = sorted(set(options) - plain - refs)
    if unknown:
        allowed = ", ".join(sorted(plain | refs)) or "none"
        msg = (
            f"{where}: unknown option(s) {unknown} for kind {kind!r}; "
            f"allowed: {allowed}"
        )
        raise InvalidParameterError(msg)
    for name in refs:
        if name in options:
            options[name] = _lookup(options[name], f"{where}.{name}", objects)
    try:
        return _make(kind, options, where, objects)
    except KeyError as exc:
        msg = f"{where}: a {kind!r} observer needs the option {exc}"
        raise InvalidParameterError(msg) from None
    except TypeError as exc:  # a required option is missing
        msg = f"{where}: cannot build a {kind!r} observer: {exc}"
        raise InvalidParameterError(msg) from None


def _lookup(name: Any, where: str, objects: dict[str, Any]) -> Any:
    if not isinstance(name, str) or name not in objects:
        available = ", ".join(sorted(objects)) or "none were passed"
        msg = (
            f"{where} must name one of the objects passed in objects= "
            f"({available}), got {name!r}"
        )
        raise InvalidParameterError(msg)
    return objects[name]


def _make(  # noqa: PLR0911 - one return per kind
    kind: str, options: dict[str, Any], where: str, objects: dict[str, Any]
) -> Observer:
    if kind == "collector":
        return ChangeCollector(**options)
    if kind == "logging":
        level = options.get("level", logging.INFO)
        if isinstance(level, str):
            levels = logging.getLevelNamesMapping()
            if level.upper() not in levels:
                names = ", ".join(levels)
                msg = f"{where}.level must be a level name ({names}), got {level!r}"
                raise InvalidParameterError(msg)
            level = levels[level.upper()]
        return LoggingObserver(options.get("logger"), level=level)
    if kind == "jsonl":
        return JsonLinesExporter(options.pop("path"))
    if kind == "filter":
        if "observer" not in options:
            msg = f'{where}: a "filter" needs an "observer" item'
            raise InvalidParameterError(msg)
        inner = _build(options.pop("observer"), f"{where}.observer", objects)
        return FilteredObserver(inner, **options)
    if kind == "http":
        return HttpExporter(options.pop("url"), **options)
    if kind == "s3":
        return S3Exporter(options.pop("client"), options.pop("bucket"), **options)
    if kind == "kafka":
        return KafkaExporter(options["producer"], options["topic"])
    if kind == "counter":
        return CounterObserver(options.pop("counter"), **options)
    return AsyncQueueObserver(options.pop("queue"), **options)
