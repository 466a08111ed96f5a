"""Structured JSON records: log lines, experiment runs and change tracking.

Our subpackage shares its name with the standard library module; code inside it
always uses absolute imports, so ``import logging`` means the stdlib."""

from __future__ import annotations

__all__: list[str] = []
