"""Which characters the bundled font can draw.

Kept apart from :mod:`certcli.documents.render` so that checking a roster's text does
not import reportlab, qrcode and PIL (a roster worker process starts faster).
"""
from __future__ import annotations

import struct
import threading
from pathlib import Path

from certcli.errors import UnsupportedCharacter

FONT_PATH = Path(__file__).resolve().parent.parent / "fonts" / "CertcliSansCJK.ttf"

_lock = threading.Lock()
_coverage: frozenset[str] | None = None


def _read_cmap(data: bytes) -> set[int]:
    """Code points the font's (3, 10) format-12 cmap maps to a real glyph."""
    num_tables = struct.unpack_from(">H", data, 4)[0]
    tables = dict((tag, off) for tag, _s, off, _l in
                  (struct.unpack_from(">4sIII", data, 12 + 16 * i) for i in range(num_tables)))
    cmap = tables[b"cmap"]
    for i in range(struct.unpack_from(">H", data, cmap + 2)[0]):
        pid, eid, off = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        if (pid, eid) == (3, 10):
            base = cmap + off
            break
    else:
        raise ValueError("bundled font has no (3, 10) cmap")
    out: set[int] = set()
    (ngroups,) = struct.unpack_from(">I", data, base + 12)
    for g in range(ngroups):
        start, end, gid = struct.unpack_from(">III", data, base + 16 + 12 * g)
        out.update(range(start if gid else start + 1, end + 1))
    return out


def _font_coverage() -> frozenset[str]:
    global _coverage
    if _coverage is None:
        with _lock:
            if _coverage is None:
                _coverage = frozenset(map(chr, _read_cmap(FONT_PATH.read_bytes())))
    return _coverage


def check_text_renderable(text: str, field: str = "") -> None:
    """Raise UnsupportedCharacter for the first character the bundled font lacks.

    Whitespace is always accepted (the renderer draws it as a space).
    """
    cov = _font_coverage()
    if cov.issuperset(text):
        return
    missing = set(text) - cov
    for ch in text:
        if ch in missing and not ch.isspace():
            raise UnsupportedCharacter(char=ch, codepoint=f"U+{ord(ch):04X}", field=field)
