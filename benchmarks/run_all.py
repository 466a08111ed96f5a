"""Run every benchmark script (``make bench``); each updates docs/benchmarks.md.

Each script runs in its own process so one area's imports and garbage cannot
disturb another's timings. ``python benchmarks/run_all.py metrics`` runs only
the named scripts; ``BENCH_QUICK=1`` makes a fast, rougher pass.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(
        p
        for p in HERE.glob("*.py")
        if not p.name.startswith("_") and p.name != Path(__file__).name
    )
    if argv:
        scripts = [p for p in scripts if p.stem in argv]
    if not scripts:
        print("no benchmark scripts yet")
        return 0
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        start = time.perf_counter()
        code = subprocess.run([sys.executable, str(script)], check=False).returncode
        print(
            f"=== {script.stem}: exit {code} in {time.perf_counter() - start:.0f} s",
            flush=True,
        )
        if code:
            failed.append(script.stem)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
