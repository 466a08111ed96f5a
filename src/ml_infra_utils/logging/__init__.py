"""Structured JSON records: log lines, experiment runs and change tracking.

Our subpackage shares its name with the standard library module; code inside it
always uses absolute imports, so ``import logging`` means the stdlib."""

from __future__ import annotations

from ml_infra_utils.logging.changes import (
    AsyncQueueObserver,
    Change,
    ChangeCollector,
    CounterObserver,
    FilteredObserver,
    HttpExporter,
    JsonLinesExporter,
    KafkaExporter,
    LoggingObserver,
    S3Exporter,
    TrackedDict,
    TrackedList,
    TrackedObject,
    observers_from_config,
    replay,
    to_json_patch,
    tracking_actor,
)
from ml_infra_utils.logging.runs import (
    Run,
    active_run,
    end_run,
    list_runs,
    load_run,
    log_metric,
    log_metrics,
    log_params,
    log_result,
    start_run,
)
from ml_infra_utils.logging.sinks import MemorySink, RecordBatch, RunStoreSink, Sink
from ml_infra_utils.logging.structured import (
    AppendFileHandler,
    JsonFormatter,
    JsonLogger,
    StructuredLogger,
    configure_json_logging,
    log_context,
    log_ml_event,
)

__all__ = [
    "AppendFileHandler",
    "AsyncQueueObserver",
    "Change",
    "ChangeCollector",
    "CounterObserver",
    "FilteredObserver",
    "HttpExporter",
    "JsonFormatter",
    "JsonLinesExporter",
    "JsonLogger",
    "KafkaExporter",
    "LoggingObserver",
    "MemorySink",
    "RecordBatch",
    "Run",
    "RunStoreSink",
    "S3Exporter",
    "Sink",
    "StructuredLogger",
    "TrackedDict",
    "TrackedList",
    "TrackedObject",
    "active_run",
    "configure_json_logging",
    "end_run",
    "list_runs",
    "load_run",
    "log_context",
    "log_metric",
    "log_metrics",
    "log_ml_event",
    "log_params",
    "log_result",
    "observers_from_config",
    "replay",
    "start_run",
    "to_json_patch",
    "tracking_actor",
]
