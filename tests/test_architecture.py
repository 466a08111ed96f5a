"""The layering of the package: an import may only point down.

The import graph is read statically (``ast``) from the installed package's
source, so a lazy import inside a function counts as much as one at the top.
The layers (as in the design) are, from the bottom:

- ``_errors``, ``_repr``, ``_version``: leaves that import nothing of the package
  but each other;
- ``_sequences`` (input handling) and ``decorators``;
- ``metrics`` and ``preprocessing`` (over ``_sequences``; never ``logging``);
- ``logging`` (over ``decorators`` for retries and ``_sequences``);
- ``_cli``, ``cli`` and ``__main__`` (over everything they show);
- the root ``__init__``, which only re-exports.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

import ml_infra_utils

PACKAGE = Path(ml_infra_utils.__file__).parent
LEAVES = {"_errors", "_repr", "_version"}
# Each area and the areas it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "_errors": {"_repr"},
    "_repr": set(),
    "_version": set(),
    "_sequences": LEAVES,
    "decorators": LEAVES,
    "metrics": LEAVES | {"_sequences"},
    "preprocessing": LEAVES | {"_sequences"},
    "logging": LEAVES | {"_sequences", "decorators"},
    "_cli": LEAVES | {"_sequences", "logging", "metrics", "cli"},
    "cli": LEAVES | {"_cli", "logging", "metrics"},
    "__main__": {"cli"},
}
# The tracking server is the heaviest import: only these may import it.
SERVER_USERS = {"ml_infra_utils.cli", "ml_infra_utils.logging.server"}


def module_name(path: Path) -> str:
    parts = ["ml_infra_utils", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """The package modules *path* imports (absolute names), wherever it does."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if node.module is None:  # from . import x: x may be a module
                yield from (f"{target}.{a.name}" for a in node.names)
            else:
                yield target


def area(module: str) -> str:
    """``ml_infra_utils.logging._run`` -> ``logging``; the root -> ``""``."""
    return module.split(".")[1] if "." in module else ""


@functools.cache
def edges() -> list[tuple[str, str]]:
    """Every (importer, imported) pair of package modules."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        found += [
            (source, target)
            for target in imports(path)
            if target.split(".")[0] == "ml_infra_utils"
        ]
    return found


def test_the_graph_is_read() -> None:
    """The reader finds known imports (so an empty graph cannot pass)."""
    found = edges()
    assert (
        "ml_infra_utils.preprocessing.normalization",
        "ml_infra_utils._sequences",
    ) in found
    assert ("ml_infra_utils.cli", "ml_infra_utils.logging.server") in found  # lazy
    assert len(found) > 100


@pytest.mark.parametrize("source_area", sorted(ALLOWED))
def test_imports_only_point_down(source_area: str) -> None:
    """Every import of the area goes to itself or to an area below it."""
    wrong = sorted(
        f"{source} imports {target}"
        for source, target in edges()
        if area(source) == source_area
        and area(target) not in {source_area, *ALLOWED[source_area]}
    )
    assert wrong == []


def test_every_area_has_a_rule() -> None:
    """A new top-level module or subpackage must be placed in the layers."""
    areas = {area(module_name(path)) for path in PACKAGE.rglob("*.py")} - {""}
    assert areas == set(ALLOWED)


def test_numeric_code_never_imports_logging() -> None:
    """metrics and preprocessing stay usable without the logging subpackage."""
    assert not [
        (s, t)
        for s, t in edges()
        if area(s) in {"metrics", "preprocessing"} and area(t) == "logging"
    ]


def test_only_the_cli_and_the_server_module_import_the_server() -> None:
    """The tracking server (threads, sockets) is never imported by the rest."""
    users = {
        source
        for source, target in edges()
        if target == "ml_infra_utils.logging.server"
        or target.startswith("ml_infra_utils.logging._server_")
    }
    internal = {u for u in users if u.startswith("ml_infra_utils.logging._server_")}
    assert users - internal <= SERVER_USERS


def test_the_root_only_reexports() -> None:
    """The root __init__ holds a docstring, imports and assignments of names."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    kinds = {type(node).__name__ for node in tree.body[1:]}
    assert kinds <= {"ImportFrom", "Import", "Assign"}
    assert isinstance(tree.body[0], ast.Expr)  # the docstring
