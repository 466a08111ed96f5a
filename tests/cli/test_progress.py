"""The progress line: drawn only on a terminal, throttled, wiped at the end."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from ml_infra_utils._cli.progress import Progress, format_bytes, is_terminal

if TYPE_CHECKING:
    from conftest import Store


class FakeTty(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_written_when_the_stream_is_not_a_terminal() -> None:
    """Piped stderr stays empty."""
    err = io.StringIO()
    with Progress("working", total=10, stream=err) as progress:
        for i in range(10):
            progress.update(i)
    assert err.getvalue() == ""
    assert not progress.enabled


def test_updates_are_throttled_and_the_line_is_wiped() -> None:
    """At most one redraw per interval; close() blanks the line and returns."""
    err, clock = FakeTty(), Clock()
    progress = Progress("reading runs", total=200, stream=err, clock=clock)
    progress.update(0)
    progress.update(50)  # same instant: skipped
    clock.now = 0.2
    progress.update(100)
    progress.close()
    progress.close()  # a second close writes nothing more
    out = err.getvalue()
    assert out.split("\r")[1:3] == [
        "reading runs 0/200 (0%)",
        "reading runs 100/200 (50%)",
    ]
    assert "50/200" not in out
    assert out.endswith("\r" + " " * len("reading runs 100/200 (50%)") + "\r")


def test_a_shorter_line_overwrites_a_longer_one() -> None:
    """Leftover characters of the previous line are blanked."""
    err, clock = FakeTty(), Clock()
    progress = Progress("x", stream=err, clock=clock, fmt=format_bytes)
    progress.update(12_345_678)
    clock.now = 1
    progress.update(5)
    assert err.getvalue().split("\r")[2] == "x 5 B" + " " * (len("x 12.3 MB") - 5)


def test_unknown_and_zero_totals() -> None:
    """Without a total only the count shows; a zero total is 100 %."""
    err, clock = FakeTty(), Clock()
    Progress("n", stream=err, clock=clock).update(20_000)
    Progress("z", total=0, stream=err, clock=clock).update(0)
    assert "\rn 20,000" in err.getvalue()
    assert "\rz 0/0 (100%)" in err.getvalue()


def test_a_failing_stream_disables_the_progress() -> None:
    """A terminal that goes away mid-run does not fail the command."""

    class Gone(FakeTty):
        def write(self, text: str) -> int:
            raise OSError(len(text), "gone")

    progress = Progress("x", stream=Gone())
    progress.update(1)
    assert not progress.enabled
    progress.close()


def test_is_terminal_handles_odd_streams() -> None:
    """Objects without isatty, or whose isatty raises, are not terminals."""

    class Closed:
        def isatty(self) -> bool:
            msg = "closed"
            raise ValueError(msg)

    assert not is_terminal(object())
    assert not is_terminal(Closed())
    assert is_terminal(FakeTty())


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (2_500_000, "2.5 MB"),
        (10**15, "1000.0 TB"),
    ],
)
def test_format_bytes(count: int, text: str) -> None:
    """Decimal units with one decimal."""
    assert format_bytes(count) == text


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_runs_list_draws_progress_on_a_real_terminal_only(store: Store) -> None:
    """With stderr on a pseudo-terminal the line is drawn; piped it is not."""
    command = [
        sys.executable,
        "-m",
        "ml_infra_utils",
        "runs",
        "list",
        "--runs-dir",
        str(store.root),
    ]
    leader, follower = os.openpty()
    try:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=follower, timeout=60, check=True
        )
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the other end is closed
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
    assert b"\rreading runs 0/3 (0%)" in drawn
    assert drawn.endswith(b"\r")
    assert store.good.encode() in done.stdout
    assert b"\r" not in done.stdout
    piped = subprocess.run(command, capture_output=True, timeout=60, check=True)
    assert piped.stderr == b""
