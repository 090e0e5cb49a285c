"""The one catalog of user-facing messages, in Chinese and English.

Holders are Chinese users: ``zh`` is the default under a zh_* locale.  The
catalog is ``certcli/data/messages.json`` (one file for translators): keys are
the stable error codes of SPEC §4 plus UI strings (``label.*`` for labels,
``check.*`` and ``reason.*`` for verification, ``demo.*`` for the demo's
narration); values are ``str.format`` templates filled from an error's data.
A part in double brackets, ``[[ ({detail})]]``, is optional: it is left out when
a field it shows is absent or empty, so no message ends with an empty part.
"""
from __future__ import annotations

import os
import re
import string
from datetime import date, datetime

from certcli.days import CST, cst_day, valid_through

LANGS = ("zh", "en")

_catalog: dict[str, list[str]] | None = None


def messages() -> dict[str, list[str]]:
    """The catalog, ``certcli/data/messages.json``: key -> [zh, en].  Read on first use."""
    global _catalog
    if _catalog is None:
        import json
        from pathlib import Path

        _catalog = json.loads((Path(__file__).parent / "data" / "messages.json").read_text(encoding="utf-8"))
    return _catalog


def default_lang(environ=os.environ) -> str:
    for var in ("CERTCLI_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


class _Blank(dict):
    def __missing__(self, key):
        return ""


# Error data carries stable codes (for --json); the message shows them in words
# where the catalog has some: data field -> catalog prefixes, tried in order.
WORDED_FIELDS = {"reason": ("why.",), "stage": ("stage_",), "required_stage": ("stage_",),
                 "progress": ("progress_",), "source": ("photo_source_",), "method": ("method_",),
                 "status": ("paper_status_", "status_"), "audit": ("audit_chain_",)}


# Data fields that are calendar days even as ISO text (an error rebuilt from a server's JSON):
# a message shows them in the language's date style.
DAY_FIELDS = frozenset({"valid_through", "first_accepted_day", "last_usable_day", "since", "opens_on"})
# Exclusive ends (an annotation's valid_until: the start of the first day it no longer covers):
# a message shows the last day they cover, inclusive, as people read "有效期至".
END_FIELDS = frozenset({"valid_until"})


def _as_shown(name: str, value):
    if name in DAY_FIELDS:
        return as_day(value) or value
    if name in END_FIELDS:
        return last_day(value) or value
    return value


def last_day(valid_until) -> date | None:
    """The last CST day an exclusive end (an instant or ISO text) covers; None if none."""
    instant = as_instant(valid_until)
    return None if instant is None else valid_through(instant)


def in_words(data: dict, lang: str) -> dict:
    worded = dict(data)
    for name, prefixes in WORDED_FIELDS.items():
        value = data.get(name)
        if isinstance(value, str):
            key = next((p + value for p in prefixes if has(p + value)), None)
            if key is not None:
                worded[name] = t(key, lang)
    return worded


def has(key: str) -> bool:
    return key in messages()


def words(key: str, lang: str, default: str) -> str:
    """The catalog's words for ``key``, or ``default`` (usually the code itself) if it has none."""
    return t(key, lang) if has(key) else default


def t(key: str, lang: str, **data) -> str:
    # "code.what" refines a message where one code covers several inputs
    # (bad_credentials for a password or for a membership approval number)
    catalog = messages()
    pair = catalog.get(f"{key}.{data['what']}") if "what" in data else None
    pair = pair or catalog.get(key)
    if pair is None:
        return key
    template = pair[0] if lang == "zh" else pair[1]
    if "|" in template:      # {count|row|rows}: the singular for exactly one
        template = _PLURAL.sub(lambda m: m.group(2) if _is_one(data.get(m.group(1))) else m.group(3), template)
    shown = _Blank({k: _show(_as_shown(k, v), lang) for k, v in data.items()})
    if "[[" not in template:
        return template.format_map(shown)
    # [[optional parts]] alternate with the rest; each part is filled on its own, so a
    # value that looks like a template ("{x}") is never filled again.
    parts = _OPTIONAL.split(template)
    return "".join(part.format_map(shown) if i % 2 == 0 or _all_shown(part, shown) else ""
                   for i, part in enumerate(parts))


_OPTIONAL = re.compile(r"\[\[(.*?)\]\]", re.S)


def _all_shown(part: str, shown: dict) -> bool:
    return all(shown[name] for _, name, _, _ in string.Formatter().parse(part) if name)


_PLURAL = re.compile(r"\{(\w+)\|([^{}|]*)\|([^{}|]*)\}")


def _is_one(value) -> bool:
    return value == 1 or value == "1"


def _show(value, lang: str = "en") -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v, lang) for v in value)
    if isinstance(value, datetime):       # one date style per language (format_instant, format_day)
        return format_instant(value, lang)
    if isinstance(value, date):
        return format_day(value, lang)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# --- dates: one style per language ---------------------------------------------------------
# zh: 2026年05月29日 · 2026年03月01日 10:00（北京时间）
# en: 29 May 2026 · 1 Mar 2026 10:00 (Beijing time)
# Every date is a calendar day in China Standard Time (SPEC §2), said in words ("北京时间",
# "Beijing time") rather than as an offset.  An annotation's end is shown as its last usable
# day, inclusive (certcli.days.valid_through): "有效期至 2026年05月29日（北京时间）".

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CST_TEXT = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})(?::(\d{2}))? \(UTC\+8\)")


def zone_words(lang: str) -> str:
    """The time zone every date is in, as the language says it after a date."""
    return "（北京时间）" if lang == "zh" else " (Beijing time)"


def as_day(value) -> date | None:
    """A day from a date, an aware instant (its CST day) or an ISO 8601 text; None if none."""
    if isinstance(value, datetime):
        return value.date() if value.tzinfo is None else cst_day(value)
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return as_day(datetime.fromisoformat(value)) if len(value) > 10 else date.fromisoformat(value)
        except ValueError:
            return None
    return None


def as_instant(value) -> datetime | None:
    """An aware instant from a datetime or an ISO 8601 text (naive ones are CST); None if none."""
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=CST) if value.tzinfo is None else value
    return None


def format_day(value, lang: str, *, zone: bool = False) -> str:
    """``2026年05月29日`` / ``29 May 2026`` (with ``zone``: ``（北京时间）`` / `` (Beijing time)``).
    A value that is not a day is shown as it is; None as an empty string."""
    day = as_day(value)
    if day is None:
        return "" if value is None else str(value)
    text = f"{day.year}年{day.month:02d}月{day.day:02d}日" if lang == "zh" \
        else f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    return text + zone_words(lang) if zone else text


def format_instant(value, lang: str, *, zone: bool = True, seconds: bool = False) -> str:
    """``2026年03月01日 10:00（北京时间）`` / ``1 Mar 2026 10:00 (Beijing time)``."""
    instant = as_instant(value)
    if instant is None:
        return "" if value is None else str(value)
    local = instant.astimezone(CST)
    clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    text = f"{format_day(local.date(), lang)} {clock}"
    return text + zone_words(lang) if zone else text


def parse_cst_text(text: str) -> datetime | None:
    """The instant a ``2026-05-30 00:00 (UTC+8)`` text names (the first one in ``text``), or None."""
    match = _CST_TEXT.search(text or "")
    if match is None:
        return None
    year, month, day, hour, minute, second = match.groups()
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=CST)


def localize_dates(text: str, lang: str) -> str:
    """Text that names instants as ``2026-03-01 10:00 (UTC+8)`` (the stable form of
    verification details and warnings) with each one in the language's style."""
    def one(match):
        return format_instant(parse_cst_text(match.group(0)), lang, seconds=match.group(6) is not None)

    return _CST_TEXT.sub(one, text) if text else text
