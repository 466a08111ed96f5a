"""Reading label files: plain lines, CSV columns, headers, blanks, numbers."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest

from ml_infra_utils._cli.labels import LabelFile, convert, read_labels
from ml_infra_utils._cli.progress import Progress
from ml_infra_utils._errors import (
    EmptyInputError,
    InvalidParameterError,
    MissingValueError,
)

if TYPE_CHECKING:
    from pathlib import Path


def read(data: bytes, role: str = "labels", **options: object) -> LabelFile:
    """Read *data* as a file named f.txt."""
    stream = io.BytesIO(data)
    stream.name = "f.txt"  # type: ignore[attr-defined]
    return read_labels(stream, role=role, **options)  # type: ignore[arg-type]


def test_one_label_per_line_stripped() -> None:
    """Whitespace and CRLF go; blank lines at the start and end are ignored."""
    got = read(b"\n\n  cat \r\ndog\r\n\tbird\n\n \n")
    assert got.labels == ["cat", "dog", "bird"]
    assert got.first_line == 3
    assert not got.header_skipped


def test_a_byte_order_mark_is_ignored() -> None:
    """Files saved by Excel or Notepad start with a BOM."""
    assert read(b"\xef\xbb\xbfcat\ndog").labels == ["cat", "dog"]


def test_a_blank_line_between_labels_is_an_error() -> None:
    """A missing label in the middle would shift every later pair."""
    with pytest.raises(MissingValueError, match=r"f\.txt line 3 is blank"):
        read(b"a\nb\n\nc\n")


@pytest.mark.parametrize("text", [b"1\nnan\n0\n", b"a\nNaN\nb\n"])
def test_nan_is_a_missing_label(text: bytes) -> None:
    """'nan' in any case is refused, naming the line."""
    with pytest.raises(
        MissingValueError, match=r"f\.txt line 2: '(nan|NaN)' is a missing"
    ):
        read(text)


def test_empty_files_are_errors() -> None:
    """No labels, or only a header, is an error."""
    with pytest.raises(EmptyInputError, match=r"f\.txt holds no predictions"):
        read(b"\n \n", role="predictions")
    with pytest.raises(EmptyInputError, match="holds only a header"):
        read(b"label\n", header=True)
    with pytest.raises(EmptyInputError, match="holds only a header"):
        read(b"pred,label\n\n")


def test_undecodable_text_is_an_error() -> None:
    """Latin-1 bytes are not silently replaced."""
    with pytest.raises(InvalidParameterError, match=r"f\.txt line 2 is not UTF-8 text"):
        read(b"ok\ncaf\xe9\n")


@pytest.mark.parametrize(
    ("data", "labels"),
    [
        (b"label\n1\n0\n", ["1", "0"]),  # a column name above numbers
        (b"species\n0\n2\n1\n", ["0", "2", "1"]),  # the only non-number
    ],
)
def test_a_header_is_detected(data: bytes, labels: list[str]) -> None:
    """Only a lone word above numbers is guessed to be a header."""
    got = read(data)
    assert got.labels == labels
    assert got.header_skipped
    assert got.first_line == 2


@pytest.mark.parametrize(
    "data",
    [
        b"cat\ndog\n",
        b"a\n1\nb\n",
        b"7\n1\n",
        b"x\n",
        b"true\nfalse\ntrue\n",  # review-3 F1: a boolean label is no header
        b"True\nFalse\n",
        b"class\ndog\n",
        b"Y_TRUE\na\nb\n",  # a column name above words could be a label
    ],
)
def test_no_header_is_guessed_without_reason(data: bytes) -> None:
    """Words among words, a number first, or one line: no header, nothing dropped."""
    got = read(data)
    assert not got.header_skipped
    assert got.header is None
    assert len(got.labels) == data.count(b"\n")


def test_header_option_overrides_the_guess() -> None:
    """--header and --no-header decide."""
    assert read(b"cat\ndog\n", header=True).labels == ["dog"]
    assert read(b"label\n1\n", header=False).labels == ["label", "1"]


def test_csv_column_by_name_by_role_or_the_only_one() -> None:
    """--column, then the role's known names, then a single column."""
    data = b"id,prediction,label\n1,cat,dog\n2,dog,dog\n"
    assert read(data, role="predictions").labels == ["cat", "dog"]
    assert read(data, role="labels").labels == ["dog", "dog"]
    assert read(data, column="id").labels == ["1", "2"]
    assert read(data, column="ID").labels == ["1", "2"]  # case-insensitive fallback
    got = read(b"y\n1\n0\n", column="y")
    assert (got.labels, got.column, got.first_line) == (["1", "0"], "y", 2)


def test_a_column_for_both_files_spares_plain_files() -> None:
    """--column reads a plain file as it is; a file's own column must exist."""
    shared = read(b"cat\ndog\n", column="species", strict_column=False)
    assert (shared.labels, shared.column) == (["cat", "dog"], None)
    named = read(b"Species\ncat\n", column="species", strict_column=False, header=False)
    assert (named.labels, named.column, named.first_line) == (["cat"], "Species", 2)
    with pytest.raises(
        InvalidParameterError, match=r"has no column 'species': it holds one"
    ):
        read(b"cat\ndog\n", column="species")
    with pytest.raises(InvalidParameterError, match="has no column 'species'"):
        read(b"a,b\n1,2\n", column="species", strict_column=False)


def test_csv_quoting_and_tabs() -> None:
    """Quoted fields keep commas; a tab-separated file is read as such."""
    assert read(b'"x,y"\n1\n').labels == ["1"]  # one quoted column
    assert read(b'label,x\n"a, b",1\nc,2\n').labels == ["a, b", "c"]
    assert read(b"pred\tlabel\n1\t0\n", role="predictions").labels == ["1"]


def test_csv_errors() -> None:
    """A missing column, ambiguous columns, short rows, no header, empty fields."""
    with pytest.raises(
        InvalidParameterError, match=r"has no column 'z' \(its columns: 'a', 'b'\)"
    ):
        read(b"a,b\n1,2\n", column="z")
    with pytest.raises(
        InvalidParameterError, match=r"has several columns.*--labels-column"
    ):
        read(b"a,b\n1,2\n")
    with pytest.raises(
        InvalidParameterError, match="line 3 has 1 fields; column 'b' is field 2"
    ):
        read(b"a,b\n1,2\n3\n", column="b")
    with pytest.raises(
        InvalidParameterError, match="looks like CSV without a header row"
    ):
        read(b"1,0\n0,0\n")
    with pytest.raises(MissingValueError, match="line 2: an empty field"):
        read(b"a,b\n1,\n", column="b")
    with pytest.raises(MissingValueError, match="line 3 is blank"):
        read(b"a,b\n1,2\n,\n3,4\n", column="b")


def test_files_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A path is opened; '-' reads the binary stdin."""
    path = tmp_path / "p.txt"
    path.write_bytes(b"a\nb\n")
    got = read_labels(str(path), role="predictions")
    assert (got.source, got.labels) == (str(path), ["a", "b"])
    stdin = io.TextIOWrapper(io.BytesIO(b"x\ny\n"))
    monkeypatch.setattr("sys.stdin", stdin)
    got = read_labels("-", role="labels")
    assert (got.source, got.labels) == ("<stdin>", ["x", "y"])


def test_reading_reports_progress_in_bytes(tmp_path: Path) -> None:
    """The total is the file size; updates come every few thousand lines."""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = tmp_path / "big.txt"
    path.write_bytes(b"1\n" * 40_000)
    err = Tty()
    with Progress("reading", stream=err, interval=0) as progress:
        read_labels(str(path), role="labels", progress=progress)
    assert progress.total == 80_000
    assert "\rreading 32,768/80,000 (40%)" in err.getvalue()


def test_convert_numbers_to_ints_only_when_all_are_numbers() -> None:
    """1, 1.0, 1e0 and +1 are one class; any word keeps everything strings."""
    nums = LabelFile("p", ["1", "1.0", "1e0", "+1", "-2", "007"], 1)
    other = LabelFile("l", ["1", "0", "0", "1", "-2", "7"], 1)
    assert convert(nums, other) == ([1, 1, 1, 1, -2, 7], [1, 0, 0, 1, -2, 7])
    words = LabelFile("l", ["1", "0", "x", "1", "0", "7"], 1)
    assert convert(nums, words) == (nums.labels, words.labels)


def test_convert_is_exact_for_big_numbers() -> None:
    """review-3 F8: 1e30 is 10**30 (not a float's rounding); 1e400 is a class."""
    big = LabelFile("p", ["1e30", "1", "1E400", "2.5e1", "-0.0"], 1)
    spelled = LabelFile("l", [str(10**30), "1", "1" + "0" * 400, "25", "0"], 1)
    got_pred, got_true = convert(big, spelled)
    assert got_pred == got_true == [10**30, 1, 10**400, 25, 0]


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("0.5", "a number with a fraction"),
        ("1e-999999999", "a number with a fraction"),
        ("1e999999999", "a whole number of more than 4300 digits"),
        ("1" * 5000, "a whole number of more than 4300 digits"),
    ],
)
def test_convert_refuses_scores(bad: str, why: str) -> None:
    """A number with a fraction, or beyond any class, names its file and line."""
    preds = LabelFile("p.txt", ["1", bad], 4)
    with pytest.raises(
        InvalidParameterError, match=rf"p\.txt line 5: .* is not a class \({why}"
    ):
        convert(preds, LabelFile("l.txt", ["1", "0"], 1))
    with pytest.raises(InvalidParameterError, match=r"l\.txt line 2: "):
        convert(LabelFile("p.txt", ["1", "0"], 1), LabelFile("l.txt", ["1", bad], 1))


def test_convert_names_the_first_score_in_file_order() -> None:
    """Whatever the set order, the error names the earliest bad line."""
    preds = LabelFile("p.txt", ["1", "0.91", "0.12", "0.5"], 1)
    with pytest.raises(InvalidParameterError, match=r"p\.txt line 2: '0\.91'"):
        convert(preds, LabelFile("l.txt", ["1", "0", "1", "0"], 1))


def test_old_mac_line_ends_and_malformed_csv() -> None:
    """A lone CR ends a line; a CSV row the csv module refuses names its line."""
    got = read(b"cat\rdog\rbird\r")
    assert (got.labels, got.first_line) == (["cat", "dog", "bird"], 1)
    with pytest.raises(MissingValueError, match="line 3 is blank"):
        read(b"cat\rdog\r\rbird\r\n")
    with pytest.raises(InvalidParameterError, match=r"line 1 is not valid CSV"):
        read(b'"a"x,b\n1,2\n', column="b")
    with pytest.raises(InvalidParameterError, match=r"line 3 is not valid CSV"):
        read(b'a,b\n1,2\n3,"x"y\n', column="a")
