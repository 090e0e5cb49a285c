"""Tables that read at the console's width (80 columns included).

rich shrinks the widest columns first, whatever they hold, so at 80 columns a header
broke inside a word ("Qualificatio|n") and dates broke in two.  :func:`fit_table` gives
each column at least its header's longest word, keeps the columns people copy from
(certificate numbers, dates) on one line, and shares what is left between the
columns that can wrap, the ones that need least first, so as few as possible wrap.
"""
from __future__ import annotations

from typing import Sequence

# What a column costs besides its text: one space each side, and a border between columns.
_PADDING = 2


def _cells(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def _longest_word(text: str) -> int:
    return max((_cells(word) for word in text.split()), default=0)


def _lines_width(text: str) -> int:
    return max((_cells(line) for line in text.split("\n")), default=0)


def _least(text: str) -> int:
    """The narrowest a cell may get: a word never breaks (Latin words, and anything with a digit
    in it, like 2026年05月29日); Chinese text may wrap between characters, four to a line."""
    widths = []
    for word in text.split():
        whole = word.isascii() or any(c.isascii() and c.isalnum() for c in word)
        widths.append(_cells(word) if whole else min(_cells(word), 8))
    return max(widths, default=0)


def column_widths(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int,
                  no_wrap: Sequence[int] = (), edge: bool = True) -> list[int] | None:
    """Text widths for a table of ``headers`` and ``rows`` within ``width`` cells; None when it
    fits as it is (or cannot fit however it wraps: then rich does its best)."""
    count = len(headers)
    overhead = count * _PADDING + (count + 1 if edge else count - 1)
    columns = [[str(header)] + [str(row[i]) for row in rows] for i, header in enumerate(headers)]
    widest = [max(_lines_width(text) for text in column) for column in columns]
    if sum(widest) + overhead <= width:
        return None
    least = []
    for i, column in enumerate(columns):
        if i in no_wrap:
            least.append(widest[i])
            continue
        least.append(max([_longest_word(column[0]), *(_least(text) for text in column[1:]), 1]))
    room = width - overhead - sum(least)
    if room < 0:
        return None
    widths = list(least)
    for i in sorted(range(count), key=lambda i: widest[i] - least[i]):   # smallest need first
        give = min(room, widest[i] - widths[i])
        widths[i] += give
        room -= give
    return widths


def fit_table(console, headers: Sequence[str], rows: Sequence[Sequence[str]], *, no_wrap: Sequence[int] = (),
              styles: Sequence[str | None] = (), caption: str | None = None):
    """A rich Table of ``rows`` (plain text, never markup, or rich Text) laid out for ``console``'s width."""
    from rich.table import Table
    from rich.text import Text

    width = console.width
    edge = True
    widths = column_widths(headers, rows, width, no_wrap)
    if widths is None and not fits_as_is(headers, rows, width):
        edge = False               # the outer border costs two columns: drop it when that helps
        widths = column_widths(headers, rows, width, no_wrap, edge=False)
        if widths is None:         # no table fits: one "label: value" line each, a blank line between rows
            return _records(headers, rows, caption)
    table = Table(show_edge=edge, caption=caption, caption_justify="left")
    for i, header in enumerate(headers):
        table.add_column(str(header), no_wrap=i in no_wrap, overflow="fold",
                         width=widths[i] if widths else None)
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            style = styles[i] if i < len(styles) else None
            cells.append(value if isinstance(value, Text) else Text(str(value), style=style or ""))
        table.add_row(*cells)
    return table


def _records(headers, rows, caption):
    from rich.console import Group
    from rich.text import Text

    lines = []
    for n, row in enumerate(rows):
        if n:
            lines.append(Text(""))
        lines += [Text(f"{header}: {' '.join(str(value).split())}") for header, value in zip(headers, row)
                  if str(value).strip()]
    if caption:
        lines.append(Text(caption))
    return Group(*lines)


def can_fit(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int, no_wrap: Sequence[int] = ()) -> bool:
    """Can :func:`fit_table` lay these out within ``width`` without breaking a word?"""
    return fits_as_is(headers, rows, width) or column_widths(headers, rows, width, no_wrap, edge=False) is not None


def fits_as_is(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> bool:
    """Every cell on one line (its own lines, if it has several), within ``width``?"""
    count = len(headers)
    widest = [max(_lines_width(str(v)) for v in [header, *(row[i] for row in rows)])
              for i, header in enumerate(headers)]
    return sum(widest) + count * _PADDING + count + 1 <= width
