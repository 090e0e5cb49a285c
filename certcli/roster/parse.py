"""Reading certificate rosters (SPEC §4): CSV in UTF-8, UTF-8 with BOM or
GB18030 (as Excel writes it), tab-separated text, Excel workbooks (.xlsx, one
sheet: :mod:`certcli.roster.workbook`), or JSON Lines; English or Chinese headers.

What a file is comes from its bytes, not its name: a workbook saved under a
``.csv`` name is read as a workbook.  A file that is not a roster at all (UTF-16
"Unicode text", semicolon-separated CSV, an old ``.xls`` workbook, a web page)
is refused with a reason that names the likely cause and the fix, never as
"required columns missing".  A header column that is not a roster column is
named in a :class:`RosterWarning` (with the nearest known column), or refused
with ``strict``.

Parsing streams: a 1M-row roster is never held in memory.  Each data row comes
out as either a clean :class:`RosterRow` or a :class:`RowError` with its line
number and a stable reason code, so one bad row never costs the good ones.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

from certcli import rules
from certcli.membership import rules as member_rules
from certcli.errors import BadRoster, CertcliError
from certcli.roster.columns import (  # noqa: F401 - FIELDS, REQUIRED, RosterWarning: re-exported
    FIELDS, HEADER_ALIASES, MAX_WARNINGS, REQUIRED, RosterWarning, _columns_of, _missing, _suggest,
)
from certcli.roster.sniff import _CountingLines, detect_encoding, sniff  # noqa: F401 - re-exported

ID_TYPE_ALIASES = {
    "居民身份证": "resident_id", "身份证": "resident_id", "护照": "passport",
    "港澳居民来往内地通行证": "hk_macao_permit", "台湾居民来往大陆通行证": "taiwan_permit",
    "外国人永久居留身份证": "foreign_permanent", "其他": "other",
}
SEAL_ALIASES = {"ministry": "ministry", "association": "association", "人社部": "ministry",
                "部": "ministry", "协会": "association", "行业协会": "association"}
MINISTRY_ISSUER_HINT = "人力资源和社会保障部"
MAX_FIELD_LENGTH = 200
_CERT_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_/]{0,63}$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$|^(\d{4})(\d{2})(\d{2})$")
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
EARLIEST_ISSUE = date(1950, 1, 1)


class RosterRow(NamedTuple):  # a NamedTuple: a million of them are made per import
    line: int
    certificate_no: str
    name: str
    id_type: str
    id_number: str
    qualification: str
    level: str
    issued_on: date
    issuer: str
    seal: str
    seal_id: str
    region: str | None = None
    specialty: str | None = None
    approval_no: str | None = None
    photo: str | None = None
    kind: str = "qualification"
    birth_date: str | None = None
    mobile: str | None = None
    email: str | None = None
    exam_pass_year: int | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str  # stable code, e.g. "invalid_id_number"
    field: str = ""
    detail: str = ""
    certificate_no: str = ""


def seal_id_for(seal: str, issuer: str) -> str:
    """Ministry certificates share one seal; each association has its own."""
    if seal == "ministry":
        return "ministry"
    return "assoc-" + hashlib.sha256(issuer.encode()).hexdigest()[:8]


def parse_day(text: str) -> date:
    match = _DATE.match(text.strip())
    if not match:
        raise ValueError(text)
    y, m, d = (int(g) for g in (match.group(1, 2, 3) if match.group(1) else match.group(4, 5, 6)))
    return date(y, m, d)


class Roster:
    """An open roster file; iterate :meth:`rows` once.  ``sheet``: the worksheet of a
    workbook (default: the first); ``strict``: header warnings are errors instead."""

    def __init__(self, path: Path, *, today: date, check_text: Callable[[str, str], None] | None = None,
                 sheet: str | None = None, strict: bool = False):
        self.path = Path(path)
        self._raw = self._sheet = None
        self.sheet_name: str | None = None
        try:
            info = self.path.stat()
        except FileNotFoundError:
            raise BadRoster(path=str(path), reason="file_not_found") from None
        except OSError as error:
            raise BadRoster(path=str(path), reason="unreadable", detail=error.strerror or str(error)) from None
        if not stat.S_ISREG(info.st_mode):  # a pipe would hang or could not be read twice; a folder is no roster
            raise BadRoster(path=str(path), reason="not_a_regular_file")
        try:
            self.size = info.st_size
            self._raw = open(self.path, "rb")
            head = self._raw.read(65536)
            self._raw.seek(0)
        except OSError as error:
            self.close()
            raise BadRoster(path=str(path), reason="unreadable", detail=error.strerror or str(error)) from None
        try:
            self._open(head, sheet)
        except BaseException:
            self.close()
            raise
        self.strict = strict
        self.warnings: list[RosterWarning] = []
        self._warnings_taken = 0
        self.today = today
        self.check_text = check_text
        self._days: dict[str, date] = {}
        self._seals: dict[tuple[str, str], tuple[str, str]] = {}
        self._text_ok: set[str] = set()
        self._folder = os.path.abspath(self.path.parent)

    def _open(self, head: bytes, sheet: str | None) -> None:
        kind = sniff(head)
        self._delimiter = ","
        if kind == "xlsx":
            from certcli.roster.workbook import Sheet

            self.encoding, self.format = "", "xlsx"
            self._sheet = Sheet(self._raw, str(self.path), sheet)
            self.sheet_name = self._sheet.name
            return
        if kind is not None:
            raise BadRoster(path=str(self.path), reason=kind)
        if sheet is not None:
            raise BadRoster(path=str(self.path), reason="sheet_needs_workbook")
        self.encoding = detect_encoding(head)
        self.format = "jsonl" if self.path.suffix.lower() in (".jsonl", ".ndjson") or \
            head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"
        if self.format == "csv":
            first = head.split(b"\n", 1)[0].decode(self.encoding, errors="replace").lstrip("\ufeff")
            if "," not in first and "\t" in first:
                self.format, self._delimiter = "tsv", "\t"  # Excel's "Text (Tab delimited)"
            elif "," not in first and ";" in first:
                # Excel under a locale whose decimal mark is a comma: cells may hold "1,5" too
                raise BadRoster(path=str(self.path), reason="semicolon_separated")
        self._lines = _CountingLines(self._raw, self.encoding)

    @property
    def bytes_read(self) -> int:
        if self._sheet is not None:  # the sheet streams from the archive: how far into the file it has read
            return min(self.size, self._raw.tell())
        return self._lines.bytes_read

    def take_warnings(self) -> list[RosterWarning]:
        """The warnings found since the last call (the header's come with the first rows)."""
        new = self.warnings[self._warnings_taken:]
        self._warnings_taken = len(self.warnings)
        return new

    def close(self) -> None:
        if self._sheet is not None:
            self._sheet.close()
        if self._raw is not None:
            self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def rows(self) -> Iterator[RosterRow | RowError]:
        records = (self._jsonl_records() if self.format == "jsonl" else
                   self._xlsx_records() if self.format == "xlsx" else self._csv_records())
        for line, record in records:
            if isinstance(record, RowError):
                yield record
                continue
            try:
                yield self._clean(line, record)
            except _Reject as reject:
                yield RowError(line, reject.reason, reject.field, reject.detail, record[0].strip()[:64])

    def _csv_records(self) -> Iterator[tuple[int, list[str] | RowError]]:
        reader = csv.reader(self._lines, delimiter=self._delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise BadRoster(path=str(self.path), reason="empty") from None
        except csv.Error as error:
            raise BadRoster(path=str(self.path), reason="unreadable", detail=str(error)) from None
        columns = self._header(header)
        width = len(columns)
        # where each of FIELDS sits in a row, so a record is built with one list comprehension
        positions = [columns.index(f) if f in columns else None for f in FIELDS]
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield reader.line_num, RowError(reader.line_num, "malformed_csv", detail=str(error))
                continue
            if not values or (not values[0].strip() and not "".join(values).strip()):
                continue
            if len(values) > width and any(v.strip() for v in values[width:]):
                yield reader.line_num, RowError(reader.line_num, "too_many_columns",
                                                detail=f"{len(values)} > {width}")
                continue
            if len(values) < width:
                values = values + [""] * (width - len(values))
            yield reader.line_num, [values[i].strip() if i is not None else "" for i in positions]

    def _xlsx_records(self) -> Iterator[tuple[int, list[str] | RowError]]:
        from certcli.roster.workbook import HEADER_SEARCH_ROWS, CellProblem, cell_text, filled, header_text

        rows = self._sheet.rows()
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
                raise BadRoster(path=str(self.path), reason="empty_sheet",
                                detail=[ws.title for ws in self._sheet.book.worksheets])
            header = first_filled  # reports the missing columns
        while header and not header[-1]:
            header.pop()
        columns = self._header(header)
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

    def _header(self, header: list[str]) -> list[str | None]:
        """The roster field of each column; header warnings recorded (or, strict, refused)."""
        columns, warnings = _columns_of(header)
        missing = _missing(columns)
        if missing:
            raise BadRoster(path=str(self.path), reason="missing_columns", detail=missing)
        self._warn(warnings, columns)
        return columns

    def _warn(self, warnings: list[RosterWarning], columns) -> None:
        if not warnings:
            return
        kind = "unknown_column" if any(w.kind == "unknown_column" for w in warnings) else warnings[0].kind
        present = {c for c in columns if c}
        # a header of thousands of junk columns is named in part (and suggestions cost a comparison each)
        warnings = [RosterWarning(w.kind, w.column, _suggest(w.column, present) if w.kind == "unknown_column" else None)
                    for w in warnings[:max(0, MAX_WARNINGS - len(self.warnings))]]
        if self.strict:
            raise BadRoster(path=str(self.path), reason=kind, detail=[w.describe() for w in warnings])
        self.warnings.extend(warnings)

    def _jsonl_records(self) -> Iterator[tuple[int, list[str] | RowError]]:
        seen_header_check = False
        last_keys: set | None = None
        named: set[str] = set()  # unknown keys already warned about
        for line, text in enumerate(self._lines, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except ValueError as error:
                yield line, RowError(line, "malformed_json", detail=str(error)[:120])
                continue
            if not isinstance(obj, dict):
                yield line, RowError(line, "malformed_json", detail="not an object")
                continue
            record = {HEADER_ALIASES.get(k, k): "" if v is None else str(v) for k, v in obj.items()}
            first = not seen_header_check
            if first:
                seen_header_check = True
                missing = [f for f in REQUIRED if f not in record]
                if missing and not any(f in record for f in FIELDS):
                    raise BadRoster(path=str(self.path), reason="missing_columns", detail=missing)
            if last_keys is None or obj.keys() != last_keys:  # records usually share their keys: checked once
                last_keys = set(obj)
                unknown = [k for k in obj if k.strip() and k not in named and HEADER_ALIASES.get(k, k) not in FIELDS]
                if unknown and self.strict and not first:
                    last_keys = None  # every record with the key is refused
                    yield line, RowError(line, "unknown_column", unknown[0][:64],
                                         _suggest(unknown[0], set(record)) or "",
                                         (record.get("certificate_no") or "").strip()[:64])
                    continue
                if unknown:
                    named.update(unknown)
                    self._warn([RosterWarning("unknown_column", k[:64]) for k in unknown], list(record))
            yield line, [(record.get(f) or "").strip() for f in FIELDS]

    def _clean(self, line: int, values: list[str]) -> RosterRow:
        # The hot path of a million-row import: values arrive stripped, one regex over
        # the joined row, caches for the values that repeat (dates, issuers).
        joined = "\n".join(values)
        if len(joined) > MAX_FIELD_LENGTH or _BAD_CHARS.search(joined):
            for field, value in zip(FIELDS, values):
                if len(value) > MAX_FIELD_LENGTH:
                    raise _Reject("field_too_long", field, f"{len(value)} characters")
                if _BAD_CHARS.search(value):
                    raise _Reject("bad_characters", field, "control character or undecodable byte")
        (certificate_no, name, id_type, id_number, qualification, level, issued_text, issuer, seal_text,
         region, specialty, approval_no, photo, kind, birth_text, mobile, email, year_text) = values
        for index in _REQUIRED_INDEXES:
            if not values[index]:
                raise _Reject("missing_value", FIELDS[index])
        if not _CERT_NO.match(certificate_no):
            raise _Reject("invalid_certificate_no", "certificate_no")
        name = rules.normalize_name(name)  # as registration keeps it: NFC, single spaces
        id_type = ID_TYPE_ALIASES.get(id_type, id_type or "resident_id")
        try:
            id_number = rules.normalize_id_number(id_type, id_number)
        except CertcliError as error:
            raise _Reject("invalid_id_number", "id_number", error.data.get("reason", "")) from None
        issued_on = self._day(issued_text)
        seal = self._seals.get((seal_text, issuer)) or self._seal(seal_text, issuer)
        if self.check_text is not None:
            self._check_text(name, "name")
            for field, value in (("qualification", qualification), ("level", level), ("issuer", issuer),
                                 ("specialty", specialty)):
                if value not in self._text_ok:
                    self._check_text(value, field)
                    if len(self._text_ok) < 10_000:  # repeated values; a hostile roster cannot grow it
                        self._text_ok.add(value)
        member = member_rules.QUALIFICATION_FIELDS
        if kind or birth_text or mobile or email or year_text:
            try:
                member = member_rules.roster_member_fields(kind, birth_text, mobile, email, year_text, self.today,
                                                           parse_day)
            except member_rules.FieldProblem as problem:
                raise _Reject(*problem.args) from None
        if photo:  # a file path, kept absolute so that it still resolves after the import
            photo = os.path.normpath(os.path.join(self._folder, photo))
        return RosterRow(line, certificate_no, name, id_type, id_number, qualification, level, issued_on, issuer,
                         seal[0], seal[1], region or None, specialty or None, approval_no or None, photo or None,
                         *member)

    def _day(self, text: str) -> date:
        day = self._days.get(text)
        if day is None:
            try:
                day = parse_day(text)
            except ValueError:
                raise _Reject("invalid_date", "issued_on", text[:20]) from None
            if day > self.today or day < EARLIEST_ISSUE:
                raise _Reject("date_out_of_range", "issued_on", day.isoformat())
            if len(self._days) < 100_000:
                self._days[text] = day
        return day

    def _seal(self, seal_text: str, issuer: str) -> tuple[str, str]:
        seal = _seal_of(seal_text, issuer)
        pair = (seal, seal_id_for(seal, issuer))
        if len(self._seals) < 10_000:
            self._seals[(seal_text, issuer)] = pair
        return pair

    def _check_text(self, value: str, field: str) -> None:
        try:
            self.check_text(value, field)
        except CertcliError as error:
            raise _Reject("unsupported_character", field, error.data.get("codepoint", "")) from None


_REQUIRED_INDEXES = tuple(FIELDS.index(f) for f in REQUIRED)


class _Reject(Exception):
    def __init__(self, reason: str, field: str = "", detail: str = ""):
        self.reason, self.field, self.detail = reason, field, detail


def _seal_of(value: str, issuer: str) -> str:
    if not value:
        return "ministry" if MINISTRY_ISSUER_HINT in issuer else "association"
    seal = SEAL_ALIASES.get(value.lower(), SEAL_ALIASES.get(value))
    if seal is None:
        raise _Reject("invalid_seal", "seal", value[:20])
    return seal
