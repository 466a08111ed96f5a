"""Classification metrics with scikit-learn semantics, from one mergeable core."""

from __future__ import annotations

__all__: list[str] = []
