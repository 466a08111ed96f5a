"""Fixtures for the logging tests: isolated stdlib loggers and strict JSON parsing."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ml_infra_utils import JsonFormatter


def records(text: str) -> list[dict[str, Any]]:
    """Every line of *text* parsed as one JSON object, refusing NaN tokens."""

    def refuse(token: str) -> None:
        msg = f"non-standard JSON token {token}"
        raise ValueError(msg)

    return [json.loads(line, parse_constant=refuse) for line in text.splitlines()]


class Captured:
    """A stdlib logger with a JsonFormatter handler writing to a StringIO."""

    def __init__(self, logger: logging.Logger, stream: io.StringIO) -> None:
        self.logger = logger
        self.stream = stream
        self.handler = logger.handlers[0]

    def use(self, formatter: logging.Formatter) -> None:
        self.handler.setFormatter(formatter)

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict[str, Any]]:
        return records(self.stream.getvalue())

    def last(self) -> dict[str, Any]:
        return self.records()[-1]


@pytest.fixture
def captured() -> Iterator[Captured]:
    """A fresh, non-propagating stdlib logger at DEBUG with a JSON handler."""
    logger = logging.getLogger(f"test.{uuid.uuid4().hex[:8]}")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield Captured(logger, stream)
    finally:
        logger.removeHandler(handler)
        handler.close()
