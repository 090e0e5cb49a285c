"""The known attack shapes against PDF signatures, built from our own genuine PDFs.

Universal Signature Forgery (USF), Incremental Saving Attack (ISA), Signature
Wrapping (SWA), shadow and certification attacks (appended revisions), plus
plain byte flips, trailing junk, a foreign root and hostile structure.  Every
shape must be rejected by ``certcli verify`` (exit 1) with its named reason;
every genuine document is accepted by us, by pyHanko and by pdfsig.
"""
from __future__ import annotations

import re
import zlib
from io import BytesIO
from pathlib import Path

import pytest

from conftest import EXIT_INTERNAL
from external import pdfsig_report, pyhanko_validate
from test_verify import make_genuine

BR = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]\s*")


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    return make_genuine(tmp_path_factory.mktemp("attacks"))


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    """A second issuer with its own root: its documents are genuine, but not ours."""
    return make_genuine(tmp_path_factory.mktemp("foreign"))


# --- helpers --------------------------------------------------------------------------

def byte_range(data: bytes):
    match = BR.search(data)
    return match, [int(x) for x in match.groups()]


def flip(data: bytes, position: int) -> bytes:
    out = bytearray(data)
    out[position] ^= 0x01
    return bytes(out)


def rewrite_byte_range(data: bytes, values) -> bytes:
    """Replace the /ByteRange array in place, keeping the padded length."""
    match, _ = byte_range(data)
    text = ("/ByteRange [" + " ".join(str(v) for v in values) + "]").encode()
    span = match.end() - match.start()
    assert len(text) <= span
    return data[:match.start()] + text.ljust(span) + data[match.end():]


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


def signature_wrapping(data: bytes) -> bytes:
    """SWA: keep both signed blocks byte for byte, but copy the second one to the end
    and point a rewritten /ByteRange there.  A parser reads the rewritten copy (the
    xref offsets still match), the digest still covers the original bytes, and the
    enlarged "gap" is free for the attacker's objects."""
    _, (a, b, c, d) = byte_range(data)
    part2 = data[c:c + d]
    evil = b"\n99 0 obj\n<< /Length 40 >>\nstream\nBT /F1 40 Tf 80 600 Td (FORGED) Tj ET\nendstream\nendobj\n"
    moved_to = c + len(part2) + len(evil)
    rewritten = rewrite_byte_range(data[:c] + part2, [0, b, moved_to, d])[c:]
    return data[:c] + rewritten + evil + part2


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


# --- the corpus -----------------------------------------------------------------------------

def _content_position(data: bytes) -> int:
    return data.index(b"stream", 300) + 40


def _gap(data: bytes):
    _, (a, b, c, d) = byte_range(data)
    return b, c


ATTACKS = {
    # byte flips inside the signed range
    "flip_page_content": (lambda g: flip(g, _content_position(g)), "signature", "signature_broken"),
    "flip_qr_payload": (lambda g: flip(g, g.rindex(b"/CertcliQR") + 20), "signature", "signature_broken"),
    "flip_signing_time": (lambda g: flip(g, g.index(b"/M (D") + 12), "signature", "signature_broken"),
    "flip_first_byte_after_gap": (lambda g: flip(g, _gap(g)[1]), "signature", "signature_broken"),
    "flip_last_byte": (lambda g: g[:-1] + b"\r", "signature", "signature_broken"),
    "flip_xref": (lambda g: flip(g, g.rindex(b"\nxref\n") + 30), "signature", "signature_broken"),
    # appended revisions: ISA, shadow, certification attacks
    "incremental_page_content": (lambda g: incremental(g, replace_page_content), "coverage", "incremental_update"),
    "incremental_annotation": (lambda g: incremental(g, add_annotation), "coverage", "incremental_update"),
    "incremental_form_field": (lambda g: incremental(g, add_form_field), "coverage", "incremental_update"),
    "incremental_info_only": (lambda g: incremental(g, edit_info), "coverage", "incremental_update"),
    "incremental_bomb": (bomb_update, "coverage", "incremental_update"),
    # a second signature-like dictionary
    "second_signature_appended": (lambda g: incremental(g, second_signature), "byte_range", "multiple_signatures"),
    "second_byte_range_in_place": (lambda g: g[:9] + b"%/ByteRange[0 1 2 3]" + g[29:], "byte_range",
                                   "multiple_signatures"),
    # /ByteRange pointing elsewhere (wrapping)
    "byte_range_shifted": (lambda g: rewrite_byte_range(g, [0, _gap(g)[0] + 2, _gap(g)[1] + 2,
                                                            len(g) - _gap(g)[1] - 2]), "byte_range", "bad_byte_range"),
    "byte_range_not_from_start": (lambda g: rewrite_byte_range(g, [1, _gap(g)[0] - 1, _gap(g)[1],
                                                                   len(g) - _gap(g)[1]]), "byte_range",
                                  "bad_byte_range"),
    "signature_wrapping_moved_block": (signature_wrapping, "byte_range", "multiple_signatures"),
    "byte_range_null": (lambda g: g.replace(BR.search(g).group(0), b"/ByteRange null".ljust(len(BR.search(g).group(0)))),
                        "byte_range", "bad_byte_range"),
    "byte_range_removed": (lambda g: g.replace(b"/ByteRange", b"/ByteRangX"), "byte_range", "bad_byte_range"),
    # emptied or removed /Contents (USF)
    "contents_zeroed": (lambda g: g[:_gap(g)[0] + 1] + b"0" * (_gap(g)[1] - _gap(g)[0] - 2) + g[_gap(g)[1] - 1:],
                        "byte_range", "contents_missing"),
    "contents_empty": (lambda g: rewrite_byte_range(g[:_gap(g)[0]] + b"<>" + g[_gap(g)[1]:],
                                                    [0, _gap(g)[0], _gap(g)[0] + 2, len(g) - _gap(g)[1]]),
                       "byte_range", "contents_missing"),
    "contents_key_removed": (lambda g: g.replace(b"/Contents <", b"          <"), "byte_range", "contents_missing"),
    # the signature container itself
    "contents_lower_case": (lambda g: g[:_gap(g)[0]] + g[_gap(g)[0]:_gap(g)[1]].lower() + g[_gap(g)[1]:],
                            "byte_range", "bad_byte_range"),
    "contents_padding_changed": (lambda g: g[:_gap(g)[1] - 3] + b"1" + g[_gap(g)[1] - 2:], "signature",
                                 "bad_signature_container"),
    "contents_signature_value": (lambda g: _flip_signature_value(g), "signature", "signature_invalid"),
    "contents_embedded_root_altered": (lambda g: _alter_embedded_root(g), "signature", "bad_signature_container"),
    # re-encodings of the genuine CMS that keep the signature cryptographically valid (issue 12):
    # only the exact DER certcli writes, with a low-S ECDSA value, is ours
    "cms_high_s": (lambda g: _reencode(g, _high_s), "signature", "non_canonical_signature"),
    "cms_certificates_reordered": (lambda g: _reframe(g, _CERTIFICATES, _swap_children), "signature",
                                   "non_canonical_signature"),
    "cms_root_dropped": (lambda g: _reencode(g, _drop_root), "signature", "non_canonical_signature"),
    "cms_certificate_added": (lambda g: _reencode(g, _duplicate_root), "signature", "non_canonical_signature"),
    "cms_ber_outer_indefinite_length": (lambda g: _reframe(g, (), _indefinite), "signature",
                                        "non_canonical_signature"),
    "cms_ber_outer_long_length": (lambda g: _reframe(g, (), _long_form(3)), "signature", "non_canonical_signature"),
    "cms_ber_outer_four_byte_length": (lambda g: _reframe(g, (), _long_form(4)), "signature",
                                       "non_canonical_signature"),
    "cms_ber_certificates_indefinite_length": (lambda g: _reframe(g, _CERTIFICATES, _indefinite), "signature",
                                               "non_canonical_signature"),
    "cms_ber_signer_infos_long_length": (lambda g: _reframe(g, _SIGNER_INFOS, _long_form(3)), "signature",
                                         "non_canonical_signature"),
    "cms_signature_algorithm_null_parameters": (lambda g: _reencode(g, _signature_algorithm("sha256_ecdsa", True)),
                                                "signature", "non_canonical_signature"),
    "cms_signature_algorithm_sha384_label": (lambda g: _reencode(g, _signature_algorithm("sha384_ecdsa")),
                                             "signature", "non_canonical_signature"),
    "cms_signature_algorithm_bare_ecdsa": (lambda g: _reencode(g, _signature_algorithm("ecdsa")), "signature",
                                           "non_canonical_signature"),
    "cms_digest_algorithms_without_null": (lambda g: _reframe(g, _DIGEST_ALGORITHMS, _sha256_without_null),
                                           "signature", "non_canonical_signature"),
    "cms_signed_data_version_changed": (lambda g: _reencode(g, _version("v3")), "signature",
                                        "non_canonical_signature"),
    "cms_signature_integer_not_minimal": (lambda g: _reencode(g, _padded_r), "signature",
                                          "non_canonical_signature"),
    # trailing junk
    "trailing_junk": (lambda g: g + b"junk after the end\n", "coverage", "trailing_data"),
    "trailing_newline": (lambda g: g + b"\n", "coverage", "trailing_data"),
    "trailing_eof": (lambda g: g + b"%%EOF\n", "coverage", "incremental_update"),
}


def _flip_signature_value(data: bytes) -> bytes:
    """Change one hex digit inside the CMS (not the padding)."""
    b, c = _gap(data)
    hexdigits = data[b + 1:c - 1].rstrip(b"0")
    position = b + 1 + len(hexdigits) - 10                        # inside the ECDSA signature value
    digit = data[position:position + 1]
    return data[:position] + (b"1" if digit != b"1" else b"2") + data[position + 1:]


def _alter_embedded_root(data: bytes) -> bytes:
    """The certificates inside the CMS are not covered by the signature value: change
    one hex digit near the end of the embedded root certificate (its signature)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    root_pem = Path(ROOT_PEM[0]).read_bytes()
    root_hex = x509.load_pem_x509_certificate(root_pem).public_bytes(Encoding.DER).hex().upper().encode()
    start = data.index(root_hex)
    position = start + len(root_hex) - 6
    digit = data[position:position + 1]
    return data[:position] + (b"1" if digit != b"1" else b"2") + data[position + 1:]


# --- canonical CMS: re-encodings of a genuine signature ----------------------------------------
# Nothing below changes a signed byte: the signature value still verifies (see
# test_re_encoded_twins_still_verify_cryptographically), yet the file is not the one certcli wrote.

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
# child indexes from the top: ContentInfo -> [0] content -> SignedData -> field
_DIGEST_ALGORITHMS, _CERTIFICATES, _SIGNER_INFOS = (1, 0, 1), (1, 0, 3), (1, 0, 4)


def cms_of(data: bytes) -> bytes:
    from certcli.documents.cms import cms_der

    b, c = _gap(data)
    return cms_der(bytes.fromhex(data[b + 1:c - 1].decode("ascii")))


def with_cms(data: bytes, der: bytes) -> bytes:
    """``data`` with another CMS in the same reserved /Contents (upper-case hex, zero padded)."""
    b, c = _gap(data)
    hexed = der.hex().upper().encode("ascii")
    assert len(hexed) <= c - b - 2
    return data[:b + 1] + hexed.ljust(c - b - 2, b"0") + data[c - 1:]


def _reencode(data: bytes, change) -> bytes:
    """Parse the CMS, let ``change`` edit the SignedData, write it back as DER."""
    from asn1crypto import cms

    info = cms.ContentInfo.load(cms_of(data))
    change(info["content"])
    return with_cms(data, info.dump(force=True))


def _high_s(signed) -> None:
    from asn1crypto import algos

    signer = signed["signer_infos"][0]
    value = algos.DSASignature.load(signer["signature"].native)
    r, s = value["r"].native, value["s"].native
    assert s <= P256_N // 2, "certcli signs low-S"
    signer["signature"] = algos.DSASignature({"r": r, "s": P256_N - s}).dump()


def _padded_r(signed) -> None:
    """The same (r, s) with a redundant leading zero byte in r: BER, not DER."""
    from asn1crypto import algos

    signer = signed["signer_infos"][0]
    value = algos.DSASignature.load(signer["signature"].native)
    r = value["r"].contents
    s = value["s"].dump()
    body = bytes([0x02, len(r) + 1, 0]) + r + s
    signer["signature"] = bytes([0x30, len(body)]) + body


def _is_root(choice) -> bool:
    return choice.chosen.subject == choice.chosen.issuer


def _drop_root(signed) -> None:
    signed["certificates"] = [c for c in signed["certificates"] if not _is_root(c)]


def _duplicate_root(signed) -> None:
    certificates = list(signed["certificates"])
    signed["certificates"] = certificates + [c for c in certificates if _is_root(c)]


def _signature_algorithm(name: str, null: bool = False):
    def change(signed) -> None:
        from asn1crypto import algos, core

        value = {"algorithm": name, **({"parameters": core.Null()} if null else {})}
        signed["signer_infos"][0]["signature_algorithm"] = algos.SignedDigestAlgorithm(value)
    return change


def _version(version: str):
    def change(signed) -> None:
        signed["version"] = version
    return change


def _tlv(data: bytes, at: int) -> tuple[int, int]:
    """(header length, content length) of the BER value at ``at`` (one-byte tags, definite)."""
    first = data[at + 1]
    if first < 0x80:
        return 2, first
    count = first & 0x7F
    return 2 + count, int.from_bytes(data[at + 2:at + 2 + count], "big")


def _der_header(tag: int, length: int) -> bytes:
    if length < 0x80:
        return bytes([tag, length])
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big")


def _rewrite(der: bytes, path: tuple, how) -> bytes:
    """``der`` with the value at ``path`` re-framed by ``how(tag, content)``; every
    enclosing length is recomputed (minimal), so only that one value changes."""
    header, length = _tlv(der, 0)
    content = der[header:header + length]
    if not path:
        return how(der[0], content)
    children, at = [], 0
    while at < len(content):
        h, n = _tlv(content, at)
        children.append(content[at:at + h + n])
        at += h + n
    children[path[0]] = _rewrite(children[path[0]], path[1:], how)
    body = b"".join(children)
    return _der_header(der[0], len(body)) + body


def _reframe(data: bytes, path: tuple, how) -> bytes:
    return with_cms(data, _rewrite(cms_of(data), path, how))


def _indefinite(tag: int, content: bytes) -> bytes:
    return bytes([tag, 0x80]) + content + b"\0\0"


def _long_form(size: int):
    """A length in ``size`` bytes, more than DER's minimum."""
    def how(tag: int, content: bytes) -> bytes:
        assert len(content).bit_length() <= 8 * (size - 1)
        return bytes([tag, 0x80 | size]) + len(content).to_bytes(size, "big") + content
    return how


def _swap_children(tag: int, content: bytes) -> bytes:
    h, n = _tlv(content, 0)
    first, rest = content[:h + n], content[h + n:]
    assert rest and _tlv(rest, 0)[0] + _tlv(rest, 0)[1] == len(rest), "two certificates"
    return _der_header(tag, len(content)) + rest + first


def _sha256_without_null(tag: int, content: bytes) -> bytes:
    body = bytes.fromhex("300b0609608648016503040201")    # SHA-256, parameters absent (also valid)
    assert content == bytes.fromhex("300d06096086480165030402010500")
    return _der_header(tag, len(body)) + body


ROOT_PEM: list = []


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_rejected_with_its_reason(genuine, tmp_path, name):
    build, check, reason = ATTACKS[name]
    ROOT_PEM[:] = [genuine.root]
    original = genuine.pdf.read_bytes()
    forged = build(original)
    assert forged != original
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(forged)
    result = genuine.verify(path)
    assert result.code != EXIT_INTERNAL, result.out + result.err
    assert result.code == 1, result.out
    document = result.json
    assert not document["valid"]
    failed = [c for c in document["checks"] if c["ok"] is False]
    assert failed and failed[0]["name"] == check, document
    assert document["reason"] == reason, document
    human = genuine.verify(path, json_mode=False, lang="zh")
    assert human.code != EXIT_INTERNAL, human.out + human.err
    assert human.code == 1 and human.out.startswith("无效：") and "Traceback" not in human.out + human.err


def test_attack_also_rejected_offline_with_a_bundle(genuine, tmp_path):
    for name in ("flip_page_content", "incremental_page_content", "contents_zeroed", "signature_wrapping_moved_block"):
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(ATTACKS[name][0](genuine.pdf.read_bytes()))
        result = genuine.verify(path, "--trust", genuine.bundle, home=tmp_path / "empty")
        assert result.code == 1 and result.json["reason"] == ATTACKS[name][2]


def test_pdf_signed_by_a_different_root(genuine, foreign, tmp_path):
    for args, home in (((), None), (("--trust", genuine.bundle), tmp_path / "empty")):
        result = genuine.verify(foreign.pdf, *args, home=home)
        assert result.code == 1, result.out
        checks = {c["name"]: c for c in result.json["checks"]}
        assert checks["signature"]["ok"] is True                         # intact, just not ours
        assert checks["signer_chain"]["ok"] is False and result.json["reason"] == "untrusted_signer"
    # and the QR payload of the other issuer
    result = genuine.verify("--qr", foreign.payload())
    assert result.code == 1 and result.json["reason"] == "unknown_signing_key", result.out
    # the foreign root's own validators agree it is not ours
    assert "Certificate is Trusted." not in pdfsig_report(foreign.pdf, genuine.root, tmp_path)
    assert pyhanko_validate(foreign.pdf, genuine.root, pretty=False)[0] != 0


def test_genuine_documents_accepted_by_us_pyhanko_and_pdfsig(genuine, tmp_path):
    for pdf in (genuine.pdf, genuine.exempt):
        assert genuine.verify(pdf).code == 0
        code, out = pyhanko_validate(pdf, genuine.root, pretty=False)
        assert code == 0 and "INTACT:TRUSTED,UNTOUCHED" in out, out
        report = pdfsig_report(pdf, genuine.root, tmp_path)
        assert "Signature is Valid." in report and "Certificate is Trusted." in report, report
        assert "Total document signed" in report, report


@pytest.mark.slow   # pdfsig and pyHanko over every core attack; genuine documents are checked by them by default
def test_external_validators_see_the_core_attacks_too(genuine, tmp_path):
    """Cross-check: a flipped byte and a foreign signature fail everywhere; the
    appended revision is where we are stricter than pdfsig (which only reports
    that the document is no longer totally signed)."""
    original = genuine.pdf.read_bytes()
    flipped = tmp_path / "flip.pdf"
    flipped.write_bytes(ATTACKS["flip_page_content"][0](original))
    assert pyhanko_validate(flipped, genuine.root, pretty=False)[0] != 0
    assert "Signature is Valid." not in pdfsig_report(flipped, genuine.root, tmp_path)
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(ATTACKS["incremental_page_content"][0](original))
    assert "Total document signed" not in pdfsig_report(appended, genuine.root, tmp_path)
    assert pyhanko_validate(appended, genuine.root, pretty=False)[0] != 0


def test_decompression_bombs_are_never_inflated(genuine, tmp_path):
    import tracemalloc

    from certcli.verification import checks as verification

    context, now = genuine.context(), genuine_now(genuine)
    for data, reason in ((bomb_pdf(), "unsigned"), (bomb_update(genuine.pdf.read_bytes()), "incremental_update")):
        tracemalloc.start()
        verdict = verification.verify_pdf(data, context, now)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert not verdict.valid and verdict.reason == reason
        assert peak < 16 * 2**20, peak                                  # no inflation, no copies
        path = tmp_path / "bomb.pdf"
        path.write_bytes(data)
        result = genuine.verify(path)
        assert result.code == 1 and result.json["reason"] == reason, result.out + result.err
    context.close()


def genuine_now(genuine):
    from datetime import datetime, timedelta

    return datetime.fromisoformat(genuine.verify(genuine.pdf).json["facts"]["signed_at"]) + timedelta(hours=1)


def test_even_our_own_key_cannot_smuggle_hostile_structure(genuine, tmp_path):
    """A document signed by our seal key (as a thief could) but built with
    cross-reference/object streams is refused before any parser inflates them;
    decoding limits stay in force behind that."""
    import subprocess

    from conftest import PASSPHRASE, need_tool

    from certcli.pki.keys import IssuerKeys
    from certcli.documents.signing import PdfSealSigner
    from certcli.verification import checks as verification

    qpdf = need_tool("qpdf")
    plain = tmp_path / "plain.pdf"
    from test_verify import _unsigned_pdf

    plain.write_bytes(_unsigned_pdf())
    packed = tmp_path / "packed.pdf"
    subprocess.run([qpdf, "--object-streams=generate", str(plain), str(packed)], check=True, capture_output=True)
    seal = IssuerKeys(genuine.cli.home / "keys").load_seal("ministry", PASSPHRASE.encode())
    now = genuine_now(genuine)
    signed = PdfSealSigner(seal).sign(packed.read_bytes(), signing_time=now)
    context = genuine.context()
    verdict = verification.verify_pdf(signed, context, now)
    assert not verdict.valid and verdict.reason == "unsupported_structure"
    # a plain document our key signed outside the pipeline has no signed QR data
    verdict = verification.verify_pdf(PdfSealSigner(seal).sign(plain.read_bytes(), signing_time=now), context, now)
    assert not verdict.valid and verdict.reason == "missing_qr"
    context.close()


def test_attack_corpus_names_every_shape_in_the_issue():
    shapes = {"flip_", "incremental_page_content", "incremental_annotation", "incremental_form_field",
              "second_", "byte_range_shifted", "signature_wrapping", "contents_zeroed", "contents_key_removed",
              "trailing_junk"}
    for shape in shapes:
        assert any(name.startswith(shape) for name in ATTACKS), shape


def test_our_key_on_an_approval_signature_is_not_a_certification(genuine, tmp_path):
    """Re-signing the unsigned first revision with our own seal key, but as an
    approval signature (no DocMDP certification), is not a certcli document.
    (Signed by certcli's own signer, so the CMS is canonical, low-S included: the
    certification check is what refuses it.)"""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from conftest import PASSPHRASE

    from certcli.pki.keys import IssuerKeys
    from certcli.documents.signing import FIELD_NAME, PdfSealSigner

    seal = IssuerKeys(genuine.cli.home / "keys").load_seal("ministry", PASSPHRASE.encode())
    signer = PdfSealSigner(seal)._signer
    original = genuine.pdf.read_bytes()
    unsigned = original[:original.index(b"%%EOF") + 6]                  # the rendered page, before signing
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, certify=False)
    approval = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(unsigned)), meta, signer=signer).getvalue()
    path = tmp_path / "approval.pdf"
    path.write_bytes(approval)
    result = genuine.verify(path)
    assert result.code == 1, result.out
    checks = {c["name"]: c for c in result.json["checks"]}
    assert checks["signature"]["ok"] and checks["signer_chain"]["ok"]          # our key, intact
    assert result.json["reason"] == "not_certified"


def test_genuine_documents_pass_pyhankos_own_validator_in_process(genuine):
    """The library cross-check behind our verdict: pyHanko (intact, trusted,
    entire file, certification with no changes) agrees on every genuine document."""
    from certcli.verification import checks as verification
    from certcli.documents.signing import validate_with_pyhanko

    context = genuine.context()
    now = genuine_now(genuine)
    for pdf in (genuine.pdf, genuine.exempt):
        data = pdf.read_bytes()
        assert verification.verify_pdf(data, context, now).valid
        result = validate_with_pyhanko(data, context.root, now)
        assert result["intact"] and result["valid"] and result["trusted"] and result["unmodified"]
        assert result["coverage"] == "ENTIRE_FILE" and result["certification"] and result["docmdp"] == "NO_CHANGES"
        assert result["signature_count"] == 1
    context.close()


CANONICAL_ATTACKS = sorted(name for name, (_, _, reason) in ATTACKS.items() if reason == "non_canonical_signature")


def test_re_encoded_twins_still_verify_cryptographically(genuine):
    """Why the canonical check exists: these twins of a genuine file are accepted by
    pyHanko's validator (intact, signature valid, trusted), and were VALID for certcli
    before it compared the CMS with the exact DER it writes."""
    from certcli.documents.signing import validate_with_pyhanko

    context = genuine.context()
    now = genuine_now(genuine)
    original = genuine.pdf.read_bytes()
    for name in ("cms_high_s", "cms_root_dropped", "cms_certificate_added", "cms_certificates_reordered",
                 "cms_signature_algorithm_null_parameters", "cms_ber_signer_infos_long_length"):
        twin = ATTACKS[name][0](original)
        result = validate_with_pyhanko(twin, context.root, now)
        assert result["intact"] and result["valid"] and result["trusted"], (name, result)
    context.close()


def test_re_encoded_genuine_file_is_not_valid_at_home_nor_offline(genuine, tmp_path):
    """Not NOT VALID at home (whole-file hash) and VALID offline: the same everywhere."""
    for pdf in (genuine.pdf, genuine.exempt):
        twin = tmp_path / f"twin-{pdf.name}"
        twin.write_bytes(ATTACKS["cms_high_s"][0](pdf.read_bytes()))
        for args, home in (((), None), (("--trust", genuine.bundle), tmp_path / "empty")):
            result = genuine.verify(twin, *args, home=home)
            assert result.code == 1, result.out + result.err
            assert result.json["reason"] == "non_canonical_signature", result.json


def test_canonical_corpus_covers_every_re_encoding_in_the_issue():
    for shape in ("cms_high_s", "cms_certificates_reordered", "cms_root_dropped", "cms_ber_",
                  "cms_signature_algorithm_null_parameters", "cms_signature_algorithm_sha384_label"):
        assert any(name.startswith(shape) for name in CANONICAL_ATTACKS), shape


# --- issue 12: a stolen seal key, backdated; a seal on another's qualification ---------------------
# (tests/test_trust_bundle.py builds the issuer home with a fixed clock; the thief copies it whole)

def _forge_with_a_copy(issuer, name: str):
    """A thief with a copy of the issuer's home (keys and passphrase) signs, with its clock
    set before the compromise date the issuer will give: a new annotation document of a real
    certificate, a new exempt copy of the real exempt certificate, and an exempt certificate
    the issuer never issued (exempt documents have no window at all)."""
    import sqlite3

    from conftest import HOLDER_ID, cert_row, write_roster
    from test_trust_bundle import CERT_NO, EXEMPT_NO

    thief = issuer.copy(name)                                       # signs at T1, before COMPROMISED
    with sqlite3.connect(thief.home / "certcli.db") as db:          # the copy is the thief's to edit
        db.execute("DELETE FROM annotations WHERE kind = 'exempt_copy'")
    fake = write_roster(issuer.base / "fake.csv", [cert_row(no=FAKE_EXEMPT_NO, seal="association", level="",
                                                            issuer="中国注册税务师协会", qualification="税务师",
                                                            issued_on="2019-06-20")])
    assert thief("admin", "issue", fake).code == 0
    assert thief("login", "--id-number", HOLDER_ID).code == 0
    assert thief("renew", CERT_NO, "--days", "90").code == 0
    for number in (EXEMPT_NO, FAKE_EXEMPT_NO):
        assert thief("download", number, "-o", issuer.base / "queue.pdf").code == 4
    processed = thief("admin", "process")
    assert processed.code == 0 and processed.json["completed"] == 3, processed.out
    forged = {number: issuer.base / f"{name}-{number}.pdf" for number in (CERT_NO, EXEMPT_NO, FAKE_EXEMPT_NO)}
    for number, path in forged.items():
        assert thief("download", number, "-o", path).code == 0
        assert thief("verify", path).code == 0                     # VALID in the thief's copy
    return forged


FAKE_EXEMPT_NO = "2019TAX310100777"


def test_stolen_key_backdated_forgery_is_not_valid_online_or_offline(tmp_path):
    from test_trust_bundle import CERT_NO, COMPROMISED, EXEMPT_NO, T2, Issuer, checks, payload

    issuer = Issuer(tmp_path / "issuer")
    forged = _forge_with_a_copy(issuer, "thief")
    # The issuer learns of the theft and retires both seal keys the copy held, giving a compromise
    # instant LATER than the forgeries' claimed signing time.
    for seal_id in ("ministry", issuer.seal_id_of(EXEMPT_NO)):
        retired = issuer.cli("admin", "retire-seal", issuer.key_id(seal_id), "--compromised-at", COMPROMISED, now=T2)
        assert retired.code == 0, retired.out
        assert retired.json["ledger"]["count"] == 2 and retired.json["requeued"]["annotations"] == []
    human = issuer.cli("admin", "retire-seal", retired.json["key_id"], "--compromised-at", COMPROMISED, now=T2,
                       json_mode=False)
    assert "whatever signing time it claims" in human.out
    bundle = issuer.trust("after.pem", now=T2)
    forgeries = [(forged[CERT_NO],), ("--qr", payload(forged[CERT_NO])), (forged[EXEMPT_NO],),
                 (forged[FAKE_EXEMPT_NO],), ("--qr", payload(forged[FAKE_EXEMPT_NO]))]
    for args in forgeries:
        online = issuer.verify(*args, now=T2)
        offline = issuer.offline(*args, bundle=bundle, now=T2)
        for result, reason in ((online, "not_issued"), (offline, "not_in_ledger")):
            assert result.code == 1, (args, result.out)
            assert result.json["reason"] == "seal_compromised", result.json
            assert checks(result)["issued"]["reason"] == reason
    # The re-signed exempt copy's QR payload says, byte for byte, what the issuer signed (an exempt
    # payload carries no time): the same signed bytes, the same registry entry, a true statement.
    assert payload(forged[EXEMPT_NO]) != payload(issuer.exempt)
    from certcli.documents.qrpayload import signed_digest

    assert signed_digest(payload(forged[EXEMPT_NO])) == signed_digest(payload(issuer.exempt))
    # the genuine documents those keys signed before the compromise stay valid, online and offline
    for document in (issuer.pdf, issuer.exempt):
        for args in ((document,), ("--qr", payload(document))):
            assert issuer.verify(*args, now=T2).code == 0, document
            offline = issuer.offline(*args, bundle=bundle, now=T2)
            assert offline.code == 0, offline.out
            assert checks(offline)["issued"]["reason"] == "in_ledger"
    # a compromise date even later (a month after the theft) changes nothing
    later = "2026-04-01T00:00:00+08:00"
    assert issuer.cli("admin", "retire-seal", retired.json["key_id"], "--compromised-at", later, now=T2).code == 0
    bundle = issuer.trust("later.pem", now=T2)
    for args in forgeries[3:]:
        assert issuer.offline(*args, bundle=bundle, now=T2).code == 1
        assert issuer.verify(*args, now=T2).code == 1


def test_a_seal_on_a_qualification_it_may_not_sign_is_not_valid(tmp_path):
    """The tax association's key signs a ministry qualification (造价工程师), in a copy of
    the issuer's home where the certificate was switched to that seal."""
    import sqlite3

    from conftest import HOLDER_ID
    from test_trust_bundle import CERT_NO, EXEMPT_NO, T1, Issuer, checks, payload

    issuer = Issuer(tmp_path / "issuer")
    tax_seal = issuer.seal_id_of(EXEMPT_NO)
    thief = issuer.copy("thief")
    with sqlite3.connect(thief.home / "certcli.db") as db:
        db.execute("UPDATE certificates SET seal = 'association', seal_id = ?, issuer = '中国注册税务师协会' "
                   "WHERE certificate_no = ?", (tax_seal, CERT_NO))
    assert thief("login", "--id-number", HOLDER_ID).code == 0
    assert thief("renew", CERT_NO, "--days", "60").code == 0
    assert thief("admin", "process").json["completed"] == 1
    wrong = tmp_path / "wrong-seal.pdf"
    assert thief("download", CERT_NO, "-o", wrong).code == 0
    assert thief("verify", wrong).json["facts"]["key_id"] == issuer.key_id(tax_seal)
    for args in ((wrong,), ("--qr", payload(wrong))):
        for result in (issuer.verify(*args, now=T1), issuer.offline(*args, now=T1)):
            assert result.code == 1, result.out
            assert result.json["reason"] == "seal_not_for_qualification", result.json
            assert checks(result)["seal_key"]["detail"].endswith(": CST")
