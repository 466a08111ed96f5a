"""The package version: the one place it is written down.

``pyproject.toml`` reads it from here at build time, so the built distribution,
``ml_infra_utils.__version__`` and ``ml-infra-utils --version`` always agree.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
