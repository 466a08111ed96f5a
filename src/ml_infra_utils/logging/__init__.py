"""Structured JSON records: log lines, experiment runs and change tracking.

Our subpackage shares its name with the standard library module; code inside it
always uses absolute imports, so ``import logging`` means the stdlib."""

from __future__ import annotations

from .runs import (
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
from .sinks import MemorySink, RecordBatch, RunStoreSink, Sink

__all__ = [
    "MemorySink",
    "RecordBatch",
    "Run",
    "RunStoreSink",
    "Sink",
    "active_run",
    "end_run",
    "list_runs",
    "load_run",
    "log_metric",
    "log_metrics",
    "log_params",
    "log_result",
    "start_run",
]
