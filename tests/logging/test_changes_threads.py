"""Threads: many writers on one tracked container lose and mislabel nothing."""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ml_infra_utils import TrackedDict, TrackedList, replay

THREADS, PER_THREAD = 8, 10_000


@pytest.fixture(autouse=True)
def switch_often() -> Iterator[None]:
    """Make the interpreter switch threads as often as it can."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def hammer(work: Callable[[int], None]) -> None:
    start = threading.Barrier(THREADS)

    def run(n: int) -> None:
        start.wait()
        work(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def check(records: list[Any], final: Any, empty: Any) -> None:
    assert len(records) == THREADS * PER_THREAD
    seqs = [r.seq for r in records]
    assert all(a < b for a, b in itertools.pairwise(seqs))
    assert replay(records, empty) == final


def test_eight_threads_appending_to_one_list() -> None:
    """80,000 appends: 80,000 records, each at the index that holds its value."""
    items = TrackedList()

    def work(n: int) -> None:
        for i in range(PER_THREAD):
            items.append((n, i))

    hammer(work)
    records = items.changes()
    check(records, items, [])
    assert all(items[r.path[0]] == r.new for r in records)
    assert sorted(items) == sorted(
        (n, i) for n in range(THREADS) for i in range(PER_THREAD)
    )


def test_eight_threads_writing_overlapping_keys_and_nested_values() -> None:
    """Writes to shared keys and to nested children replay to the final state."""
    config = TrackedDict({f"k{n}": {"hits": []} for n in range(4)})

    def work(n: int) -> None:
        for i in range(PER_THREAD):
            key = f"k{(n + i) % 4}"
            if i % 3:
                config[key]["hits"].append(n)
            else:
                config[key]["last"] = (n, i)

    hammer(work)
    records = config.changes()
    check(records, config, {f"k{n}": {"hits": []} for n in range(4)})
    assert {len(r.path) for r in records} == {3, 2}
