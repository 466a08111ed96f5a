"""Change tracking: the cost of one recorded mutation, against pydatatracker 0.1.0.

Measures ``d["k0"] = 1`` on a 10-key dict and ``lst.append(1)``, on a fresh
container and on one that already recorded 10,000 changes, for a plain
dict/list, pydatatracker 0.1.0 and our TrackedDict/TrackedList; plus our
nested write, observer and actor costs. Every timed statement also drops the
record it added, so the history stays at its length (the same for every
contender); the best of several ``timeit`` repeats counts (garbage collector
off, as ``timeit`` does).

pydatatracker 0.1.0 requires Python 3.12, so its side runs in a separate
virtual environment made with pyenv's 3.12: this script creates
``.venv-pydatatracker`` (``<pyenv root>/versions/3.12.*/bin/python -m venv``,
then ``pip install pydatatracker==0.1.0``) on first use, and runs itself there
with ``--side pydatatracker``. Our side runs there too (``PYTHONPATH=src``), so
the ratio compares both on one interpreter, and once more in the current
interpreter. Without pyenv's 3.12 only our side is measured.

Reproduce: ``.venv/bin/python benchmarks/changes.py`` from the repository root
(``BENCH_QUICK=1`` for a quick, rougher pass). It rewrites the "changes"
section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import timeit
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

ROOT = HERE.parent
PDT_VENV = ROOT / ".venv-pydatatracker"
QUICK = os.environ.get("BENCH_QUICK") == "1"
HISTORY = 10_000
REPEATS = 3 if QUICK else 7
TARGET_FRESH, TARGET_LONG = 25.0, 1000.0


Case = tuple[str, dict[str, Any]]  # (statement, namespace)


def measure(cases: dict[str, Case], *, min_time: float = 0.05) -> dict[str, float]:
    """Seconds per execution of each statement, best of REPEATS rounds.

    Every round times every case once, so a burst of load on the (shared)
    machine hits all contenders alike instead of one of them.
    """
    if QUICK:
        min_time /= 4
    timers = {}
    for name, (stmt, namespace) in cases.items():
        timer = timeit.Timer(stmt, globals=namespace)
        number = 1
        while (elapsed := timer.timeit(number)) < min_time:
            number *= 10 if elapsed < min_time / 10 else 2
        timers[name] = (timer, number)
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(REPEATS):
        for name, (timer, number) in timers.items():
            best[name] = min(best[name], timer.timeit(number) / number)
    return best


# Every contender times the same statements: the change, then dropping the
# record it added (and the appended item), so the history keeps its length.
DICT_SET = "d['k0'] = 1; dlog.pop()"
LIST_APPEND = "lst.append(1); llog.pop(); pop_item(lst)"
LABELS = (("fresh", 0), ("after 10,000", HISTORY))


def plain_cases() -> dict[str, Case]:
    d = {f"k{i}": i for i in range(10)}
    lst: list[int] = []
    return {
        "plain dict set": ("d['k0'] = 1", {"d": d}),
        "plain list append": ("lst.append(1); pop()", {"lst": lst, "pop": lst.pop}),
    }


def pydatatracker_cases() -> dict[str, Case]:
    from pydatatracker import TrackedDict, TrackedList  # type: ignore[import-not-found]

    cases: dict[str, Case] = {}
    for label, size in LABELS:
        d = TrackedDict({f"k{i}": i for i in range(10)})
        lst = TrackedList()
        for i in range(size):  # real changes (quadratic in pydatatracker)
            d["k1"] = i
            lst.append(i)
        ns = {"d": d, "lst": lst, "pop_item": list.pop}
        ns.update(dlog=d._tracking_changes, llog=lst._tracking_changes)
        cases[f"pydatatracker dict set, {label}"] = (DICT_SET, ns)
        cases[f"pydatatracker list append, {label}"] = (LIST_APPEND, ns)
    return cases


def ours_cases() -> dict[str, Case]:
    from ml_infra_utils import ChangeCollector, TrackedDict, TrackedList, tracking_actor

    cases: dict[str, Case] = {}
    for label, size in LABELS:
        d = TrackedDict({f"k{i}": i for i in range(10)})
        lst = TrackedList()
        for i in range(size):
            d["k1"] = i
            lst.append(i)
        ns = {"d": d, "lst": lst, "pop_item": list.pop}
        ns.update(dlog=d._tk.history, llog=lst._tk.history)
        cases[f"ours dict set, {label}"] = (DICT_SET, ns)
        cases[f"ours list append, {label}"] = (LIST_APPEND, ns)
    root = TrackedDict({"model": {f"k{i}": i for i in range(10)}})
    child = root["model"]
    ns = {"root": root, "child": child}
    ns.update(clog=child._tk.history, rlog=root._tk.history)
    cases["ours nested dict set (1 parent)"] = (
        "child['k0'] = 1; clog.pop(); rlog.pop()",
        ns,
    )
    collector = ChangeCollector(capacity=1)
    observed = TrackedDict({"k0": 0}, max_history=1, observers=[collector])
    cases["ours dict set with a collector"] = ("d['k0'] = 1", {"d": observed})
    bounded = TrackedDict({"k0": 0}, max_history=1000)
    actor = tracking_actor("bench")
    cases["ours dict set with an actor"] = ("d['k0'] = 1", {"d": bounded})
    actor.__enter__()  # stays set for the rest of this process
    return cases


def side(name: str) -> dict[str, float]:
    """The measurements of one process: "all" (3.12 venv) or "ours" (here)."""
    cases = {**plain_cases(), **ours_cases()}
    if name == "all":
        cases.update(pydatatracker_cases())
    return measure(cases)


# ---------------------------------------------------------------- driver
def _python312() -> str | None:
    root = os.environ.get("PYENV_ROOT")
    if root is None:
        try:
            root = subprocess.run(
                ["pyenv", "root"], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None
    found = sorted(glob.glob(os.path.join(root, "versions", "3.12.*", "bin", "python")))
    return found[-1] if found else None


def _pdt_python() -> str | None:
    python = PDT_VENV / "bin" / "python"
    if not python.exists():
        base = _python312()
        if base is None:
            return None
        subprocess.run([base, "-m", "venv", str(PDT_VENV)], check=True)
    check = subprocess.run(
        [str(python), "-c", "import pydatatracker"], capture_output=True, check=False
    )
    if check.returncode:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "pydatatracker==0.1.0"],
            check=True,
        )
    return str(python)


def _run_side(python: str, side: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run(
        [python, __file__, "--side", side],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def main() -> None:
    import _harness  # next to this script, first on sys.path

    print("measuring our side in this interpreter ...", file=sys.stderr)
    here = side("ours")
    pdt_python = _pdt_python()
    if pdt_python is None:
        print("pyenv's Python 3.12 not found: pydatatracker skipped", file=sys.stderr)
        v312, there = "-", {}
    else:
        print(
            f"measuring pydatatracker and ours with {pdt_python} ...", file=sys.stderr
        )
        v312, there = _version(pdt_python), _run_side(pdt_python, "all")

    fmt = _harness.fmt_time

    def cell(values: dict[str, float], key: str) -> str:
        return fmt(values[key]) if key in values else "-"

    rows, checks = [], []
    for op in ("dict set", "list append"):
        fresh_theirs = there.get(f"pydatatracker {op}, fresh")
        for label, _ in LABELS:
            ours_v = there.get(f"ours {op}, {label}")
            theirs_v = there.get(f"pydatatracker {op}, {label}")
            ratio = "-"
            if ours_v and theirs_v and fresh_theirs:
                ratio = _harness.fmt_ratio(ours_v, theirs_v)
                target = TARGET_FRESH if label == "fresh" else TARGET_LONG
                met = theirs_v / ours_v >= target
                met = met and fresh_theirs / ours_v >= TARGET_FRESH
                checks.append(
                    f"- {op}, {label}: {theirs_v / ours_v:,.0f}x faster than "
                    f"pydatatracker (target >= {target:,.0f}x): "
                    f"{'met' if met else 'MISSED'}"
                )
            rows.append(
                [
                    f"{op} ({label})"
                    if label == "fresh"
                    else f"{op} ({label} changes)",
                    cell(there, f"plain {op}"),
                    cell(there, f"pydatatracker {op}, {label}"),
                    cell(there, f"ours {op}, {label}"),
                    ratio,
                    cell(here, f"ours {op}, {label}"),
                ]
            )
        fresh, grown = f"ours {op}, fresh", f"ours {op}, after 10,000"
        for where, values in (("3.12", there), ("this venv", here)):
            if fresh in values:
                growth = values[grown] / values[fresh]
                checks.append(
                    f"- {op}, ours ({where}): after 10,000 changes / fresh = "
                    f"{growth:.2f} (flat)"
                )
    for extra in (
        "nested dict set (1 parent)",
        "dict set with a collector",
        "dict set with an actor",
    ):
        key = f"ours {extra}"
        rows.append([extra, "-", "-", cell(there, key), "-", cell(here, key)])
    version_here = _harness.machine().split("CPython ")[1].split(",")[0]
    header = ["operation", f"plain ({v312})", f"pydatatracker 0.1.0 ({v312})"]
    header += [f"ours ({v312})", "ours vs pydatatracker"]
    header += [f"ours ({version_here}, this venv)"]
    markdown = "\n".join(
        [
            "## Change tracking (`logging.changes`)",
            "",
            "Cost of one recorded mutation: a 10-key dict's `d['k0'] = 1` and a",
            "list's `append`, on a fresh container and after 10,000 recorded",
            "changes (each timed statement also pops the record it added, so the",
            "history keeps its length); best of several rounds, each round timing",
            "every contender once. pydatatracker needs Python 3.12, so the 3.12",
            "columns run in one process in a pyenv 3.12 venv made by the script;",
            "the last column is our side in the interpreter that ran",
            "`benchmarks/changes.py`.",
            "",
            _harness.machine(),
            "",
            _harness.table(header, rows),
            "",
            "Targets: dict set and list append at most 1/25 of pydatatracker's",
            "fresh cost, and flat as the history grows (so >= 1000x faster than",
            "pydatatracker after 10,000 changes):",
            "",
            *(checks or ["- pydatatracker was not measured (no pyenv 3.12)"]),
        ]
    )
    print(markdown)
    _harness.write_section("changes", markdown)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--side":
        print(json.dumps(side(sys.argv[2])))
    else:
        main()
