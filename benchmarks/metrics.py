"""Classification metrics against scikit-learn, side by side in one run.

Every function at n = 100, 10,000 and 1,000,000 samples, int labels with k = 2
and k = 3 classes (predictions right 70 % of the time), given as Python lists
and as numpy arrays; scikit-learn gets the same objects. Precision, recall and
the F-scores use ``average="binary"`` for k = 2 and ``"macro"`` for k = 3.
Both results are checked equal before timing. Writes the "metrics" section of
docs/benchmarks.md.

Run: ``.venv/bin/python benchmarks/metrics.py`` (``BENCH_QUICK=1`` for a fast,
rougher pass).
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import sklearn
import sklearn.metrics as skm
from _harness import QUICK, fmt_ratio, fmt_time, machine, per_call, table, write_section

import ml_infra_utils as ours

SIZES = (100, 10_000, 1_000_000)
CLASSES = (2, 3)
INPUTS = ("list", "numpy")


def make_data(n: int, k: int, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    predictions = np.where(rng.random(n) < 0.7, labels, rng.integers(0, k, n))
    return predictions, labels


def cases(k: int) -> list[tuple[str, Callable[..., Any], Callable[..., Any]]]:
    """(name, ours(predictions, labels), scikit-learn's(labels, predictions))."""
    average = "binary" if k == 2 else "macro"
    return [
        ("accuracy", ours.accuracy, skm.accuracy_score),
        (
            "precision",
            lambda p, y: ours.precision(p, y, average=average),
            lambda y, p: skm.precision_score(y, p, average=average, zero_division=0),
        ),
        (
            "recall",
            lambda p, y: ours.recall(p, y, average=average),
            lambda y, p: skm.recall_score(y, p, average=average, zero_division=0),
        ),
        (
            "f1_score",
            lambda p, y: ours.f1_score(p, y, average=average),
            lambda y, p: skm.f1_score(y, p, average=average, zero_division=0),
        ),
        (
            "fbeta_score",
            lambda p, y: ours.fbeta_score(p, y, beta=2.0, average=average),
            lambda y, p: skm.fbeta_score(
                y, p, beta=2.0, average=average, zero_division=0
            ),
        ),
        ("confusion_matrix", ours.confusion_matrix, skm.confusion_matrix),
        (
            "classification_report",
            ours.classification_report,
            lambda y, p: skm.classification_report(y, p, zero_division=0),
        ),
    ]


def target(name: str, n: int, kind: str) -> tuple[str, float | None]:
    """The issue's speed target as a label and a minimum ratio."""
    if n == 100:
        return "≥ 50x", 50.0
    if n == 1_000_000 and kind == "list":
        return ("≥ 1.5x", 1.5) if name == "confusion_matrix" else ("≥ 5x", 5.0)
    if n == 1_000_000:
        return "≥ 0.8x (within 1.25x)", 0.8
    return "", None


def same(a: Any, b: Any) -> bool:
    if isinstance(a, str):
        return a == b
    b = b.tolist() if hasattr(b, "tolist") else b
    if isinstance(a, list):
        return all(same(x, y) for x, y in zip(a, b, strict=True))
    return math.isclose(a, b, rel_tol=1e-12)


def main() -> int:
    sizes = SIZES
    rows: list[list[str]] = []
    missed: list[str] = []
    for n in sizes:
        for k in CLASSES:
            predictions, labels = make_data(n, k)
            inputs = {
                "list": (predictions.tolist(), labels.tolist()),
                "numpy": (predictions, labels),
            }
            for kind in INPUTS:
                p, y = inputs[kind]
                for name, mine, theirs in cases(k):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        assert same(mine(p, y), theirs(y, p)), (name, n, k, kind)
                        t_ours = per_call(lambda f=mine, p=p, y=y: f(p, y))
                        t_sk = per_call(lambda f=theirs, p=p, y=y: f(y, p), repeat=3)
                    ratio = t_sk / t_ours
                    label, minimum = target(name, n, kind)
                    met = ""
                    if minimum is not None:
                        met = "yes" if ratio >= minimum else "**no**"
                    if met == "**no**":
                        missed.append(f"{name} n={n:,} k={k} {kind}: {ratio:.2f}x")
                    rows.append(
                        [
                            name,
                            f"{n:,}",
                            str(k),
                            kind,
                            fmt_time(t_ours),
                            fmt_time(t_sk),
                            fmt_ratio(t_ours, t_sk),
                            label,
                            met,
                        ]
                    )
                    print(" | ".join(rows[-1]), flush=True)
    header = [
        "function",
        "n",
        "k",
        "input",
        "ml-infra-utils",
        f"scikit-learn {sklearn.__version__}",
        "speed-up",
        "target",
        "met",
    ]
    summary = (
        "All targets met."
        if not missed
        else "Targets missed in this run: " + "; ".join(missed) + "."
    )
    markdown = "\n".join(
        [
            "## Classification metrics vs scikit-learn",
            "",
            machine(),
            "",
            (
                "Int labels, k classes, predictions right 70 % of the time; both "
                "libraries get the same Python lists or numpy int64 arrays. "
                'Precision, recall and the F-scores use `average="binary"` for '
                'k = 2 and `"macro"` for k = 3 (`fbeta_score` with beta = 2). '
                "speed-up = scikit-learn's time / ours. Targets (issue 4): ≥ 50x "
                "at n = 100; at n = 1,000,000 ≥ 5x on lists (confusion_matrix "
                "≥ 1.5x) and at most 1.25x slower than scikit-learn on numpy input."
            ),
            "",
            table(header, rows),
            "",
            summary,
        ]
    )
    write_section("metrics", markdown)
    if QUICK:
        print("quick mode: figures are rough", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
