#!/usr/bin/env python3
"""Build the bundled font ``certcli/fonts/CertcliSansCJK.ttf``.

reportlab only embeds TrueType (``glyf``) fonts, while Noto Sans CJK ships CFF
outlines.  This script takes the Simplified-Chinese face of Noto Sans CJK
Regular (Debian package ``fonts-noto-cjk``), keeps only the characters a
Chinese certificate can need, converts the cubic CFF outlines to quadratic
TrueType outlines (fontTools cu2qu, the ``otf2ttf`` recipe), renames the font
(the OFL asks derivatives not to use the original's reserved name) and writes
one .ttf plus the OFL licence text.

Repertoire (intersected with what Noto has):

* ASCII, Latin-1, Latin Extended-A/B (pinyin tone marks), general punctuation
  and common symbols;
* the whole GB18030 two-byte repertoire (a superset of GBK), decoded with
  Python's ``gb18030`` codec;
* CJK radicals, symbols and punctuation, kana, bopomofo, strokes, enclosed CJK
  and compatibility forms, vertical/small/halfwidth and fullwidth forms;
* all CJK Unified Ideographs (U+4E00..U+9FFF), Extension A, and every
  supplementary-plane ideograph (Extension B and later, compatibility
  supplement) that Noto Sans CJK contains -- e.g. U+20BB7.

Usage::

    pip install 'fonttools>=4.50'
    python tools/build_font.py [--source /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]

The output is committed; tests never rebuild it.  Building takes ~1-2 minutes.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from fontTools import subset as ft_subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, newTable

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "certcli" / "fonts"
OUT_FONT = OUT_DIR / "CertcliSansCJK.ttf"
OUT_LICENSE = OUT_DIR / "OFL.txt"

DEFAULT_SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
DEBIAN_COPYRIGHT = "/usr/share/doc/fonts-noto-cjk/copyright"
FACE_NAME = "Noto Sans CJK SC"          # the SC region face inside the collection

FAMILY = "Certcli Sans CJK"
PS_NAME = "CertcliSansCJK-Regular"

MAX_ERR = 1.0          # cu2qu tolerance in font units (em = 1000), as in otf2ttf

# Unicode ranges kept wherever Noto has a glyph.
RANGES = [
    (0x0020, 0x007E), (0x00A0, 0x024F),   # ASCII, Latin-1, Latin Ext-A/B
    (0x02B0, 0x02FF),                     # spacing modifier letters (ˇ ˉ ˊ ˋ)
    (0x0370, 0x03FF), (0x0400, 0x04FF),   # Greek, Cyrillic (in GBK)
    (0x2000, 0x206F),                     # general punctuation (· — … ‰ ※)
    (0x20A0, 0x20CF),                     # currency (€)
    (0x2100, 0x2BFF),                     # letterlike .. misc symbols/arrows
    (0x2E80, 0x2FFF),                     # CJK radicals, Kangxi, IDCs
    (0x3000, 0x303F),                     # CJK symbols and punctuation
    (0x3040, 0x30FF),                     # kana (in GBK)
    (0x3100, 0x312F), (0x31A0, 0x31EF),   # bopomofo, strokes
    (0x3200, 0x33FF),                     # enclosed CJK, CJK compatibility
    (0x3400, 0x4DBF),                     # CJK Extension A
    (0x4E00, 0x9FFF),                     # CJK Unified Ideographs
    (0xF900, 0xFAFF),                     # CJK compatibility ideographs
    (0xFE10, 0xFE1F), (0xFE30, 0xFE6F),   # vertical, compatibility, small forms
    (0xFF00, 0xFFEF),                     # halfwidth and fullwidth forms
    (0x20000, 0x3FFFF),                   # SIP: Ext B..H, compat supplement
]


def gb18030_two_byte() -> set[int]:
    """Every code point reachable by a GB18030 two-byte sequence (⊇ GBK)."""
    out: set[int] = set()
    trails = [*range(0x40, 0x7F), *range(0x80, 0xFF)]
    for lead in range(0x81, 0xFF):
        for trail in trails:
            try:
                out.add(ord(bytes((lead, trail)).decode("gb18030")))
            except UnicodeDecodeError:
                pass
    return out


def wanted_codepoints(cmap: dict[int, str]) -> set[int]:
    want = gb18030_two_byte()
    for lo, hi in RANGES:
        want.update(range(lo, hi + 1))
    return {cp for cp in want if cp in cmap}


def load_face(source: str):
    collection = TTCollection(source, recalcTimestamp=False)   # reproducible output
    for font in collection.fonts:
        if font["name"].getDebugName(4) == FACE_NAME:
            return font
    raise SystemExit(f"{FACE_NAME!r} not found in {source}")


def otf_to_ttf(font) -> None:
    """Replace CFF with glyf/loca in place (fontTools' otf2ttf snippet)."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        tt_pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(tt_pen, MAX_ERR, reverse_direction=True))
        glyphs[name] = tt_pen.glyph()

    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    del font["CFF "]
    for tag in ("VORG", "vhea", "vmtx"):
        if tag in font:
            del font[tag]
    glyf.compile(font)

    hmtx = font["hmtx"]
    for name, glyph in glyf.glyphs.items():
        if hasattr(glyph, "xMin"):
            hmtx[name] = (hmtx[name][0], glyph.xMin)

    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for attr in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 0)
    maxp.compile(font)

    post = font["post"]
    post.formatType = 3.0          # no glyph names: smaller, and nothing needs them
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


def rename(font) -> None:
    name = font["name"]
    copyright_ = name.getDebugName(0) or "© 2014-2021 Adobe (http://www.adobe.com/)."
    new = {
        0: copyright_,
        1: FAMILY,
        2: "Regular",
        3: f"{PS_NAME};subset of Noto Sans CJK SC for certcli",
        4: f"{FAMILY} Regular",
        5: name.getDebugName(5) or "Version 1.0",
        6: PS_NAME,
        13: name.getDebugName(13) or "SIL Open Font License, Version 1.1",
        14: "https://openfontlicense.org",
    }
    name.names = []
    for name_id, text in new.items():
        name.setName(text, name_id, 3, 1, 0x409)
        name.setName(text, name_id, 1, 0, 0)


def write_license() -> None:
    text = Path(DEBIAN_COPYRIGHT).read_text(encoding="utf-8")
    m = re.search(r"^License: SIL-1\.1\n((?: .*\n)+)", text, re.M)
    if not m:
        raise SystemExit(f"OFL text not found in {DEBIAN_COPYRIGHT}")
    body = []
    for line in m.group(1).splitlines():
        line = line[1:]                      # Debian copyright indents by one space
        body.append("" if line == "." else line)
    header = (
        "CertcliSansCJK.ttf is a Modified Version (subset, converted to TrueType\n"
        "outlines, renamed) of Noto Sans CJK SC Regular.\n\n"
        "Copyright 2014-2021 Adobe (http://www.adobe.com/), with Reserved Font Name 'Source'.\n"
        "Source is a trademark of Adobe in the United States and/or other countries.\n\n"
        "This Font Software is licensed under the SIL Open Font License, Version 1.1.\n"
        "(Licence text below copied from the Debian package fonts-noto-cjk,\n"
        f"{DEBIAN_COPYRIGHT}.)\n\n"
    )
    OUT_LICENSE.write_text(header + "\n".join(body).rstrip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default=DEFAULT_SOURCE)
    ap.add_argument("--out", type=Path, default=OUT_FONT)
    args = ap.parse_args(argv)

    font = load_face(args.source)
    cmap = font.getBestCmap()
    keep = wanted_codepoints(cmap)
    print(f"keeping {len(keep)} code points", file=sys.stderr)

    options = ft_subset.Options()
    options.layout_features = []           # reportlab does no shaping
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx", "DSIG"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.recalc_bounds = True
    options.prune_unicode_ranges = True
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=keep)
    subsetter.subset(font)

    # Drop the format-14 (variation sequences) cmap: reportlab cannot use it.
    font["cmap"].tables = [t for t in font["cmap"].tables if t.format != 14]

    otf_to_ttf(font)
    rename(font)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    font.save(args.out)
    if args.out == OUT_FONT:
        write_license()
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.1f} MB, {font['maxp'].numGlyphs} glyphs)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
