"""Excel workbooks (.xlsx) as rosters: one sheet, read by calamine (python-calamine, in Rust,
~10x faster than openpyxl) when the sheet fits in memory, else streamed with openpyxl in
read-only mode, so a large workbook is never held in memory
(:mod:`certcli.roster.workbook_fit` decides, from one quick pass over the archive).

Only :class:`certcli.roster.parse.Roster` uses this module, and only when the
file is a workbook: neither reader is imported by the other commands.

Cells arrive typed.  Text is used as it is; a date cell is a day; a whole number
is its digits, except in a date column, where Excel's day number (45366, a date cell
whose format was lost) is the day it counts.  Excel keeps only 15 significant digits of a number, so an
18-digit resident ID typed into a cell formatted as a number comes back as
``1.10101199003074E+17`` (its last digits replaced by zeros): such a cell is
refused with its own reason instead of being read as some other ID.  Both readers give
the same texts: calamine reads every number as a double, so a workbook holding a number
written out with more than 15 significant digits (a program's exact ID) goes to openpyxl,
which keeps them.
"""
from __future__ import annotations

import warnings
import zipfile
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import BinaryIO, Callable, Iterator

from certcli.errors import BadRoster
from certcli.roster import workbook_fit
from certcli.roster.columns import FIELDS, RowError, _columns_of, _missing

EXCEL_DIGITS = 15            # significant digits Excel keeps of a number
DATE_FIELDS = frozenset({"issued_on", "birth_date"})
HEADER_SEARCH_ROWS = 20      # a title or notes may sit above the header row
MAX_SHARED_STRINGS = 2**30   # uncompressed bytes: both readers hold a workbook's shared strings in memory


class CellProblem(Exception):
    """A cell that cannot be read as text: ``args`` are (reason, field, detail)."""


class Sheet:
    """An open worksheet: ``name``, ``engine`` (the reader), ``rows()`` (sheet row number, cell values)."""

    def __init__(self, raw: BinaryIO, path: str, wanted: str | None):
        self.path = path
        try:
            archive = zipfile.ZipFile(raw)
            members = {info.filename: info for info in archive.infolist()}
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
            raise BadRoster(path=path, reason="damaged_workbook", detail=_short(error)) from None
        if not any(name.startswith("xl/") for name in members) or "xl/workbook.bin" in members:
            # an OpenDocument spreadsheet (.ods), a binary workbook (.xlsb), or another ZIP archive
            raise BadRoster(path=path, reason="not_a_workbook")
        for name, info in members.items():
            if name.lower().endswith("sharedstrings.xml") and info.file_size > MAX_SHARED_STRINGS:
                raise BadRoster(path=path, reason="too_large", detail=f"{name}: {info.file_size} bytes")
        with _damaged(path):
            fits = workbook_fit.calamine_fits(archive)
        raw.seek(0)
        self._book = (_CalamineBook if fits else _OpenpyxlBook)(raw, path)
        self.engine = self._book.engine
        try:
            self.names = self._book.names  # the worksheets: chart sheets hold no rows
            index = self._choose(wanted)
            self.name = self.names[index]
            self._book.open(index)
        except BaseException:
            self.close()
            raise

    def _choose(self, wanted: str | None) -> int:
        names = self.names
        if not names:
            raise BadRoster(path=self.path, reason="empty_sheet", detail=self._book.all_names)
        if wanted is None:
            visible = [i for i, shown in enumerate(self._book.visible) if shown]
            return (visible or [0])[0]
        exact = [i for i, name in enumerate(names) if name == wanted]
        loose = [i for i, name in enumerate(names) if name.strip().casefold() == wanted.strip().casefold()]  # "sheet1 "
        for found in (exact, loose):
            if len(found) == 1:
                return found[0]
        if wanted.strip().isdigit() and 1 <= int(wanted) <= len(names):  # --sheet 2: the second sheet
            return int(wanted) - 1
        raise BadRoster(path=self.path, reason="unknown_sheet", detail=names)

    def rows(self) -> Iterator[tuple[int, list | tuple]]:
        return self._book.rows()

    def bytes_read(self, size: int) -> int:
        """How far into the file reading has got, for a progress bar."""
        return self._book.bytes_read(size)

    def records(self, header_of: Callable[[list[str]], list[str | None]]) -> Iterator[tuple[int, list[str] | RowError]]:
        """(sheet row, the FIELDS' texts or a RowError) for each data row, as
        :meth:`certcli.roster.parse.Roster.rows` reads them.  ``header_of``: the roster field
        of each header column (it records header warnings, and raises for missing columns)."""
        rows = self.rows()
        header = first_filled = None
        started = 0
        # The header is the first row that names the required columns: a title row or
        # notes above it are skipped.  Rows are read one at a time, so none is skipped past it.
        for line, cells in rows:
            texts = [header_text(c) for c in cells]
            count = sum(1 for text in texts if text)
            if count:
                started = started or line
                if first_filled is None or (count >= 2 and sum(1 for t in first_filled if t) < 2):
                    first_filled = texts
                if count >= 2 and not _missing(_columns_of(texts)[0]):
                    header = texts
                    break
            if started and line - started >= HEADER_SEARCH_ROWS:
                break
        if header is None:
            if first_filled is None or sum(1 for text in first_filled if text) < 2:  # empty, or notes only
                raise BadRoster(path=self.path, reason="empty_sheet", detail=list(self.names))
            header = first_filled  # reports the missing columns
        while header and not header[-1]:
            header.pop()
        columns = header_of(header)
        width = len(columns)
        positions = [(columns.index(f), f) if f in columns else (None, f) for f in FIELDS]
        number_at = columns.index("certificate_no")
        for line, cells in rows:
            if not any(filled(c) for c in cells):
                continue
            if len(cells) > width and any(filled(c) for c in cells[width:]):
                used = max(i for i, c in enumerate(cells) if filled(c)) + 1
                yield line, RowError(line, "too_many_columns", detail=f"{used} > {width}")
                continue
            try:
                values = [cell_text(cells[i], f) if i is not None and i < len(cells) else "" for i, f in positions]
            except CellProblem as problem:
                number = cells[number_at] if number_at < len(cells) else None
                yield line, RowError(line, *problem.args, certificate_no=header_text(number).strip()[:64])
                continue
            yield line, values

    def close(self) -> None:
        book, self._book = getattr(self, "_book", None), None
        if book is not None:
            book.close()


class _CalamineBook:
    """The whole sheet read at once by calamine (workbook_fit has checked that it fits)."""

    engine = "calamine"

    def __init__(self, raw: BinaryIO, path: str):
        from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum  # only for a workbook

        self.path, self.sheet, self.done, self.height = path, None, 0, 0
        with _damaged(path):
            # from the bytes, not the path: calamine picks its reader by the name's extension
            self.book = CalamineWorkbook.from_filelike(raw)
            sheets = [m for m in self.book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
            self.all_names = list(self.book.sheet_names)
        self.names = [m.name for m in sheets]
        self.visible = [m.visible == SheetVisibleEnum.Visible for m in sheets]

    def open(self, index: int) -> None:
        with _damaged(self.path):
            self.sheet = self.book.get_sheet_by_name(self.names[index])

    def rows(self) -> Iterator[tuple[int, list]]:
        start = self.sheet.start
        if start is None:
            return  # no cell holds a value (and iter_rows fails on such a sheet)
        self.height = self.sheet.end[0] + 1
        # Rows come from the sheet's first row on, cells from its first used column:
        # put back the columns before it, so that positions are the sheet's own.
        pad = [""] * start[1]
        with _damaged(self.path):
            for line, cells in enumerate(self.sheet.iter_rows(), start=1):
                self.done = line
                yield line, pad + cells if pad else cells

    def bytes_read(self, size: int) -> int:
        return size * self.done // self.height if self.height else 0

    def close(self) -> None:
        self.sheet = None  # the grid is freed with it
        try:
            self.book.close()
        except Exception:  # noqa: BLE001 - closed already
            pass


class _OpenpyxlBook:
    """The sheet streamed by openpyxl in read-only mode: memory stays flat whatever its size."""

    engine = "openpyxl"

    def __init__(self, raw: BinaryIO, path: str):
        import openpyxl  # only for a workbook calamine should not read whole

        # openpyxl warns (on stderr) about styles and extensions it does not read; neither
        # matters for the cell values, and the worker process drops stderr anyway.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl(\.|$)")
        self.path, self.raw = path, raw
        try:
            self.book = openpyxl.load_workbook(raw, read_only=True, data_only=True, keep_links=False)
        except Exception as error:  # noqa: BLE001 - any failure inside the archive is a damaged workbook
            raise BadRoster(path=path, reason="damaged_workbook", detail=_short(error)) from None
        self.all_names = self.book.sheetnames
        self.names = [ws.title for ws in self.book.worksheets]
        self.visible = [getattr(ws, "sheet_state", "visible") == "visible" for ws in self.book.worksheets]

    def open(self, index: int) -> None:
        self.sheet = self.book.worksheets[index]
        # The dimension record may be wrong (some programs write "A1"): never trust it to end the sheet.
        self.sheet.reset_dimensions()

    def rows(self) -> Iterator[tuple[int, tuple]]:
        rows = enumerate(self.sheet.iter_rows(values_only=True), start=1)
        while True:
            try:
                line, cells = next(rows)
            except StopIteration:
                return
            except Exception as error:  # noqa: BLE001 - the sheet's XML is damaged past this point
                raise BadRoster(path=self.path, reason="damaged_workbook", detail=_short(error)) from None
            yield line, cells

    def bytes_read(self, size: int) -> int:
        return min(size, self.raw.tell())  # the sheet streams from the archive

    def close(self) -> None:
        self.book.close()


@contextmanager
def _damaged(path: str):
    """Any failure of a reader inside the archive is a damaged workbook; calamine's Rust
    panics arrive as PanicException, which is no Exception."""
    try:
        yield
    except MemoryError:
        raise
    except BaseException as error:
        if not isinstance(error, Exception) and type(error).__name__ != "PanicException":
            raise  # KeyboardInterrupt, SystemExit, GeneratorExit
        raise BadRoster(path=path, reason="damaged_workbook", detail=_short(error)) from None


def filled(value) -> bool:
    return value is not None and (value.strip() != "" if type(value) is str else True)


def cell_text(value, field: str) -> str:
    """The text of one cell, as the roster's checks expect it (see the module docstring)."""
    kind = type(value)
    if kind is str:
        return value.strip()
    if value is None:
        return ""
    if field in DATE_FIELDS and kind in (int, float) and _is_serial_day(value):
        return _serial_day(value)
    if kind is float and not value.is_integer():
        if field == "id_number":
            raise CellProblem(*_lost_digits(field))  # 1.5, or NaN: no ID number
        return repr(value)
    if kind is int or kind is float:
        # A whole number (calamine reads every number as a double, openpyxl a written-out one as an int).
        whole = int(value)
        digits = str(abs(whole))
        if len(digits) > EXCEL_DIGITS and (kind is float or len(digits.rstrip("0")) <= EXCEL_DIGITS):
            # written by Excel (the digits after the 15th are gone), or a double that kept no more than 17
            raise CellProblem(*_lost_digits(field))
        return digits if whole >= 0 else "-" + digits
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if field in DATE_FIELDS:
            return value.date().isoformat()
        return value.isoformat(sep=" ") if value.time() != datetime.min.time() else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


# Excel's day numbers (1900 date system): day 61 is 1900-03-01; below it Excel counts a
# 29 February 1900 that never was, and no issue or birth date of ours is that old.  The top is
# 9999-12-31, so a date typed as 8 digits (20240315) is never taken for a day number.
_FIRST_SERIAL, _LAST_SERIAL = 61, 2_958_465
_SERIAL_EPOCH = date(1899, 12, 30)


def _is_serial_day(value) -> bool:
    whole = value if type(value) is int else (int(value) if value.is_integer() else None)
    return whole is not None and _FIRST_SERIAL <= whole <= _LAST_SERIAL


def _serial_day(value) -> str:
    """A date cell whose format was lost (typed as a plain number: 45366): the day it counts."""
    return (_SERIAL_EPOCH + timedelta(days=int(value))).isoformat()


def header_text(value) -> str:
    if not filled(value):
        return ""
    try:
        return cell_text(value, "")
    except CellProblem:
        return str(value)


def _lost_digits(field: str) -> tuple[str, str, str]:
    if field == "id_number":
        return "id_number_stored_as_number", field, ""
    return "stored_as_number", field, ""


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return (f"{type(error).__name__}: {text}" if text else type(error).__name__)[:160]
