"""Whether calamine may read a workbook, or openpyxl must stream it.

calamine (python-calamine) is ~10x faster than openpyxl, but it builds the whole sheet in
memory before the first row: a dense grid of every cell between the first and the last one
that holds a value (32 bytes each), plus each cell's value (measured: 100k rows of 10 columns
~90 MB, 1M rows ~930 MB).  And a few numbers that a file states are trusted: a shared-strings
count is reserved up front, a cell at XFD1048576 sizes the grid; an allocation that fails
there aborts the whole process (no exception to catch).  So before calamine opens a file,
its parts are read once, streamed, and calamine is used only when
  * every worksheet cell names its own position (``<c r="B7"``, ``<row r="7"``), and no cell
    lies beyond the rows and columns the sheet has already shown (then the grid is bounded);
  * no number cell holds more than 15 significant digits written out (an ID a program wrote
    as a number: calamine reads every number as a double, openpyxl keeps its exact digits);
  * the estimated memory fits :data:`MEMORY_BUDGET`.
Anything else is streamed by openpyxl, as before: slower, exact, bounded.
"""
from __future__ import annotations

import re
import zipfile
from functools import lru_cache

MEMORY_BUDGET = 256 * 2**20  # estimated bytes; with the worker's own ~40 MB, under the 300 MiB import target
GRID_CELL_BYTES = 32         # one cell of calamine's dense grid
PART_FACTOR = 2              # sparse cells and their values, per byte of sheet XML (measured 1.2 to 1.9)
STRING_SLOT_BYTES = 24       # per shared string calamine reserves from the stated count
CHUNK = 1 << 20

# A cell or row whose position is implied (no r, or not first), or an element with a namespace
# prefix: calamine places those by counting, which this scan does not follow.
_IMPLIED = re.compile(rb'<c(?! r=")[\s>/]|<row(?! r=")[\s>/]')
_PREFIXED = re.compile(rb":(?:c|row)[\s>/]")
_DIMENSION = re.compile(rb'<dimension ref="(?:[A-Z]{1,3}\d{1,7}:)?([A-Z]{1,3})(\d{1,7})"')
_LAST_ROW = re.compile(rb'<row r="(\d{1,7})"')  # more digits: past Excel's last row
_COLUMNS = re.compile(rb'c r="([A-Z]{1,3})\d')
_LONG_NUMBER = re.compile(rb"<v>-?(\d{16,})(?=<|$)")
_UNIQUE_COUNT = re.compile(rb'uniqueCount\s*=\s*["\']\s*(\d+)')


def calamine_fits(archive: zipfile.ZipFile, budget: int | None = None) -> bool:
    """True when calamine may read any sheet of ``archive`` (see the module docstring).
    Raises what zipfile raises for a damaged member (the caller reports a damaged workbook)."""
    budget = MEMORY_BUDGET if budget is None else budget
    largest_sheet = strings = scanned = 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        scanned += info.file_size
        if PART_FACTOR * info.file_size > budget or scanned > 4 * budget:
            return False  # would not fit whatever it holds; nor is it worth reading twice
        with archive.open(info) as part:
            if info.filename.lower().endswith("sharedstrings.xml"):
                strings += PART_FACTOR * info.file_size + STRING_SLOT_BYTES * _stated_strings(part)
                continue
            area = _grid_area(part)
        if area is None:
            return False
        if area:  # a worksheet with cells (calamine reads no cells from any other part)
            largest_sheet = max(largest_sheet, PART_FACTOR * info.file_size + GRID_CELL_BYTES * area)
        if largest_sheet + strings > budget:
            return False
    return largest_sheet + strings <= budget


def _chunks(part):
    """The part's bytes in pieces that end just before a ``<``, so that no tag is cut; a
    piece of 4 KiB of text with no tag ends anywhere (text holds none of the patterns)."""
    carry = b""
    while data := part.read(CHUNK):
        buffer = carry + data
        cut = buffer.rfind(b"<", max(0, len(buffer) - 4096))
        if cut < 0:
            cut = len(buffer) - 256 if len(buffer) > 4096 else 0
        carry = buffer[cut:]
        yield buffer[:cut]
    yield carry


def _stated_strings(part) -> int:
    """The largest shared-strings count the part states (calamine reserves room for it)."""
    return max((int(n) for chunk in _chunks(part) for n in _UNIQUE_COUNT.findall(chunk)), default=0)


def _grid_area(part) -> int | None:
    """Rows x columns of calamine's grid for a worksheet part (0 for a part that is none),
    or None when its cells cannot be bounded this cheaply (or a number needs openpyxl)."""
    rows = columns = sheet_bytes = 0
    in_sheet = False
    for chunk in _chunks(part):
        if not in_sheet:
            dimension = _DIMENSION.search(chunk)
            if dimension:
                columns = max(columns, _column_number(dimension[1]))
                rows = max(rows, int(dimension[2]))
            at = chunk.find(b"sheetData")
            if at < 0:
                continue
            in_sheet, chunk = True, chunk[at:]
        if sheet_bytes < CHUNK:
            # the widest of the first rows (the header, usually) bounds the columns of the rest
            columns = max([columns] + [_column_number(letters) for letters in set(_COLUMNS.findall(chunk))])
        sheet_bytes += len(chunk)
        if _IMPLIED.search(chunk) or _PREFIXED.search(chunk):
            return None
        if any(len(digits.lstrip(b"0").rstrip(b"0")) > 15 for digits in _LONG_NUMBER.findall(chunk)):
            return None
        last = chunk.rfind(b'<row r="')
        if last >= 0:
            number = _LAST_ROW.match(chunk, last)
            if number is None:
                return None
            rows = max(rows, int(number[1]))
        if _beyond(rows, columns).search(chunk):
            return None  # a cell past the rows and columns seen so far (or rows out of order)
    return rows * columns if in_sheet else 0


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@lru_cache(maxsize=64)
def _beyond(rows: int, columns: int) -> re.Pattern:
    """Matches a position (``r="..."``) in a row above ``rows`` or a column past ``columns``."""
    row_past = _greater(str(rows), "0123456789") if rows else r"\d+"
    column_past = _greater(_column_letters(columns), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") if columns else "[A-Z]+"
    return re.compile(f'r="(?:(?:{column_past})\\d|[A-Z]*0*(?:{row_past})")'.encode())


def _greater(text: str, alphabet: str) -> str:
    """A regular expression for the strings over ``alphabet`` (no leading zero digit) that
    come after ``text`` in numeric order: longer ones, or as long and larger at some place."""
    every = f"[{alphabet[0]}-{alphabet[-1]}]"
    options = [f"{every}{{{len(text) + 1},}}"]
    for place, char in enumerate(text):
        index = alphabet.index(char)
        if index + 1 < len(alphabet):
            options.append(f"{re.escape(text[:place])}[{alphabet[index + 1]}-{alphabet[-1]}]"
                           f"{every}{{{len(text) - place - 1}}}")
    return "|".join(options)
