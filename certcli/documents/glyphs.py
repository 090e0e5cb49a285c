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


def _cmap_table(path: Path) -> bytes:
    """Only the font's cmap table: the file is 10 MB of outlines a coverage check never needs
    (reading it whole cost a roster import ~11 ms before its first row)."""
    with open(path, "rb") as font:
        num_tables = struct.unpack(">H", font.read(12)[4:6])[0]
        directory = font.read(16 * num_tables)
        for i in range(num_tables):
            tag, _checksum, offset, length = struct.unpack_from(">4sIII", directory, 16 * i)
            if tag == b"cmap":
                font.seek(offset)
                return font.read(length)
    raise ValueError("bundled font has no cmap table")


def _read_cmap(cmap: bytes) -> set[int]:
    """Code points the font's (3, 10) format-12 cmap maps to a real glyph."""
    for i in range(struct.unpack_from(">H", cmap, 2)[0]):
        pid, eid, off = struct.unpack_from(">HHI", cmap, 4 + 8 * i)
        if (pid, eid) == (3, 10):
            base = off
            break
    else:
        raise ValueError("bundled font has no (3, 10) cmap")
    out: set[int] = set()
    (ngroups,) = struct.unpack_from(">I", cmap, base + 12)
    for g in range(ngroups):
        start, end, gid = struct.unpack_from(">III", cmap, base + 16 + 12 * g)
        out.update(range(start if gid else start + 1, end + 1))
    return out


def _font_coverage() -> frozenset[str]:
    global _coverage
    if _coverage is None:
        with _lock:
            if _coverage is None:
                _coverage = frozenset(map(chr, _read_cmap(_cmap_table(FONT_PATH))))
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
