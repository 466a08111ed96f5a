"""Decorator overhead: ml-infra-utils against tenacity, stamina, backoff and codetiming.

Every figure is the *overhead* a decorator adds to a call, i.e. its time minus
the time of the same work undecorated, measured in one process and one run;
ratios are *their overhead / ours* (``10x``: we add a tenth of what they add).
Cases are measured in several interleaved rounds and each keeps its best
batch, so slow moments of a shared machine hit all cases alike.

Run: ``.venv/bin/python benchmarks/decorators.py`` (``BENCH_QUICK=1`` for a
quick, rougher pass). Needs the ``bench`` extra: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import backoff  # noqa: E402 - after the path set-up above
import codetiming  # noqa: E402
import stamina  # noqa: E402
import tenacity  # noqa: E402
from _harness import QUICK, fmt_time, machine, per_call, table, write_section  # noqa: E402

import ml_infra_utils as mliu  # noqa: E402

ROUNDS = 2 if QUICK else 4

# Peers log through the stdlib; silence them the way an application that does
# not want their records would (a handler-less root at WARNING would print).
logging.getLogger().addHandler(logging.NullHandler())
stamina.instrumentation.set_on_retry_hooks([])


def best(cases: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Seconds per call of each case: the best over interleaved rounds."""
    result = dict.fromkeys(cases, float("inf"))
    for _ in range(ROUNDS):
        for name, func in cases.items():
            result[name] = min(result[name], per_call(func))
    return result


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
            max_attempts=3, delay=0.0, report=lambda line: None
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
            backoff.constant, ValueError, max_tries=3, interval=0, jitter=None,
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
def ratio(ours: float, theirs: float) -> str:
    return "∞" if ours <= 0 else f"{theirs / ours:.0f}x"


def main() -> None:
    rows: list[list[str]] = []
    summary: list[tuple[str, str, str]] = []

    s = best(success_cases())
    base = s["bare"]
    ours = s["ours"] - base
    for peer, target in (("tenacity", 100), ("stamina", 100), ("backoff", 20)):
        theirs = s[peer] - base
        r = theirs / ours
        rows.append(
            [
                "success path (sync)",
                peer,
                fmt_time(ours),
                fmt_time(theirs),
                ratio(ours, theirs),
                f">= {target}x",
                "met" if r >= target else "NOT met",
            ]
        )
        summary.append((f"success/{peer}", f"{r:.0f}x", f">= {target}x"))

    a = best(async_success_cases())
    abase = a["bare"] / 1000
    aours = a["ours"] / 1000 - abase
    for peer in ("tenacity", "stamina", "backoff"):
        theirs = a[peer] / 1000 - abase
        rows.append(
            [
                "success path (async)",
                peer,
                fmt_time(aours),
                fmt_time(theirs),
                ratio(aours, theirs),
                "-",
                "-",
            ]
        )

    f = best(retry_cases())
    fbase = f["baseline"]
    fours = f["ours"] - fbase
    for peer in ("tenacity", "tenacity, sleep=no-op", "stamina", "backoff"):
        theirs = f[peer] - fbase
        r = theirs / fours
        target = 50 if peer == "tenacity" else None
        rows.append(
            [
                "1 failure + 0 s retry",
                peer,
                fmt_time(fours),
                fmt_time(theirs),
                ratio(fours, theirs),
                f">= {target}x" if target else "-",
                ("met" if r >= target else "NOT met") if target else "-",
            ]
        )
        summary.append((f"retry/{peer}", f"{r:.0f}x", f">= {target}x" if target else "-"))
    printing = f["ours, printing to a sink"] - fbase

    t = best(timer_cases())
    tbase = t["bare"]
    tours = t["ours"] - tbase
    for peer in ("codetiming", "codetiming, named"):
        theirs = t[peer] - tbase
        r = theirs / tours
        rows.append(
            [
                "timer, output off, stats on",
                peer,
                fmt_time(tours),
                fmt_time(theirs),
                ratio(tours, theirs),
                ">= 2x" if peer == "codetiming" else "-",
                ("met" if r >= 2 else "NOT met") if peer == "codetiming" else "-",
            ]
        )
        summary.append((f"timer/{peer}", f"{r:.1f}x", ">= 2x"))
    line_ours = t["ours, line to a callable"] - tbase
    line_theirs = t["codetiming, line to a callable"] - tbase
    rows.append(
        [
            "timer, line to a callable",
            "codetiming",
            fmt_time(line_ours),
            fmt_time(line_theirs),
            ratio(line_ours, line_theirs),
            "-",
            "-",
        ]
    )
    blk_ours = t["ours block"] - t["bare block"]
    blk_theirs = t["codetiming block"] - t["bare block"]
    rows.append(
        [
            "`with Timer(name)`, output off",
            "codetiming",
            fmt_time(blk_ours),
            fmt_time(blk_theirs),
            ratio(blk_ours, blk_theirs),
            "-",
            "-",
        ]
    )

    header = [
        "case",
        "peer",
        "our overhead",
        "peer overhead",
        "ratio",
        "target",
        "",
    ]
    markdown = "\n".join(
        [
            "## decorators: retry and timer overhead",
            "",
            machine(),
            "",
            "Overhead = decorated call minus the same work undecorated (bare call "
            f"{fmt_time(base)}; for the failure case, `try: f() except: f()` "
            f"{fmt_time(fbase)}). Ratio = peer overhead / our overhead. Peers run "
            "as shipped with their logging silenced: tenacity and stamina call "
            "`time.sleep(0)` for a zero wait, backoff too; `tenacity, sleep=no-op` "
            "isolates tenacity's own logic. Async rows: awaits inside one running "
            "loop. Our retry reporting a line to a callable (formatting included) "
            f"adds {fmt_time(printing)} per failure-and-retry.",
            "",
            table(header, rows),
        ]
    )
    print(markdown)
    write_section("decorators", markdown)


if __name__ == "__main__":
    main()
