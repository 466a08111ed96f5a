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
    preprocessing_tour()


def preprocessing_tour() -> None:
    """Check raw data, clip its outliers, and scale it without leaking test data."""
    raw = [14.2, 15.1, None, 13.8, 250.0, 14.9, 15.4, float("nan"), 13.5, 14.4]
    raw += [15.0, 14.1, 13.9, 14.7, 15.2, 14.0, 14.6, 13.7, 15.3, 14.8, 14.3, 14.5]
    print("\npreprocessing:")
    missing = preprocessing.check_missing_values(raw)
    print(f"  missing at {missing}")
    values = [v for i, v in enumerate(raw) if i not in missing]
    clipped = preprocessing.clip_outliers(
        values, lower_percentile=5, upper_percentile=90
    )
    print(f"  250.0 clipped to {clipped[values.index(250.0)]:.2f}")
    preprocessing.validate_range(clipped, min_value=0, max_value=100)
    train, test = clipped[:15], clipped[15:]
    scaler = preprocessing.StandardScaler().fit(train)  # statistics of train only
    print(f"  z(test) = {[round(z, 2) for z in scaler.transform(test)]}")
    state = scaler.to_dict()["state"]
    print(
        f"  saved: mean {state['mean'][0]:.3f}, from {state['n_samples_seen']} values"
    )


if __name__ == "__main__":
    main()
