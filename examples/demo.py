"""A short tour of ml-infra-utils: one step through each subpackage.

Run it with `make demo`. The end-to-end training example replaces it as the
main job once every subpackage has landed.
"""

from __future__ import annotations

import ml_infra_utils
from ml_infra_utils import decorators, logging, metrics, preprocessing

_shard_requests: list[int] = []


@ml_infra_utils.retry(max_attempts=3, delay=0.05, exceptions=ConnectionError)
def fetch_shard(shard: int) -> list[int]:
    """Fails once, like a flaky object store, then returns the shard."""
    _shard_requests.append(shard)
    if len(_shard_requests) < 2:
        msg = "connection reset by peer"
        raise ConnectionError(msg)
    return list(range(shard * 4, shard * 4 + 4))


@ml_infra_utils.timer_with_units("ms")
def train_step(batch: list[int]) -> float:
    return sum(x * x for x in batch) / len(batch)


def decorators_tour() -> None:
    """Retry a flaky call, time steps and a block, read the statistics."""
    batch = fetch_shard(1)
    with ml_infra_utils.Timer("epoch", unit="ms"):
        for _ in range(3):
            train_step(batch)
    stats = ml_infra_utils.timer_stats()["train_step"]
    print(f"  train_step: {stats.count} calls, mean {stats.mean * 1e3:.4f} ms")


def main() -> None:
    print(f"ml-infra-utils {ml_infra_utils.__version__}: zero runtime dependencies")
    for module in (preprocessing, metrics, decorators, logging):
        names = ", ".join(module.__all__) or "(nothing yet)"
        print(f"  {module.__name__}: {names}")
    print("decorators:")
    decorators_tour()


if __name__ == "__main__":
    main()
