"""Terminal rendering: numbers, times, cleaning, truncation, tables, sparklines."""

from __future__ import annotations

import io
import math
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ml_infra_utils._cli.render import (
    ASCII,
    UNICODE,
    clean,
    display_width,
    format_duration,
    format_exact,
    format_number,
    format_time,
    format_value,
    glyphs_for,
    sparkline,
    terminal_width,
    to_float,
    truncate,
)
from ml_infra_utils._cli.table import Column, layout, render_table

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
reals = st.one_of(st.floats(width=64), st.integers(-(10**6), 10**6))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (-7, "-7"),
        (123456789012, "123456789012"),
        (1234567890123, "1.23457e+12"),
        (10**400, "<int with 401 digits>"),
        (0.5, "0.5"),
        (1 / 3, "0.333333"),
        (1e-7, "1e-07"),
        (math.nan, "NaN"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        (True, "True"),
        ("x", "'x'"),
    ],
)
def test_format_number_is_short_and_names_non_finite_values(
    value: object, text: str
) -> None:
    """Six significant digits, whole small ints, NaN/inf spelled out."""
    assert format_number(value) == text


def test_format_exact_round_trips_floats() -> None:
    """The full repr of a float, so `runs show` loses no digit of a result."""
    assert float(format_exact(0.1 + 0.2)) == 0.1 + 0.2
    assert format_exact(-math.inf) == "-inf"
    assert format_exact(10**5000) == "<int with 5001 digits>"


def test_format_value_shows_params_as_compact_json() -> None:
    """Strings raw; numbers, lists, dicts, null as JSON; control chars escaped."""
    assert format_value("adam") == "adam"
    assert format_value({"a": [1, True]}) == '{"a":[1,true]}'
    assert format_value("two\nlines") == "two\\nlines"
    assert format_value(object()).startswith("<object object")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0.00s"),
        (9.994, "9.99s"),
        (59.9, "59.9s"),
        (60, "1m 00s"),
        (3599, "59m 59s"),
        (3600, "1h 00m"),
        (86399, "23h 59m"),
        (86400 * 3 + 7200, "3d 02h"),
        (None, "-"),
        (-1.0, "-"),
        (math.nan, "-"),
        ("12", "-"),
        (True, "-"),
    ],
)
def test_format_duration(seconds: object, text: str) -> None:
    """Durations read at a glance; unknown or invalid ones are '-'."""
    assert format_duration(seconds) == text


def test_format_time_converts_to_utc_and_keeps_odd_text() -> None:
    """Offsets become UTC, a naive time is shown as is, junk is shown cleaned."""
    assert format_time("2026-01-01T01:30:00-02:00") == "2026-01-01 03:30:00"
    assert format_time("2026-01-01T01:30:00") == "2026-01-01 01:30:00"
    assert format_time("yesterday\x07") == "yesterday\\x07"
    assert format_time(12) == "-"


def test_clean_escapes_control_characters() -> None:
    """An escape sequence from a run's data cannot reach the terminal raw."""
    assert clean("plain text") == "plain text"
    assert clean("\x1b[2J\ttab") == "\\x1b[2J\\ttab"
    assert "\x1b" not in clean("\x1b")


def test_display_width_counts_wide_and_combining_characters() -> None:
    """CJK characters take two cells, combining accents none."""
    assert display_width("abc") == 3
    assert display_width("実験") == 4
    assert display_width("e\u0301") == 1


@given(st.text(max_size=40), st.integers(0, 30))
def test_truncate_never_exceeds_the_width(text: str, width: int) -> None:
    """A cut text fits its width and keeps what fits unchanged."""
    text = clean(text)
    cut = truncate(text, width)
    if display_width(text) <= width:
        assert cut == text
    else:
        assert display_width(cut) <= width
        assert cut.endswith("…") or width == 0


def test_truncate_keeps_the_end_when_asked() -> None:
    """Run ids keep their random end; wide characters are not split."""
    assert truncate("20261124-031416-d85c2cd6", 10, keep="end") == "…-d85c2cd6"
    assert truncate("実験実験", 5) == "実験…"
    assert truncate("abcdef", 2, ellipsis="...") == ".."


def test_to_float_handles_huge_ints() -> None:
    """An int beyond the float range becomes a signed infinity."""
    assert to_float(10**400) == math.inf
    assert to_float(-(10**400)) == -math.inf


def test_glyphs_follow_the_stream_encoding() -> None:
    """UTF-8 streams get block characters, ASCII and unknown ones plain ASCII."""
    assert glyphs_for(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")) is UNICODE
    assert glyphs_for(io.TextIOWrapper(io.BytesIO(), encoding="ascii")) is ASCII
    assert glyphs_for(io.TextIOWrapper(io.BytesIO(), encoding="latin-1")) is ASCII

    class Odd(io.StringIO):
        encoding = "no-such-codec"  # type: ignore[assignment]

    assert glyphs_for(Odd()) is ASCII


def test_terminal_width_prefers_columns_then_the_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """COLUMNS wins; a pipe has no width; a terminal reports its own."""
    monkeypatch.setenv("COLUMNS", "99")
    assert terminal_width(io.StringIO()) == 99
    monkeypatch.setenv("COLUMNS", "junk")
    assert terminal_width(io.StringIO()) is None

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert terminal_width(Tty()) is None  # no file descriptor to ask
    monkeypatch.setattr(
        "os.get_terminal_size", lambda fd: os.terminal_size((120 + fd - 1, 40))
    )

    class RealTty(Tty):
        def fileno(self) -> int:
            return 1

    assert terminal_width(RealTty()) == 120


# ---------------------------------------------------------------- sparklines
def test_sparkline_shapes() -> None:
    """Rising, falling and constant series; one character per value."""
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8], 8, UNICODE) == "▁▂▃▄▅▆▇█"
    assert sparkline([8, 7, 6, 5, 4, 3, 2, 1], 20, UNICODE) == "█▇▆▅▄▃▂▁"
    assert sparkline([2, 2, 2], 5, UNICODE) == "▄▄▄"
    assert sparkline([], 5, UNICODE) == ""
    assert sparkline([1, 2], 0, UNICODE) == ""


def test_sparkline_marks_non_finite_values_and_excludes_them_from_the_scale() -> None:
    """NaN, +inf, -inf get their marks; the finite values still span the scale."""
    line = sparkline([0.0, math.nan, 1.0, math.inf, 0.5, -math.inf], 6, UNICODE)
    assert line == "▁\u00d7█↑▅↓"
    assert sparkline([math.nan, math.inf], 4, ASCII) == "?^"


def test_sparkline_keeps_a_non_finite_value_visible_when_downsampling() -> None:
    """A bucket holding one NaN shows the NaN mark, not an average."""
    values = [float(i) for i in range(1000)]
    values[500] = math.nan
    line = sparkline(values, 10, UNICODE)
    assert len(line) == 10
    assert line.count(UNICODE.nan) == 1
    assert line[5] == UNICODE.nan


def test_sparkline_survives_overflowing_finite_values() -> None:
    """Means of huge finite floats, ints beyond float range and subnormals."""
    assert sparkline([0.0, 5e-324], 2, UNICODE) == "▁█"
    assert sparkline([-1e308, 1e308], 2, UNICODE) == "▁█"
    assert sparkline([1.7976931348623157e308] * 3 + [0.0], 2, UNICODE) == "█▁"
    assert sparkline([1.7976931348623157e308] * 3, 1, UNICODE) == "▄"
    assert sparkline([1e308, 1e308, -1e308, -1e308], 2, UNICODE) == "█▁"
    assert sparkline([10**400, 1], 2, UNICODE) == "↑▄"


@given(st.lists(reals, max_size=300), st.integers(1, 80))
def test_sparkline_properties(values: list[float], width: int) -> None:
    """Never wider than asked, one char per value when it fits, only known glyphs."""
    line = sparkline(values, width, ASCII)
    assert len(line) == min(len(values), width)
    allowed = set(ASCII.levels + ASCII.nan + ASCII.pos_inf + ASCII.neg_inf)
    assert set(line) <= allowed
    if any(isinstance(v, float) and math.isnan(v) for v in values):
        assert ASCII.nan in line


@given(st.lists(finite, min_size=2, max_size=60, unique=True))
def test_sparkline_is_monotone_for_sorted_input(values: list[float]) -> None:
    """A sorted series draws non-decreasing levels from the lowest to the top."""
    values.sort()
    line = sparkline(values, len(values), UNICODE)
    levels = [UNICODE.levels.index(ch) for ch in line]
    assert levels == sorted(levels)
    assert levels[0] == 0
    assert levels[-1] == len(UNICODE.levels) - 1


# ---------------------------------------------------------------- tables
def test_render_table_aligns_and_strips_trailing_spaces() -> None:
    """Left and right alignment, two spaces apart, title rows printed as is."""
    cols = [Column("NAME"), Column("N", align="right"), Column("NOTE")]
    lines = render_table(cols, [["a", "1", ""], "-- section --", ["bbb", "22", "x"]])
    assert lines == ["NAME   N  NOTE", "a      1", "-- section --", "bbb   22  x"]


def test_render_table_fits_the_width_by_cutting_the_widest_column() -> None:
    """Shrinkable columns are cut widest first, never below min_width."""
    cols = [
        Column("A", min_width=4),
        Column("B", shrink=False),
        Column("C", min_width=4),
    ]
    rows = [["a" * 20, "b" * 10, "c" * 8]]
    lines = render_table(cols, rows, width=30, header=False)
    assert lines == ["a" * 7 + "…  " + "b" * 10 + "  " + "c" * 8]
    too_narrow = render_table(cols, rows, width=5, header=False)
    assert too_narrow == ["aaa…  " + "b" * 10 + "  ccc…"]


def test_max_width_caps_cells_even_without_a_width() -> None:
    """A huge value is cut at the column's max_width in a pipe too."""
    lines = render_table([Column("V", max_width=10)], [["x" * 50]], header=False)
    assert lines == ["x" * 9 + "…"]


def test_layout_leaves_out_optional_columns_from_the_right() -> None:
    """When shrinking is not enough, optional columns go, rightmost first."""
    cols = [
        Column("A", shrink=False),
        Column("B", optional=True, shrink=False),
        Column("C", optional=True, shrink=False),
    ]
    rows = [["a" * 10, "b" * 10, "c" * 10]]
    assert layout(cols, rows, width=40) == [10, 10, 10]
    assert layout(cols, rows, width=25) == [10, 10, None]
    assert layout(cols, rows, width=5) == [10, None, None]
    assert render_table(cols, rows, width=25, header=False) == [
        "a" * 10 + "  " + "b" * 10
    ]


def test_header_keep_cuts_headers_from_the_start() -> None:
    """A run-id header keeps its end while values keep their start."""
    col = Column(
        "20261124-031416-d85c2cd6", min_width=10, max_width=10, header_keep="end"
    )
    assert render_table([col], [["valuevaluevalue"]]) == ["…-d85c2cd6", "valuevalu…"]
