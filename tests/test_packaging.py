"""Packaging promises: one version, zero dependencies, typed, publishable."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import ml_infra_utils

ROOT = Path(__file__).resolve().parents[1]
INSTALLED_MODE = os.environ.get("ML_INFRA_UTILS_TEST_INSTALLED") == "1"


def load_script(name: str) -> ModuleType:
    """Import one of the developer scripts in scripts/ by path."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_version_matches_installed_metadata() -> None:
    """__version__ is the version the installed distribution declares."""
    assert ml_infra_utils.__version__ == importlib.metadata.version("ml-infra-utils")


def test_version_is_pep440() -> None:
    """The version is a plain PEP 440 release or pre-release string."""
    assert re.fullmatch(
        r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", ml_infra_utils.__version__
    )


def test_tests_import_the_intended_copy() -> None:
    """Installed-wheel runs import site-packages; development runs import src/."""
    location = Path(ml_infra_utils.__file__).resolve()
    if INSTALLED_MODE:
        assert "site-packages" in location.parts
    else:
        assert location.is_relative_to(ROOT / "src")


def test_ships_py_typed() -> None:
    """The package carries the PEP 561 marker, so type checkers use its hints."""
    assert (importlib.resources.files("ml_infra_utils") / "py.typed").is_file()


def test_no_runtime_dependencies() -> None:
    """Every requirement in the metadata sits behind an extra."""
    requires = importlib.metadata.requires("ml-infra-utils") or []
    assert requires, "the extras should be declared"
    assert all(re.search(r"extra\s*==", r) for r in requires), requires


def test_import_loads_only_the_standard_library() -> None:
    """Importing the package pulls in nothing outside the stdlib and itself."""
    code = (
        "import sys, json, ml_infra_utils;"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    top_level = set(json.loads(out))
    foreign = top_level - set(sys.stdlib_module_names) - {"ml_infra_utils"}
    # Interpreter start-up may load site customisations (e.g. coverage's hook or
    # an editable-install finder); none of them is imported by the package.
    foreign = {
        m for m in foreign if not m.startswith(("_", "coverage", "sitecustomize"))
    }
    assert not foreign


def test_import_configures_no_logging() -> None:
    """Importing the package adds no handler to any logger and sets no level."""
    code = (
        "import logging, ml_infra_utils;"
        "root = logging.getLogger();"
        "named = [n for n, l in logging.root.manager.loggerDict.items()"
        "         if isinstance(l, logging.Logger) and l.handlers"
        "         and not isinstance(l.handlers[0], logging.NullHandler)];"
        "print(len(root.handlers), root.level, named)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == f"0 {30} []"


@pytest.mark.slow
def test_publish_to_local_index_and_install(tmp_path: Path) -> None:
    """The wheel, served as a PEP 503 index on 127.0.0.1, pip-installs and imports."""
    publish = load_script("publish_local")
    wheel_env = os.environ.get("ML_INFRA_UTILS_WHEEL")
    if wheel_env:
        wheel = Path(wheel_env)
    else:
        # Build offline from the source tree, with the setuptools of the test env.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "--wheel-dir",
                str(tmp_path / "dist"),
                str(ROOT),
            ],
            check=True,
        )
        [wheel] = (tmp_path / "dist").glob("*.whl")
    index_root = tmp_path / "index"
    simple = publish.build_simple_index([wheel], index_root)
    page = (simple / "ml-infra-utils" / "index.html").read_text()
    assert re.search(rf'href="{re.escape(wheel.name)}#sha256=[0-9a-f]{{64}}"', page)
    with publish.serve(index_root) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        version = publish.install_and_check(
            f"{base_url}/simple/", tmp_path / "venv", ml_infra_utils.__version__
        )
    assert version == ml_infra_utils.__version__


def test_normalize_name_follows_pep503() -> None:
    """Project names normalise as PEP 503 says: runs of -_. become one dash."""
    publish = load_script("publish_local")
    assert publish.normalize_name("ML_Infra..Utils") == "ml-infra-utils"
