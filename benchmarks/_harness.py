"""Shared helpers of the benchmark scripts: timing, ratios, and docs/benchmarks.md.

Each script in ``benchmarks/`` measures one area side by side with its peer
libraries in one process and one run, then replaces its own section of
``docs/benchmarks.md`` (between ``<!-- bench:NAME:begin -->`` and
``<!-- bench:NAME:end -->``), so areas can be re-measured one at a time.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks.md"
QUICK = os.environ.get("BENCH_QUICK") == "1"


def per_call(
    func: Callable[[], object], *, repeat: int = 5, min_time: float = 0.2
) -> float:
    """Seconds per call of *func*: the best of *repeat* timed batches.

    The batch size grows until one batch takes at least *min_time* seconds, so
    timer resolution never matters; the minimum over batches is the figure least
    disturbed by other work on the machine. The garbage collector is off while a
    batch runs, as ``timeit`` does.
    """
    if QUICK:
        repeat, min_time = 2, min_time / 4
    number = 1
    while True:
        elapsed = _batch(func, number)
        if elapsed >= min_time:
            break
        number *= 10 if elapsed < min_time / 10 else 2
    best = elapsed / number
    for _ in range(repeat - 1):
        best = min(best, _batch(func, number) / number)
    return best


def _batch(func: Callable[[], object], number: int) -> float:
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            func()
        return time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def fmt_time(seconds: float) -> str:
    """A duration with a unit a reader takes in at a glance."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_ratio(ours: float, theirs: float) -> str:
    """How many times faster we are (``theirs / ours``), e.g. ``12.3x``."""
    if ours <= 0:
        return "∞"
    r = theirs / ours
    return f"{r:.3g}x"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """One line naming the machine, interpreter and date of a measurement."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Measured {now} on CPython {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
        + (" (quick mode: fewer repeats)" if QUICK else "")
        + "."
    )


def write_section(name: str, markdown: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section *name* of docs/benchmarks.md."""
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
    print(f"wrote the '{name}' section of {path.relative_to(ROOT)}", file=sys.stderr)
