"""The `metrics` example of docs/cli.md gives the output the page shows."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from ml_infra_utils.cli import build_parser, main

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


@pytest.mark.skipif(not DOC.exists(), reason="docs/ is not next to the tests")
def test_the_metrics_example_prints_what_the_guide_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files shown with `cat` give the report shown, character for character."""
    blocks = re.findall(
        r"```console\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL
    )
    [block] = [b for b in blocks if "$ cat predictions.txt" in b]
    steps = re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]
    monkeypatch.chdir(tmp_path)
    checked = 0
    for step in steps:
        command, _, shown = step.partition("\n")
        if command.startswith("cat "):
            (tmp_path / command.split()[1]).write_text(shown, encoding="utf-8")
            continue
        argv = command.split()
        assert argv[0] == "ml-infra-utils"
        assert main(argv[1:]) == 0
        assert capsys.readouterr().out == shown
        checked += 1
    assert checked == 1


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parsers of *parser*'s subcommands, by name."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


@pytest.mark.skipif(not DOC.exists(), reason="docs/ is not next to the tests")
def test_the_guide_documents_every_command_and_option() -> None:
    """Each command and each of its long options appears in docs/cli.md."""
    text = DOC.read_text(encoding="utf-8")
    top = subcommands(build_parser())
    commands = {"metrics": top["metrics"]}
    commands.update({f"runs {n}": p for n, p in subcommands(top["runs"]).items()})
    assert len(commands) == 5
    for command, parser in commands.items():
        assert f"`{command}" in text, command
        for action in parser._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag not in ("--help", "--debug"):
                    assert f"`{flag}" in text, f"{command} {flag}"
