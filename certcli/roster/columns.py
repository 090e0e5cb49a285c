"""A roster's header: the fields a roster has, the English and Chinese names a header may
give them, and what the header row says (which column is which field, the columns that
are no field, with the nearest known one); and what a roster reports, header warnings
and refused rows.  :mod:`certcli.roster.parse` reads the rows."""
from __future__ import annotations

import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class RosterWarning:
    """A header problem that costs no row: ``kind`` is ``unknown_column`` (a column
    no roster field has, so its values are ignored; ``suggestion`` is the nearest
    known column, if any) or ``duplicate_column`` (only the first is read)."""

    kind: str
    column: str
    suggestion: str | None = None

    def as_json(self) -> dict:
        return {"kind": self.kind, "column": self.column, "suggestion": self.suggestion}

    def describe(self) -> str:
        return f"{self.column} → {self.suggestion}" if self.suggestion else self.column


@dataclass(frozen=True)
class RowError:
    """A data row refused, with its line number (here, not in :mod:`certcli.roster.parse`,
    so that :mod:`certcli.roster.workbook` can report one without importing the parser)."""

    line: int
    reason: str  # stable code, e.g. "invalid_id_number"
    field: str = ""
    detail: str = ""
    certificate_no: str = ""


MAX_WARNINGS = 100
_SQUEEZE = re.compile(r"[\s*＊]+")  # "姓　名", "*证书编号": spacing and required-field marks


def column_key(name: str) -> str | None:
    """The roster field a header names (English or Chinese), or None."""
    key = HEADER_ALIASES.get(name)
    if key is None:
        squeezed = _SQUEEZE.sub("", name)
        key = HEADER_ALIASES.get(squeezed) or name.lower().replace(" ", "_").replace("-", "_")
    return key if key in FIELDS else None


def _columns_of(header: list[str]) -> tuple[list[str | None], list[RosterWarning]]:
    columns: list[str | None] = []
    warnings: list[RosterWarning] = []
    seen: set[str] = set()
    for raw in header:
        name = raw.strip().lstrip("\ufeff").strip()
        key = column_key(name)
        if key is not None and key in seen:
            warnings.append(RosterWarning("duplicate_column", name[:64]))
            key = None
        elif key is None and name:
            warnings.append(RosterWarning("unknown_column", name[:64]))
        seen.add(key)
        columns.append(key)
    return columns, warnings


def _missing(columns) -> list[str]:
    return [f for f in REQUIRED if f not in columns]


def _suggest(column: str, present: set) -> str | None:
    """The known column nearest to a misspelt one (English or Chinese), if one is near."""
    import difflib

    name = _SQUEEZE.sub("", column).lower().replace(" ", "_").replace("-", "_")
    candidates = [c for c in (*FIELDS, *HEADER_ALIASES) if HEADER_ALIASES.get(c, c) not in present]
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return found[0] if found else None
