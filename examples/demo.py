"""A short tour of ml-infra-utils: one step through each subpackage.

Run it with `make demo`. The end-to-end training example replaces it as the
main job once every subpackage has landed.
"""

from __future__ import annotations

import tempfile

import ml_infra_utils
from ml_infra_utils import decorators, logging, metrics, preprocessing


def main() -> None:
    print(f"ml-infra-utils {ml_infra_utils.__version__}: zero runtime dependencies")
    for module in (preprocessing, metrics, decorators, logging):
        names = ", ".join(module.__all__) or "(nothing yet)"
        print(f"  {module.__name__}: {names}")
    experiment_run()


def experiment_run() -> None:
    """An experiment run: metrics and a result, stored under a temporary runs/."""
    runs_dir = tempfile.mkdtemp(prefix="ml-infra-utils-demo-")
    with ml_infra_utils.Run("demo", runs_dir=runs_dir, params={"lr": 0.1}) as run:
        for step in range(100):
            run.metric("loss", 1.0 / (step + 1))
        run.result("accuracy", 0.97)
    data = ml_infra_utils.load_run(run.path or runs_dir)
    loss = data["metrics"]["loss"]["values"]
    print(
        f"run {data['experiment']}/{data['id']}: {data['status']}, "
        f"{len(loss)} loss values (last {loss[-1]:.4f}), results {data['results']}"
    )
    print(f"  stored in {run.path}")


if __name__ == "__main__":
    main()
