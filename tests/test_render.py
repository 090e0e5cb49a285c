"""Certificate PDF rendering (SPEC §5), checked with real external tools.

poppler (pdffonts, pdftotext, pdftoppm), qpdf and zbar read the PDFs we write;
they skip locally when missing and fail under CI (see conftest.need_tool).
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import subprocess

import pytest
from conftest import need_tool
from external import scan_qr
from pypdf import PdfReader

from certcli.errors import UnsupportedCharacter
from certcli.documents.render import (
    AnnotationBox,
    CertificatePage,
    _to_unicode_cmap,
    check_text_renderable,
    render_certificate,
)


def _payload() -> str:
    """A realistic ~250-character ASCII QR payload (prefix.claims.signature)."""
    claims = (b'{"c":"ZJ2022-11010000123","n":"\xe7\x8e\x8b*","h":"1101**********123X",'
              b'"q":"ECO-M-HR","i":"2022-01-14","a":"A2026-000123","v":"2026-05-30T00:00+08:00"}')
    sig = hashlib.sha512(claims).digest() + hashlib.sha256(claims).digest()[:8]
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return f"CQ1.{enc(claims)}.{enc(sig)}"


PAYLOAD = _payload()

BASE = CertificatePage(
    certificate_no="ZJ2022-11010000123",
    name="王䶮",                       # U+4DAE, CJK Extension A
    id_type_label="居民身份证",
    id_number_masked="1101**********123X",
    qualification="经济专业技术资格",
    level="中级",
    specialty="人力资源管理",
    issued_on="2022-01-14",
    issuer="人力资源和社会保障部",
    seal_ring_text="中华人民共和国人力资源和社会保障部",
    seal_caption="专业技术人员职业资格证书专用章",
    annotation=AnnotationBox(scenario_label="本人调用",
                             valid_until_text="2026年05月29日（北京时间）",
                             annotation_id="A2026-000123"),
    qr_payload=PAYLOAD,
)
EXT_B = dataclasses.replace(BASE, name="𠮷田䶮", qualification="中华人民共和国一级注册建筑师")
EXEMPT = dataclasses.replace(BASE, annotation=None, specialty=None,
                             extra_rows=(("批准文号", "人社部发〔2022〕12号"),))


def test_payload_is_realistic():
    assert 230 <= len(PAYLOAD) <= 300 and PAYLOAD.isascii()


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> dict[str, tuple[CertificatePage, object]]:
    out = tmp_path_factory.mktemp("pdf")
    pages = {"base": BASE, "extb": EXT_B, "exempt": EXEMPT}
    result = {}
    for key, page in pages.items():
        path = out / f"{key}.pdf"
        path.write_bytes(render_certificate(page))
        result[key] = (page, path)
    return result


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60)


def _text(path) -> str:
    proc = _run(need_tool("pdftotext"), "-enc", "UTF-8", path, "-")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("key", ["base", "extb", "exempt"])
def test_fonts_embedded_subset_with_tounicode(pdfs, key):
    proc = _run(need_tool("pdffonts"), pdfs[key][1])
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()[2:]
    assert rows, proc.stdout
    for row in rows:
        # name type encoding emb sub uni object-id gen; columns from the right
        emb, sub, uni = row.split()[-5:-2]
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row
        assert "CertcliSansCJK" in row, row


@pytest.mark.parametrize("key", ["base", "extb"])
def test_text_extracts_exactly(pdfs, key):
    page, path = pdfs[key]
    words = _text(path).split()
    assert page.name in words
    assert page.qualification in words
    for value in (page.certificate_no, page.id_number_masked, page.issuer, page.level,
                  page.annotation.annotation_id, page.annotation.scenario_label):
        assert value in words


def test_extension_a_and_b_names_round_trip(pdfs):
    assert "王䶮" in _text(pdfs["base"][1]).split()
    text = _text(pdfs["extb"][1])
    assert "𠮷田䶮" in text.split()
    assert "\ufffd" not in text and "\u20bb" not in text   # reportlab's unpatched CMap gives U+20BB


def test_tounicode_uses_surrogate_pairs():
    cmap = _to_unicode_cmap("AAAAAA+X", [0, 0x4E2D, 0x20BB7, 0x4DAE])
    assert "<01> <4E2D>" in cmap
    assert "<02> <D842DFB7>" in cmap
    assert "<03> <4DAE>" in cmap
    long = _to_unicode_cmap("AAAAAA+X", list(range(0x4E00, 0x4E00 + 256)))
    assert long.count("beginbfchar") == 3 and "<FF> <4EFF>" in long


@pytest.mark.parametrize("key", ["base", "extb", "exempt"])
def test_qpdf_check_clean(pdfs, key):
    proc = _run(need_tool("qpdf"), "--check", pdfs[key][1])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No syntax or stream encoding errors" in proc.stdout
    assert "WARNING" not in proc.stdout + proc.stderr


def test_qr_decodes_to_payload(pdfs, tmp_path):
    _, path = pdfs["base"]
    assert scan_qr(path, tmp_path) == PAYLOAD


@pytest.mark.parametrize("key", ["base", "exempt"])
def test_metadata(pdfs, key):
    page, path = pdfs[key]
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)   # A4
    meta = reader.metadata
    assert meta["/CertcliQR"] == PAYLOAD
    assert page.certificate_no in meta["/Title"]
    assert meta["/Creator"] == "certcli"


def test_exempt_page_says_no_annotation_needed(pdfs):
    text = _text(pdfs["exempt"][1])
    assert "无需加注" in text
    assert "使用场景" not in text and "加注编号" not in text
    assert "人社部发〔2022〕12号" in text.split()
    assert "无需加注" not in _text(pdfs["base"][1])


def test_deterministic_output():
    assert render_certificate(BASE) == render_certificate(BASE)
    assert render_certificate(BASE) != render_certificate(EXT_B)


def test_check_text_renderable_accepts_normal_names():
    for text in ("张三", "欧阳 娜娜", "阿卜杜热合曼·艾买提", "王䶮", "𠮷田", "李\u3000四\t",
                 "ZHANG San-Feng", "1101**********123X", "（中级）、《》"):
        check_text_renderable(text, "name")


@pytest.mark.parametrize("char", ["\ue000", "\U00020001", "\x00"])
def test_check_text_renderable_rejects_missing_glyph(char):
    with pytest.raises(UnsupportedCharacter) as info:
        check_text_renderable(f"王{char}明", "name")
    data = info.value.data
    assert data["char"] == char
    assert data["codepoint"] == f"U+{ord(char):04X}"
    assert data["field"] == "name"


def test_render_refuses_unsupported_character():
    with pytest.raises(UnsupportedCharacter) as info:
        render_certificate(dataclasses.replace(BASE, issuer="某\ue000局"))
    assert info.value.data["codepoint"] == "U+E000"
    assert info.value.data["field"] == "issuer"


def test_photo_page_renders(tmp_path):
    from PIL import Image as image
    img = image.new("RGB", (130, 175), (200, 215, 235))
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    page = dataclasses.replace(BASE, photo_jpeg=buf.getvalue(), title="中国注册会计师协会会员证书")
    pdf = render_certificate(page)
    path = tmp_path / "photo.pdf"
    path.write_bytes(pdf)
    reader = PdfReader(path)
    images = reader.pages[0].images
    assert len(images) == 1
    assert "中国注册会计师协会会员证书" in _text(path)
    assert _run(need_tool("qpdf"), "--check", path).returncode == 0


def test_long_values_do_not_crash():
    page = dataclasses.replace(
        BASE, qualification="中华人民共和国注册城乡规划师职业资格（含临时执业资格认定及变更备案登记）",
        issuer="新疆维吾尔自治区伊犁哈萨克自治州人力资源和社会保障局职业能力建设处",
        seal_ring_text="新疆维吾尔自治区伊犁哈萨克自治州人力资源和社会保障局", seal_caption="专用章",
        extra_rows=tuple((f"备注{i}", "无") for i in range(5)), qr_payload="X" * 300)
    assert render_certificate(page).startswith(b"%PDF-")
