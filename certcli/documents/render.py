"""Certificate page rendering (SPEC §5): one A4 page PDF, pure library.

All text uses the bundled font ``certcli/fonts/CertcliSansCJK.ttf`` (a glyf
subset of Noto Sans CJK SC, see ``tools/build_font.py``); nothing installed on
the machine is used.  The font is parsed and registered once per process, on
first use.  The seal is vector (``certcli.documents.seal``), the QR code is drawn
as vector squares, and ``qr_payload`` is also stored in the document info
dictionary under ``/CertcliQR``.  Output is deterministic (reportlab invariant
mode) and no clock is read.
"""
from __future__ import annotations

import io
import threading
from dataclasses import dataclass

import qrcode
import qrcode.constants
from reportlab import rl_config
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import SUBSETN, TTFont
from reportlab.pdfgen.canvas import Canvas

from certcli.documents.glyphs import FONT_PATH, check_text_renderable
from certcli.documents.seal import FRAME, GOLD, draw_frame, draw_rule, draw_seal

__all__ = ["AnnotationBox", "CertificatePage", "render_certificate", "check_text_renderable",
           "FONT_PATH", "FONT_NAME"]

FONT_NAME = "CertcliSansCJK"
QR_KEY = "CertcliQR"
QR_MASK = 4

INK = Color(0.12, 0.12, 0.14)
MUTED = Color(0.36, 0.36, 0.40)
BOX_FILL = Color(0.99, 0.97, 0.93)


@dataclass(frozen=True)
class AnnotationBox:
    scenario_label: str      # e.g. "本人调用"
    valid_until_text: str    # already formatted by the caller
    annotation_id: str       # e.g. "A2026-000123"


@dataclass(frozen=True)
class CertificatePage:
    certificate_no: str
    name: str
    id_type_label: str
    id_number_masked: str
    qualification: str
    level: str | None                  # None → no level row (a member certificate has none)
    specialty: str | None
    issued_on: str
    issuer: str
    seal_ring_text: str
    seal_caption: str
    annotation: AnnotationBox | None   # None → the box says "无需加注"
    qr_payload: str                    # opaque ASCII, ≤ 300 chars
    photo_jpeg: bytes | None = None
    title: str = "专业技术人员职业资格证书"
    extra_rows: tuple[tuple[str, str], ...] = ()
    annotation_box: bool = True        # False → no annotation box (a member certificate)
    # the verify URL (`admin config --verify-url`): the QR code then carries URL#PAYLOAD, while
    # /CertcliQR keeps the bare payload (what the registry and `verify PDF` read)
    qr_url: str | None = None

    @property
    def qr_text(self) -> str:
        return f"{self.qr_url}#{self.qr_payload}" if self.qr_url else self.qr_payload


# --------------------------------------------------------------------------- font

_lock = threading.Lock()
_render_lock = threading.Lock()   # reportlab's rl_config is process-global
_font: TTFont | None = None


_CMAP_HEAD = """/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo
<< /Registry ({name})
/Ordering ({name})
/Supplement 0
>> def
/CMapName /{name} def
/CMapType 2 def
1 begincodespacerange
<00> <{last:02X}>
endcodespacerange"""


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap, with UTF-16BE destinations.

    reportlab writes ``"<%04X>" % code_point``, which for a supplementary-plane
    character gives five hex digits (U+20BB7 → ``<20BB7>``), an odd-length
    string that extractors read as garbage.  PDF wants UTF-16BE, i.e. the
    surrogate pair ``<D842DFB7>``.  For BMP code points the output is identical.
    """
    def utf16(cp: int) -> str:
        return chr(cp).encode("utf-16-be", "surrogatepass").hex().upper()

    lines = [_CMAP_HEAD.format(name=fontname, last=len(subset) - 1)]
    # At most 100 entries per bfchar block (PDF / PostScript CMap limit).
    for i in range(0, len(subset), 100):
        chunk = subset[i:i + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines += ["<%02X> <%s>" % (i + j, utf16(cp)) for j, cp in enumerate(chunk)]
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines)


class _CertcliTTFont(TTFont):
    """TTFont whose ToUnicode CMaps map supplementary-plane characters correctly."""

    def addObjects(self, doc):
        state = self.state.get(doc)
        subsets = [list(s) for s in state.subsets] if state is not None else []
        super().addObjects(doc)
        face = self.face
        for n, subset in enumerate(subsets):
            base = (b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX))).decode("pdfdoc")
            stream = doc.idToObject.get("toUnicodeCMap:" + base)
            if stream is not None:
                stream.content = _to_unicode_cmap(base, subset)


def _get_font() -> str:
    global _font
    if _font is None:
        with _lock:
            if _font is None:
                font = _CertcliTTFont(FONT_NAME, str(FONT_PATH), asciiReadable=False)
                pdfmetrics.registerFont(font)
                _font = font
    return FONT_NAME


class _Info(pdfdoc.PDFInfo):
    """Document info dictionary with the QR payload under /CertcliQR."""

    qr_payload = ""

    def format(self, document):
        self.producer = "certcli (ReportLab)"
        d = {k: pdfdoc.PDFString(getattr(self, k.lower())) for k in
             ("Title", "Author", "Subject", "Creator", "Producer")}
        d["Trapped"] = pdfdoc.PDFName(self.trapped)
        d[QR_KEY] = pdfdoc.PDFString(self.qr_payload)
        return pdfdoc.PDFDictionary(d).format(document)


# --------------------------------------------------------------------------- layout

PAGE_W, PAGE_H = A4
LEFT, RIGHT = 30 * mm, PAGE_W - 30 * mm
LABEL_SIZE, VALUE_SIZE = 11.5, 13.0


def _width(font: str, text: str, size: float, char_space: float = 0.0) -> float:
    return pdfmetrics.stringWidth(text, font, size) + char_space * max(len(text) - 1, 0)


def _fit(font: str, text: str, size: float, max_w: float, min_size: float = 6.0) -> float:
    w = _width(font, text, size)
    return size if w <= max_w else max(min_size, size * max_w / w)


def _text(c, font, size, x, y, text, color=INK, anchor="left", bold=0.0, char_space=0.0):
    """Draw text with its baseline at y; ``bold`` > 0 strokes the outline (fake bold)."""
    w = _width(font, text, size, char_space)
    x -= {"left": 0.0, "center": w / 2, "right": w}[anchor]
    styled = bool(bold or char_space)
    if styled:                 # Tc / Tr persist in the graphics state: scope them
        c.saveState()
    t = c.beginText(x, y)
    t.setFont(font, size)
    t.setFillColor(color)
    if char_space:
        t.setCharSpace(char_space)
    if bold:
        t.setTextRenderMode(2)
        t.setStrokeColor(color)
        c.setLineWidth(bold)
    t.textOut(text)
    c.drawText(t)
    if styled:
        c.restoreState()


def _spread(c, font, size, x, y, text, width, color):
    """Label with its characters spread evenly over ``width`` (姓　　名 style)."""
    if len(text) < 2 or len(text) > 4:
        _text(c, font, _fit(font, text, size, width), x, y, text, color)
        return
    gap = (width - _width(font, text, size)) / (len(text) - 1)
    _text(c, font, size, x, y, text, color, char_space=gap)


def _value(c, font, x, y, text, max_w, pitch) -> None:
    """One line, shrunk down to 8 pt if needed; longer values wrap onto two lines."""
    size = _fit(font, text, VALUE_SIZE, max_w, 8.0)
    if _width(font, text, size) <= max_w:
        _text(c, font, size, x, y, text)
        return
    cut = len(text) // 2                     # split near the middle by width
    while cut > 1 and _width(font, text[:cut], 9.0) > _width(font, text[cut:], 9.0):
        cut -= 1
    lines = [text[:cut], text[cut:]]
    size = min(min(_fit(font, ln, 9.0, max_w, 4.0) for ln in lines), pitch * 0.42)
    _text(c, font, size, x, y + 1.18 * size, lines[0])
    _text(c, font, size, x, y, lines[1])


def _rows(c, font, rows, top, bottom, value_right) -> float:
    pitch = min(13 * mm, (top - bottom) / max(len(rows), 1))
    label_w, x_val = 4 * LABEL_SIZE + 6, LEFT + 4 * LABEL_SIZE + 20
    y = top - pitch * 0.7
    for label, value in rows:
        _spread(c, font, LABEL_SIZE, LEFT, y, label, label_w, MUTED)
        _text(c, font, LABEL_SIZE, LEFT + label_w + 1, y, "：", MUTED)
        _value(c, font, x_val, y, value, value_right - x_val - 2 * mm, pitch)
        c.setStrokeColor(Color(0.80, 0.74, 0.62))
        c.setLineWidth(0.4)
        c.setDash(1, 1.5)
        c.line(x_val - 1 * mm, y - 2.8, value_right, y - 2.8)
        c.setDash()
        y -= pitch
    return y + pitch * 0.7


def _annotation(c, font, ann, top) -> None:
    h = 36 * mm
    x0, w, y0 = LEFT + 4 * mm, RIGHT - LEFT - 8 * mm, top - 36 * mm
    c.setFillColor(BOX_FILL)
    c.setStrokeColor(FRAME)
    c.setLineWidth(0.8)
    c.roundRect(x0, y0, w, h, 2.5 * mm, stroke=1, fill=1)
    c.setFillColor(FRAME)
    c.roundRect(x0 + 5 * mm, top - 3.5 * mm, 24 * mm, 7 * mm, 1.5 * mm, stroke=0, fill=1)
    _text(c, font, 11, x0 + 17 * mm, top - 1.6 * mm, "证书加注", white, "center", bold=0.3)
    if ann is None:
        _text(c, font, 18, PAGE_W / 2, y0 + h / 2 - 8, "无需加注", INK, "center", bold=0.4)
        return
    rows = (("使用场景", ann.scenario_label), ("有效期至", ann.valid_until_text),
            ("加注编号", ann.annotation_id))
    y, lx = top - 11 * mm, x0 + 10 * mm
    for label, value in rows:
        _text(c, font, 11, lx, y, label + "：", MUTED)
        vx = lx + _width(font, label + "：", 11) + 2
        _text(c, font, _fit(font, value, 12, x0 + w - vx - 6 * mm), vx, y, value)
        y -= 8.5 * mm


def _qr(c, font, payload: str, x: float, y: float, size: float) -> None:
    """QR code (error correction M, 4-module quiet zone) as vector squares.

    The mask is fixed instead of searched: trying all eight masks triples the
    render time, and decoders read any mask (payloads are high-entropy text).
    """
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                       box_size=1, mask_pattern=QR_MASK)
    qr.add_data(payload.encode("ascii"))
    qr.make(fit=True)
    matrix = qr.get_matrix()
    n = len(matrix)
    c.setFillColor(white)
    c.rect(x, y, size, size, stroke=0, fill=1)
    ops = []
    for r, row in enumerate(matrix):       # one rectangle per horizontal run of dark modules
        col, yy = 0, n - 1 - r
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                ops.append(f"{start} {yy} {col - start} 1 re")
            else:
                col += 1
    c.saveState()
    c.translate(x, y)
    c.scale(size / n, size / n)              # one unit = one module: integer operators
    c.setFillColor(black)
    c.addLiteral("\n".join(ops) + "\nf")
    c.restoreState()
    _text(c, font, 10, x + size / 2, y - 3.5 * mm, "扫码验证", MUTED, "center")


def _photo(c, jpeg: bytes, x: float, top: float, w: float, h: float) -> None:
    img = ImageReader(io.BytesIO(jpeg))
    iw, ih = img.getSize()
    scale = min(w / iw, h / ih)
    dw, dh = iw * scale, ih * scale
    c.drawImage(img, x + (w - dw) / 2, top - h + (h - dh) / 2, dw, dh)
    c.setStrokeColor(GOLD)
    c.setLineWidth(0.6)
    c.rect(x - 1, top - h - 1, w + 2, h + 2)


def _draw_page(c, page: CertificatePage, font: str) -> None:
    draw_frame(c, PAGE_W, PAGE_H)
    _text(c, font, _fit(font, page.title, 26, 150 * mm), PAGE_W / 2, PAGE_H - 40 * mm,
          page.title, FRAME, "center", bold=0.7)
    draw_rule(c, PAGE_W / 2, PAGE_H - 48 * mm, 62 * mm)

    rows = [("姓名", page.name), ("证件类型", page.id_type_label), ("证件号码", page.id_number_masked),
            ("资格名称", page.qualification)]
    if page.level is not None:
        rows.append(("级别", page.level))
    if page.specialty is not None:
        rows.append(("专业", page.specialty))
    rows += [("证书编号", page.certificate_no), ("签发日期", page.issued_on),
             ("发证机构", page.issuer), *page.extra_rows]
    top, value_right = PAGE_H - 56 * mm, RIGHT
    if page.photo_jpeg:
        _photo(c, page.photo_jpeg, RIGHT - 26 * mm, top - 2 * mm, 26 * mm, 35 * mm)
        value_right = RIGHT - 31 * mm
    end = _rows(c, font, rows, top, 126 * mm, value_right)
    if page.annotation_box:
        _annotation(c, font, page.annotation, end - 9 * mm)

    _qr(c, font, page.qr_text, LEFT + 2 * mm, 30 * mm, 32 * mm)
    draw_seal(c, RIGHT - 26 * mm, 46 * mm, 21 * mm, page.seal_ring_text, page.seal_caption, font)
    _text(c, font, 7.5, PAGE_W / 2, 15 * mm, "本证书为电子证书，可扫描二维码核验真伪", MUTED, "center")


# --------------------------------------------------------------------------- checks

def _clean(text: str) -> str:
    return "".join(" " if ch.isspace() and ch != "\u3000" else ch for ch in text)


_FIELDS = ("certificate_no", "name", "id_type_label", "id_number_masked", "qualification", "level",
           "specialty", "issued_on", "issuer", "seal_ring_text", "seal_caption", "title")


def _checked_page(page: CertificatePage) -> CertificatePage:
    """Validate every drawn string and normalise its whitespace."""
    def ok(value, field):
        check_text_renderable(value, field)
        return _clean(value)

    values = {f: None if getattr(page, f) is None else ok(getattr(page, f), f) for f in _FIELDS}
    ann = page.annotation
    if ann is not None:
        ann = AnnotationBox(*(ok(getattr(ann, f), "annotation." + f) for f in
                              ("scenario_label", "valid_until_text", "annotation_id")))
    rows = tuple((ok(k, "extra_rows"), ok(v, "extra_rows")) for k, v in page.extra_rows)
    if not page.qr_payload.isascii():
        raise ValueError("qr_payload must be ASCII")
    if page.qr_url is not None and (not page.qr_url.isascii() or "#" in page.qr_url or not page.qr_url.isprintable()):
        raise ValueError("qr_url must be printable ASCII without '#'")
    return CertificatePage(**values, annotation=ann, qr_payload=page.qr_payload,
                           photo_jpeg=page.photo_jpeg, extra_rows=rows, annotation_box=page.annotation_box,
                           qr_url=page.qr_url or None)


def render_certificate(page: CertificatePage) -> bytes:
    """Render ``page`` as a one-page A4 PDF and return its bytes."""
    font = _get_font()
    page = _checked_page(page)
    buf = io.BytesIO()
    with _render_lock:
        saved, rl_config.useA85 = rl_config.useA85, 0      # binary streams: smaller, faster
        try:
            canvas = Canvas(buf, pagesize=A4, invariant=1, pageCompression=1,
                            initialFontName=font)
            info = _Info()
            info.qr_payload = page.qr_payload
            canvas._doc.info = info
            canvas.setTitle(f"{page.title} {page.certificate_no}")
            canvas.setAuthor(page.issuer)
            canvas.setSubject(page.qualification if page.level is None else f"{page.qualification} {page.level}")
            canvas.setCreator("certcli")
            _draw_page(canvas, page, font)
            canvas.showPage()
            canvas.save()
        finally:
            rl_config.useA85 = saved
    return buf.getvalue()
