"""Experiment runs: the per-metric cost of logging, against tora, trackio and mlflow.

Each contender logs one metric per step of a training loop (random floats, so
every value has 17 significant digits) and then ends its run, so the figure
includes the final flush: ``Run.metric`` + ``shutdown()`` here, ``trackio.log``
+ ``finish()`` (local SQLite), ``mlflow.log_metric`` + ``end_run()`` (local file
store). Tora has no local store: its figure is ``Tora.metric`` into its
in-memory buffer only (a huge ``max_buffer_len``, no server, no flush), as the
issue asks. Every contender runs in this one process, interleaved, best of
several repeats (garbage collector off during a repeat).

Run: ``.venv/bin/python benchmarks/runs.py`` (``BENCH_QUICK=1`` for a quick pass).
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import _harness

WORK = Path(tempfile.mkdtemp(prefix="bench-runs-"))
# The peers read their configuration at import: keep them local and offline.
os.environ["TRACKIO_DIR"] = str(WORK / "trackio")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import ml_infra_utils  # noqa: E402 - after the environment above

QUICK = _harness.QUICK
STEPS = 100_000
# mlflow's file store opens, appends to and closes a file on every call, so its
# cost per metric does not depend on the run's length: fewer steps suffice.
MLFLOW_STEPS = 1_000 if QUICK else 5_000
TRACKIO_STEPS = 20_000 if QUICK else STEPS
REPEATS = 2 if QUICK else 5
SLOW_REPEATS = 1 if QUICK else 2
TARGETS = {"tora": 10.0, "trackio": 50.0, "mlflow": 500.0}


@dataclass
class Result:
    """Best seconds per metric: inside the loop, and including the final flush."""

    steps: int
    loop: float = float("inf")
    total: float = float("inf")

    def add(self, loop: float, total: float) -> None:
        self.loop = min(self.loop, loop / self.steps)
        self.total = min(self.total, total / self.steps)


def timed(body: Callable[[], Callable[[], None]]) -> tuple[float, float]:
    """Run *body* (the loop; it returns the final flush) with gc off."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        finish = body()
        looped = time.perf_counter()
        finish()
        return looped - start, time.perf_counter() - start
    finally:
        gc.enable()


def ours_run(values: list[float], root: Path) -> tuple[float, float]:
    def body() -> Callable[[], None]:
        run = ml_infra_utils.Run("bench", runs_dir=root)
        metric = run.metric
        for step, value in enumerate(values):
            metric("loss", value, step)
        return run.shutdown

    return timed(body)


def ours_global(values: list[float], root: Path) -> tuple[float, float]:
    def body() -> Callable[[], None]:
        ml_infra_utils.start_run("bench", runs_dir=root)
        log_metric = ml_infra_utils.log_metric
        for step, value in enumerate(values):
            log_metric("loss", value, step)
        return ml_infra_utils.end_run

    return timed(body)


def ours_memory(values: list[float], _root: Path) -> tuple[float, float]:
    def body() -> Callable[[], None]:
        run = ml_infra_utils.Run("bench", sink=ml_infra_utils.MemorySink())
        metric = run.metric
        for step, value in enumerate(values):
            metric("loss", value, step)
        return run.shutdown

    return timed(body)


def tora_buffer(values: list[float], _root: Path) -> tuple[float, float]:
    import tora

    def body() -> Callable[[], None]:
        # No network: the constructor makes no call, and with this buffer size
        # metric() never sends. (shutdown() would try to reach the server.)
        client = tora.Tora(
            "bench",
            url="http://127.0.0.1:9/x",
            max_buffer_len=10**9,
            server_url="http://127.0.0.1:9",
        )
        metric = client.metric
        for step, value in enumerate(values):
            metric("loss", value, step)
        assert client.buffer_size == len(values)
        return lambda: None

    return timed(body)


def trackio_local(values: list[float], _root: Path) -> tuple[float, float]:
    import trackio

    def body() -> Callable[[], None]:
        with contextlib.redirect_stdout(io.StringIO()):
            trackio.init(project="bench", name=f"r{random.getrandbits(32)}")
        log = trackio.log
        for step, value in enumerate(values):
            log({"loss": value}, step=step)

        def finish() -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                trackio.finish()

        return finish

    return timed(body)


def mlflow_file(values: list[float], root: Path) -> tuple[float, float]:
    import mlflow

    mlflow.set_tracking_uri((root / "mlruns").as_uri())

    def body() -> Callable[[], None]:
        mlflow.start_run()
        log_metric = mlflow.log_metric
        for step, value in enumerate(values):
            log_metric("loss", value, step=step)
        return mlflow.end_run

    return timed(body)


Contender = tuple[
    str, str, Callable[[list[float], Path], tuple[float, float]], int, int
]
CONTENDERS: list[Contender] = [
    # key, label, function, steps, repeats
    ("ours", "ml-infra-utils `Run.metric`, local store", ours_run, STEPS, REPEATS),
    (
        "ours-global",
        "ml-infra-utils `log_metric`, local store",
        ours_global,
        STEPS,
        REPEATS,
    ),
    (
        "ours-memory",
        "ml-infra-utils `Run.metric`, `MemorySink`",
        ours_memory,
        STEPS,
        REPEATS,
    ),
    ("tora", "tora `metric`, in-memory buffer only", tora_buffer, STEPS, REPEATS),
    (
        "trackio",
        "trackio `log`, local SQLite",
        trackio_local,
        TRACKIO_STEPS,
        SLOW_REPEATS,
    ),
    (
        "mlflow",
        "mlflow `log_metric`, local file store",
        mlflow_file,
        MLFLOW_STEPS,
        SLOW_REPEATS,
    ),
]


def repr_cost(values: list[float]) -> float:
    """Seconds to turn one random float into its shortest exact decimal."""
    chunk = values[:10_000]
    return _harness.per_call(lambda: list(map(repr, chunk))) / len(chunk)


LINE = '{"name":"%s","value":%r,"step":%d,"timestamp":%d}\n'


def floor_cost(values: list[float]) -> float:
    """Seconds per metric of the cheapest pure-Python exact JSON Lines logger
    we know: a bare append of (name, value, step, time) to a list in the loop
    (no validation, no thread), then the lines made in one C-level %-format
    call per 10,000 records, encoded and written to an open file."""
    chunk = values[:10_000]
    template = LINE * len(chunk)

    def run() -> None:
        buf: list[object] = []
        add = buf.extend
        clock = time.time_ns
        for step, value in enumerate(chunk):
            add(("loss", value, step, clock() // 1_000_000))
        with open(os.devnull, "wb") as sink:
            sink.write((template % tuple(buf)).encode())

    return _harness.per_call(run) / len(chunk)


def version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    for dist in (module, f"{module}-skinny"):
        with contextlib.suppress(PackageNotFoundError):
            return version(dist)
    return "?"


def main() -> None:
    logging.getLogger("tora").setLevel(logging.CRITICAL)
    rng = random.Random(7)
    values = [rng.random() for _ in range(STEPS)]
    results: dict[str, Result] = {}
    missing: dict[str, str] = {}
    for round_ in range(max(r for *_, r in CONTENDERS)):
        for key, _label, func, steps, repeats in CONTENDERS:
            if round_ >= repeats or key in missing:
                continue
            root = Path(tempfile.mkdtemp(dir=WORK))
            try:
                loop, total = func(values[:steps], root)
            except ImportError as exc:
                missing[key] = str(exc)
                continue
            finally:
                shutil.rmtree(root, ignore_errors=True)
            results.setdefault(key, Result(steps)).add(loop, total)
            print(f"  {key:12} {total / steps * 1e6:9.2f} µs/metric", file=sys.stderr)
    shutil.rmtree(WORK, ignore_errors=True)

    ours = results["ours"]
    rows = []
    for key, label, _func, _steps, _repeats in CONTENDERS:
        if key in missing:
            rows.append([label, "-", "not installed", "-", "-", "-"])
            continue
        res = results[key]
        mine = key.startswith("ours")
        target = TARGETS.get(key)
        verdict = ""
        if target is not None:
            met = res.total / ours.total >= target
            verdict = f"≥ {target:g}x: {'met' if met else 'not met'}"
        rows.append(
            [
                label,
                f"{res.steps:,}",
                _harness.fmt_time(res.loop),
                _harness.fmt_time(res.total),
                "" if mine else _harness.fmt_ratio(ours.total, res.total),
                "" if mine else _harness.fmt_ratio(ours.loop, res.loop),
                verdict,
            ]
        )
    peers = ", ".join(f"{m} {version(m)}" for m in ("tora", "trackio", "mlflow"))
    in_memory = results["ours-memory"].total / ours.total
    intro = (
        "Cost per logged metric in a training loop, **including the final flush** "
        "(`shutdown()`, `finish()`, `end_run()`), random float values, best of "
        f"{REPEATS} repeats ({SLOW_REPEATS} for trackio and mlflow). *In the loop* "
        "is what the training thread pays before the flush. Tora has no local "
        "store: its row is its in-memory buffering alone (no write, no flush). "
        "mlflow's file store costs the same for every call, so it runs fewer steps."
    )
    floor = repr_cost(values)
    least = results["ours-memory"].total + floor
    bare = floor_cost(values)
    beyond = [
        f"{target:g}x {key}"
        for key, target in TARGETS.items()
        if key in results and results[key].total / target < least
    ]
    below_bare = [
        f"{target:g}x {key} (at most {_harness.fmt_time(results[key].total / target)})"
        for key, target in TARGETS.items()
        if key in results and results[key].total / target < bare
    ]
    where = (
        f"Where our time goes: {in_memory:.0%} is `metric()` itself (validation "
        "and an append to memory, the `MemorySink` row); the rest is the writer "
        "turning each float into its shortest exact decimal and writing "
        "`metrics.jsonl`, where every value survives the round trip exactly, NaN "
        "and infinities included. `repr()` of one of these floats alone costs "
        f"{_harness.fmt_time(floor)} here (measured in this run), so `metric()` "
        f"plus that conversion already take {_harness.fmt_time(least)}"
        + (f", beyond the budget of {' and '.join(beyond)}." if beyond else ".")
    )
    where += (
        " The cheapest pure-Python logger of exact JSON Lines we know, a bare "
        "`list.extend` of (name, value, step, time) in the loop and then the "
        "lines made in one C-level %-format call and written, costs "
        f"{_harness.fmt_time(bare)} per metric in this run (`floor_cost` in "
        "`benchmarks/runs.py`)"
        + (
            f"; this is above the budget of {' and of '.join(below_bare)}: "
            "out of reach without a binary metrics format or compiled code."
            if below_bare
            else "."
        )
    )
    header = [
        "library / mode",
        "steps",
        "in the loop",
        "incl. final flush",
        "ours faster, incl. flush",
        "ours faster, in the loop",
        "target (incl. flush)",
    ]
    markdown = "\n".join(
        [
            "## Experiment runs (`logging.runs`)",
            "",
            _harness.machine(),
            f"Peers: {peers}.",
            "",
            intro,
            "",
            _harness.table(header, rows),
            "",
            where,
        ]
    )
    _harness.write_section("runs", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
