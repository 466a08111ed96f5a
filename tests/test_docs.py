"""Every example in the README and the guide (docs/*.md) runs as shown.

Two kinds of examples, checked for every page:

- ``>>>`` sessions run as doctests (ELLIPSIS and NORMALIZE_WHITESPACE on);
- fenced ``python`` blocks without ``>>>`` run as programs, each in a fresh
  namespace and an empty working directory, with retries not sleeping. A block's
  comment lines right after a ``print(...)`` line give the output it must print,
  e.g. ``print(x)`` followed by ``# 42``.

A block fenced as anything else is not run: ``text`` for signatures and
output, ``sh`` for commands, ``py`` for a recipe that needs the reader's own data
or services (the suite runs the equivalent code elsewhere, e.g. the Dask recipe
in tests/metrics).
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
from pathlib import Path

import pytest

from ml_infra_utils import end_run, retry_testing

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
# Pages that document a subpackage: each must show runnable examples.
GUIDES = {"preprocessing", "metrics", "decorators", "logging", "runs", "changes", "cli"}


def programs(page: Path) -> list[str]:
    """The fenced python blocks of *page* that are programs (not ``>>>`` sessions)."""
    blocks = FENCE.findall(page.read_text(encoding="utf-8"))
    return [b for b in blocks if ">>> " not in b]


def expected_output(code: str) -> list[str]:
    """The comment lines that follow a print() line: what the block prints.

    ``...`` in such a line stands for any text, and a line may be part of a
    longer printed line (docs wrap long output).
    """
    expected: list[str] = []
    after_print = False
    for line in code.splitlines():
        stripped = line.strip()
        if stripped.startswith("# ") and after_print:
            expected.append(stripped[2:].strip())
            continue
        after_print = "print(" in line and not stripped.startswith("#")
    return expected


PROGRAMS = [
    pytest.param(code, id=f"{page.stem}-{i}")
    for page in PAGES
    for i, code in enumerate(programs(page))
]


def test_the_docs_are_there() -> None:
    """The guide pages exist next to the tests (also in the installed-wheel run)."""
    assert {p.stem for p in PAGES} >= GUIDES


@pytest.mark.parametrize(
    "page", [p for p in PAGES if p.stem in GUIDES], ids=lambda p: p.stem
)
def test_every_guide_has_examples(page: Path) -> None:
    """A guide page shows runnable code: doctest sessions or program blocks."""
    text = page.read_text(encoding="utf-8")
    assert ">>> " in text or programs(page), page.name


@pytest.mark.parametrize(
    "page",
    [p for p in PAGES if ">>> " in p.read_text(encoding="utf-8")],
    ids=lambda p: p.stem,
)
def test_doctest_sessions(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The >>> examples of a page give the output the page shows."""
    monkeypatch.chdir(tmp_path)
    with retry_testing():
        result = doctest.testfile(
            str(page),
            module_relative=False,
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
            verbose=False,
        )
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("code", PROGRAMS)
def test_program_blocks(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A python block runs as written and prints what its comments say."""
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    try:
        with retry_testing(), contextlib.redirect_stdout(out):
            exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})  # noqa: S102 - our own docs
    finally:
        end_run()
    printed = [line.strip() for line in out.getvalue().splitlines()]
    for line in expected_output(code):
        pattern = re.compile(".*".join(map(re.escape, line.split("..."))))
        assert any(pattern.search(p) for p in printed), f"{line!r} not in {printed}"
