"""Reading certificate rosters (SPEC §4): CSV in UTF-8, UTF-8 with BOM or
GB18030 (as Excel writes it), or JSON Lines; English or Chinese headers.

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
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, NamedTuple

from certcli import rules
from certcli.membership import rules as member_rules
from certcli.errors import BadRoster, CertcliError

FIELDS = ("certificate_no", "name", "id_type", "id_number", "qualification", "level",
          "issued_on", "issuer", "seal", "region", "specialty", "approval_no", "photo",
          # membership certificates (certcli.membership.service); photo is then the exam-system photo file
          "kind", "birth_date", "mobile", "email", "exam_pass_year")
# level may be empty: association qualifications such as 税务师 have none.
REQUIRED = ("certificate_no", "name", "id_number", "qualification", "issued_on", "issuer")

HEADER_ALIASES = {
    "证书编号": "certificate_no", "证书号": "certificate_no", "管理号": "certificate_no",
    "姓名": "name", "证件类型": "id_type", "证件号码": "id_number", "身份证号": "id_number",
    "资格名称": "qualification", "级别": "level", "签发日期": "issued_on", "发证日期": "issued_on",
    "发证机构": "issuer", "颁发单位": "issuer", "印章": "seal", "印章类型": "seal",
    "地区": "region", "省份": "region", "专业": "specialty", "批准文号": "approval_no", "照片": "photo",
    "exam_photo": "photo", "考试照片": "photo", "类别": "kind", "证书类别": "kind", "出生日期": "birth_date",
    "手机": "mobile", "手机号": "mobile", "移动电话": "mobile", "电子邮件": "email", "邮箱": "email",
    "考试通过年度": "exam_pass_year", "考试合格年度": "exam_pass_year",
}
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


class _CountingLines:
    """Yields decoded lines and tracks bytes read, for a progress bar."""

    def __init__(self, raw: BinaryIO, encoding: str):
        self.raw, self.encoding, self.bytes_read = raw, encoding, 0

    def __iter__(self) -> Iterator[str]:
        for chunk in self.raw:
            self.bytes_read += len(chunk)
            # surrogateescape keeps undecodable bytes visible as lone surrogates, so the
            # row that holds them is rejected instead of the whole file.
            yield chunk.decode(self.encoding, errors="surrogateescape")


def detect_encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3:  # a character cut by the sample boundary
            return "utf-8"
    try:
        head.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        return "utf-8"  # undecodable rows will be rejected one by one


class Roster:
    """An open roster file; iterate :meth:`rows` once."""

    def __init__(self, path: Path, *, today: date, check_text: Callable[[str, str], None] | None = None):
        self.path = Path(path)
        try:
            self.size = self.path.stat().st_size
            self._raw = open(self.path, "rb")
        except OSError as error:
            raise BadRoster(path=str(path), reason="unreadable", detail=error.strerror or str(error)) from None
        head = self._raw.read(65536)
        self._raw.seek(0)
        self.encoding = detect_encoding(head)
        self.format = "jsonl" if self.path.suffix.lower() in (".jsonl", ".ndjson") or \
            head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"
        self._lines = _CountingLines(self._raw, self.encoding)
        self.today = today
        self.check_text = check_text
        self._days: dict[str, date] = {}
        self._seals: dict[tuple[str, str], tuple[str, str]] = {}
        self._text_ok: set[str] = set()
        self._folder = os.path.abspath(self.path.parent)

    @property
    def bytes_read(self) -> int:
        return self._lines.bytes_read

    def close(self) -> None:
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def rows(self) -> Iterator[RosterRow | RowError]:
        records = self._jsonl_records() if self.format == "jsonl" else self._csv_records()
        for line, record in records:
            if isinstance(record, RowError):
                yield record
                continue
            try:
                yield self._clean(line, record)
            except _Reject as reject:
                yield RowError(line, reject.reason, reject.field, reject.detail, record[0].strip()[:64])

    def _csv_records(self) -> Iterator[tuple[int, list[str] | RowError]]:
        reader = csv.reader(self._lines)
        try:
            header = next(reader)
        except StopIteration:
            raise BadRoster(path=str(self.path), reason="empty") from None
        except csv.Error as error:
            raise BadRoster(path=str(self.path), reason="unreadable", detail=str(error)) from None
        columns = _map_header(header, self.path)
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

    def _jsonl_records(self) -> Iterator[tuple[int, list[str] | RowError]]:
        seen_header_check = False
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
            if not seen_header_check:
                seen_header_check = True
                missing = [f for f in REQUIRED if f not in record]
                if missing and not any(f in record for f in FIELDS):
                    raise BadRoster(path=str(self.path), reason="missing_columns", detail=missing)
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


def _map_header(header: list[str], path: Path) -> list[str | None]:
    columns = []
    for raw in header:
        name = raw.strip().lstrip("\ufeff").strip()
        key = HEADER_ALIASES.get(name, name.lower().replace(" ", "_"))
        columns.append(key if key in FIELDS else None)
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        raise BadRoster(path=str(path), reason="missing_columns", detail=missing)
    return columns
