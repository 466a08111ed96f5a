"""Classification metrics with scikit-learn semantics, from one mergeable core.

Argument order: **predictions first, then labels** (scikit-learn's is
``y_true, y_pred``). Every function is computed from a
:class:`~ml_infra_utils.metrics.counts.ConfusionCounts`, the accumulator to use
for chunked, streaming or distributed evaluation.
"""

from __future__ import annotations

from .classification import (
    accuracy,
    classification_report,
    confusion_matrix,
    f1_score,
    fbeta_score,
    precision,
    recall,
)
from .counts import ConfusionCounts

__all__ = [
    "ConfusionCounts",
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "f1_score",
    "fbeta_score",
    "precision",
    "recall",
]
