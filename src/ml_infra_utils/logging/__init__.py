"""Structured JSON records: log lines, experiment runs and change tracking.

Our subpackage shares its name with the standard library module; code inside it
always uses absolute imports, so ``import logging`` means the stdlib."""

from __future__ import annotations

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
from ml_infra_utils.logging.sinks import (
    HttpSink,
    MemorySink,
    RecordBatch,
    RunStoreSink,
    Sink,
    send_spooled,
)
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
    "HttpSink",
    "JsonFormatter",
    "JsonLogger",
    "MemorySink",
    "RecordBatch",
    "Run",
    "RunStoreSink",
    "Sink",
    "StructuredLogger",
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
    "send_spooled",
    "start_run",
]
