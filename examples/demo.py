"""A short tour of ml-infra-utils: one step through each subpackage.

Run it with `make demo`. The end-to-end training example replaces it as the
main job once every subpackage has landed.
"""

from __future__ import annotations

import ml_infra_utils
from ml_infra_utils import decorators, logging, metrics, preprocessing


def main() -> None:
    print(f"ml-infra-utils {ml_infra_utils.__version__}: zero runtime dependencies")
    for module in (preprocessing, metrics, decorators, logging):
        names = ", ".join(module.__all__) or "(nothing yet)"
        print(f"  {module.__name__}: {names}")


if __name__ == "__main__":
    main()
