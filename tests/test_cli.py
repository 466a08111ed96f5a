"""The ml-infra-utils command line, in process and as a real subprocess."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ml_infra_utils
from ml_infra_utils.cli import main


def test_version_flag_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the program name and version, then exits 0."""
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"ml-infra-utils {ml_infra_utils.__version__}\n"


@pytest.mark.parametrize("argv", [["--help"], []])
def test_help_lists_the_subpackages(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--help (and no arguments) describe the four subpackages."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    assert code == 0
    out = capsys.readouterr().out
    for sub in ("preprocessing", "metrics", "decorators", "logging"):
        assert f"  {sub} " in out


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown option exits 2 with the usage on stderr."""
    with pytest.raises(SystemExit) as exc:
        main(["--no-such-option"])
    assert exc.value.code == 2
    assert "usage: ml-infra-utils" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli() -> None:
    """`python -m ml_infra_utils --version` works as the console script does."""
    out = subprocess.run(
        [sys.executable, "-m", "ml_infra_utils", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == f"ml-infra-utils {ml_infra_utils.__version__}"


def test_console_script_is_installed() -> None:
    """The `ml-infra-utils` entry point is on the environment's PATH."""
    exe = shutil.which("ml-infra-utils", path=str(Path(sys.executable).parent))
    assert exe is not None
    out = subprocess.run(
        [exe, "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("usage: ml-infra-utils")
