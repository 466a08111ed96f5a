"""JsonLogger and configure_json_logging(safe_extra=True) (logging/_logger.py).

The process-wide installation runs in subprocesses: it changes the logger
classes of the whole interpreter.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator

import pytest

from ml_infra_utils import (
    JsonFormatter,
    JsonLogger,
    LoggingConfigError,
    StructuredLogger,
    configure_json_logging,
    log_ml_event,
)
from ml_infra_utils.logging._logger import install_json_logger_class


def _logger(
    cls: type[logging.Logger] = JsonLogger,
) -> tuple[logging.Logger, io.StringIO]:
    logger = cls(f"test.{uuid.uuid4().hex[:8]}")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return logger, out


def test_clashing_extra_keys_are_renamed_not_raised() -> None:
    """message, name, module, asctime in extra= come out with _ appended."""
    logger, out = _logger()
    clashing = {"message": 1, "name": 2, "module": 3, "asctime": 4, "epoch": 5}
    logger.info("saved %s", "ckpt", extra=clashing)
    record = json.loads(out.getvalue())
    assert record["message"] == "saved ckpt"
    assert record["logger"] == logger.name
    assert record["module"] == "test_logger"
    assert [record[k] for k in ("message_", "name_", "module_", "asctime_")] == [
        1,
        2,
        3,
        4,
    ]
    assert record["epoch"] == 5


def test_a_renamed_key_never_takes_a_name_the_call_also_uses() -> None:
    """extra={"message": 1, "message_": 2}: both kept (message__, message_)."""
    logger, out = _logger()
    clashing = {"message": 1, "message_": 2}
    logger.warning("m", extra=clashing)
    record = json.loads(out.getvalue())
    assert (record["message__"], record["message_"]) == (1, 2)


def test_a_plain_logger_still_raises_as_documented() -> None:
    """The stdlib Logger refuses these keys itself (what safe_extra is for)."""
    logger, _ = _logger(logging.Logger)
    clashing = {"message": 1}
    with pytest.raises(KeyError, match="Attempt to overwrite 'message'"):
        logger.info("x", extra=clashing)


def test_adapters_and_log_ml_event_go_through_it() -> None:
    """A LoggerAdapter's extra and log_ml_event fields never raise either."""
    logger, out = _logger()
    logging.LoggerAdapter(logger, {"name": "adapter"}).info("a")
    log_ml_event(logger, "epoch_end", message="m", module="x")
    first, second = map(json.loads, out.getvalue().splitlines())
    assert first["name_"] == "adapter"
    assert second["context"] == {"event": "epoch_end", "message": "m", "module": "x"}


def test_structured_logger_and_log_ml_event_never_raise_for_any_name() -> None:
    """Fields named like record attributes go into context: no KeyError."""
    out = io.StringIO()
    log = StructuredLogger("t", stream=out)
    log.info("x", message=1, name=2, module=3, asctime=4, taskName=5, msg=6)
    log_ml_event(log, "e", message=1, args=2, lineno=3)
    plain, _ = _logger(logging.Logger)
    log_ml_event(plain, "e", message=1, args=2, lineno=3)
    assert len(out.getvalue().splitlines()) == 2


INSTALL = textwrap.dedent(
    """
    import io, json, logging
    import ml_infra_utils
    assert logging.getLoggerClass() is logging.Logger  # importing changes nothing
    before = logging.getLogger("app.before")
    out = io.StringIO()
    ml_infra_utils.configure_json_logging(stream=out, safe_extra=True)
    after = logging.getLogger("app.after")
    for log in (before, after, logging.getLogger()):
        log.warning("ok", extra={"message": 1, "lineno": 2})
    ml_infra_utils.configure_json_logging(stream=out, safe_extra=True)  # idempotent
    logging.getLogger("app.before").info("again", extra={"name": 3})
    print(json.dumps([json.loads(line) for line in out.getvalue().splitlines()]))
    print(type(logging.getLogger()).__name__, type(before).__name__)
    """
)


def test_configure_json_logging_installs_it_for_existing_and_new_loggers() -> None:
    """safe_extra=True converts the loggers that exist and those created later."""
    done = subprocess.run(
        [sys.executable, "-c", INSTALL],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    records = json.loads(lines[0])
    assert [r["message"] for r in records] == ["ok", "ok", "ok", "again"]
    assert all(r["message_"] == 1 and r["lineno_"] == 2 for r in records[:3])
    assert records[3]["name_"] == 3
    assert lines[1] == "_JsonRootLogger JsonLogger"


CUSTOM = textwrap.dedent(
    """
    import logging
    import ml_infra_utils

    class Mine(logging.Logger):
        pass

    logging.setLoggerClass(Mine)
    try:
        ml_infra_utils.configure_json_logging(safe_extra=True)
    except ml_infra_utils.LoggingConfigError as error:
        print("refused:", error)

    class Derived(ml_infra_utils.JsonLogger):
        pass

    logging.setLoggerClass(Derived)
    ml_infra_utils.configure_json_logging(safe_extra=True)
    print(logging.getLoggerClass().__name__)
    """
)


def test_another_logger_class_is_not_silently_replaced() -> None:
    """A custom logger class: LoggingConfigError, unless it derives from JsonLogger."""
    done = subprocess.run(
        [sys.executable, "-c", CUSTOM],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    refused, kept = done.stdout.splitlines()
    assert refused.startswith("refused: safe_extra=True needs the standard logger")
    assert "derive it from ml_infra_utils.JsonLogger" in refused
    assert kept == "Derived"
    assert issubclass(LoggingConfigError, ValueError)


@pytest.fixture
def restored_logger_classes() -> Iterator[None]:
    """Undo install_json_logger_class: the logger class and every logger's class."""
    saved_class = logging.getLoggerClass()
    root = logging.getLogger()
    saved = {
        name: type(obj)
        for name, obj in logging.Logger.manager.loggerDict.items()
        if isinstance(obj, logging.Logger)
    }
    saved_root = type(root)
    try:
        yield
    finally:
        logging.setLoggerClass(saved_class)
        root.__class__ = saved_root
        for name, obj in logging.Logger.manager.loggerDict.items():
            if isinstance(obj, logging.Logger):
                obj.__class__ = saved.get(name, logging.Logger)


@pytest.mark.usefixtures("restored_logger_classes")
def test_install_converts_plain_loggers_in_this_process() -> None:
    """The same in-process: plain loggers and the root become JsonLoggers."""
    before = logging.getLogger(f"test.before.{uuid.uuid4().hex[:8]}")
    out = io.StringIO()
    handler = configure_json_logging(stream=out, logger=before.name, safe_extra=True)
    try:
        assert type(before) is JsonLogger
        assert isinstance(logging.getLogger(), JsonLogger)
        clashing = {"args": 1}
        before.warning("m", extra=clashing)
        assert json.loads(out.getvalue())["args_"] == 1
        install_json_logger_class()  # idempotent
        assert logging.getLoggerClass() is JsonLogger
    finally:
        before.removeHandler(handler)


@pytest.mark.usefixtures("restored_logger_classes")
def test_install_refuses_another_logger_class_in_this_process() -> None:
    """The same refusal in-process; a record without extra is made as usual."""

    class Mine(logging.Logger):
        pass

    logging.setLoggerClass(Mine)
    with pytest.raises(LoggingConfigError, match="Mine is installed"):
        install_json_logger_class()
    logger, out = _logger()
    logger.info("plain")
    assert json.loads(out.getvalue())["message"] == "plain"
