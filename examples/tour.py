"""A short tour of ml-infra-utils: one step through each subpackage.

Run it with `python examples/tour.py`; `make demo` runs the end-to-end training
example, examples/train_classifier.py.
"""

from __future__ import annotations

import sys
import tempfile

import ml_infra_utils
from ml_infra_utils import (
    StructuredLogger,
    decorators,
    log_context,
    log_ml_event,
    logging,
    metrics,
    preprocessing,
)

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
    stats = ml_infra_utils.timer_stats()[f"{__name__}.train_step"]
    print(f"  train_step: {stats.count} calls, mean {stats.mean * 1e3:.4f} ms")


def main() -> None:
    print(f"ml-infra-utils {ml_infra_utils.__version__}: zero runtime dependencies")
    for module in (preprocessing, metrics, decorators, logging):
        names = ", ".join(module.__all__) or "(nothing yet)"
        print(f"  {module.__name__}: {names}")
    preprocessing_tour()
    metrics_tour()
    print("\ndecorators:")
    decorators_tour()
    structured_logging()
    print("\nexperiment runs:")
    experiment_run()
    remote_run()
    print("\nchange tracking:")
    change_tracking()


def structured_logging() -> None:
    """Structured JSON logs: fields, bound context, an ML event, NaN kept valid."""
    print("\nstructured logging (one JSON object per line):")
    log = StructuredLogger("demo.train", stream=sys.stdout, run_id="r1")
    with log_context(rank=0):
        log.info("starting", lr=3e-4, batch_size=64)
        log_ml_event(log, "epoch_end", epoch=1, loss=float("nan"), accuracy=0.93)


def metrics_tour() -> None:
    """Score a toy classifier, in one call and batch by batch."""
    predictions = ["cat", "dog", "dog", "bird", "cat", "dog"]  # predictions first,
    labels = ["cat", "cat", "dog", "bird", "dog", "dog"]  # then the true labels
    print("\nmetrics:")
    print(f"  accuracy = {metrics.accuracy(predictions, labels):.3f}")
    print(f"  macro F1 = {metrics.f1_score(predictions, labels, average='macro'):.3f}")
    counts = metrics.ConfusionCounts()
    for start in range(0, len(labels), 2):  # e.g. one evaluation batch at a time
        counts.update(predictions[start : start + 2], labels[start : start + 2])
    print(f"  batched  = {counts!r}, same F1: {counts.f1_score(average='macro'):.3f}")
    print(metrics.classification_report(predictions, labels))


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


def remote_run() -> None:
    """The same kind of run sent to a tracking server (`ml-infra-utils serve`);
    here one runs in this process on a free port."""
    from ml_infra_utils.logging.server import TrackingServer

    store = tempfile.mkdtemp(prefix="ml-infra-utils-server-")
    with TrackingServer(store, port=0, fsync=False) as server:
        spool = tempfile.mkdtemp(prefix="ml-infra-utils-demo-")
        with ml_infra_utils.Run("demo", tracking_url=server.url, runs_dir=spool) as run:
            for step in range(100):
                run.metric("loss", 1.0 / (step + 1))
        [info] = ml_infra_utils.list_runs(store)
    print(
        f"  sent to {server.url} over HTTP: {info['status']}, stored in {info['path']}"
    )


def change_tracking() -> None:
    """A tracked config: every change recorded with its path, undone in one call."""
    config = ml_infra_utils.TrackedDict({"optimizer": {"lr": 0.1}, "layers": [64]})
    with ml_infra_utils.tracking_actor("scheduler"):
        config["optimizer"]["lr"] = 0.01
    config["layers"].append(32)
    for change in config.changes():
        print(f"  {change.action} {change.path}: {change.old} -> {change.new}")
    print(f"  as JSON Patch: {config.to_json_patch()[0]}")
    config.revert(0)
    print(f"  reverted: {config}")


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
