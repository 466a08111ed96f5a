"""``python -m ml_infra_utils``: the same as the ``ml-infra-utils`` command."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
