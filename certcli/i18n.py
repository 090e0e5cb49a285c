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
                 "status": ("paper_status_", "status_")}


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
    shown = _Blank({k: _show(v) for k, v in data.items()})
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


def _show(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
