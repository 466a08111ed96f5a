"""Aligned tables for a terminal: columns cut or left out to fit its width.

Examples:
    >>> cols = [Column("RUN", shrink=False), Column("EXPERIMENT", min_width=4)]
    >>> rows = [["a1", "a-long-experiment-name"], ["b2", "short"]]
    >>> print("\\n".join(render_table(cols, rows, width=16)))
    RUN  EXPERIMENT
    a1   a-long-exp…
    b2   short
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .render import display_width, truncate

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Column", "layout", "render_table"]


@dataclass(frozen=True, slots=True)
class Column:
    """How one column of :func:`render_table` is laid out.

    Attributes:
        header: The header text (cleaned by the caller).
        align: ``"left"`` or ``"right"`` (numbers).
        shrink: Whether the column may be cut to fit the width.
        keep: What a cut keeps: the ``"start"`` or the ``"end"`` of a value.
        min_width: The narrowest a cut leaves it.
        max_width: Values longer than this are always cut (if ``shrink``).
        header_keep: What a cut of the header keeps (default: as ``keep``).
        optional: May be left out when the table cannot fit otherwise.
    """

    header: str
    align: Literal["left", "right"] = "left"
    shrink: bool = True
    keep: Literal["start", "end"] = "start"
    min_width: int = 6
    max_width: int = 60
    header_keep: Literal["start", "end"] | None = None
    optional: bool = False


def layout(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str] | str],
    *,
    width: int | None = None,
    header: bool = True,
) -> list[int | None]:
    """The width of each column of :func:`render_table`; ``None``: left out.

    Columns that may shrink are cut, widest first, down to their
    ``min_width``; if the table still does not fit, ``optional`` columns are
    left out from the right until it does (or none is left); a table that
    still does not fit runs over.

    Examples:
        >>> cols = [Column("A", shrink=False), Column("B", optional=True)]
        >>> layout(cols, [["x" * 10, "y" * 10]], width=14)
        [10, None]
    """
    cells = [row for row in rows if not isinstance(row, str)]
    widths: list[int | None] = []
    for i, col in enumerate(columns):
        natural = max(
            [display_width(col.header) if header else 0]
            + [display_width(row[i]) for row in cells]
        )
        widths.append(min(natural, col.max_width) if col.shrink else natural)
    if width is None:
        return widths
    shown = [i for i, w in enumerate(widths) if w is not None]
    while True:
        fixed = {i: w for i, w in enumerate(widths) if w is not None}
        excess = sum(fixed.values()) + 2 * (len(fixed) - 1) - width
        while excess > 0:
            candidates = [
                i
                for i in fixed
                if columns[i].shrink and fixed[i] > columns[i].min_width
            ]
            if not candidates:
                break
            widest = max(candidates, key=lambda i: fixed[i])
            fixed[widest] -= 1
            excess -= 1
        optional = [i for i in shown if columns[i].optional]
        if excess <= 0 or not optional:
            return [fixed.get(i) for i in range(len(columns))]
        widths[optional[-1]] = None
        shown.remove(optional[-1])


def render_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str] | str],
    *,
    width: int | None = None,
    ellipsis: str = "…",
    header: bool = True,
) -> list[str]:
    """Lay *rows* out in aligned columns, two spaces apart, within *width*.

    Args:
        columns: The layout of each column.
        rows: One sequence of cell texts per row, or a string: a line printed
            as it is (a section title; ``""`` for a blank line).
        width: The cells available; ``None`` for no limit (see :func:`layout`
            for how a table is fitted).
        ellipsis: What marks a cut.
        header: Whether to print the headers as the first line.

    Returns:
        The lines, without trailing spaces or newlines.

    Examples:
        >>> cols = [Column("NAME"), Column("VALUE", align="right")]
        >>> print("\\n".join(render_table(cols, [["lr", "0.01"], ["epochs", "10"]])))
        NAME    VALUE
        lr       0.01
        epochs     10
    """
    widths = layout(columns, rows, width=width, header=header)
    lines = []
    if header:
        titles = [c.header for c in columns]
        lines.append(_line(columns, titles, widths, ellipsis, header=True))
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
        else:
            lines.append(_line(columns, row, widths, ellipsis))
    return lines


def _line(
    columns: Sequence[Column],
    row: Sequence[str],
    widths: list[int | None],
    ellipsis: str,
    *,
    header: bool = False,
) -> str:
    parts = []
    for col, text, w in zip(columns, row, widths, strict=True):
        if w is None:
            continue
        keep = col.header_keep or col.keep if header else col.keep
        cut = truncate(text, w, ellipsis=ellipsis, keep=keep)
        pad = " " * (w - display_width(cut))
        parts.append(pad + cut if col.align == "right" else cut + pad)
    return "  ".join(parts).rstrip()
