"""Excel workbooks (.xlsx) as rosters: one sheet, streamed with openpyxl in
read-only mode, so a large workbook is never held in memory.

Only :class:`certcli.roster.parse.Roster` uses this module, and only when the
file is a workbook: openpyxl is imported here, never by the other commands.

Cells arrive typed.  Text is used as it is; a date cell is a day; a whole number
is its digits, except in a date column, where Excel's day number (45366, a date cell
whose format was lost) is the day it counts.  Excel keeps only 15 significant digits of a number, so an
18-digit resident ID typed into a cell formatted as a number comes back as
``1.10101199003074E+17`` (its last digits replaced by zeros): such a cell is
refused with its own reason instead of being read as some other ID.
"""
from __future__ import annotations

import warnings
import zipfile
from datetime import date, datetime, timedelta
from typing import BinaryIO, Callable, Iterator

from certcli.errors import BadRoster
from certcli.roster.columns import FIELDS, RowError, _columns_of, _missing

EXCEL_DIGITS = 15            # significant digits Excel keeps of a number
DATE_FIELDS = frozenset({"issued_on", "birth_date"})
HEADER_SEARCH_ROWS = 20      # a title or notes may sit above the header row
MAX_SHARED_STRINGS = 2**30   # uncompressed bytes: openpyxl holds a workbook's shared strings in memory


class CellProblem(Exception):
    """A cell that cannot be read as text: ``args`` are (reason, field, detail)."""


class Sheet:
    """An open worksheet: ``name``, ``rows()`` (sheet row number, cell values)."""

    def __init__(self, raw: BinaryIO, path: str, wanted: str | None):
        self.path = path
        try:
            members = {info.filename: info for info in zipfile.ZipFile(raw).infolist()}
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
            raise BadRoster(path=path, reason="damaged_workbook", detail=_short(error)) from None
        if not any(name.startswith("xl/") for name in members) or "xl/workbook.bin" in members:
            # an OpenDocument spreadsheet (.ods), a binary workbook (.xlsb), or another ZIP archive
            raise BadRoster(path=path, reason="not_a_workbook")
        shared = members.get("xl/sharedStrings.xml")
        if shared is not None and shared.file_size > MAX_SHARED_STRINGS:
            raise BadRoster(path=path, reason="too_large", detail=f"xl/sharedStrings.xml: {shared.file_size} bytes")
        raw.seek(0)
        import openpyxl  # only here: a roster that is a workbook

        # openpyxl warns (on stderr) about styles and extensions it does not read; neither
        # matters for the cell values, and the worker process drops stderr anyway.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl(\.|$)")
        try:
            self.book = openpyxl.load_workbook(raw, read_only=True, data_only=True, keep_links=False)
        except Exception as error:  # noqa: BLE001 - any failure inside the archive is a damaged workbook
            raise BadRoster(path=path, reason="damaged_workbook", detail=_short(error)) from None
        try:
            self.sheet = self._choose(wanted)
        except BaseException:
            self.close()
            raise
        self.name = self.sheet.title
        # The dimension record may be wrong (some programs write "A1"): never trust it to end the sheet.
        self.sheet.reset_dimensions()

    def _choose(self, wanted: str | None):
        sheets = self.book.worksheets  # chart sheets hold no rows
        names = [ws.title for ws in sheets]
        if not sheets:
            raise BadRoster(path=self.path, reason="empty_sheet", detail=self.book.sheetnames)
        if wanted is None:
            visible = [ws for ws in sheets if getattr(ws, "sheet_state", "visible") == "visible"]
            return (visible or sheets)[0]
        exact = [ws for ws in sheets if ws.title == wanted]
        loose = [ws for ws in sheets if ws.title.strip().casefold() == wanted.strip().casefold()]  # "sheet1 "
        for found in (exact, loose):
            if len(found) == 1:
                return found[0]
        if wanted.strip().isdigit() and 1 <= int(wanted) <= len(sheets):  # --sheet 2: the second sheet
            return sheets[int(wanted) - 1]
        raise BadRoster(path=self.path, reason="unknown_sheet", detail=names)

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
                raise BadRoster(path=self.path, reason="empty_sheet", detail=[ws.title for ws in self.book.worksheets])
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
                yield line, RowError(line, *problem.args,
                                     certificate_no=str(number).strip()[:64] if filled(number) else "")
                continue
            yield line, values

    def close(self) -> None:
        book, self.book = getattr(self, "book", None), None
        if book is not None:
            book.close()


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
    if kind is int:
        digits = str(abs(value))
        if len(digits) > EXCEL_DIGITS and len(digits.rstrip("0")) <= EXCEL_DIGITS:
            raise CellProblem(*_lost_digits(field))  # written by Excel: the digits after the 15th are gone
        return str(value)
    if kind is float:
        if field == "id_number":
            raise CellProblem(*_lost_digits(field))
        if value.is_integer():
            whole = int(value)
            if len(str(abs(whole))) > EXCEL_DIGITS:
                raise CellProblem(*_lost_digits(field))
            return str(whole)
        return repr(value)
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
