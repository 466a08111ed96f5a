"""Reading class labels from files for ``ml-infra-utils metrics``.

The rules (also in ``docs/cli.md``):

- A file is UTF-8 text (a byte order mark is ignored); ``-`` is stdin.
- **One label per line**, unless the file is CSV: its first line holds a comma
  (or, without a comma, a tab). A CSV file starts with a header row; the
  column is the one named by ``column``, else the only one, else the one whose
  name says what it is (``prediction``, ``pred``, ``y_pred``... for
  predictions; ``label``, ``target``, ``y_true``... for labels; any case).
- A one-label-per-line file has no header, unless its first line is
  ``column``, or ``header=True``, or (``header=None``, automatic) its first
  line is the only line that is not a number (a word above numbers: it cannot
  be one class among ints). A first line that could be a label (``true``
  above ``false``, ``class`` above words) is never dropped by a guess; the
  command warns whenever it guessed a header (:attr:`LabelFile.header`).
  With ``strict_column`` (a column chosen for this file alone) a file
  without that column is an error; otherwise (``--column``, for both files) a
  one-label-per-line file without it is read as it is.
- Each label is stripped of surrounding whitespace. Blank lines at the start
  and the end are ignored; a blank line between labels is a missing label and
  an error, as is ``nan`` (any case) or an empty CSV field. A file without
  labels is an error.
- Labels stay strings, unless *every* label of *both* files is a number: then
  they are ints, and a number with a zero fraction counts as that int (``1``,
  ``1.0`` and ``1e0`` are the class ``1``, exactly: ``1e30`` is ``10**30``);
  a number with a fraction (``0.73``) is refused: it is a score, not a class;
  so is a whole number of more than 4300 digits.

Examples:
    >>> import io
    >>> preds = read_labels(io.BytesIO(b"1\\n0.0\\n2\\n\\n"), role="predictions")
    >>> truth = read_labels(io.BytesIO(b"label\\n1\\n0\\n1\\n"), role="labels")
    >>> preds.labels, truth.labels, truth.header_skipped, truth.header
    (['1', '0.0', '2'], ['1', '0', '1'], True, 'label')
    >>> convert(preds, truth)
    ([1, 0, 2], [1, 0, 1])
"""

from __future__ import annotations

import csv
import dataclasses
import decimal
import functools
import os
import re
import sys
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from ml_infra_utils._errors import (
    EmptyInputError,
    InvalidParameterError,
    MissingValueError,
)

from .render import clean

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterator

    from .progress import Progress

__all__ = ["HEADER_NAMES", "LabelFile", "convert", "read_labels"]

HEADER_NAMES = {
    "predictions": (
        "prediction",
        "predictions",
        "pred",
        "preds",
        "y_pred",
        "predicted",
    ),
    "labels": (
        "label",
        "labels",
        "y_true",
        "target",
        "true",
        "truth",
        "actual",
        "class",
    ),
}
_INT = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_MAX_DIGITS = 4300  # Python's limit for printing an int
_UPDATE_EVERY = 16_384  # lines between two progress updates


@dataclass(frozen=True, slots=True)
class LabelFile:
    """The labels read from one file, and where they came from.

    Attributes:
        source: The file name (``<stdin>`` for ``-``).
        labels: The labels as stripped strings, in file order.
        first_line: The line number (1-based) of the first label.
        column: The CSV column the labels came from, if any.
        header_skipped: Whether a header row was left out.
        header: The header row left out of a one-label-per-line file
            (stripped), if any.
    """

    source: str
    labels: list[str]
    first_line: int
    column: str | None = None
    header_skipped: bool = False
    header: str | None = None

    def line_of(self, index: int) -> int:
        """The line of label *index* (exact unless quoted CSV fields span lines)."""
        return self.first_line + index


def read_labels(
    file: str | IO[bytes],
    *,
    role: str,
    column: str | None = None,
    strict_column: bool = True,
    header: bool | None = None,
    progress: Progress | None = None,
) -> LabelFile:
    """Read the labels of one file (see the module's rules).

    Args:
        file: A path, ``-`` for stdin, or a binary file object.
        role: ``"predictions"`` or ``"labels"``: which header names to look
            for, and how errors name the file.
        column: The CSV column to read (or the header of a one-column file).
        strict_column: Whether a one-label-per-line file must have *column*
            as its header.
        header: Whether a one-label-per-line file has a header row (``None``:
            decide automatically).
        progress: Reports the bytes read.

    Raises:
        InvalidParameterError: undecodable text, a missing column, a short
            row.
        MissingValueError: a blank line or ``nan`` between labels.
        EmptyInputError: no labels at all.
    """
    read = functools.partial(
        _read,
        role=role,
        column=column,
        strict_column=strict_column,
        header=header,
        progress=progress,
    )
    if isinstance(file, str):
        if file == "-":
            return read(sys.stdin.buffer, "<stdin>")
        with open(file, "rb") as handle:
            return read(handle, file)
    return read(file, getattr(file, "name", f"<{role}>"))


def _read(
    handle: IO[bytes],
    source: str,
    *,
    role: str,
    column: str | None,
    strict_column: bool,
    header: bool | None,
    progress: Progress | None,
) -> LabelFile:
    source = clean(str(source))
    if progress is not None:
        progress.total = _size(handle)
    lines = _decoded(handle, source, progress)
    first = _first_nonblank(lines)
    if first is None:
        msg = f"{source} holds no {role}"
        raise EmptyInputError(msg)
    lineno, text = first
    named = column is not None and text.strip().lower() == column.strip().lower()
    if "," in text or "\t" in text:
        result = _read_csv(lines, lineno, text, source=source, role=role, column=column)
    elif column is not None and not named and strict_column:
        msg = (
            f"{source} has no column {column!r}: it holds one label per line "
            f"and its first line is {labels_head(text)!r}"
        )
        raise InvalidParameterError(msg)
    else:
        result = _read_plain(
            lines, lineno, text, source=source, role=role, header=named or header
        )
        if named:
            result = dataclasses.replace(result, column=text.strip())
    _check_missing(result, role)
    return result


def _size(handle: IO[bytes]) -> int | None:
    try:
        info = os.fstat(handle.fileno())
    except (OSError, AttributeError, ValueError):
        return None
    return info.st_size if info.st_size > 0 else None


def _decoded(
    handle: IO[bytes], source: str, progress: Progress | None
) -> Iterator[tuple[int, str]]:
    """Numbered lines; `\\n`, `\\r\\n` and a lone `\\r` all end a line."""
    done = 0
    lineno = 0
    for raw in handle:
        done += len(raw)
        data = raw[3:] if lineno == 0 and raw.startswith(b"\xef\xbb\xbf") else raw
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            msg = f"{source} line {lineno + 1} is not UTF-8 text"
            raise InvalidParameterError(msg) from None
        lines = [text]
        if "\r" in text:  # Windows and old Mac line ends: universal newlines
            pieces = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            lines = [piece + "\n" for piece in pieces[:-1]]
            lines += [pieces[-1]] if pieces[-1] else []
        for line in lines:
            lineno += 1
            if progress is not None and lineno % _UPDATE_EVERY == 0:
                progress.update(done)
            yield lineno, line


def _first_nonblank(lines: Iterator[tuple[int, str]]) -> tuple[int, str] | None:
    for lineno, text in lines:
        if text.strip():
            return lineno, text
    return None


def _blank_error(source: str, lineno: int, role: str) -> MissingValueError:
    msg = (
        f"{source} line {lineno} is blank: a missing value among the {role} "
        "(blank lines are allowed only at the start and the end)"
    )
    return MissingValueError(msg)


def _read_plain(
    lines: Iterator[tuple[int, str]],
    lineno: int,
    text: str,
    *,
    source: str,
    role: str,
    header: bool | None,
) -> LabelFile:
    labels = [text.strip()]
    blank_at = None
    for number, line in lines:
        label = line.strip()
        if not label:
            blank_at = blank_at or number
            continue
        if blank_at is not None:
            raise _blank_error(source, blank_at, role)
        labels.append(label)
    skip = header
    if skip is None:
        skip = _lone_word(labels)
    if skip:
        head = labels.pop(0)
        if not labels:
            msg = f"{source} holds only a header ({labels_head(text)!r}), no {role}"
            raise EmptyInputError(msg)
        return LabelFile(source, labels, lineno + 1, header_skipped=True, header=head)
    return LabelFile(source, labels, lineno)


def labels_head(text: str) -> str:
    """The first line as an error message shows it."""
    return clean(text.strip())[:60]


def _lone_word(labels: list[str]) -> bool:
    """Whether the first label is the only one that is not a number."""
    head = labels[0]
    if len(labels) < 2 or _NUMBER.fullmatch(head) or head.lower() == "nan":
        return False
    return all(_NUMBER.fullmatch(label) for label in set(labels[1:]))


def _read_csv(
    lines: Iterator[tuple[int, str]],
    lineno: int,
    text: str,
    *,
    source: str,
    role: str,
    column: str | None,
) -> LabelFile:
    delimiter = "," if "," in text or "\t" not in text else "\t"
    try:
        header = next(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        msg = f"{source} line {lineno} is not valid CSV: {exc}"
        raise InvalidParameterError(msg) from None
    names = [name.strip() for name in header]
    if all(_NUMBER.fullmatch(name) for name in names):
        msg = (
            f"{source} looks like CSV without a header row ({labels_head(text)!r}): "
            "add one, e.g. 'prediction,label'"
        )
        raise InvalidParameterError(msg)
    index = _column_index(names, column, source, role)
    labels: list[str] = []
    blank_at = None
    reader = csv.reader((line for _, line in lines), delimiter=delimiter, strict=True)
    for row in _csv_rows(reader, source, lineno):
        number = lineno + reader.line_num
        if not any(field.strip() for field in row):
            blank_at = blank_at or number
            continue
        if blank_at is not None:
            raise _blank_error(source, blank_at, role)
        if index >= len(row):
            msg = (
                f"{source} line {number} has {len(row)} fields; column "
                f"{names[index]!r} is field {index + 1}"
            )
            raise InvalidParameterError(msg)
        labels.append(row[index].strip())
    if not labels:
        msg = f"{source} holds only a header ({labels_head(text)!r}), no {role}"
        raise EmptyInputError(msg)
    return LabelFile(
        source, labels, lineno + 1, column=names[index], header_skipped=True
    )


def _csv_rows(reader: Any, source: str, lineno: int) -> Iterator[list[str]]:
    """The rows of *reader*; a malformed row is an error naming its line."""
    while True:
        try:
            row: list[str] = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            msg = f"{source} line {lineno + reader.line_num} is not valid CSV: {exc}"
            raise InvalidParameterError(msg) from None
        yield row


def _column_index(names: list[str], column: str | None, source: str, role: str) -> int:
    if column is not None:
        if column in names:
            return names.index(column)
        folded = [i for i, n in enumerate(names) if n.lower() == column.lower()]
        if len(folded) == 1:
            return folded[0]
        wanted = f"has no column {column!r}"
    elif len(names) == 1:
        return 0
    else:
        lowered = [n.lower() for n in names]
        for candidate in HEADER_NAMES.get(role, ()):
            if candidate in lowered:
                return lowered.index(candidate)
        wanted = "has several columns"
    listed = ", ".join(repr(clean(n)) for n in names)
    msg = (
        f"{source} {wanted} (its columns: {listed}); choose one with --column "
        f"or --{role}-column"
    )
    raise InvalidParameterError(msg)


def _check_missing(result: LabelFile, role: str) -> None:
    for i, label in enumerate(result.labels):
        if not label or label.lower() == "nan":
            shown = "an empty field" if not label else repr(label)
            msg = (
                f"{result.source} line {result.line_of(i)}: {shown} is a missing "
                f"value among the {role}"
            )
            raise MissingValueError(msg)


def convert(
    predictions: LabelFile, labels: LabelFile
) -> tuple[list[Hashable], list[Hashable]]:
    """Both files' labels as classes: ints if every label is a number, else strings.

    Raises:
        InvalidParameterError: all labels are numbers but one has a fraction
            (or is too large to be a class).
    """
    distinct = set(predictions.labels) | set(labels.labels)
    if not all(_NUMBER.fullmatch(text) for text in distinct):
        return list(predictions.labels), list(labels.labels)
    classes = {text: _as_class(text) for text in distinct}
    if any(isinstance(c, str) for c in classes.values()):  # name the first one
        where, i = next(
            (f, i)
            for f in (predictions, labels)
            for i, text in enumerate(f.labels)
            if isinstance(classes[text], str)
        )
        why = classes[where.labels[i]]
        msg = (
            f"{where.source} line {where.line_of(i)}: {clean(where.labels[i])[:60]!r} "
            f"is not a class ({why}); every label must be a whole number when "
            "all labels are numbers"
        )
        raise InvalidParameterError(msg)
    return (
        [classes[text] for text in predictions.labels],
        [classes[text] for text in labels.labels],
    )


def _as_class(text: str) -> int | str:
    """The class *text* (a number) names, exactly, or why it names none."""
    if _INT.fullmatch(text) and len(text) <= _MAX_DIGITS:
        return int(text)
    number = decimal.Decimal(text)  # exact: 1e30 is 10**30, not a float's rounding
    if number.is_zero():
        return 0
    if number.adjusted() >= _MAX_DIGITS:
        return f"a whole number of more than {_MAX_DIGITS} digits"
    if number != number.to_integral_value():
        return "a number with a fraction: a score or probability?"
    return int(number)
