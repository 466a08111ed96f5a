"""Decorator overhead: ml-infra-utils against tenacity, stamina, backoff and codetiming.

Every figure is the *overhead* a decorator adds to a call, i.e. its time minus
the time of the same work undecorated, measured in one process and one run;
ratios are *their overhead / ours* (``10x``: we add a tenth of what they add).
Cases are measured in several interleaved rounds, so a slow spell of a shared
machine hits every case, and each keeps its best round (the figure least
disturbed by other work, as in ``_harness.per_call``).

Run: ``.venv/bin/python benchmarks/decorators.py`` (``BENCH_QUICK=1`` for a
quick, rougher pass). Needs the ``bench`` extra: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import backoff
import codetiming
import stamina
import tenacity
from _harness import QUICK, fmt_time, machine, per_call, table, write_section

import ml_infra_utils as mliu

ROUNDS = 3 if QUICK else 7

# Peers log through the stdlib; silence them the way an application that does
# not want their records would (a handler-less root at WARNING would print).
logging.getLogger().addHandler(logging.NullHandler())
stamina.instrumentation.set_on_retry_hooks([])


class Rounds:
    """Seconds per call of each case, per round of interleaved measurements."""

    def __init__(self, cases: dict[str, Callable[[], object]], scale: int = 1) -> None:
        self.times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(ROUNDS):
            for name, func in cases.items():
                # the rounds are the repeats: two batches per case and round
                self.times[name].append(per_call(func, repeat=2) / scale)

    def overhead(self, case: str, base: str) -> float:
        """Best time of *case* minus best time of *base*."""
        return min(self.times[case]) - min(self.times[base])

    def ratio(self, ours: str, theirs: str, base: str) -> float:
        """Their overhead / ours, from the best rounds."""
        mine = self.overhead(ours, base)
        return self.overhead(theirs, base) / mine if mine > 0 else math.inf


# ---------------------------------------------------------------- success path
def ok() -> int:
    return 1


def success_cases() -> dict[str, Callable[[], object]]:
    return {
        "bare": ok,
        "ours": mliu.retry(max_attempts=3)(ok),
        "tenacity": tenacity.retry(stop=tenacity.stop_after_attempt(3))(ok),
        "stamina": stamina.retry(on=Exception, attempts=3)(ok),
        "backoff": backoff.on_exception(backoff.expo, Exception, max_tries=3)(ok),
    }


async def aok() -> int:
    return 1


def async_success_cases() -> dict[str, Callable[[], object]]:
    """Each case runs 1000 awaits inside one running loop per call."""
    funcs = {
        "bare": aok,
        "ours": mliu.retry(max_attempts=3)(aok),
        "tenacity": tenacity.retry(stop=tenacity.stop_after_attempt(3))(aok),
        "stamina": stamina.retry(on=Exception, attempts=3)(aok),
        "backoff": backoff.on_exception(backoff.expo, Exception, max_tries=3)(aok),
    }
    loop = asyncio.new_event_loop()

    def runner(f: Callable[[], object]) -> Callable[[], object]:
        async def many() -> None:
            for _ in range(1000):
                await f()  # type: ignore[misc]

        return lambda: loop.run_until_complete(many())

    return {name: runner(f) for name, f in funcs.items()}


# ---------------------------------------------------------------- one failure
def flaky_function() -> Callable[[], int]:
    """A function that raises on every other call: one failure, then success."""
    state = [0]

    def flaky() -> int:
        state[0] ^= 1
        if state[0]:
            msg = "transient"
            raise ValueError(msg)
        return 1

    return flaky


def retry_cases() -> dict[str, Callable[[], object]]:
    raw = flaky_function()

    def baseline() -> int:
        try:
            return raw()
        except ValueError:
            return raw()

    def no_sleep(_seconds: float) -> None:
        return None

    return {
        "baseline": baseline,
        "ours": mliu.retry(max_attempts=3, delay=0.0, report=None)(flaky_function()),
        "ours, printing to a sink": mliu.retry(
            max_attempts=3, delay=0.0, report=lambda _line: None
        )(flaky_function()),
        "tenacity": tenacity.retry(
            stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_none()
        )(flaky_function()),
        "tenacity, sleep=no-op": tenacity.retry(
            stop=tenacity.stop_after_attempt(3),
            wait=tenacity.wait_none(),
            sleep=no_sleep,
        )(flaky_function()),
        "stamina": stamina.retry(
            on=ValueError, attempts=3, wait_initial=0, wait_jitter=0, wait_max=0
        )(flaky_function()),
        "backoff": backoff.on_exception(
            backoff.constant,
            ValueError,
            max_tries=3,
            interval=0,
            jitter=None,
            logger=None,
        )(flaky_function()),
    }


# ---------------------------------------------------------------- timers
def timer_cases() -> dict[str, Callable[[], object]]:
    def discard(_line: str) -> None:
        return None

    ours_block = mliu.Timer("block", report=None)
    theirs_block = codetiming.Timer(name="block", logger=None)

    def ours_with() -> None:
        with ours_block:
            pass

    def theirs_with() -> None:
        with theirs_block:
            pass

    def bare_with() -> None:
        pass

    return {
        "bare": ok,
        "ours": mliu.timer_with_units("s", report=None, name="bench")(ok),
        "codetiming": codetiming.Timer(logger=None)(ok),
        "codetiming, named": codetiming.Timer(name="ct", logger=None)(ok),
        "ours, line to a callable": mliu.timer_with_units(
            "s", report=discard, name="bench2"
        )(ok),
        "codetiming, line to a callable": codetiming.Timer(logger=discard)(ok),
        "bare block": bare_with,
        "ours block": ours_with,
        "codetiming block": theirs_with,
    }


# ---------------------------------------------------------------- report
def fmt_x(r: float) -> str:
    """A ratio, with two digits when it is near a target."""
    return "∞" if math.isinf(r) else (f"{r:.2f}x" if r < 10 else f"{r:.0f}x")


def row(
    case: str,
    peer: str,
    rounds: Rounds,
    names: tuple[str, str, str],
    target: float | None = None,
) -> list[str]:
    """One table row for *peer* against ours; names = (ours, theirs, base)."""
    ours, theirs, base = names
    r = rounds.ratio(ours, theirs, base)
    verdict = "-"
    if target is not None:
        verdict = f">= {target:g}x: " + ("met" if r >= target else "NOT met")
    return [
        case,
        peer,
        fmt_time(rounds.overhead(ours, base)),
        fmt_time(rounds.overhead(theirs, base)),
        fmt_x(r),
        verdict,
    ]


def main() -> None:
    rows: list[list[str]] = []

    s = Rounds(success_cases())
    for peer, target in (("tenacity", 100), ("stamina", 100), ("backoff", 20)):
        rows.append(
            row("`@retry` success path", peer, s, ("ours", peer, "bare"), target)
        )

    a = Rounds(async_success_cases(), scale=1000)
    rows.extend(
        row("`@retry` success path, async", peer, a, ("ours", peer, "bare"))
        for peer in ("tenacity", "stamina", "backoff")
    )

    f = Rounds(retry_cases())
    for peer in ("tenacity", "tenacity, sleep=no-op", "stamina", "backoff"):
        target = 50 if peer == "tenacity" else None
        rows.append(
            row("1 failure + 0 s retry", peer, f, ("ours", peer, "baseline"), target)
        )
    printing = f.overhead("ours, printing to a sink", "ours")

    t = Rounds(timer_cases())
    case = "timer, output off, stats on"
    rows.append(row(case, "codetiming", t, ("ours", "codetiming", "bare"), 2))
    rows.append(
        row(case, "codetiming, named", t, ("ours", "codetiming, named", "bare"))
    )
    rows.append(
        row(
            "timer, line to a callable",
            "codetiming",
            t,
            ("ours, line to a callable", "codetiming, line to a callable", "bare"),
        )
    )
    rows.append(
        row(
            "`with Timer(name)`, output off",
            "codetiming",
            t,
            ("ours block", "codetiming block", "bare block"),
        )
    )
    base = min(s.times["bare"])
    fbase = min(f.times["baseline"])

    header = ["case", "peer", "our overhead", "peer overhead", "ratio", "target"]
    markdown = "\n".join(
        [
            "## decorators: retry and timer overhead",
            "",
            machine(),
            "",
            (
                "Overhead = decorated call minus the same work undecorated (bare "
                f"call {fmt_time(base)}; for the failure case, `try: f() except: "
                f"f()` {fmt_time(fbase)}), best of {ROUNDS} interleaved rounds. "
                "Ratio = peer overhead / our overhead. "
                "Peers run as shipped with their logging silenced: tenacity, "
                "stamina and backoff call `time.sleep(0)` for a zero wait; "
                "`tenacity, sleep=no-op` isolates tenacity's own logic. Async "
                "rows: awaits inside one running loop. Our retry reporting its "
                f"line to a callable adds {fmt_time(printing)} per retry."
            ),
            "",
            table(header, rows),
        ]
    )
    print(markdown)
    write_section("decorators", markdown)


if __name__ == "__main__":
    main()
