"""JsonFormatter, StructuredLogger, log_ml_event, log_context and the setup helper."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import inspect
import io
import json
import logging
import logging.config
import math
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ml_infra_utils
from ml_infra_utils import (
    AppendFileHandler,
    InputTypeError,
    JsonFormatter,
    LoggingConfigError,
    StructuredLogger,
    configure_json_logging,
    log_context,
    log_ml_event,
)
from ml_infra_utils.logging._context import current_context

DEFAULT_KEYS = ["timestamp", "level", "logger", "message", "module", "function", "line"]
HERE = Path(__file__).stem


def strict_loads(text: str) -> Any:
    """json.loads that rejects the NaN/Infinity tokens RFC 8259 forbids."""

    def refuse(token: str) -> None:
        msg = f"non-standard JSON token {token}"
        raise ValueError(msg)

    return json.loads(text, parse_constant=refuse)


def parse_lines(text: str) -> list[dict[str, Any]]:
    return [strict_loads(line) for line in text.splitlines()]


def line_here() -> int:
    """The line number of the caller (to check module/function/line fields)."""
    frame = inspect.currentframe()
    assert frame is not None
    assert frame.f_back is not None
    return frame.f_back.f_lineno


def make_record(**attrs: Any) -> logging.LogRecord:
    base = {
        "name": "t",
        "msg": "m",
        "levelname": "INFO",
        "levelno": 20,
        "funcName": "fn",
        "module": "mod",
    }
    return logging.makeLogRecord({**base, **attrs})


# --------------------------------------------------------------------- JsonFormatter


def test_default_fields_in_order(captured: Any) -> None:
    """A record has exactly the seven default fields, in the documented order."""
    captured.logger.info("hello %s", "world")
    record = captured.last()
    assert list(record) == DEFAULT_KEYS
    assert record["level"] == "INFO"
    assert record["logger"] == captured.logger.name
    assert record["message"] == "hello world"


def test_module_function_line_name_the_caller(captured: Any) -> None:
    """module, function and line are where the logging call is."""
    captured.logger.warning("here"); line = line_here()  # fmt: skip  # noqa: E702
    record = captured.last()
    assert record["module"] == HERE
    assert record["function"] == "test_module_function_line_name_the_caller"
    assert record["line"] == line


def test_timestamp_is_utc_iso_from_record_created(captured: Any) -> None:
    """timestamp is record.created as ISO 8601 with a +00:00 offset, to the µs."""
    captured.logger.info("t")
    record = captured.last()
    stamp = dt.datetime.fromisoformat(record["timestamp"])
    assert stamp.utcoffset() == dt.timedelta(0)
    assert record["timestamp"].endswith("+00:00")
    now = dt.datetime.now(dt.UTC)
    assert abs((now - stamp).total_seconds()) < 60


@given(st.floats(min_value=0, max_value=4e9))
def test_timestamp_matches_datetime_for_any_time(created: float) -> None:
    """The cached formatter timestamp equals datetime's isoformat for any epoch time."""
    expected = dt.datetime.fromtimestamp(created, dt.UTC)
    got = JsonFormatter(fields=["timestamp"]).format(make_record(created=created))
    stamp = dt.datetime.fromisoformat(strict_loads(got)["timestamp"])
    assert abs((stamp - expected).total_seconds()) <= 1e-6
    direct = strict_loads(JsonFormatter().format(make_record(created=created)))
    assert direct["timestamp"] == strict_loads(got)["timestamp"]


def test_extra_fields_follow_at_top_level_in_order(captured: Any) -> None:
    """extra= fields come after the built-ins, in the order given."""
    captured.logger.info("e", extra={"epoch": 3, "loss": 0.25, "tags": ["a"]})
    record = captured.last()
    assert list(record) == [*DEFAULT_KEYS, "epoch", "loss", "tags"]
    assert record["epoch"] == 3
    assert record["loss"] == 0.25


def test_nan_and_numpy_extras_stay_valid_and_numeric(captured: Any) -> None:
    """NaN/inf become strings (no bare tokens); numpy scalars stay numbers."""
    captured.logger.info(
        "m",
        extra={
            "loss": math.nan,
            "best": -math.inf,
            "acc": np.float32(0.5),
            "n": np.int64(7),
            "hist": np.array([1.0, np.nan]),
        },
    )
    line = captured.lines()[-1]
    record = strict_loads(line)
    assert record["loss"] == "NaN"
    assert record["best"] == "-Infinity"
    assert record["acc"] == 0.5
    assert record["n"] == 7
    assert record["hist"] == [1.0, "NaN"]


def test_extra_names_that_clash_with_output_fields_get_an_underscore(
    captured: Any,
) -> None:
    """An extra named like a built-in field is kept, renamed with a trailing _."""
    captured.logger.info(
        "m", extra={"level": "mine", "timestamp": 1, "level_": 2, "exception": 3}
    )
    record = captured.last()
    assert record["level"] == "INFO"
    assert record["level__"] == "mine"
    assert record["level_"] == 2
    assert record["timestamp_"] == 1
    assert record["exception_"] == 3


def test_stdlib_refuses_record_attribute_names_before_any_formatter(
    captured: Any,
) -> None:
    """extra={"message": ...} is refused by logging itself: the documented limit."""
    with pytest.raises(KeyError):
        captured.logger.info("m", extra={"message": "x"})  # noqa: G101 - on purpose


def test_context_extra_is_the_context_object(captured: Any) -> None:
    """extra={"context": {...}} is emitted as the record's context object."""
    captured.logger.info("m", extra={"context": {"run": "r1"}})
    assert captured.last()["context"] == {"run": "r1"}


def test_log_context_reaches_plain_stdlib_records(captured: Any) -> None:
    """Fields bound with log_context appear in records of plain stdlib loggers."""
    with log_context(run="r1", rank=0):
        captured.logger.info("a", extra={"context": {"rank": 3}})
        captured.logger.info("b")
    captured.logger.info("c")
    a, b, c = captured.records()
    assert a["context"] == {"run": "r1", "rank": 3}
    assert b["context"] == {"run": "r1", "rank": 0}
    assert "context" not in c


def test_exception_becomes_structure(captured: Any) -> None:
    """logger.exception() gives exception: {type, message, traceback: frames}."""

    def fail() -> None:
        msg = "bad value"
        raise ValueError(msg)

    try:
        fail()
    except ValueError:
        captured.logger.exception("failed")
    record = captured.last()
    exc = record["exception"]
    assert exc["type"] == "ValueError"
    assert exc["message"] == "bad value"
    assert [f["function"] for f in exc["traceback"]] == [
        "test_exception_becomes_structure",
        "fail",
    ]
    assert exc["traceback"][-1]["code"] == "raise ValueError(msg)"
    assert all(set(f) == {"file", "line", "function", "code"} for f in exc["traceback"])
    assert record["message"] == "failed"


def test_chained_and_grouped_exceptions_keep_their_structure(captured: Any) -> None:
    """A cause, an implicit context, notes and group members are all structured."""
    try:
        try:
            {}["k"]
        except KeyError as key_error:
            err = RuntimeError("wrapped")
            err.add_note("while loading")
            raise err from key_error
    except RuntimeError:
        captured.logger.exception("x")
    exc = captured.last()["exception"]
    assert exc["type"] == "RuntimeError"
    assert exc["notes"] == ["while loading"]
    assert exc["cause"]["type"] == "KeyError"
    try:
        try:
            1 / 0  # noqa: B018 - raise a ZeroDivisionError
        except ZeroDivisionError:
            group = ExceptionGroup("many", [OSError("a"), ValueError("b")])
            raise group  # noqa: B904 - the implicit context is under test
    except ExceptionGroup as group:
        captured.logger.error("g", exc_info=group)
    exc = captured.last()["exception"]
    assert exc["type"] == "ExceptionGroup"
    assert exc["context"]["type"] == "ZeroDivisionError"
    assert [e["type"] for e in exc["exceptions"]] == ["OSError", "ValueError"]


def test_exception_text_after_a_queue_is_parsed(captured: Any) -> None:
    """A record that crossed a process (exc_text only) still yields structure."""
    try:
        int("x")
    except ValueError:
        record = captured.logger.makeRecord(
            "q", logging.ERROR, __file__, 1, "m", (), sys.exc_info()
        )
    record.exc_text = logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
    record.exc_info = None
    moved = pickle.loads(pickle.dumps(record))
    exc = strict_loads(JsonFormatter().format(moved))["exception"]
    assert exc["type"] == "ValueError"
    assert exc["message"] == "invalid literal for int() with base 10: 'x'"
    assert exc["traceback"][0]["function"] == (
        "test_exception_text_after_a_queue_is_parsed"
    )


def test_stack_info_becomes_frames(captured: Any) -> None:
    """stack_info=True adds stack: a list of frames ending at the caller."""
    captured.logger.info("s", stack_info=True)
    stack = captured.last()["stack"]
    assert stack[-1]["function"] == "test_stack_info_becomes_frames"
    assert stack[-1]["code"] == 'captured.logger.info("s", stack_info=True)'


def test_bad_format_args_keep_the_record() -> None:
    """A %-format error keeps the raw message and says what went wrong."""
    # Formatted directly: pytest's own capture handler would raise on this record.
    record = strict_loads(
        JsonFormatter().format(make_record(msg="%d items", args=("many",)))
    )
    assert record["message"] == "%d items"
    assert "TypeError" in record["logging_error"]
    assert list(record)[:7] == DEFAULT_KEYS


def test_unprintable_message_and_values_keep_the_record() -> None:
    """A message whose str() raises and a value whose repr() raises still log."""

    class Broken:
        def __str__(self) -> str:
            msg = "no str"
            raise RuntimeError(msg)

        __repr__ = __str__

    # Formatted directly: pytest's own capture handler would raise on this record.
    record = strict_loads(JsonFormatter().format(make_record(msg=Broken(), v=Broken())))
    assert record["message"].startswith("<unprintable ")
    assert record["message"].endswith("Broken object>")
    assert record["v"].startswith("<unrepresentable ")


def test_a_broken_record_still_gives_a_line() -> None:
    """Even a record missing its attributes formats to a valid line with the error."""
    record = make_record()
    del record.__dict__["msg"]
    text = JsonFormatter().format(record)
    out = strict_loads(text)
    assert out["level"] == "INFO"
    assert "KeyError" in out["logging_error"]


def test_fields_rename_and_static_fields() -> None:
    """fields picks and orders fields, rename_fields renames, static_fields adds."""
    fmt = JsonFormatter(
        fields=["timestamp", "level", "message", "process", "threadName"],
        rename_fields={"level": "severity", "timestamp": "@timestamp", "epoch": "step"},
        static_fields={"service": "trainer"},
    )
    record = make_record(epoch=3, process=42, threadName="main")
    out = strict_loads(fmt.format(record))
    assert list(out) == [
        "@timestamp",
        "severity",
        "message",
        "process",
        "threadName",
        "service",
        "step",
    ]
    assert out["process"] == 42
    assert out["step"] == 3


def test_fmt_string_selects_fields_for_class_style_config() -> None:
    """A %-, {- or $-style fmt names the fields (record attributes by their name)."""
    record = make_record(created=0.0)
    for fmt, style in (
        ("%(asctime)s %(levelname)s %(message)s", "%"),
        ("{asctime} {levelname} {message}", "{"),
        ("${asctime} ${levelname} ${message}", "$"),
    ):
        out = strict_loads(JsonFormatter(fmt, style=style).format(record))
        assert out == {
            "asctime": "1970-01-01T00:00:00.000000+00:00",
            "levelname": "INFO",
            "message": "m",
        }
    dated = JsonFormatter("%(asctime)s", datefmt="%Y").format(record)
    assert strict_loads(dated)["asctime"] in {"1969", "1970"}


def test_missing_selected_attributes_use_defaults() -> None:
    """A selected record attribute the record lacks is its default, else null."""
    fmt = JsonFormatter(fields=["message", "hostname", "rank"], defaults={"rank": 0})
    assert strict_loads(fmt.format(make_record())) == {
        "message": "m",
        "hostname": None,
        "rank": 0,
    }
    assert strict_loads(fmt.format(make_record(hostname="h1")))["hostname"] == "h1"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (
            {"fields": ["level", "levelname"], "rename_fields": {"levelname": "level"}},
            LoggingConfigError,
        ),
        ({"static_fields": {"level": "x"}}, LoggingConfigError),
        ({"static_fields": {"context": "x"}}, LoggingConfigError),
        ({"fields": "message"}, InputTypeError),
        ({"fields": ["message", 3]}, InputTypeError),
        ({"rename_fields": ["level"]}, InputTypeError),
        ({"static_fields": "x"}, InputTypeError),
        ({"fmt": "%(message", "validate": True}, LoggingConfigError),
        ({"style": "#"}, LoggingConfigError),
    ],
)
def test_bad_options_raise_clear_errors(kwargs: dict[str, Any], error: type) -> None:
    """Options that cannot work are refused at construction with a clear error."""
    with pytest.raises(error):
        JsonFormatter(**kwargs)


def test_dictconfig_with_factory_passes_every_option(tmp_path: Path) -> None:
    """dictConfig's "()" form builds a JsonFormatter with all keyword options."""
    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "json": {
                    "()": "ml_infra_utils.JsonFormatter",
                    "fields": ["timestamp", "level", "message"],
                    "rename_fields": {"level": "severity"},
                    "static_fields": {"app": "demo"},
                }
            },
            "handlers": {
                "out": {
                    "class": "logging.StreamHandler",
                    "formatter": "json",
                    "stream": stream,
                },
                "file": {
                    "class": "ml_infra_utils.AppendFileHandler",
                    "formatter": "json",
                    "filename": str(tmp_path / "app.jsonl"),
                },
            },
            "loggers": {
                "dictcfg": {
                    "handlers": ["out", "file"],
                    "level": "INFO",
                    "propagate": False,
                }
            },
        }
    )
    logger = logging.getLogger("dictcfg")
    try:
        logger.info("configured", extra={"k": 1})
        logger.debug("filtered")
        expected = {"severity": "INFO", "message": "configured", "app": "demo", "k": 1}
        out = strict_loads(stream.getvalue())
        assert {k: out[k] for k in expected} == expected
        assert next(iter(out)) == "timestamp"
        file_out = parse_lines((tmp_path / "app.jsonl").read_text())
        assert [r["message"] for r in file_out] == ["configured"]
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()


def test_dictconfig_class_form_uses_format_to_choose_fields() -> None:
    """dictConfig's "class" form passes format/datefmt/style: fields follow format."""
    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "json": {
                    "class": "ml_infra_utils.JsonFormatter",
                    "format": "%(levelname)s %(message)s",
                }
            },
            "handlers": {
                "out": {
                    "class": "logging.StreamHandler",
                    "formatter": "json",
                    "stream": stream,
                }
            },
            "loggers": {
                "dictcls": {"handlers": ["out"], "level": "INFO", "propagate": False}
            },
        }
    )
    logger = logging.getLogger("dictcls")
    try:
        logger.info("x")
        assert strict_loads(stream.getvalue()) == {"levelname": "INFO", "message": "x"}
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)


def test_ensure_ascii_false_writes_unicode() -> None:
    """ensure_ascii=False keeps non-ASCII text readable."""
    out = JsonFormatter(fields=["message"], ensure_ascii=False).format(
        make_record(msg="Zoë")
    )
    assert out == '{"message":"Zoë"}'
    assert JsonFormatter(fields=["message"]).format(make_record(msg="Zoë")) == (
        '{"message":"Zo\\u00eb"}'
    )


def test_json_default_hook_is_used() -> None:
    """json_default converts values of no JSON type before the built-in table."""

    class Tensor:
        def __repr__(self) -> str:
            return "Tensor()"

    fmt = JsonFormatter(fields=["message"], json_default=lambda _: {"tensor": True})
    out = strict_loads(fmt.format(make_record(t=Tensor())))
    assert out["t"] == {"tensor": True}


def test_to_dict_override_post_processes_records() -> None:
    """A subclass can override to_dict, e.g. to redact a key."""

    class Redacting(JsonFormatter):
        def to_dict(self, record: logging.LogRecord) -> dict[str, Any]:
            out = super().to_dict(record)
            if "password" in out:
                out["password"] = "***"  # noqa: S105 - a test value
            return out

    secret = {"password": "hunter2"}
    out = strict_loads(Redacting().format(make_record(**secret)))
    assert out["password"] == "***"  # noqa: S105 - a test value


extras_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(),
    st.lists(st.floats(allow_nan=True), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.datetimes(),
    st.binary(max_size=5),
)
extra_names = st.text(min_size=1, max_size=10).filter(
    lambda k: (
        k not in logging.LogRecord("n", 10, "p", 1, "m", (), None).__dict__
        and k not in {"message", "asctime"}
    )
)


@given(
    message=st.text(),
    extra=st.dictionaries(extra_names, extras_values, max_size=6),
    context=st.none() | st.dictionaries(st.text(max_size=5), extras_values, max_size=3),
    created=st.floats(min_value=0, max_value=4e9),
)
def test_direct_and_general_paths_write_the_same_line(
    message: str,
    extra: dict[str, Any],
    context: dict[str, Any] | None,
    created: float,
) -> None:
    """The dict-free fast path gives exactly the general path's text, always valid."""
    record = logging.LogRecord(
        "hyp", logging.INFO, __file__, 7, message, (), None, func="train_step"
    )
    record.created = created
    record.__dict__.update(extra)
    if context is not None:
        record.context = context
    for fmt in (JsonFormatter(), JsonFormatter(static_fields={"s": math.nan})):
        general = fmt._format_general(record)
        fallbacks: list[logging.LogRecord] = []

        def spy(
            r: logging.LogRecord,
            text: str = general,
            seen: list[logging.LogRecord] = fallbacks,
        ) -> str:
            seen.append(r)
            return text

        fmt._format_general = spy  # type: ignore[method-assign]
        fast = fmt.format(record)
        assert fallbacks == []  # the fast path wrote it...
        assert fast == general  # ...exactly as the general path does
        out = strict_loads(fast)
        assert out["message"] == message
        assert "\n" not in fast


# ------------------------------------------------------------------ StructuredLogger


def test_structured_logger_fields_go_to_context() -> None:
    """Call fields, bound fields and log_context merge into one context object."""
    out = io.StringIO()
    log = StructuredLogger("train", stream=out, run="r1", epoch=0)
    with log_context(job="j", run="outer"):
        log.info("epoch end", epoch=3, loss=0.21)
    record = strict_loads(out.getvalue())
    assert list(record) == [*DEFAULT_KEYS, "context"]
    assert record["context"] == {"job": "j", "run": "r1", "epoch": 3, "loss": 0.21}
    assert record["logger"] == "train"


def test_any_field_name_works_even_record_attribute_names() -> None:
    """Fields named message, module, name, taskName, level... never clash."""
    out = io.StringIO()
    log = StructuredLogger("x", stream=out)
    names = [
        "message",
        "module",
        "name",
        "taskName",
        "level",
        "args",
        "msg",
        "getMessage",
    ]
    log.info("m", **dict.fromkeys(names, 1))
    assert strict_loads(out.getvalue())["context"] == dict.fromkeys(names, 1)


def test_structured_logger_caller_location_in_both_modes(captured: Any) -> None:
    """module/function/line name the caller, through stdlib or straight to a stream."""
    out = io.StringIO()
    direct = StructuredLogger("d", stream=out)
    via_stdlib = StructuredLogger(captured.logger.name, level="DEBUG")
    direct.info("a"); line = line_here()  # fmt: skip  # noqa: E702
    via_stdlib.info("b"); line2 = line_here()  # fmt: skip  # noqa: E702
    for record, expected_line in (
        (strict_loads(out.getvalue()), line),
        (captured.last(), line2),
    ):
        assert record["module"] == HERE
        assert (
            record["function"] == "test_structured_logger_caller_location_in_both_modes"
        )
        assert record["line"] == expected_line


def test_stacklevel_names_the_callers_caller() -> None:
    """stacklevel=2 reports the frame that called the helper, as in the stdlib."""
    out = io.StringIO()
    log = StructuredLogger("d", stream=out)

    def helper() -> None:
        log.info("from helper", stacklevel=2)

    helper(); line = line_here()  # fmt: skip  # noqa: E702
    record = strict_loads(out.getvalue())
    assert record["function"] == "test_stacklevel_names_the_callers_caller"
    assert record["line"] == line
    assert "stacklevel" not in record.get("context", {})
    log.info("too deep", stacklevel=10_000)
    assert parse_lines(out.getvalue())[-1]["message"] == "too deep"


def test_via_stdlib_the_record_carries_context_for_any_handler(captured: Any) -> None:
    """Without a stream, records go through the stdlib logger with record.context."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    captured.logger.addHandler(keep)
    try:
        StructuredLogger(captured.logger.name).info("m", step=1)
    finally:
        captured.logger.removeHandler(keep)
    assert seen[0].context == {"step": 1}  # type: ignore[attr-defined]
    assert seen[0].getMessage() == "m"
    assert captured.last()["context"] == {"step": 1}


def test_both_levels_filter_when_going_through_stdlib(captured: Any) -> None:
    """Our level and the stdlib logger's level both apply without a stream."""
    log = StructuredLogger(captured.logger.name, level="INFO")
    log.debug("dropped by ours")
    captured.logger.setLevel(logging.ERROR)
    log.warning("dropped by stdlib")
    log.error("kept")
    assert [r["message"] for r in captured.records()] == ["kept"]


def test_levels_and_their_methods() -> None:
    """Each method logs at its level; calls below the threshold write nothing."""
    out = io.StringIO()
    log = StructuredLogger("lv", stream=out, level="warning")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    log.critical("c")
    log.log("INFO", "li")
    log.log(45, "l45")
    assert [(r["level"], r["message"]) for r in parse_lines(out.getvalue())] == [
        ("WARNING", "w"),
        ("ERROR", "e"),
        ("CRITICAL", "c"),
        ("Level 45", "l45"),
    ]
    assert log.level == logging.WARNING
    logging.addLevelName(46, "NOTICE46")
    log.log(46, "named later")
    assert parse_lines(out.getvalue())[-1]["level"] == "NOTICE46"


def test_exception_method_and_exc_info_forms() -> None:
    """exception() and exc_info=True/an exception give the structured exception."""
    out = io.StringIO()
    log = StructuredLogger("ex", stream=out)
    try:
        msg = "k"
        raise KeyError(msg)
    except KeyError as err:
        log.exception("failed", step=2)
        log.error("with instance", exc_info=err)
    log.error("nothing to report", exc_info=True)  # noqa: LOG014 - on purpose
    log.info("stack", stack_info=True)
    first, second, third, fourth = parse_lines(out.getvalue())
    assert first["exception"]["type"] == "KeyError"
    assert first["context"] == {"step": 2}
    assert second["exception"]["message"] == "'k'"
    assert "exception" not in third
    assert fourth["stack"][-1]["function"] == "test_exception_method_and_exc_info_forms"


def test_bind_and_unbind_return_new_loggers() -> None:
    """bind() and unbind() leave the original logger's context unchanged."""
    out = io.StringIO()
    base = StructuredLogger("b", stream=out, a=1)
    child = base.bind(b=2, a=0)
    assert base.context == {"a": 1}
    assert child.context == {"a": 0, "b": 2}
    assert child.unbind("a", "missing").context == {"b": 2}
    child.info("m")
    assert strict_loads(out.getvalue())["context"] == {"a": 0, "b": 2}
    assert "StructuredLogger 'b' INFO" in repr(child)
    named = StructuredLogger(name="kw", stream=out).bind(name="field", level=1)
    named.info("n")
    assert parse_lines(out.getvalue())[-1]["context"] == {"name": "field", "level": 1}
    assert parse_lines(out.getvalue())[-1]["logger"] == "kw"


def test_non_string_messages_are_converted() -> None:
    """A non-str message is logged as str(message)."""
    out = io.StringIO()
    log = StructuredLogger("n", stream=out)
    log.info(42)
    log.info(["a", 1])
    assert [r["message"] for r in parse_lines(out.getvalue())] == ["42", "['a', 1]"]


def test_odd_field_values_fall_back_to_the_general_encoder() -> None:
    """Values and keys the fast line cannot write still produce a valid record."""
    out = io.StringIO()
    log = StructuredLogger("o", stream=out)
    log.info("m", when=dt.date(2024, 1, 2), nested={(1, 2): math.inf}, big=10**5000)
    context = strict_loads(out.getvalue())["context"]
    assert context["when"] == "2024-01-02"
    assert context["nested"] == {"[1,2]": "Infinity"}
    assert context["big"].startswith("0x")


def test_writing_errors_never_raise_into_the_caller(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A closed stream is reported on stderr like Handler.handleError; no raise."""
    stream = io.StringIO()
    log = StructuredLogger("c", stream=stream)
    stream.close()
    log.info("lost")
    assert "--- Logging error ---" in capsys.readouterr().err
    monkeypatch.setattr(logging, "raiseExceptions", False)
    log.info("lost quietly")
    assert capsys.readouterr().err == ""


def test_bad_constructor_arguments() -> None:
    """Wrong kinds of name, level, stream and stacklevel are clear errors or reports."""
    with pytest.raises(InputTypeError, match="name must be a str"):
        StructuredLogger(3)  # type: ignore[arg-type]
    with pytest.raises(LoggingConfigError, match="level must be"):
        StructuredLogger("x", level="LOUD")
    with pytest.raises(InputTypeError, match="level must be"):
        StructuredLogger("x", level=2.5)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="level must be"):
        StructuredLogger("x", level=True)
    with pytest.raises(InputTypeError, match="stream must be"):
        StructuredLogger("x", stream=3)  # type: ignore[arg-type]


def test_bad_call_options_raise_at_the_call() -> None:
    """A bad stacklevel or level is the caller's bug: it raises, as in the stdlib.

    One policy for every call option (the level raised already; stacklevel
    used to be reported on stderr instead).
    """
    log = StructuredLogger("x", stream=io.StringIO())
    with pytest.raises(InputTypeError, match="stacklevel must be an int"):
        log.info("m", stacklevel="2")
    with pytest.raises(LoggingConfigError, match="level must be"):
        log.log("NOPE", "m")


def test_what_cannot_be_written_is_reported_not_raised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A broken stream is reported on stderr; the call itself returns."""

    class Broken(io.StringIO):
        def write(self, _text: str) -> int:
            msg = "disk gone"
            raise OSError(msg)

    StructuredLogger("x", stream=Broken()).info("m", v=1)
    assert "disk gone" in capsys.readouterr().err


def test_path_stream_appends_and_close(tmp_path: Path) -> None:
    """A path opens an O_APPEND file; close() closes it for every bound logger."""
    path = tmp_path / "log.jsonl"
    path.write_text('{"existing":true}\n')
    log = StructuredLogger("p", stream=path)
    log.bind(k=1).info("one")
    log.info("two")
    log.close()
    log.close()
    lines = parse_lines(path.read_text())
    assert [r.get("message") for r in lines] == [None, "one", "two"]
    assert "closed" in repr(log)


def test_threads_write_whole_lines_and_keep_their_own_context() -> None:
    """8 threads logging at once: every line whole, each with its thread's context."""
    out = io.StringIO()
    log = StructuredLogger("threads", stream=out)
    per_thread = 300

    def work(n: int) -> None:
        with log_context(thread=n):
            for i in range(per_thread):
                log.info("tick", i=i, payload="x" * (i % 50))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = parse_lines(out.getvalue())
    assert len(lines) == 8 * per_thread
    for n in range(8):
        mine = [r["context"]["i"] for r in lines if r["context"]["thread"] == n]
        assert mine == list(range(per_thread))


def test_new_threads_start_without_the_context_unless_copied() -> None:
    """A new thread does not inherit log_context; copy_context().run passes it on."""
    seen: dict[str, dict[str, object]] = {}
    with log_context(run="r1"):
        plain = threading.Thread(target=lambda: seen.update(plain=current_context()))
        ctx = contextvars.copy_context()
        copied = threading.Thread(
            target=lambda: ctx.run(lambda: seen.update(copied=current_context()))
        )
        for t in (plain, copied):
            t.start()
            t.join()
    assert seen == {"plain": {}, "copied": {"run": "r1"}}


def test_log_context_follows_asyncio_tasks() -> None:
    """Each asyncio task keeps its own context; tasks inherit it at creation."""
    out = io.StringIO()
    log = StructuredLogger("aio", stream=out)

    async def worker(n: int) -> None:
        with log_context(task=n):
            for step in range(3):
                await asyncio.sleep(0)
                log.info("step", step=step)

    async def main() -> None:
        with log_context(run="r9"):
            await asyncio.gather(*(worker(n) for n in range(4)))
        log.info("done")

    asyncio.run(main())
    lines = parse_lines(out.getvalue())
    assert len(lines) == 13
    for record in lines[:-1]:
        assert record["context"]["run"] == "r9"
        assert set(record["context"]) == {"run", "task", "step"}
    by_task = {
        n: [r["context"]["step"] for r in lines[:-1] if r["context"]["task"] == n]
        for n in range(4)
    }
    assert by_task == {n: [0, 1, 2] for n in range(4)}
    assert "context" not in lines[-1]


def test_log_context_restores_on_error_and_across_contexts() -> None:
    """The outer context is back after an exception, and after leaving elsewhere."""
    contextvars.copy_context().run(check_log_context_restores)


def check_log_context_restores() -> None:
    with pytest.raises(RuntimeError), log_context(a=1):
        raise RuntimeError
    assert current_context() == {}
    manager = log_context(b=2)
    manager.__enter__()
    # Leave in another context than entered: the fields are dropped there.
    contextvars.copy_context().run(manager.__exit__, None, None, None)
    assert current_context() == {"b": 2}
    manager2 = log_context(c=3)
    with log_context(keep=1):
        contextvars.Context().run(lambda: None)
        manager2.__enter__()
    ctx = contextvars.copy_context()
    ctx.run(manager2.__exit__, None, None, None)
    assert ctx.run(current_context) == {"b": 2}


def test_log_context_stays_out_of_formatting_in_other_threads(captured: Any) -> None:
    """A StructuredLogger record keeps the context of its call, not the formatter's."""
    log = StructuredLogger(captured.logger.name, level="DEBUG")
    with log_context(a=1):
        log.info("m", b=2)
    assert captured.last()["context"] == {"a": 1, "b": 2}


# --------------------------------------------------------------------- log_ml_event


def test_log_ml_event_on_a_structured_logger() -> None:
    """The event name is the message and the first context field, then the fields."""
    out = io.StringIO()
    log = StructuredLogger("ml", stream=out, run="r1")
    log_ml_event(log, "epoch_end", epoch=3, loss=np.float32(0.25), accuracy=0.93); line = line_here()  # fmt: skip  # noqa: E702, E501
    record = strict_loads(out.getvalue())
    assert record["message"] == "epoch_end"
    assert record["level"] == "INFO"
    assert record["context"] == {
        "run": "r1",
        "event": "epoch_end",
        "epoch": 3,
        "loss": 0.25,
        "accuracy": 0.93,
    }
    assert record["function"] == "test_log_ml_event_on_a_structured_logger"
    assert record["line"] == line


def test_log_ml_event_on_a_stdlib_logger_gives_the_same_json(captured: Any) -> None:
    """On a stdlib Logger the record has the same context, and the caller's location."""
    with log_context(rank=0):
        log_ml_event(captured.logger, "eval", step=10, f1=math.nan, event="clash", message="m"); line = line_here()  # fmt: skip  # noqa: E702, E501
    record = captured.last()
    assert record["message"] == "eval"
    assert record["context"] == {
        "rank": 0,
        "event": "eval",
        "step": 10,
        "f1": "NaN",
        "event_": "clash",
        "message": "m",
    }
    assert (
        record["function"] == "test_log_ml_event_on_a_stdlib_logger_gives_the_same_json"
    )
    assert record["line"] == line


def test_log_ml_event_on_a_logger_adapter(captured: Any) -> None:
    """An adapter's extra stays top level; names the stdlib refuses go to context."""
    adapter = logging.LoggerAdapter(captured.logger, {"job": "j1", "name": "clash"})
    nested = logging.LoggerAdapter(adapter, {})  # type: ignore[arg-type]
    log_ml_event(adapter, "saved", path="/tmp/m.pt")  # noqa: S108 - a value, not a file
    log_ml_event(nested, "nested")
    first, second = captured.records()
    assert first["job"] == "j1"
    assert first["context"] == {"event": "saved", "path": "/tmp/m.pt", "name": "clash"}  # noqa: S108
    assert second["context"] == {"event": "nested"}


def test_log_ml_event_respects_levels_and_rejects_bad_input(captured: Any) -> None:
    """Filtered-out events write nothing; a wrong logger or event is a clear error."""
    captured.logger.setLevel(logging.WARNING)
    log_ml_event(captured.logger, "hidden")
    quiet = io.StringIO()
    log_ml_event(StructuredLogger("q", stream=quiet, level="ERROR"), "hidden")
    assert captured.lines() == []
    assert quiet.getvalue() == ""
    with pytest.raises(InputTypeError, match="logger must be"):
        log_ml_event(print, "x")  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="event must be a str"):
        log_ml_event(captured.logger, 3)  # type: ignore[arg-type]


def test_log_ml_event_never_raises_from_logging(
    captured: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A filter that raises is reported on stderr, not raised into the training loop."""

    def boom(record: logging.LogRecord) -> bool:
        msg = "filter failed"
        raise RuntimeError(msg)

    captured.logger.addFilter(boom)
    log_ml_event(captured.logger, "epoch_end", epoch=1)
    assert "filter failed" in capsys.readouterr().err


# ------------------------------------------------------------ configure_json_logging


@pytest.fixture
def clean_root() -> Any:
    """Restore the root logger's handlers and level after a test."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        if handler not in saved:
            root.removeHandler(handler)
            handler.close()
    for handler in saved:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def test_configure_json_logging_sets_up_the_root_logger(
    clean_root: logging.Logger,
) -> None:
    """One call gives JSON lines for every logger; calling again replaces, not adds."""
    out = io.StringIO()
    first = configure_json_logging(stream=out, level="DEBUG")
    second = configure_json_logging(
        stream=out, level="INFO", static_fields={"app": "a"}
    )
    assert first not in clean_root.handlers
    assert second in clean_root.handlers
    logging.getLogger("any.module").info("hi", extra={"k": 1})
    logging.getLogger("any.module").debug("hidden")
    record = strict_loads(out.getvalue())
    assert record["message"] == "hi"
    assert record["app"] == "a"
    assert clean_root.level == logging.INFO


def test_configure_json_logging_force_and_path(
    clean_root: logging.Logger, tmp_path: Path
) -> None:
    """force=True removes other handlers; path= appends to a file."""
    other = logging.NullHandler()
    clean_root.addHandler(other)
    handler = configure_json_logging(path=tmp_path / "app.jsonl", force=True)
    assert other not in clean_root.handlers
    assert isinstance(handler, AppendFileHandler)
    logging.getLogger("x.y").warning("to file")
    assert parse_lines((tmp_path / "app.jsonl").read_text())[0]["message"] == "to file"
    with pytest.raises(LoggingConfigError, match="not both"):
        configure_json_logging(stream=io.StringIO(), path=tmp_path / "b")


def test_importing_the_package_configures_no_logging() -> None:
    """A fresh interpreter importing the package has no handlers anywhere."""
    code = (
        "import logging, ml_infra_utils\n"
        "loggers = [logging.getLogger()] + [\n"
        "    l for l in logging.Logger.manager.loggerDict.values()\n"
        "    if isinstance(l, logging.Logger)]\n"
        "print(sum(len(l.handlers) for l in loggers), logging.getLogger().level)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["0", str(logging.WARNING)]


def test_public_names_are_exported_from_the_root() -> None:
    """The structured logging names are reachable from the package root."""
    for name in (
        "JsonFormatter",
        "StructuredLogger",
        "log_ml_event",
        "log_context",
        "configure_json_logging",
        "AppendFileHandler",
    ):
        assert getattr(ml_infra_utils, name) is getattr(
            ml_infra_utils.logging.structured, name
        )


def test_non_mapping_context_is_kept_as_a_field() -> None:
    """extra={"context": "text"} is not lost: it comes out as context_."""
    with log_context(run="r1"):
        out = strict_loads(JsonFormatter().format(make_record(context="text")))
    assert out["context"] == {"run": "r1"}
    assert out["context_"] == "text"
    assert (
        strict_loads(JsonFormatter().format(make_record(context="t")))["context_"]
        == "t"
    )


def test_mapping_context_types_and_renamed_extras() -> None:
    """Any mapping works as context; rename_fields renames extra fields too."""
    import types

    record = make_record(context=types.MappingProxyType({"a": 1}), epoch=2)
    fmt = JsonFormatter(rename_fields={"epoch": "step", "context": "ctx"})
    out = strict_loads(fmt.format(record))
    assert out["ctx"] == {"a": 1}
    assert out["step"] == 2
    assert fmt.format(record) == fmt._format_general(record)
    plain = make_record(context={"a": 1}, epoch=2, created=record.created)
    assert fmt.format(plain) == fmt._format_general(plain) == fmt.format(record)
    chosen = JsonFormatter(fields=["message"]).format(make_record(msg=42))
    assert strict_loads(chosen) == {"message": "42"}


def test_an_empty_exc_info_tuple_adds_no_exception() -> None:
    """exc_info=(None, None, None) (logger.exception outside except) adds nothing."""
    out = strict_loads(JsonFormatter().format(make_record(exc_info=(None, None, None))))
    assert "exception" not in out


def test_filtered_methods_write_nothing_at_every_level() -> None:
    """A logger above CRITICAL drops every method's records."""
    out = io.StringIO()
    log = StructuredLogger("off", stream=out, level=60)
    for method in (log.debug, log.info, log.warning, log.error, log.critical):
        method("m")
    log.exception("m")  # noqa: LOG004 - filtered out, on purpose
    log.log("CRITICAL", "m")
    assert out.getvalue() == ""


def test_exc_info_tuple_and_stack_info_through_stdlib(captured: Any) -> None:
    """An exc_info tuple and stack_info reach the stdlib record as structure."""
    log = StructuredLogger(captured.logger.name)
    try:
        raise OSError(2, "missing")
    except OSError:
        log.error("tuple", exc_info=sys.exc_info(), stack_info=True)  # noqa: G201
    record = captured.last()
    assert record["exception"]["type"] == "FileNotFoundError"
    assert record["stack"][-1]["function"] == (
        "test_exc_info_tuple_and_stack_info_through_stdlib"
    )


def test_caller_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-code-object cache of caller names is cleared when full."""
    from ml_infra_utils.logging import structured

    full = {compile(str(i), "x", "eval"): "" for i in range(4096)}
    monkeypatch.setattr(structured, "_CODE_JSON", full)
    out = io.StringIO()
    StructuredLogger("cache", stream=out).info("m")
    assert len(full) == 1
    assert strict_loads(out.getvalue())["module"] == HERE


def test_log_context_yields_a_read_only_view() -> None:
    """The mapping a with-block gets cannot change the context behind it."""
    with log_context(a=1) as fields:
        assert fields == {"a": 1}
        with pytest.raises(TypeError):
            fields["b"] = 2  # type: ignore[index]


def test_a_filter_changing_record_context_leaves_the_logger_alone(
    captured: Any,
) -> None:
    """A redacting filter may edit record.context without touching bound fields."""

    def redact(record: logging.LogRecord) -> bool:
        record.context["key"] = "***"  # type: ignore[attr-defined]
        return True

    captured.logger.addFilter(redact)
    log = StructuredLogger(captured.logger.name).bind(key="visible")
    log.info("one")
    log.info("two")
    assert [r["context"]["key"] for r in captured.records()] == ["***", "***"]
    assert log.context == {"key": "visible"}
