"""Vector ornaments for the certificate page: the red electronic seal and the frame.

The seal (公章) is drawn with reportlab paths and text only (no images): a thick outer ring and a
thin inner ring, a filled five-point star in the centre, the issuer's name set
along the upper arc with every character's foot pointing at the centre, and a
caption (e.g. "…专用章") in a straight line under the star.  Characters are
horizontally condensed, as seal lettering is.
"""
from __future__ import annotations

import math

from reportlab.lib.colors import Color
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

SEAL_RED = Color(0.85, 0.08, 0.10)
FRAME = Color(0.55, 0.10, 0.10)
GOLD = Color(0.72, 0.56, 0.26)

_CJK_TOP = 0.88        # glyph top above the baseline, in em (Noto Sans CJK)
_CJK_BOTTOM = 0.12     # glyph bottom below the baseline, in em
_CONDENSE = 0.78       # horizontal scale of seal lettering


def star_path(canvas, cx: float, cy: float, outer: float, inner: float | None = None):
    """A closed five-point star path, one point straight up."""
    inner = outer * 0.382 if inner is None else inner
    path = canvas.beginPath()
    for i in range(10):
        r = outer if i % 2 == 0 else inner
        a = math.radians(90 + 36 * i)
        x, y = cx + r * math.cos(a), cy + r * math.sin(a)
        if i == 0:
            path.moveTo(x, y)
        else:
            path.lineTo(x, y)
    path.close()
    return path


def _char_advance(font: str, ch: str, size: float) -> float:
    return stringWidth(ch, font, size) * _CONDENSE


def _ring_layout(font: str, text: str, radius_in: float, r: float) -> tuple[float, float, float]:
    """Choose (font size, baseline radius, total arc in radians) for the ring text."""
    max_span = math.radians(236)
    size = 0.21 * r
    while True:
        baseline = radius_in - 0.06 * r - _CJK_TOP * size
        needed = sum(_char_advance(font, ch, size) for ch in text) * 1.08 / baseline
        if needed <= max_span or size <= 0.08 * r:
            break
        size *= 0.97
    # Short names are spread out, as on real seals; long ones use what they need.
    span = min(max_span, max(needed, min(math.radians(200), needed * 1.7)))
    return size, baseline, (span if len(text) > 1 else 0.0)


def _ring_lowest(cx, cy, size, baseline, span, font, text) -> float:
    """Lowest y reached by the ring text (the two end glyphs' boxes)."""
    theta = math.pi / 2 - span / 2
    half = _char_advance(font, text[-1], size) / 2
    low = cy + baseline
    for dx, dy in ((-half, -_CJK_BOTTOM * size), (half, -_CJK_BOTTOM * size),
                   (-half, _CJK_TOP * size), (half, _CJK_TOP * size)):
        # local +y points outward (angle theta), local +x along the clockwise tangent
        low = min(low, cy + (baseline + dy) * math.sin(theta) - dx * math.cos(theta))
    return low


def _draw_condensed(canvas, font: str, size: float, x: float, y: float, text: str,
                    angle_deg: float = 0.0) -> None:
    """Centred, condensed text whose baseline centre is (x, y), rotated by angle."""
    canvas.saveState()
    canvas.translate(x, y)
    if angle_deg:
        canvas.rotate(angle_deg)
    canvas.scale(_CONDENSE, 1.0)
    t = canvas.beginText(-stringWidth(text, font, size) / 2, 0)
    t.setFont(font, size)
    t.setTextRenderMode(2)                   # fill + stroke: seal lettering is heavy
    t.textOut(text)
    canvas.setLineWidth(size * 0.035)
    canvas.drawText(t)
    canvas.restoreState()


def draw_seal(canvas, cx: float, cy: float, radius: float, ring_text: str, caption: str,
              font: str, color: Color = SEAL_RED) -> None:
    """Draw the seal centred on (cx, cy) with outer radius ``radius`` (points)."""
    r = radius
    outer_w = 0.055 * r
    inner_r = r - outer_w - 0.05 * r
    canvas.saveState()
    canvas.setStrokeColor(color)
    canvas.setFillColor(color)

    # Double ring.
    canvas.setLineWidth(outer_w)
    canvas.circle(cx, cy, r - outer_w / 2, stroke=1, fill=0)
    canvas.setLineWidth(0.012 * r)
    canvas.circle(cx, cy, inner_r, stroke=1, fill=0)

    # Star.
    star_r = 0.30 * r
    star_cy = cy + 0.05 * r
    canvas.drawPath(star_path(canvas, cx, star_cy, star_r), stroke=0, fill=1)

    # Ring text, clockwise over the top, every glyph's foot towards the centre.
    text = "".join(ring_text.split())
    lowest = star_cy - star_r
    if text:
        size, baseline, span = _ring_layout(font, text, inner_r, r)
        advances = [_char_advance(font, ch, size) for ch in text]
        total = sum(advances)
        angle = math.pi / 2 + span / 2
        for ch, adv in zip(text, advances):
            step = span * adv / total if total else 0.0
            theta = angle - step / 2
            angle -= step
            x = cx + baseline * math.cos(theta)
            y = cy + baseline * math.sin(theta)
            _draw_condensed(canvas, font, size, x, y, ch, math.degrees(theta) - 90)
        lowest = min(lowest, _ring_lowest(cx, cy, size, baseline, span, font, text))

    # Caption under the star and below the ends of the ring text.
    cap = "".join(caption.split())
    if cap:
        _draw_caption(canvas, font, cx, cy, lowest - 0.04 * r, inner_r - 0.05 * r, cap)
    canvas.restoreState()


def _chord_half(inner_r: float, cy: float, y: float) -> float:
    d = abs(y - cy)
    return math.sqrt(max(inner_r * inner_r - d * d, 0.0))


def _fit_line(font: str, text: str, size: float, width: float) -> float:
    w = sum(_char_advance(font, ch, size) for ch in text)
    return size if w <= width else size * width / w


def _draw_caption(canvas, font, cx, cy, top, room_r, cap) -> None:
    size = 0.16 * room_r
    for _ in range(4):           # the chord narrows as the line gets lower
        bottom = top - size
        width = 2 * _chord_half(room_r, cy, bottom) * 0.94
        size = min(0.16 * room_r, _fit_line(font, cap, 0.16 * room_r, width))
    _draw_condensed(canvas, font, size, cx, top - _CJK_TOP * size, cap)


# --------------------------------------------------------------------------- frame

def draw_frame(c, page_w: float, page_h: float) -> None:
    """Thick red outer border, thin gold inner border, bracket ornaments in the corners."""
    c.setStrokeColor(FRAME)
    c.setLineWidth(2.4)
    c.rect(8 * mm, 8 * mm, page_w - 16 * mm, page_h - 16 * mm)
    c.setStrokeColor(GOLD)
    c.setLineWidth(0.6)
    c.rect(11 * mm, 11 * mm, page_w - 22 * mm, page_h - 22 * mm)
    c.setStrokeColor(FRAME)
    c.setFillColor(FRAME)
    arm, ins, d = 14 * mm, 13.2 * mm, 1.6 * mm
    for sx, sy in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
        x0 = ins if sx > 0 else page_w - ins
        y0 = ins if sy > 0 else page_h - ins
        c.setLineWidth(1.2)
        c.lines([(x0, y0, x0 + sx * arm, y0), (x0, y0, x0, y0 + sy * arm)])
        c.setLineWidth(0.5)
        c.lines([(x0 + sx * d, y0 + sy * d, x0 + sx * (arm - 3 * mm), y0 + sy * d),
                 (x0 + sx * d, y0 + sy * d, x0 + sx * d, y0 + sy * (arm - 3 * mm))])
        c.rect(x0 + sx * d - 0.9 * mm, y0 + sy * d - 0.9 * mm, 1.8 * mm, 1.8 * mm, stroke=0, fill=1)


def draw_rule(c, cx: float, y: float, half: float) -> None:
    """Gold rule with a diamond in the middle (under the title)."""
    c.setStrokeColor(GOLD)
    c.setFillColor(GOLD)
    c.setLineWidth(0.8)
    c.line(cx - half, y, cx - 4 * mm, y)
    c.line(cx + 4 * mm, y, cx + half, y)
    d = 1.8 * mm
    p = c.beginPath()
    p.moveTo(cx, y + d)
    p.lineTo(cx + d, y)
    p.lineTo(cx, y - d)
    p.lineTo(cx - d, y)
    p.close()
    c.drawPath(p, stroke=0, fill=1)
