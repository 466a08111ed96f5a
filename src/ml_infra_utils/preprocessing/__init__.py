"""Data preparation: scaling, outlier clipping, validation and scalers."""

from __future__ import annotations

__all__: list[str] = []
