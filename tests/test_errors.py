"""The exception hierarchy rooted at MLInfraError."""

from __future__ import annotations

import builtins

import ml_infra_utils
from ml_infra_utils import MLInfraError

BUILTIN_EXCEPTIONS = {
    v
    for v in vars(builtins).values()
    if isinstance(v, type) and issubclass(v, Exception)
}


def exported_errors() -> list[type[BaseException]]:
    return [
        obj
        for name in ml_infra_utils.__all__
        if isinstance(obj := getattr(ml_infra_utils, name), type)
        and issubclass(obj, BaseException)
    ]


def test_base_error_is_an_exception() -> None:
    """MLInfraError is catchable as Exception and carries its message."""
    err = MLInfraError("boom")
    assert isinstance(err, Exception)
    assert str(err) == "boom"


def test_every_exported_error_derives_from_the_base() -> None:
    """Each exception the package exports is an MLInfraError."""
    errors = exported_errors()
    assert MLInfraError in errors
    for err in errors:
        assert issubclass(err, MLInfraError), err


def test_every_concrete_error_also_refines_a_builtin() -> None:
    """Each concrete error subclasses a builtin besides Exception itself."""
    for err in exported_errors():
        if err is MLInfraError:
            continue
        builtin_bases = {b for b in err.__mro__ if b in BUILTIN_EXCEPTIONS} - {
            Exception
        }
        assert builtin_bases, f"{err.__name__} refines no builtin exception"
