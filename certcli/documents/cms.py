"""The CMS signature container inside a signed PDF: its exact DER, and which
certificate (which seal key) signed it.

A PDF signature's ``/Contents`` is reserved before signing and zero-padded
after it, so the container is the DER value at its start, of exactly the length
its header gives; the rest must be zeros.  Stripping trailing zeros instead is
wrong: about one DER in 256 ends in a 0x00 byte of its own (an ECDSA signature
or certificate field), and stripping cuts it short.  Verification
(:mod:`certcli.verification.cms`) and re-queueing after a key is retired
(:mod:`certcli.certificates.requeue`) both read the container through here.

No store access and no validation: verification checks everything else.

The ECDSA value certcli writes is *low-S* (``s <= n/2``, :func:`low_s`): for
every signature (r, s) the pair (r, n - s) verifies too, so accepting both
would let anyone re-encode a genuine document into a different, still valid
file.  Verification refuses the high-S twin (``non_canonical_signature``).
"""
from __future__ import annotations

# Order of the P-256 group (the only curve certcli signs with).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def low_s(signature: bytes, order: int = P256_ORDER) -> bytes:
    """The DER ECDSA signature ``signature`` with ``s`` replaced by ``order - s`` when
    ``s > order / 2``; always re-encoded minimally.  Both verify; only this one is ours."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

    r, s = decode_dss_signature(signature)
    if s > order // 2:
        s = order - s
    return encode_dss_signature(r, s)


def der_length(raw: bytes) -> int:
    """Total length (header included) of the DER SEQUENCE at the start of ``raw``;
    ValueError when ``raw`` does not start with one (definite length, ≤ 3 length bytes)."""
    if len(raw) < 2 or raw[0] != 0x30:
        raise ValueError("not a DER SEQUENCE")
    first = raw[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if not 1 <= n <= 3 or len(raw) < 2 + n:
        raise ValueError("unsupported DER length")
    return 2 + n + int.from_bytes(raw[2:2 + n], "big")


def cms_der(contents: bytes) -> bytes:
    """The CMS DER in a signature's hex-decoded ``/Contents``: exactly its DER
    length; what follows must be zero padding.  ValueError otherwise."""
    total = der_length(contents)
    if total > len(contents) or contents[total:].strip(b"\0"):
        raise ValueError("bad padding after the CMS DER")
    return contents[:total]


def signed_digest(data: bytes, b: int, c: int, d: int) -> str:
    """SHA-256 (hex) over a signature's /ByteRange ``[0 b c d]``: the CMS messageDigest,
    what the seal key actually signed.  A document's identity in the issued-document
    registry and in a closed key's ledger: it does not change when the unsigned
    /Contents around the CMS is re-encoded, unlike the whole file's hash."""
    import hashlib

    sha = hashlib.sha256()
    sha.update(memoryview(data)[:b])
    sha.update(memoryview(data)[c:c + d])
    return sha.hexdigest()


def signer_index(signed_data) -> int | None:
    """Index in ``signed_data['certificates']`` (an asn1crypto ``SignedData``) of the
    first certificate the (first) signer info names by issuer and serial number,
    or None.  Choices other than plain certificates never match."""
    sid = signed_data["signer_infos"][0]["sid"].chosen
    for index, choice in enumerate(signed_data["certificates"]):
        if choice.name != "certificate":
            continue
        tbs = choice.chosen["tbs_certificate"]
        if tbs["issuer"].dump() == sid["issuer"].dump() and \
                tbs["serial_number"].native == sid["serial_number"].native:
            return index
    return None


def signer_key_id(contents: bytes) -> str | None:
    """The key id (:func:`certcli.pki.keys.key_id_of`) of the certificate that
    signed the CMS in ``contents`` (a hex-decoded ``/Contents``), or None when it
    cannot be read.  No validation: only for documents the caller made."""
    # asn1crypto and cryptography load on first use: `certcli list` never needs them.
    from asn1crypto import cms
    from cryptography import x509

    from certcli.pki.keys import key_id_of

    try:
        signed = cms.ContentInfo.load(cms_der(contents))["content"]
        index = signer_index(signed)
        if index is None:
            return None
        certificate = signed["certificates"][index].chosen
        return key_id_of(x509.load_der_x509_certificate(certificate.dump()).public_key())
    except (ValueError, KeyError, IndexError, TypeError):
        return None


# Universal-class constructed tags DER allows: SEQUENCE and SET.  Constructed strings
# (an OCTET STRING in pieces, say) are BER only.
_DER_CONSTRUCTED_UNIVERSAL = {0x30, 0x31}
_MAX_DER_DEPTH = 32


def der_is_canonical(data: bytes) -> bool:
    """Whether ``data`` is one DER value as DER requires it: definite, minimal
    lengths; single-byte tags; no constructed strings; minimal INTEGERs; DER
    booleans; SET OF members in ascending order.  Linear in the input (asn1crypto's
    ``dump(force=True)`` re-encodes every level again and grows much faster than that)."""
    end = _der_walk(data, 0, len(data), 0, one=True)
    return end == len(data)


def _der_walk(data: bytes, pos: int, end: int, depth: int, *, one: bool = False, set_of: bool = False) -> int:
    """Check the TLVs in ``data[pos:end]``; return where they end, or -1."""
    if depth > _MAX_DER_DEPTH:
        return -1
    previous_set_member: bytes | None = None
    while pos < end:
        start = pos
        tag = data[pos]
        if tag & 0x1F == 0x1F or pos + 2 > end:      # multi-byte tags: certcli writes none
            return -1
        first = data[pos + 1]
        pos += 2
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            if count == 0 or count > 4 or pos + count > end or data[pos] == 0:
                return -1                             # indefinite, over-long or padded length
            length = int.from_bytes(data[pos:pos + count], "big")
            pos += count
            if length < 0x80:
                return -1                             # long form for a short length
        if pos + length > end:
            return -1
        body = data[pos:pos + length]
        if tag & 0x20:
            if tag & 0xC0 == 0 and tag not in _DER_CONSTRUCTED_UNIVERSAL:
                return -1
            if _der_walk(data, pos, pos + length, depth + 1, set_of=tag == 0x31) != pos + length:
                return -1
        elif tag == 0x02 and (length == 0 or length > 1 and (
                body[0] == 0 and body[1] < 0x80 or body[0] == 0xFF and body[1] >= 0x80)):
            return -1                                 # an INTEGER with a redundant leading byte
        elif tag == 0x01 and (length != 1 or body[0] not in (0x00, 0xFF)):
            return -1
        pos += length
        if set_of:
            member = data[start:pos]
            if previous_set_member is not None and member < previous_set_member:
                return -1                             # DER sorts the members of a SET OF
            previous_set_member = member
        if one:
            return pos
    return pos
