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
out as either a clean row or a :class:`RowError` with its line number and a
stable reason code, so one bad row never costs the good ones.  An import takes the
clean rows as the tuples it stores (:meth:`Roster.checked`); :meth:`Roster.rows`
gives them as :class:`RosterRow`.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import stat
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

from certcli import rules
from certcli.membership import rules as member_rules
from certcli.errors import BadRoster, CertcliError
from certcli.roster.columns import (  # noqa: F401 - FIELDS, REQUIRED, RosterWarning, RowError: re-exported
    FIELDS, HEADER_ALIASES, MAX_WARNINGS, REQUIRED, RosterWarning, RowError, _columns_of, _missing, _suggest,
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


# A clean row as an import stores it: these columns of the certificates table, then,
# only for a row that is no plain qualification certificate, MEMBER_COLUMNS.  A plain
# one leaves those to the table's defaults (kind 'qualification', the rest NULL): the
# same stored row, and five fewer values to build, send to the worker and bind.
STORED_COLUMNS = ("certificate_no", "name", "id_type", "id_number", "qualification", "level", "specialty",
                  "issued_on", "issuer", "seal", "seal_id", "region", "approval_no", "photo", "imported_at")
MEMBER_COLUMNS = ("kind", "birth_date", "mobile", "email", "exam_pass_year")
QUALIFICATION_DEFAULTS = member_rules.QUALIFICATION_FIELDS  # MEMBER_COLUMNS of a plain row


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
        self._days: dict[str, str] = {}  # issue date as written -> ISO
        self._seals: dict[tuple[str, str], tuple[str, str]] = {}
        # qualification, level, issuer, specialty values (to themselves), checked once; rows share one
        # object per value: pickled once per chunk for the worker's pipe, encoded once for SQLite
        self._texts: dict[str, str] = {}
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
        if self._sheet is not None:
            return self._sheet.bytes_read(self.size)
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
        for line, row in self.checked(""):
            if isinstance(row, RowError):
                yield row
            else:
                member = row[15:] or QUALIFICATION_DEFAULTS
                yield RosterRow(line, *row[:6], date.fromisoformat(row[7]), *row[8:12], row[6], *row[12:14], *member)

    def checked(self, imported_at: str) -> Iterator[tuple[int, tuple | RowError]]:
        """``(line, row)`` for each data row: ``row`` a :class:`RowError`, or the clean row as
        stored (STORED_COLUMNS, ``imported_at`` last, then MEMBER_COLUMNS if not the defaults)."""
        records = (self._jsonl_records() if self.format == "jsonl" else
                   self._xlsx_records() if self.format == "xlsx" else self._csv_records())
        clean = self._clean
        for line, record in records:
            if isinstance(record, RowError):
                yield line, record
                continue
            try:
                yield line, clean(record, imported_at)
            except _Reject as reject:
                yield line, RowError(line, reject.reason, reject.field, reject.detail, record[0].strip()[:64])

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
        return self._sheet.records(self._header)

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

    def _clean(self, values: list[str], imported_at: str) -> tuple:
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
        if not all(_required(values)):
            raise _Reject("missing_value", next(FIELDS[i] for i in _REQUIRED_INDEXES if not values[i]))
        if not _CERT_NO.match(certificate_no):
            raise _Reject("invalid_certificate_no", "certificate_no")
        name = rules.normalize_name(name)  # as registration keeps it: NFC, single spaces
        id_type = _ID_TYPE_NAMES.get(id_type) or id_type or "resident_id"
        try:
            id_number = rules.normalize_id_number(id_type, id_number)
        except CertcliError as error:
            raise _Reject("invalid_id_number", "id_number", error.data.get("reason", "")) from None
        issued_on = self._days.get(issued_text) or self._day(issued_text)
        seal = self._seals.get((seal_text, issuer)) or self._seal(seal_text, issuer)
        if self.check_text is not None:
            self._check_text(name, "name")
        texts = self._texts
        try:
            qualification, level, issuer, specialty = (texts[qualification], texts[level], texts[issuer],
                                                       texts[specialty])
        except KeyError:  # one not seen yet: checked in this order, the first bad one named
            qualification, level, issuer, specialty = (self._text(value, field) for value, field in zip(
                (qualification, level, issuer, specialty), ("qualification", "level", "issuer", "specialty")))
        member = None
        if kind or birth_text or mobile or email or year_text:
            try:
                member = member_rules.roster_member_fields(kind, birth_text, mobile, email, year_text, self.today,
                                                           parse_day)
            except member_rules.FieldProblem as problem:
                raise _Reject(*problem.args) from None
        if photo:  # a file path, kept absolute so that it still resolves after the import
            photo = os.path.normpath(os.path.join(self._folder, photo))
        row = (certificate_no, name, id_type, id_number, qualification, level, specialty or None, issued_on, issuer,
               seal[0], seal[1], region or None, approval_no or None, photo or None, imported_at)
        return row if member is None or member == QUALIFICATION_DEFAULTS else row + member

    def _day(self, text: str) -> str:
        """The issue date as stored (ISO); the caller looks in the cache first."""
        try:
            day = parse_day(text)
        except ValueError:
            raise _Reject("invalid_date", "issued_on", text[:20]) from None
        if day > self.today or day < EARLIEST_ISSUE:
            raise _Reject("date_out_of_range", "issued_on", day.isoformat())
        if len(self._days) < 100_000:
            self._days[text] = day.isoformat()
        return day.isoformat()

    def _seal(self, seal_text: str, issuer: str) -> tuple[str, str]:
        seal = _seal_of(seal_text, issuer)
        pair = (seal, seal_id_for(seal, issuer))
        if len(self._seals) < 10_000:
            self._seals[(seal_text, issuer)] = pair
        return pair

    def _text(self, value: str, field: str) -> str:
        known = self._texts.get(value)
        if known is None:
            if self.check_text is not None:
                self._check_text(value, field)
            if len(self._texts) < 10_000:  # a hostile roster cannot grow it
                self._texts[value] = value
        return known or value

    def _check_text(self, value: str, field: str) -> None:
        try:
            self.check_text(value, field)
        except CertcliError as error:
            raise _Reject("unsupported_character", field, error.data.get("codepoint", "")) from None


_REQUIRED_INDEXES = tuple(FIELDS.index(f) for f in REQUIRED)
# an ID type as written -> ours, the same object for every row (as the _texts of a Roster)
_ID_TYPE_NAMES = {**{name: name for name in rules.ID_TYPES}, **ID_TYPE_ALIASES}
_required = itemgetter(*_REQUIRED_INDEXES)  # the required values of a row, in one C call


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
