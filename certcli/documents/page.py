"""One certificate document from plain data, for every kind: an annotation
document (加注件), an exempt copy, a member certificate.

:class:`PageData` is what a document shows, read from the store by the
caller; :func:`build_page` turns it into the renderer's
:class:`~certcli.documents.render.CertificatePage` (labels, masking, the seal's
names, the signed QR payload) and :func:`make_document` renders and signs it.
No store access here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from certcli import catalog, rules

ID_TYPE_LABELS = {"resident_id": "居民身份证", "passport": "护照", "hk_macao_permit": "港澳居民来往内地通行证",
                  "taiwan_permit": "台湾居民来往大陆通行证", "foreign_permanent": "外国人永久居留身份证", "other": "其他证件"}
DEFAULT_TITLE = "专业技术人员职业资格证书"


def seal_names(seal: str, issuer: str) -> tuple[str, str]:
    """(text on the seal ring, caption under the star) — R7."""
    if seal == "ministry":
        return "中华人民共和国人力资源和社会保障部", "专业技术人员职业资格证书专用章"
    return issuer, "电子证书专用章"


def seal_display_name(seal: str, issuer: str) -> str:
    ring, caption = seal_names(seal, issuer)
    return ring + caption


PAGE_LANG = "zh"   # the page is in Chinese: its dates too (certcli.i18n.format_day)


def format_valid_until(valid_until: datetime) -> str:
    """The annotation box's "有效期至" value: the last usable day, inclusive, in the page's
    date style: ``2026年05月29日（北京时间）`` for an end at the start of 2026-05-30 (R2)."""
    from certcli import i18n

    return i18n.format_day(rules.valid_through(valid_until), PAGE_LANG, zone=True)


def format_page_day(day: str) -> str:
    """A date on the page (issue, approval): ``2022年01月14日``."""
    from certcli import i18n

    return i18n.format_day(day, PAGE_LANG)


@dataclass(frozen=True)
class Annotation:
    """The annotation box of an annotation document (R1, R2)."""

    number: str                  # e.g. "A2026-000123"
    scenario_label: str          # e.g. "本人调用"
    valid_until: datetime


@dataclass(frozen=True)
class PageData:
    """What one document shows, as plain data: the certificate, which seal signs
    it, and what its kind adds (an annotation box, or a photo and the details
    the member chose to disclose)."""

    certificate_no: str
    name: str
    id_type: str
    id_number: str
    qualification: str
    level: str | None            # None: the page has no level row (a member certificate)
    specialty: str | None
    issued_on: str
    issuer: str
    seal: str                    # "ministry" or "association" (R7)
    seal_id: str                 # the seal key that signs it
    annotation: Annotation | None = None
    photo_jpeg: bytes | None = None
    title: str = DEFAULT_TITLE
    rows: tuple[tuple[str, str], ...] = ()       # extra (label, value) rows on the page
    disclosed: tuple[tuple[str, str], ...] = ()  # extra (key, value) claims in the QR payload
    qr_kind: str = "q"                           # "q": a certificate; "m": a member certificate
    annotation_box: bool = True                  # False: no annotation box at all (a member certificate)
    qr_url: str | None = None                    # the verify URL: the QR code carries URL#PAYLOAD (SPEC §6)


def build_page(data: PageData, seal, now: datetime):
    """The renderer's page for ``data``, its QR payload signed with ``seal`` (a
    :class:`~certcli.pki.keys.LoadedSeal`).  An annotation's QR window runs from
    ``now`` (its signing time) to its end."""
    # reportlab, qrcode and cryptography load on first use: `certcli list` never needs them.
    from certcli.documents import qrpayload, render

    annotation = data.annotation
    until = annotation.valid_until if annotation else None
    claims = qrpayload.QrClaims(
        certificate_no=data.certificate_no,
        qualification_code=catalog.qualification_code(data.qualification),
        masked_name=rules.mask_name(data.name),
        valid_from=None if until is None else now,
        valid_until=until,
        key_id=seal.info.key_id,
        kind=data.qr_kind,
        extra=data.disclosed,
    )
    ring, caption = seal_names(data.seal, data.issuer)
    box = None if annotation is None else render.AnnotationBox(
        scenario_label=annotation.scenario_label, valid_until_text=format_valid_until(until),
        annotation_id=annotation.number)
    return render.CertificatePage(
        certificate_no=data.certificate_no, name=data.name,
        id_type_label=ID_TYPE_LABELS.get(data.id_type, data.id_type),
        id_number_masked=rules.mask_id_number(data.id_number), qualification=data.qualification,
        level=data.level, specialty=data.specialty, issued_on=format_page_day(data.issued_on), issuer=data.issuer,
        seal_ring_text=ring, seal_caption=caption, annotation=box,
        qr_payload=qrpayload.encode(claims, seal.private_key), photo_jpeg=data.photo_jpeg,
        title=data.title, extra_rows=data.rows, annotation_box=data.annotation_box, qr_url=data.qr_url)


def make_document(data: PageData, seal, signer, now: datetime) -> bytes:
    """Render and sign one document.  ``seal`` is a LoadedSeal, ``signer`` its
    :class:`~certcli.documents.signing.PdfSealSigner`; ``now`` is the signing time."""
    from certcli.documents import render

    return signer.sign(render.render_certificate(build_page(data, seal, now)), signing_time=now)
