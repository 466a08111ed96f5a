"""Release checks: build, inspect, and test the wheel as users will install it.

Run by ``make release-check`` and by ``.ci/run``. Steps, each fatal on failure:

1. build the sdist and the wheel into ``dist/`` (``python -m build``);
2. ``twine check --strict`` on both;
3. inspect the wheel: the tag is ``py3-none-any``; it holds ``py.typed``, the four
   subpackages and nothing but the package and its ``.dist-info``; its METADATA has
   no ``Requires-Dist`` outside an extra;
4. inspect the sdist: it holds the metadata files and the sources;
5. for every CPython 3.11, 3.12 and 3.13 that pyenv has (or, failing that, the
   running interpreter), install the wheel with its ``test`` extra into a fresh
   venv and run the whole test suite against it from a copy of the project with
   ``src/`` removed, so nothing can import the working tree.

Usage: ``python scripts/release_checks.py [--skip-build] [--python PATH ...]``
"""

from __future__ import annotations

import argparse
import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
WORK = ROOT / "build" / "release-checks"
PACKAGE = "ml_infra_utils"
SUBPACKAGES = ("preprocessing", "metrics", "decorators", "logging")
SUPPORTED_MINORS = ("3.11", "3.12", "3.13")
# What a copy of the project for the installed-wheel tests leaves out.
NOT_COPIED = {
    ".git",
    ".venv",
    "build",
    "dist",
    "src",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "htmlcov",
    "runs",
    "__pycache__",
}


class CheckFailedError(Exception):
    """A release check did not hold."""


def step(title: str) -> None:
    print(f"\n==> {title}", flush=True)


def run(cmd: list[str], **kwargs: object) -> None:
    print("    $ " + " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def build() -> None:
    step("build sdist and wheel")
    shutil.rmtree(DIST, ignore_errors=True)
    run([sys.executable, "-m", "build", "--outdir", str(DIST), str(ROOT)])


def the_one(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    if len(found) != 1:
        msg = (
            f"expected exactly one {pattern} in {DIST}, found {[p.name for p in found]}"
        )
        raise CheckFailedError(msg)
    return found[0]


def twine_check() -> None:
    step("twine check --strict")
    files = [str(p) for p in sorted(DIST.iterdir())]
    run([sys.executable, "-m", "twine", "check", "--strict", *files])


def inspect_wheel(wheel: Path) -> None:
    step(f"inspect {wheel.name}")
    if not wheel.name.endswith("-py3-none-any.whl"):
        msg = f"the wheel must be py3-none-any, got {wheel.name}"
        raise CheckFailedError(msg)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = [n for n in names if n.split("/")[0].endswith(".dist-info")]
        metadata_name = next(n for n in dist_info if n.endswith("/METADATA"))
        metadata = zf.read(metadata_name).decode()
    stray = [n for n in names if not n.startswith(f"{PACKAGE}/") and n not in dist_info]
    if stray:
        msg = f"the wheel holds files outside {PACKAGE}/ and .dist-info: {stray}"
        raise CheckFailedError(msg)
    wanted = [f"{PACKAGE}/py.typed", f"{PACKAGE}/__init__.py"]
    wanted += [f"{PACKAGE}/{sub}/__init__.py" for sub in SUBPACKAGES]
    missing = [n for n in wanted if n not in names]
    if missing:
        msg = f"the wheel lacks {missing}"
        raise CheckFailedError(msg)
    odd = [
        n
        for n in names
        if n.startswith(f"{PACKAGE}/")
        and (not n.endswith((".py", "py.typed")) or "/tests/" in n or "test_" in n)
    ]
    if odd:
        msg = f"the wheel holds files that are not package sources: {odd}"
        raise CheckFailedError(msg)
    headers = email.parser.Parser().parsestr(metadata)
    requires = headers.get_all("Requires-Dist") or []
    runtime = [r for r in requires if not re.search(r"extra\s*==", r)]
    if runtime:
        msg = f"the wheel declares runtime dependencies: {runtime}"
        raise CheckFailedError(msg)
    python_requires = headers.get("Requires-Python")
    if python_requires != ">=3.11":
        msg = f"Requires-Python should be >=3.11, got {python_requires!r}"
        raise CheckFailedError(msg)
    print(
        f"    {len(names)} files; no runtime dependencies; "
        f"{len(requires)} Requires-Dist, all behind extras"
    )


def inspect_sdist(sdist: Path) -> None:
    step(f"inspect {sdist.name}")
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    wanted = {
        "pyproject.toml",
        "setup.py",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        f"src/{PACKAGE}/__init__.py",
        f"src/{PACKAGE}/py.typed",
    }
    missing = sorted(wanted - names)
    if missing:
        msg = f"the sdist lacks {missing}"
        raise CheckFailedError(msg)
    print(f"    {len(names)} files")


def pyenv_pythons() -> list[Path]:
    """The newest patch release of each supported minor version pyenv holds."""
    try:
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return []
    best: dict[str, tuple[tuple[int, ...], Path]] = {}
    for d in Path(root, "versions").glob("3.*"):
        m = re.fullmatch(r"(3\.\d+)\.(\d+)", d.name)
        exe = d / "bin" / "python3"
        if m and m.group(1) in SUPPORTED_MINORS and exe.exists():
            key = (int(m.group(2)),)
            if m.group(1) not in best or key > best[m.group(1)][0]:
                best[m.group(1)] = (key, exe)
    return [best[minor][1] for minor in SUPPORTED_MINORS if minor in best]


def copy_project(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)

    def ignore(_dir: str, names: list[str]) -> list[str]:
        return [n for n in names if n in NOT_COPIED or n.endswith(".egg-info")]

    shutil.copytree(ROOT, dest, ignore=ignore)


def test_installed_wheel(python: Path, wheel: Path, tree: Path) -> float:
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    step(f"test the installed wheel on CPython {version} ({python})")
    venv = WORK / f"venv-{version}"
    shutil.rmtree(venv, ignore_errors=True)
    run([str(python), "-m", "venv", str(venv)])
    vpy = venv / "bin" / "python"
    pip = [str(vpy), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    run([*pip, "install", "--upgrade", "pip"])
    run([*pip, "install", f"{wheel}[test]"])
    env = dict(
        os.environ, ML_INFRA_UTILS_TEST_INSTALLED="1", ML_INFRA_UTILS_WHEEL=str(wheel)
    )
    env.pop("PYTHONPATH", None)
    start = time.perf_counter()
    run(
        [str(vpy), "-m", "pytest", "-p", "no:cacheprovider", "tests"], cwd=tree, env=env
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--skip-build",
        action="store_true",
        help="reuse the distributions already in dist/",
    )
    parser.add_argument(
        "--python",
        action="append",
        type=Path,
        default=[],
        help="test the wheel on this interpreter (repeatable); "
        "default: every supported CPython pyenv has",
    )
    args = parser.parse_args()
    try:
        if not args.skip_build:
            build()
        twine_check()
        wheel = the_one("*.whl")
        sdist = the_one("*.tar.gz")
        inspect_wheel(wheel)
        inspect_sdist(sdist)
        pythons = args.python or pyenv_pythons()
        if pythons:
            print(f"\n    interpreters found: {', '.join(map(str, pythons))}")
        else:
            print("\n    pyenv has no supported CPython; using the running interpreter")
            pythons = [Path(sys.executable)]
        WORK.mkdir(parents=True, exist_ok=True)
        tree = WORK / "project-without-src"
        copy_project(tree)
        timings = {str(p): test_installed_wheel(p, wheel, tree) for p in pythons}
    except (CheckFailedError, subprocess.CalledProcessError) as exc:
        print(f"\nrelease checks FAILED: {exc}", file=sys.stderr)
        return 1
    step("release checks passed")
    for python, seconds in timings.items():
        print(f"    wheel tests on {python}: passed in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
