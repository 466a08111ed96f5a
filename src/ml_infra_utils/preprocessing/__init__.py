"""Data preparation: scaling, outlier clipping, validation and scalers."""

from __future__ import annotations

from .normalization import clip_outliers, normalize, standardize
from .scalers import MinMaxScaler, StandardScaler
from .validation import check_data_types, check_missing_values, validate_range

__all__ = [
    "MinMaxScaler",
    "StandardScaler",
    "check_data_types",
    "check_missing_values",
    "clip_outliers",
    "normalize",
    "standardize",
    "validate_range",
]
