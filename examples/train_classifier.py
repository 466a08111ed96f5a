"""Train a classifier end to end with ml-infra-utils: the package's main example.

Softmax regression, trained by mini-batch gradient descent in pure Python on
Fisher's Iris data (``examples/data/iris.csv``, CC BY 4.0), touching every part
of the package on the way:

- ``preprocessing``: ``check_missing_values``, ``check_data_types`` and
  ``validate_range`` on load; a ``StandardScaler`` fitted on the training split
  only, so nothing about the test split leaks into training;
- ``decorators``: ``@retry`` around a loader whose storage drops the first
  connection; ``@timer_with_units`` on every epoch;
- ``logging``: a ``StructuredLogger`` writing JSON lines to a file with
  ``log_ml_event`` per epoch; a ``Run`` logging loss and accuracy per epoch and
  the final results; the hyperparameters in a ``TrackedDict``, so the mid-run
  learning-rate decay is recorded as a change of the run's configuration;
- ``metrics``: ``accuracy``, macro ``f1_score`` and ``classification_report``
  on the test split.

Run it with ``make demo`` or ``python examples/train_classifier.py --help``.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import time
from pathlib import Path

from ml_infra_utils import (
    Run,
    StandardScaler,
    StructuredLogger,
    TrackedDict,
    accuracy,
    check_data_types,
    check_missing_values,
    classification_report,
    f1_score,
    log_ml_event,
    retry,
    timer_stats,
    timer_with_units,
    validate_range,
)

DATA = Path(__file__).resolve().parent / "data" / "iris.csv"
FEATURES = ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")
LABEL = "species"

Matrix = list[list[float]]


# ------------------------------------------------------------------ loading


class FlakyStorage:
    """Stands in for remote storage whose first connections fail.

    It fails deterministically (*failures* times, then works), so the example
    shows a retry every time it runs.
    """

    def __init__(self, root: Path, *, failures: int = 1) -> None:
        self.root = root
        self.failures_left = failures

    def read_text(self, name: str) -> str:
        if self.failures_left > 0:
            self.failures_left -= 1
            msg = f"connection reset while reading {name} (simulated)"
            raise ConnectionError(msg)
        return (self.root / name).read_text(encoding="utf-8")


@retry(
    max_attempts=3, delay=0.2, backoff=2.0, exceptions=(ConnectionError, TimeoutError)
)
def load_table(storage: FlakyStorage, name: str) -> list[dict[str, str]]:
    """Read a CSV table from storage, retrying dropped connections."""
    return list(csv.DictReader(storage.read_text(name).splitlines()))


def validated_features(rows: list[dict[str, str]]) -> tuple[Matrix, list[str]]:
    """The feature matrix and the labels, checked column by column."""
    x: Matrix = []
    labels: list[str] = []
    for row in rows:
        x.append([float(row[name]) if row[name] else math.nan for name in FEATURES])
        labels.append(row[LABEL])
    for j, name in enumerate(FEATURES):
        column = [r[j] for r in x]
        missing = check_missing_values(column)
        if missing:
            msg = f"{name} has missing values at rows {missing[:5]}"
            raise ValueError(msg)
        wrong = check_data_types(column, expected=float)
        if wrong:
            msg = f"{name} has non-float values at rows {wrong[:5]}"
            raise TypeError(msg)
        validate_range(column, min_value=0.0, max_value=100.0)  # cm, physically sane
    if check_missing_values(labels) or check_data_types(labels, expected=str):
        msg = "the species column must hold a name in every row"
        raise ValueError(msg)
    return x, labels


def stratified_split(
    x: Matrix, y: list[str], *, test_fraction: float, seed: int
) -> tuple[Matrix, list[str], Matrix, list[str]]:
    """Split keeping each class's share the same in both parts."""
    rng = random.Random(seed)
    train_idx: list[int] = []
    test_idx: list[int] = []
    for cls in sorted(set(y)):
        idx = [i for i, label in enumerate(y) if label == cls]
        rng.shuffle(idx)
        n_test = round(len(idx) * test_fraction)
        test_idx += idx[:n_test]
        train_idx += idx[n_test:]
    rng.shuffle(train_idx)
    return (
        [x[i] for i in train_idx],
        [y[i] for i in train_idx],
        [x[i] for i in test_idx],
        [y[i] for i in test_idx],
    )


# ------------------------------------------------------------------ the model


class SoftmaxRegression:
    """Multinomial logistic regression with L2 regularisation, in pure Python."""

    def __init__(self, n_features: int, classes: list[str]) -> None:
        self.classes = classes
        self.weights: Matrix = [[0.0] * n_features for _ in classes]
        self.bias = [0.0] * len(classes)

    def probabilities(self, row: list[float]) -> list[float]:
        z = [
            b + math.fsum(w * v for w, v in zip(ws, row, strict=True))
            for ws, b in zip(self.weights, self.bias, strict=True)
        ]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        total = math.fsum(e)
        return [v / total for v in e]

    def predict(self, x: Matrix) -> list[str]:
        out = []
        for row in x:
            p = self.probabilities(row)
            out.append(self.classes[p.index(max(p))])
        return out

    def step(self, x: Matrix, y: list[int], *, lr: float, l2: float) -> float:
        """One gradient step on a mini-batch; returns the batch's mean loss."""
        k, d, n = len(self.classes), len(x[0]), len(x)
        grad_w = [[0.0] * d for _ in range(k)]
        grad_b = [0.0] * k
        loss = 0.0
        for row, target in zip(x, y, strict=True):
            p = self.probabilities(row)
            loss -= math.log(max(p[target], 1e-15))
            for c in range(k):
                err = p[c] - (1.0 if c == target else 0.0)
                grad_b[c] += err
                gw = grad_w[c]
                for j in range(d):
                    gw[j] += err * row[j]
        for c in range(k):
            ws = self.weights[c]
            for j in range(d):
                ws[j] -= lr * (grad_w[c][j] / n + l2 * ws[j])
            self.bias[c] -= lr * grad_b[c] / n
        penalty = 0.5 * l2 * math.fsum(w * w for ws in self.weights for w in ws)
        return loss / n + penalty


# The timer's line goes to a list instead of stdout: the example prints it with
# the epoch's figures every few epochs; every call also lands in the statistics.
_epoch_timings: list[str] = []


@timer_with_units("ms", report=_epoch_timings.append, name="train_epoch")
def train_epoch(
    model: SoftmaxRegression,
    x: Matrix,
    y: list[int],
    *,
    lr: float,
    l2: float,
    batch_size: int,
    rng: random.Random,
) -> float:
    """One pass over the shuffled training data; returns the mean loss."""
    order = list(range(len(x)))
    rng.shuffle(order)
    losses = []
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        loss = model.step([x[i] for i in batch], [y[i] for i in batch], lr=lr, l2=l2)
        losses.append(loss * len(batch))
    return math.fsum(losses) / len(x)


# ------------------------------------------------------------------ main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", default="runs", help="where runs are stored")
    parser.add_argument("--epochs", type=int, default=60, help="passes over the data")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs_dir = Path(args.runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    storage = FlakyStorage(DATA.parent, failures=1)
    x, labels = validated_features(load_table(storage, DATA.name))
    print(f"loaded {len(x)} rows of {DATA.name} after a retry; data checks passed")
    x_train, y_train, x_test, y_test = stratified_split(
        x, labels, test_fraction=0.2, seed=args.seed
    )
    scaler = StandardScaler().fit(x_train)  # statistics of the training split only
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    classes = sorted(set(labels))
    targets = [classes.index(label) for label in y_train]

    params = TrackedDict(
        {
            "model": "softmax_regression",
            "learning_rate": 0.5,
            "l2": 1e-3,
            "batch_size": 16,
            "epochs": args.epochs,
            "seed": args.seed,
            "train_size": len(x_train),
            "test_size": len(x_test),
        }
    )
    log_path = runs_dir / "train_classifier.log"
    model = SoftmaxRegression(len(FEATURES), classes)
    rng = random.Random(args.seed)

    with Run("iris-softmax", runs_dir=runs_dir, params=params) as run:
        log = StructuredLogger("train_classifier", stream=log_path, run_id=run.id)
        log.info("data loaded", rows=len(x), features=list(FEATURES), classes=classes)
        for epoch in range(args.epochs):
            if epoch == args.epochs * 2 // 3:
                params["learning_rate"] *= 0.1  # decay: recorded as a change
                log.info("learning rate decayed", learning_rate=params["learning_rate"])
            loss = train_epoch(
                model,
                x_train,
                targets,
                lr=params["learning_rate"],
                l2=params["l2"],
                batch_size=params["batch_size"],
                rng=rng,
            )
            train_acc = accuracy(model.predict(x_train), y_train)
            run.metrics({"train/loss": loss, "train/accuracy": train_acc}, step=epoch)
            log_ml_event(log, "epoch_end", epoch=epoch, loss=loss, accuracy=train_acc)
            if (epoch + 1) % 10 == 0 or epoch + 1 == args.epochs:
                print(
                    f"epoch {epoch + 1:>3}/{args.epochs}  loss {loss:.4f}  "
                    f"train accuracy {train_acc:.3f}  ({_epoch_timings[-1]})"
                )

        predictions = model.predict(x_test)
        test_acc = accuracy(predictions, y_test)
        test_f1 = f1_score(predictions, y_test, average="macro")
        run.result("test/accuracy", test_acc)
        run.result("test/macro_f1", test_f1)
        log_ml_event(log, "evaluation", accuracy=test_acc, macro_f1=test_f1)

    epochs = timer_stats()["train_epoch"]
    print(
        f"\n{epochs.count} epochs, {epochs.mean * 1e3:.2f} ms each on average "
        f"(fastest {epochs.min * 1e3:.2f} ms, slowest {epochs.max * 1e3:.2f} ms)"
    )
    print(f"learning rate changes recorded: {len(params.changes())}")
    print()
    print(classification_report(predictions, y_test, digits=3))
    print(f"test accuracy: {test_acc:.4f}")
    print(f"test macro F1: {test_f1:.4f}")
    print(f"finished in {time.perf_counter() - started:.1f} s")
    print(f"run: {run.path}")
    print(f"log: {log_path}")
    print(f"next: ml-infra-utils runs show {run.id} --runs-dir {runs_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
