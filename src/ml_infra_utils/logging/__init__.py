"""Structured JSON records: log lines, experiment runs and change tracking.

Our subpackage shares its name with the standard library module; code inside it
always uses absolute imports, so ``import logging`` means the stdlib."""

from __future__ import annotations

from ml_infra_utils.logging.structured import (
    AppendFileHandler,
    JsonFormatter,
    StructuredLogger,
    configure_json_logging,
    log_context,
    log_ml_event,
)

__all__ = [
    "AppendFileHandler",
    "JsonFormatter",
    "StructuredLogger",
    "configure_json_logging",
    "log_context",
    "log_ml_event",
]
