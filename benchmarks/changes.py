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

import sys
from pathlib import Path

# Python puts this folder first on sys.path, and benchmarks/logging.py would
# then stand in for the standard library's logging: take the folder off.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import glob  # noqa: E402 - after the sys.path fix above
import json  # noqa: E402
import logging  # noqa: E402, F401 - the stdlib's, cached before HERE returns to sys.path
import os  # noqa: E402
import subprocess  # noqa: E402
import timeit  # noqa: E402
from typing import Any  # noqa: E402

ROOT = HERE.parent
PDT_VENV = ROOT / ".venv-pydatatracker"
QUICK = os.environ.get("BENCH_QUICK") == "1"
HISTORY = 10_000
REPEATS = 3 if QUICK else 7
TARGET_FRESH, TARGET_LONG = 25.0, 1000.0


def best(stmt: str, namespace: dict[str, Any], *, min_time: float = 0.05) -> float:
    """Seconds per execution of *stmt*: best of REPEATS timeit batches."""
    timer = timeit.Timer(stmt, globals=namespace)
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= (min_time / 4 if QUICK else min_time):
            break
        number *= 10 if elapsed < min_time / 10 else 2
    return min(
        [elapsed / number] + [t / number for t in timer.repeat(REPEATS - 1, number)]
    )


# ---------------------------------------------------------------- sides
def plain_side() -> dict[str, float]:
    d = {f"k{i}": i for i in range(10)}
    lst: list[int] = []
    ns = {"d": d, "lst": lst, "pop": lst.pop}
    return {
        "dict set": best("d['k0'] = 1", ns),
        "list append": best("lst.append(1); pop()", ns),
    }


def pydatatracker_side() -> dict[str, float]:
    from pydatatracker import TrackedDict, TrackedList  # type: ignore[import-not-found]

    out: dict[str, float] = {}
    for label, size in (("fresh", 0), ("after 10,000", HISTORY)):
        d = TrackedDict({f"k{i}": i for i in range(10)})
        lst = TrackedList()
        for i in range(size):  # real changes: quadratic in pydatatracker
            d["k1"] = i
            lst.append(i)
        ns = {
            "d": d,
            "lst": lst,
            "dlog": d._tracking_changes,
            "llog": lst._tracking_changes,
        }
        ns["pop_item"] = list.pop
        out[f"dict set, {label}"] = best("d['k0'] = 1; dlog.pop()", ns)
        out[f"list append, {label}"] = best(
            "lst.append(1); llog.pop(); pop_item(lst)", ns
        )
    return out


def ours_side() -> dict[str, float]:
    from ml_infra_utils import ChangeCollector, TrackedDict, TrackedList, tracking_actor

    out: dict[str, float] = {}
    for label, size in (("fresh", 0), ("after 10,000", HISTORY)):
        d = TrackedDict({f"k{i}": i for i in range(10)})
        lst = TrackedList()
        for i in range(size):
            d["k1"] = i
            lst.append(i)
        ns = {"d": d, "lst": lst, "dlog": d._tk.history, "llog": lst._tk.history}
        ns["pop_item"] = list.pop
        out[f"dict set, {label}"] = best("d['k0'] = 1; dlog.pop()", ns)
        out[f"list append, {label}"] = best(
            "lst.append(1); llog.pop(); pop_item(lst)", ns
        )
    root = TrackedDict({"model": {f"k{i}": i for i in range(10)}})
    child = root["model"]
    ns = {"child": child, "clog": child._tk.history, "rlog": root._tk.history}
    out["nested dict set (1 parent)"] = best(
        "child['k0'] = 1; clog.pop(); rlog.pop()", ns
    )
    observed = TrackedDict(
        {"k0": 0}, max_history=1, observers=[ChangeCollector(capacity=1)]
    )
    out["dict set with a collector"] = best("d['k0'] = 1", {"d": observed})
    bounded = TrackedDict({"k0": 0}, max_history=1000)
    with tracking_actor("bench"):
        out["dict set with an actor"] = best("d['k0'] = 1", {"d": bounded})
    return out


SIDES = {"plain": plain_side, "pydatatracker": pydatatracker_side, "ours": ours_side}


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
    sys.path.insert(0, str(HERE))
    import _harness

    print("measuring our side in this interpreter ...", file=sys.stderr)
    here = {**ours_side(), **{f"plain {k}": v for k, v in plain_side().items()}}
    pdt_python = _pdt_python()
    if pdt_python is None:
        print("pyenv's Python 3.12 not found: pydatatracker skipped", file=sys.stderr)
        theirs: dict[str, float] = {}
        ours312: dict[str, float] = {}
        plain312: dict[str, float] = {}
        version312 = "-"
    else:
        print(f"measuring pydatatracker with {pdt_python} ...", file=sys.stderr)
        theirs = _run_side(pdt_python, "pydatatracker")
        ours312 = _run_side(pdt_python, "ours")
        plain312 = _run_side(pdt_python, "plain")
        version312 = _version(pdt_python)

    fmt = _harness.fmt_time
    rows = []
    checks = []
    for op in ("dict set", "list append"):
        fresh_theirs = theirs.get(f"{op}, fresh")
        for label in ("fresh", "after 10,000"):
            case = f"{op}, {label}"
            ours_v = ours312.get(case)
            theirs_v = theirs.get(case)
            ratio = _harness.fmt_ratio(ours_v, theirs_v) if ours_v and theirs_v else "-"
            rows.append(
                [
                    f"{op} ({label} changes)" if label != "fresh" else f"{op} (fresh)",
                    fmt(plain312[op]) if op in plain312 else "-",
                    fmt(theirs_v) if theirs_v else "-",
                    fmt(ours_v) if ours_v else "-",
                    ratio,
                    fmt(here[case]),
                ]
            )
            if ours_v and theirs_v and fresh_theirs:
                target = TARGET_FRESH if label == "fresh" else TARGET_LONG
                met = (
                    theirs_v / ours_v >= target
                    and fresh_theirs / ours_v >= TARGET_FRESH
                )
                checks.append(
                    f"- {op}, {label}: {theirs_v / ours_v:,.0f}x faster "
                    f"(target >= {target:,.0f}x): {'met' if met else 'MISSED'}"
                )
        if ours312.get(f"{op}, fresh"):
            growth = ours312[f"{op}, after 10,000"] / ours312[f"{op}, fresh"]
            checks.append(
                f"- {op}: ours after 10,000 changes / fresh = {growth:.2f} (flat)"
            )
    extra = ("nested dict set (1 parent)", "dict set with a collector")
    extra += ("dict set with an actor",)
    rows += [
        [c, "-", "-", fmt(ours312[c]) if c in ours312 else "-", "-", fmt(here[c])]
        for c in extra
    ]
    header = [
        "operation",
        f"plain ({version312})",
        f"pydatatracker 0.1.0 ({version312})",
        f"ours ({version312})",
        "ours vs pydatatracker",
        f"ours ({_harness.machine().split('CPython ')[1].split(',')[0]}, this venv)",
    ]
    markdown = "\n".join(
        [
            "## Change tracking (`logging.changes`)",
            "",
            "Cost of one recorded mutation: a 10-key dict's `d['k0'] = 1` and a",
            "list's `append`, on a fresh container and after 10,000 recorded",
            "changes (each timed statement also pops the record it added, so the",
            "history keeps its length), best of several `timeit` repeats.",
            "pydatatracker needs Python 3.12, so it and the 3.12 columns run in a",
            "pyenv 3.12 venv made by the script; the last column is our side in",
            "the interpreter that ran `benchmarks/changes.py`.",
            "",
            _harness.machine(),
            "",
            _harness.table(header, rows),
            "",
            "Targets (dict set and list append at most 1/25 of pydatatracker's",
            "fresh cost, and flat as the history grows):",
            "",
            *(checks or ["- pydatatracker was not measured (no pyenv 3.12)"]),
        ]
    )
    print(markdown)
    _harness.write_section("changes", markdown)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--side":
        print(json.dumps(SIDES[sys.argv[2]]()))
    else:
        main()
