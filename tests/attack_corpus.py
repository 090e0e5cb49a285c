"""The corpus of known attack shapes against PDF signatures (tests/test_attacks.py runs it against
our own genuine PDFs; tests/test_canonical_cms.py reuses its ``cms_*`` re-encodings): each entry of
:data:`ATTACKS` turns a genuine file into a forgery and names the check and reason that must refuse it.

Universal Signature Forgery (USF), Incremental Saving Attack (ISA), Signature Wrapping (SWA),
shadow and certification attacks (appended revisions), re-encodings of the genuine CMS, plain
byte flips, trailing junk and decompression bombs (the appended revisions and the bombs are
written by tests/incremental_forgeries.py).
"""
from __future__ import annotations

import re
from pathlib import Path

from incremental_forgeries import (add_annotation, add_form_field, bomb_update, edit_info, incremental,
                                   replace_page_content, second_signature)

BR = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]\s*")


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


# the genuine home's root certificate (a PEM path), set by the test before it builds a forgery:
# _alter_embedded_root looks for its bytes inside the CMS
ROOT_PEM: list = []
