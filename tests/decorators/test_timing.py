"""@timer, @timer_with_units, Timer and the per-name statistics."""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import statistics
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_infra_utils import (
    InputTypeError,
    InvalidParameterError,
    Timer,
    TimerStats,
    reset_timer_stats,
    timer,
    timer_stats,
    timer_with_units,
)

if TYPE_CHECKING:
    from conftest import FakeClock


# ---------------------------------------------------------------- @timer
def test_timer_prints_qualname_and_seconds(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """The seed line: "<qualname> took 0.1234 seconds", after the call."""

    @timer
    def train(x: int) -> int:
        fake_clock.advance(0.12346)
        return x * 2

    assert train(21) == 42
    assert capsys.readouterr().out == (
        "test_timer_prints_qualname_and_seconds.<locals>.train took 0.1235 seconds\n"
    )


def test_timer_reports_and_reraises_on_error(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """A call that raises is timed and reported, then the exception propagates."""

    @timer
    def explode() -> None:
        fake_clock.advance(2.0)
        msg = "bad batch"
        raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="bad batch"):
        explode()
    assert capsys.readouterr().out.endswith("explode took 2.0000 seconds\n")
    assert timer_stats()[f"{__name__}.{explode.__qualname__}"].count == 1


def test_timer_keeps_metadata() -> None:
    """__name__, __doc__, __wrapped__ and the signature survive."""

    def step(batch: list[int], *, lr: float = 0.1) -> float:
        """One step."""
        return lr

    timed = timer(step)
    assert timed.__name__ == "step"
    assert timed.__doc__ == "One step."
    assert timed.__wrapped__ is step  # type: ignore[attr-defined]
    assert inspect.signature(timed) == inspect.signature(step)
    assert timed([1], lr=0.5) == 0.5


def test_timer_on_methods_uses_class_qualname(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Methods keep self; the line names Class.method."""

    class Model:
        def __init__(self) -> None:
            self.steps = 0

        @timer
        def fit(self, epochs: int) -> int:
            self.steps += epochs
            return self.steps

    model = Model()
    assert model.fit(3) == 3
    out = capsys.readouterr().out
    assert "Model.fit took 0.0000 seconds" in out


def test_timer_recursion_times_each_level(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """The start time is a local: recursive calls are timed independently."""

    @timer_with_units("s", name="fact")
    def fact(n: int) -> int:
        fake_clock.advance(1.0)
        return 1 if n <= 1 else n * fact(n - 1)

    assert fact(3) == 6
    assert capsys.readouterr().out.splitlines() == [
        "fact took 1.0000 seconds",
        "fact took 2.0000 seconds",
        "fact took 3.0000 seconds",
    ]
    stats = timer_stats()["fact"]
    assert (stats.count, stats.total, stats.min, stats.max) == (3, 6.0, 1.0, 3.0)


def test_timer_async_covers_the_whole_await(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """An async function is timed from call to the end of its await."""

    @timer
    async def load() -> str:
        await asyncio.sleep(0)
        fake_clock.advance(0.5)
        await asyncio.sleep(0)
        return "data"

    assert inspect.iscoroutinefunction(load)
    assert asyncio.run(load()) == "data"
    assert capsys.readouterr().out.endswith("load took 0.5000 seconds\n")


def test_timer_async_reports_on_error(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """An async call that raises is reported, then re-raises."""

    @timer_with_units("ms", name="aboom")
    async def boom() -> None:
        fake_clock.advance(0.25)
        msg = "async failure"
        raise ValueError(msg)

    with pytest.raises(ValueError, match="async failure"):
        asyncio.run(boom())
    assert capsys.readouterr().out == "aboom took 250.0000 ms\n"


def test_concurrent_coroutines_are_timed_independently(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two overlapping awaits of one decorated coroutine get their own spans."""
    gate = asyncio.Event

    @timer_with_units("s", name="overlap")
    async def job(wait: asyncio.Event, advance: float) -> None:
        await wait.wait()
        fake_clock.advance(advance)

    async def main() -> None:
        first, second = gate(), gate()
        tasks = [
            asyncio.create_task(job(first, 1.0)),
            asyncio.create_task(job(second, 2.0)),
        ]
        await asyncio.sleep(0)  # both started at t=0
        first.set()
        await tasks[0]  # ends at t=1
        second.set()
        await tasks[1]  # ends at t=3

    asyncio.run(main())
    assert capsys.readouterr().out.splitlines() == [
        "overlap took 1.0000 seconds",
        "overlap took 3.0000 seconds",
    ]


def test_threads_through_one_timed_function_count_exactly() -> None:
    """8 threads x 500 calls: every call is counted (folds race with appends)."""

    @timer_with_units("s", report=None, name="threaded")
    def work(x: int) -> int:
        return x + 1

    barrier = threading.Barrier(8)

    def run() -> None:
        barrier.wait()
        for i in range(500):
            work(i)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # force many thread switches mid-call
    try:
        threads = [threading.Thread(target=run) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    stats = timer_stats()["threaded"]
    assert stats.count == 4000
    assert 0.0 <= stats.min <= stats.mean <= stats.max


def test_generator_functions_are_rejected() -> None:
    """A timer on a generator function would time only its creation: rejected."""

    def batches() -> Iterator[int]:
        yield 1

    with pytest.raises(InputTypeError, match="generator function"):
        timer(batches)
    with pytest.raises(InputTypeError, match="decorates a callable"):
        timer_with_units("ms")(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------- units
@pytest.mark.parametrize(
    ("unit", "line"),
    [
        ("s", "u took 0.5000 seconds"),
        ("ms", "u took 500.0000 ms"),
        ("us", "u took 500000.0000 us"),
        ("\u00b5s", "u took 500000.0000 \u00b5s"),
        ("\u03bcs", "u took 500000.0000 \u03bcs"),
        ("ns", "u took 500000000.0000 ns"),
    ],
)
def test_units(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str], unit: str, line: str
) -> None:
    """Each unit scales the printed value; µ works in both Unicode spellings."""

    @timer_with_units(unit, name="u")
    def half() -> None:
        fake_clock.advance(0.5)

    half()
    assert capsys.readouterr().out == line + "\n"
    assert timer_stats()["u"].total == 0.5  # statistics stay in seconds


@pytest.mark.parametrize("unit", ["min", "sec", "MS", "", "µ"])
def test_unknown_unit_fails_at_decoration(unit: str) -> None:
    """An unknown unit raises ValueError listing every valid unit, when decorating."""
    with pytest.raises(InvalidParameterError) as info:
        timer_with_units(unit)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert f"unknown unit {unit!r}" in message
    for valid in ("'s'", "'ms'", "'us'", "'\u00b5s'", "'\u03bcs'", "'ns'"):
        assert valid in message


def test_unit_must_be_a_string() -> None:
    """A non-string unit is a type error."""
    with pytest.raises(InputTypeError, match="unit must be a str"):
        timer_with_units(1000)  # type: ignore[arg-type]


# ---------------------------------------------------------------- output choices
def test_report_none_prints_nothing_but_records(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """report=None keeps only the statistics."""

    @timer_with_units("s", report=None, name="quiet")
    def quiet() -> None:
        fake_clock.advance(1.5)

    quiet()
    assert capsys.readouterr().out == ""
    assert timer_stats()["quiet"].total == 1.5


def test_report_to_a_callable(fake_clock: FakeClock) -> None:
    """Any callable gets the finished line."""
    lines: list[str] = []

    @timer_with_units("ms", report=lines.append, name="cb")
    def work() -> None:
        fake_clock.advance(0.001)

    work()
    assert lines == ["cb took 1.0000 ms"]


def test_report_to_a_logger(
    fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A logger gets an INFO record (or the level given) with the same text."""
    logger = logging.getLogger("tests.decorators.timing")

    @timer_with_units("s", report=logger, name="logged")
    def a() -> None:
        fake_clock.advance(2.0)

    @timer_with_units("s", report=logger, level=logging.DEBUG, name="debugged")
    def b() -> None:
        pass

    with caplog.at_level(logging.DEBUG, logger=logger.name):
        a()
        b()
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "logged took 2.0000 seconds"),
        (logging.DEBUG, "debugged took 0.0000 seconds"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"report": "stdout"}, InputTypeError, "report must be a callable"),
        ({"report": logging.getLogger("x"), "level": 2.5}, InputTypeError, "level"),
        ({"name": 3}, InputTypeError, "name must be a str"),
    ],
)
def test_bad_options_fail_when_decorating(
    kwargs: dict[str, object], error: type, words: str
) -> None:
    """Bad report, level or name raise at decoration time."""
    with pytest.raises(error, match=words):
        timer_with_units("s", **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- statistics
def test_statistics_aggregate_and_reset(fake_clock: FakeClock) -> None:
    """count, total, min, max and mean over calls; reset clears one name."""

    @timer_with_units("s", report=None, name="agg")
    def work(seconds: float) -> None:
        fake_clock.advance(seconds)

    @timer_with_units("s", report=None, name="other")
    def other() -> None:
        fake_clock.advance(1.0)

    for s in (1.0, 2.0, 3.0):
        work(s)
    other()
    assert timer_stats()["agg"] == TimerStats(
        name="agg", count=3, total=6.0, min=1.0, max=3.0, mean=2.0
    )
    reset_timer_stats("agg")
    stats = timer_stats()["agg"]
    assert stats.count == 0
    assert stats.total == 0.0
    assert math.isnan(stats.min)
    assert math.isnan(stats.max)
    assert math.isnan(stats.mean)
    assert timer_stats()["other"].count == 1
    reset_timer_stats()
    assert timer_stats()["other"].count == 0
    reset_timer_stats("never-used")  # unknown names are fine


def test_reset_name_must_be_a_string() -> None:
    """reset_timer_stats rejects a non-string name."""
    with pytest.raises(InputTypeError, match="name must be a str"):
        reset_timer_stats(3)  # type: ignore[arg-type]


def test_statistics_are_frozen_snapshots(fake_clock: FakeClock) -> None:
    """A snapshot does not change with later calls and cannot be modified."""

    @timer_with_units("s", report=None, name="snap")
    def work() -> None:
        fake_clock.advance(1.0)

    work()
    before = timer_stats()["snap"]
    work()
    assert before.count == 1
    assert timer_stats()["snap"].count == 2
    with pytest.raises(AttributeError):
        before.count = 5  # type: ignore[misc]


@given(
    durations=st.lists(
        st.floats(0.0, 1e4, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=2600,
    )
)
def test_statistics_match_the_stdlib(durations: list[float]) -> None:
    """Across fold boundaries (every 1024 calls) the aggregates equal min, max,
    math.fsum and statistics.fmean of the recorded durations."""
    reset_timer_stats("prop")
    timing = sys.modules["ml_infra_utils.decorators.timing"]
    it = iter(durations)
    now = [0.0]

    def clock() -> float:
        return now[0]

    @timer_with_units("s", report=None, name="prop")
    def work() -> None:
        now[0] += next(it)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timing, "_clock", clock)
        for _ in durations:
            work()
    stats = timer_stats()["prop"]
    measured = durations
    assert stats.count == len(durations)
    # durations come back as differences of running sums: compare with tolerance
    assert stats.total == pytest.approx(math.fsum(measured), rel=1e-9, abs=1e-6)
    assert stats.mean == pytest.approx(statistics.fmean(measured), rel=1e-9, abs=1e-6)
    assert stats.min == pytest.approx(min(measured), abs=1e-6)
    assert stats.max == pytest.approx(max(measured), abs=1e-6)


def test_name_option_shares_statistics_with_timer_blocks(fake_clock: FakeClock) -> None:
    """A decorated function and a Timer with the same name accumulate together."""

    @timer_with_units("ms", report=None, name="shared")
    def decorated() -> None:
        fake_clock.advance(1.0)

    decorated()
    with Timer("shared", report=None):
        fake_clock.advance(3.0)
    assert timer_stats()["shared"].total == 4.0


# ---------------------------------------------------------------- Timer
def test_timer_block_reports_and_records(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """`with Timer("load")` prints, sets elapsed and accumulates by name."""
    with Timer("load") as t:
        fake_clock.advance(0.25)
    assert t.elapsed == 0.25
    assert capsys.readouterr().out == "load took 0.2500 seconds\n"
    with Timer("load", unit="ms"):
        fake_clock.advance(0.5)
    assert capsys.readouterr().out == "load took 500.0000 ms\n"
    assert timer_stats()["load"].count == 2
    assert repr(t) == "Timer('load', elapsed=0.25)"


def test_unnamed_timer_prints_elapsed_and_records_nothing(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Timer() without a name prints "Elapsed time: ..." and keeps no stats."""
    names = set(timer_stats())
    with Timer() as t:
        fake_clock.advance(1.0)
    assert capsys.readouterr().out == "Elapsed time: 1.0000 seconds\n"
    assert set(timer_stats()) == names
    assert t.elapsed == 1.0
    assert math.isnan(Timer().elapsed)


def test_timer_block_on_error_reports_and_propagates(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception in the block is timed, reported and not suppressed."""

    def failing_block() -> None:
        with Timer("fails"):
            fake_clock.advance(1.0)
            raise KeyError

    with pytest.raises(KeyError):
        failing_block()
    assert capsys.readouterr().out == "fails took 1.0000 seconds\n"


def test_timer_reuse_and_nesting(fake_clock: FakeClock) -> None:
    """One Timer object may be nested and reused on one thread."""
    lines: list[str] = []
    t = Timer("nest", report=lines.append)
    with t:
        fake_clock.advance(1.0)
        with t:
            fake_clock.advance(2.0)
        fake_clock.advance(1.0)
    with t:
        fake_clock.advance(0.5)
    assert lines == [
        "nest took 2.0000 seconds",
        "nest took 4.0000 seconds",
        "nest took 0.5000 seconds",
    ]


def test_timer_async_with(fake_clock: FakeClock) -> None:
    """`async with Timer(...)` times the block across awaits."""
    lines: list[str] = []

    async def main() -> None:
        async with Timer("async block", report=lines.append):
            await asyncio.sleep(0)
            fake_clock.advance(0.75)

    asyncio.run(main())
    assert lines == ["async block took 0.7500 seconds"]


def test_timer_to_logger(
    fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Timer reports to a logger at the level given."""
    logger = logging.getLogger("tests.decorators.block")
    with caplog.at_level(logging.WARNING, logger=logger.name):
        with Timer("blk", report=logger, level=logging.WARNING):
            fake_clock.advance(1.0)
        with Timer("hidden", report=logger):  # INFO: filtered out
            pass
    assert [r.getMessage() for r in caplog.records] == ["blk took 1.0000 seconds"]


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        ((3,), {}, InputTypeError),
        (("x",), {"unit": "hours"}, InvalidParameterError),
        (("x",), {"report": 1}, InputTypeError),
    ],
)
def test_timer_bad_arguments(
    args: tuple[object, ...], kwargs: dict[str, object], error: type
) -> None:
    """Bad Timer arguments raise when the Timer is made."""
    with pytest.raises(error):
        Timer(*args, **kwargs)  # type: ignore[arg-type]


def test_default_clock_is_perf_counter() -> None:
    """Timings use time.perf_counter (never a wall clock)."""
    import time

    timing = sys.modules["ml_infra_utils.decorators.timing"]
    assert timing._clock is time.perf_counter


def test_real_clock_gives_non_negative_durations() -> None:
    """Without a fake clock, durations are non-negative and counted."""

    @timer_with_units("ns", report=None, name="real")
    def noop() -> None:
        pass

    for _ in range(5):
        noop()
    stats = timer_stats()["real"]
    assert stats.count == 5
    assert stats.min >= 0.0


def test_statistics_across_many_folds(fake_clock: FakeClock) -> None:
    """2500 timings (pending list folded twice on the way) aggregate exactly."""
    durations = [(i % 97) / 64 for i in range(2500)]  # exact binary fractions
    it = iter(durations)

    @timer_with_units("s", report=None, name="folds")
    def work() -> None:
        fake_clock.advance(next(it))

    for _ in durations:
        work()
    stats = timer_stats()["folds"]
    assert stats.count == 2500
    assert stats.total == math.fsum(durations)
    assert (stats.min, stats.max) == (min(durations), max(durations))
    assert stats.mean == pytest.approx(statistics.fmean(durations), rel=1e-12)


def test_every_wrapper_kind_folds_without_losing_timings(fake_clock: FakeClock) -> None:
    """Reporting, async and block timers fold past 1024 pending timings too."""
    lines: list[str] = []

    @timer_with_units("s", report=lines.append, name="fold-sync")
    def sync() -> None:
        fake_clock.advance(1.0)

    @timer_with_units("s", report=None, name="fold-async-silent")
    async def quiet() -> None:
        fake_clock.advance(1.0)

    @timer_with_units("s", report=lines.append, name="fold-async")
    async def loud() -> None:
        fake_clock.advance(1.0)

    async def many() -> None:
        for _ in range(1100):
            await quiet()
            await loud()

    block = Timer("fold-block", report=None)
    for _ in range(1100):
        sync()
        with block:
            fake_clock.advance(1.0)
    asyncio.run(many())
    stats = timer_stats()
    for name in ("fold-sync", "fold-async-silent", "fold-async", "fold-block"):
        assert (stats[name].count, stats[name].total) == (1100, 1100.0), name
    assert len(lines) == 2200


def test_pending_timings_stay_bounded(fake_clock: FakeClock) -> None:
    """A hot timed function folds its pending timings every millisecond of
    calls, so memory stays bounded without a check per call."""
    stats_module = sys.modules["ml_infra_utils.decorators._stats"]

    @timer_with_units("s", report=None, name="hot")
    def hot() -> None:
        fake_clock.advance(0.0001)

    pending = stats_module.stats_for("hot").pending
    longest = 0
    for _ in range(5000):
        hot()
        longest = max(longest, len(pending))
    assert longest <= 12
    assert timer_stats()["hot"].count == 5000


def test_statistics_are_keyed_by_module_and_qualname(
    fake_clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two modules' functions of one qualname keep separate statistics.

    The printed line keeps the bare qualname.
    """

    def make(module: str) -> Any:
        def main() -> None:
            fake_clock.advance(1.0)

        main.__module__ = module
        main.__qualname__ = "main"
        return timer(main)

    first, second = make("jobs.train"), make("jobs.evaluate")
    first()
    first()
    second()
    stats = timer_stats()
    assert stats["jobs.train.main"].count == 2
    assert stats["jobs.evaluate.main"].count == 1
    assert "main" not in stats
    assert capsys.readouterr().out.splitlines() == ["main took 1.0000 seconds"] * 3


def test_a_given_name_is_the_key_as_it_is(fake_clock: FakeClock) -> None:
    """name= (and a Timer's name) are used as given, so they can be shared."""

    @timer_with_units("s", report=None, name="step")
    def one() -> None: ...

    one()
    with Timer("step", report=None):
        pass
    assert timer_stats()["step"].count == 2
