"""The flat public API: what the package root exports, and from where."""

from __future__ import annotations
import __future__

import importlib
import inspect
import types

import pytest

import ml_infra_utils

SUBPACKAGES = ("preprocessing", "metrics", "decorators", "logging")


def public_names(module: types.ModuleType) -> set[str]:
    """Names a user can reach on *module*: not private, modules or __future__ flags."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType | __future__._Feature)
    }


def test_root_all_is_sorted_and_unique() -> None:
    """The root __all__ is one sorted list without repeats."""
    assert ml_infra_utils.__all__ == sorted(set(ml_infra_utils.__all__))


def test_root_all_equals_public_names() -> None:
    """Every public root name is in __all__, and __all__ names only those."""
    assert set(ml_infra_utils.__all__) == public_names(ml_infra_utils)


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_subpackage_is_reachable_from_root(sub: str) -> None:
    """Each subpackage is importable and is the root's attribute of that name."""
    module = importlib.import_module(f"ml_infra_utils.{sub}")
    assert getattr(ml_infra_utils, sub) is module


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_subpackage_all_is_a_sorted_subset_of_root(sub: str) -> None:
    """A subpackage exports only names the root exports too, in sorted order."""
    module = importlib.import_module(f"ml_infra_utils.{sub}")
    assert module.__all__ == sorted(set(module.__all__))
    assert set(module.__all__) <= set(ml_infra_utils.__all__)
    assert set(module.__all__) == public_names(module)


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_root_names_are_the_subpackage_objects(sub: str) -> None:
    """ml_infra_utils.X is ml_infra_utils.<sub>.X for every re-exported X."""
    module = importlib.import_module(f"ml_infra_utils.{sub}")
    for name in module.__all__:
        assert getattr(ml_infra_utils, name) is getattr(module, name), name


def test_every_root_name_comes_from_a_subpackage_or_the_errors() -> None:
    """The root only re-exports: each name lives in a subpackage or in _errors."""
    homes = [importlib.import_module(f"ml_infra_utils.{s}") for s in SUBPACKAGES]
    homes.append(importlib.import_module("ml_infra_utils._errors"))
    for name in ml_infra_utils.__all__:
        assert any(name in getattr(h, "__all__", ()) for h in homes), name


def test_public_callables_have_docstrings() -> None:
    """Every public function and class says what it does."""
    for name in ml_infra_utils.__all__:
        obj = getattr(ml_infra_utils, name)
        if callable(obj):
            assert inspect.getdoc(obj), name
