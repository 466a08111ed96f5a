"""Shared data strategies of the metrics tests (handed out as session fixtures)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import strategies as st

POOLS: dict[str, list[Any]] = {
    "int": [0, 1, 2, 3],
    "str": ["ant", "bee", "cat", "dog"],
    "bool": [False, True],
    "bigint": [-1, 7, 300, 2**40],  # not packable into bytes: the Counter path
}


@dataclass(frozen=True)
class Case:
    """Predictions and labels drawn from one pool, maybe weighted."""

    predictions: list[Any]
    labels: list[Any]
    pool: list[Any]
    weights: list[Any] | None

    @property
    def observed(self) -> list[Any]:
        return sorted(set(self.predictions) | set(self.labels))


@st.composite
def cases(draw: st.DrawFn, *, weights: str | None = None, max_size: int = 40) -> Case:
    """Binary or multi-class data; classes may be absent from either side.

    *weights*: None, "int" (0..5), "dyadic" (exact float sums) or "float".
    """
    pool = POOLS[draw(st.sampled_from(sorted(POOLS)))]
    pool = pool[: draw(st.integers(1, len(pool)))]
    label_pool = draw(st.lists(st.sampled_from(pool), min_size=1, unique=True))
    pred_pool = draw(st.lists(st.sampled_from(pool), min_size=1, unique=True))
    n = draw(st.integers(1, max_size))
    labels = draw(st.lists(st.sampled_from(label_pool), min_size=n, max_size=n))
    predictions = draw(st.lists(st.sampled_from(pred_pool), min_size=n, max_size=n))
    w: list[Any] | None = None
    if weights is not None:
        element = {
            "int": st.integers(0, 5),
            "dyadic": st.integers(0, 40).map(lambda x: x / 8),
            "float": st.floats(0.0, 10.0, allow_subnormal=False),
        }[weights]
        w = draw(st.lists(element, min_size=n, max_size=n).filter(any))
    return Case(predictions, labels, pool, w)


def close(ours: object, theirs: object, *, rel: float = 1e-9) -> bool:
    """Equal up to *rel*, NaN equal to NaN, element-wise for sequences."""
    if isinstance(ours, dict):
        ours = list(ours.values())
    if hasattr(theirs, "tolist"):
        theirs = theirs.tolist()
    if isinstance(ours, list | tuple):
        assert isinstance(theirs, list | tuple)
        return len(ours) == len(theirs) and all(
            close(a, b, rel=rel) for a, b in zip(ours, theirs, strict=True)
        )
    a, b = float(ours), float(theirs)  # type: ignore[arg-type]
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


class Helpers:
    """What the test modules share: they cannot import each other."""

    cases = staticmethod(cases)
    close = staticmethod(close)
    Case = Case
    POOLS = POOLS


@pytest.fixture(scope="session")
def h() -> type[Helpers]:
    """The shared strategies and comparisons."""
    return Helpers
