"""Timing and retry decorators for sync and async functions."""

from __future__ import annotations

__all__: list[str] = []
