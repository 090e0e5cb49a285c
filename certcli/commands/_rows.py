"""A rejected roster row in words (``admin issue``): which line, which column, what is wrong
and the value or the detail that shows it, with no stable codes (``--json`` and the
``--rejects`` file keep the codes)."""
from __future__ import annotations

import re

from certcli import i18n

# reasons whose detail is a fixed English description: the reason's own words say it all
_DESCRIBED = ("bad_characters", "conflicting_certificate_no", "missing_value", "invalid_certificate_no",
              "invalid_mobile", "invalid_email")


def column_words(field: str, lang: str) -> str:
    """A roster column (certificate_no, id_number, …) as its label says it."""
    if not field:
        return ""
    return i18n.words(f"label.{field}", lang, i18n.words(f"row_column.{field}", lang, field))


def detail_words(reason: str, detail: str, lang: str) -> str:
    if not detail or reason in _DESCRIBED:
        return ""
    if i18n.has(f"why.{detail}"):
        return i18n.t(f"why.{detail}", lang)
    if reason == "field_too_long":
        count = re.match(r"\d+", detail)
        return i18n.t("row_detail.characters", lang, count=count.group(0)) if count else ""
    if reason == "too_many_columns":
        used, _, width = detail.partition(" > ")
        return i18n.t("row_detail.columns", lang, used=used, width=width) if width else detail
    if reason == "unknown_column":     # the detail is the nearest known column
        return i18n.t("row_detail.did_you_mean", lang, suggestion=detail)
    return f"“{detail}”"


def reject_text(error, lang: str) -> str:
    """One line for one rejected row: ``line 5 (2022ECO…): ID number: invalid ID number (wrong
    check character)``."""
    if error.reason == "unknown_column":   # its field is the unknown column's own name
        field = f"“{error.field}”"
    else:
        field = column_words(error.field, lang)
    return i18n.t("import_reject_line", lang, line=error.line, certificate_no=error.certificate_no, field=field,
                  reason=i18n.words(f"row.{error.reason}", lang, error.reason),
                  detail=detail_words(error.reason, error.detail, lang)).rstrip()
