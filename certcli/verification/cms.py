"""Stage 2 of ``verify FILE.pdf``: the CMS signature container, checked before any
PDF parser runs (see :mod:`certcli.verification.pdf` for the three stages).

The container must be byte for byte the DER certcli writes, or it is
``non_canonical_signature``: strict DER (``documents.cms.der_is_canonical``, one
linear pass: definite minimal lengths, no constructed strings, minimal INTEGERs,
every SET OF in DER order, so a re-encoding could change nothing); the versions and
algorithm identifiers are certcli's exact bytes; the certificates are exactly
the seal's and the root that issued it; the ECDSA value has minimal INTEGERs and
a low S.  None of those is covered by the signature value, so each could be
rewritten into a twin that still verifies.  Then its message digest must match
the signed bytes, its ESS signing-certificate attribute the embedded
certificate, and its signature must verify with a seal key we trust.
"""
from __future__ import annotations

import hashlib

from certcli.documents.cms import P256_ORDER, cms_der, der_is_canonical, signer_index
from certcli.verification.context import Context, Located, Reject

NON_CANONICAL = "non_canonical_signature"
# The algorithm identifiers certcli writes, byte for byte (pyHanko's own output):
# SHA-256 with NULL parameters, ecdsa-with-SHA256 without parameters (RFC 5758 §3.2).
_DIGEST_ALGORITHMS = bytes.fromhex("310f300d06096086480165030402010500")
_DIGEST_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")
_SIGNATURE_ALGORITHM = bytes.fromhex("300a06082a8648ce3d040302")


def _attribute(signed_attrs, name: str):
    values = [a["values"] for a in signed_attrs if a["type"].native == name]
    if len(values) != 1 or len(values[0]) != 1:
        raise Reject("signature", "bad_signature_container")
    return values[0][0].native


_ESS_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"   # RFC 5035
_ESS_CLASSES: dict = {}


def _ess_certificates(signed_attrs):
    """The ESSCertIDv2 list of the signing-certificate-v2 attribute.  asn1crypto does
    not know the attribute (pyHanko registers it only when ``pyhanko.sign`` is
    imported), so it is matched by OID and parsed here."""
    from asn1crypto import algos, core

    if not _ESS_CLASSES:
        class EssCertIdV2(core.Sequence):
            _fields = [("hash_algorithm", algos.DigestAlgorithm, {"default": {"algorithm": "sha256"}}),
                       ("cert_hash", core.OctetString), ("issuer_serial", core.Any, {"optional": True})]

        class EssCertIdsV2(core.SequenceOf):
            _child_spec = EssCertIdV2

        class SigningCertificateV2(core.Sequence):
            _fields = [("certs", EssCertIdsV2), ("policies", core.Any, {"optional": True})]

        _ESS_CLASSES["v2"] = SigningCertificateV2
    values = [a["values"] for a in signed_attrs if a["type"].dotted == _ESS_SIGNING_CERTIFICATE_V2]
    if len(values) != 1 or len(values[0]) != 1:
        raise Reject("signature", "bad_signature_container")
    return _ESS_CLASSES["v2"].load(values[0][0].dump(), strict=True)["certs"]


def check_cms(data: bytes, found: Located, context: Context) -> tuple[str, object, object]:
    """Stage 2: the signature container, the digest and the signature value.

    Returns ``(key_id, seal, signer_cert)`` where ``seal`` is ``(SealInfo, key)`` or
    None when the signer is not one of our seal keys; raises :class:`Reject`.
    """
    from asn1crypto import cms, core
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from certcli.pki.keys import key_id_of

    try:
        der = cms_der(found.contents)
    except ValueError:
        if _ber_length(found.contents):
            raise Reject("signature", NON_CANONICAL, "length") from None
        raise Reject("signature", "bad_signature_container") from None
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].native != "signed_data":
            raise Reject("signature", "bad_signature_container")
        if not der_is_canonical(der):                    # BER somewhere, or a SET out of order
            raise Reject("signature", NON_CANONICAL, "re-encoded")
        signed = info["content"]
        signers = signed["signer_infos"]
        encap = signed["encap_content_info"]
        if len(signers) != 1 or encap["content_type"].native != "data" or encap["content"].native is not None \
                or signed["crls"].native is not None:
            raise Reject("signature", "bad_signature_container")
        si = signers[0]
        if si["unsigned_attrs"].native is not None or si["sid"].name != "issuer_and_serial_number":
            raise Reject("signature", "bad_signature_container")
        _canonical_algorithms(signed, si)
        attrs = si["signed_attrs"]
        encoded_attrs = [attr.dump() for attr in attrs]
        if encoded_attrs != sorted(encoded_attrs):      # a SET OF too
            raise Reject("signature", NON_CANONICAL, "signed attributes")
        if _attribute(attrs, "content_type") != "data":
            raise Reject("signature", "bad_signature_container")
        digest = _attribute(attrs, "message_digest")
        ess = _ess_certificates(attrs)
        root_der = context._cache.get("root_der")
        if root_der is None:
            root_der = context._cache["root_der"] = context.root.public_bytes(serialization.Encoding.DER)
        certificates = signed["certificates"]
        if isinstance(certificates, core.Void) or any(c.name != "certificate" for c in certificates):
            raise Reject("signature", "bad_signature_container")
        signer_at = signer_index(signed)    # the same helper re-queueing uses
        if signer_at is None:
            raise Reject("signature", "bad_signature_container")
        signer_der = certificates[signer_at].chosen.dump()
        _canonical_certificates(certificates, signer_at)
        only_our_root = all(choice.chosen.dump() == root_der    # besides the signer: our root, nothing else
                            for index, choice in enumerate(certificates) if index != signer_at)
        only_our_root = only_our_root and len(certificates) <= 2
        if len(ess) < 1 or ess[0]["hash_algorithm"]["algorithm"].native != "sha256" \
                or ess[0]["cert_hash"].native != hashlib.sha256(signer_der).digest():
            raise Reject("signature", "bad_signature_container")
        signed_attrs = attrs.untag().dump()                 # a DER SET OF, as it was signed
        signature = _canonical_signature_value(si["signature"].native)
        signer = x509.load_der_x509_certificate(signer_der)
    except Reject:
        raise
    except Exception as error:  # noqa: BLE001 - a malformed container is a reason, not a crash
        raise Reject("signature", "bad_signature_container", type(error).__name__) from None
    sha = hashlib.sha256()
    sha.update(memoryview(data)[:found.b])
    sha.update(memoryview(data)[found.c:found.c + found.d])
    if digest != sha.digest():
        raise Reject("signature", "signature_broken")
    key_id = key_id_of(signer.public_key())
    seal = context.seal_keys.get(key_id)
    key = signer.public_key()
    if seal is not None and _spki(seal[1]) != _spki(key):
        seal = None
    try:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise InvalidSignature()
        (seal[1] if seal else key).verify(signature, signed_attrs, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        raise Reject("signature", "signature_invalid") from None
    if seal is not None and not only_our_root:   # our key, but someone swapped the embedded root
        raise Reject("signature", "bad_signature_container")
    return key_id, seal, signer


def _ber_length(contents: bytes) -> bool:
    """The container starts as a SEQUENCE with an indefinite or over-long (BER) length."""
    if len(contents) < 2 or contents[0] != 0x30 or contents[1] < 0x80:
        return False
    count = contents[1] & 0x7F
    return count == 0 or count > 3


def _canonical_algorithms(signed, si) -> None:
    """Versions and algorithm identifiers exactly as certcli writes them.  None of
    them is covered by the signature value, so they are what a re-encoder edits."""
    if signed["version"].native != "v1" or si["version"].native != "v1":
        raise Reject("signature", NON_CANONICAL, "version")
    if signed["digest_algorithms"].dump() != _DIGEST_ALGORITHMS or si["digest_algorithm"].dump() != _DIGEST_ALGORITHM \
            or si["signature_algorithm"].dump() != _SIGNATURE_ALGORITHM:
        raise Reject("signature", NON_CANONICAL, "algorithm")


def _canonical_certificates(certificates, signer_at: int) -> None:
    """certcli embeds exactly two certificates, the seal's and the root that issued
    it, in DER (sorted) order: nothing dropped, added or moved.  (Whether that root
    is *ours* is checked once the seal key is known.)"""
    if len(certificates) != 2:
        raise Reject("signature", NON_CANONICAL, "certificates")
    encoded = [choice.dump() for choice in certificates]
    if encoded != sorted(encoded):                      # a SET OF: DER sorts its members
        raise Reject("signature", NON_CANONICAL, "certificates")
    signer = certificates[signer_at].chosen
    root = certificates[1 - signer_at].chosen
    if root["tbs_certificate"]["subject"].dump() != signer["tbs_certificate"]["issuer"].dump():
        raise Reject("signature", NON_CANONICAL, "certificates")


def _canonical_signature_value(signature: bytes) -> bytes:
    """The ECDSA value: DER ``SEQUENCE {r, s}`` with minimal INTEGERs and low S
    (``0 < s <= n/2``).  (r, n - s) verifies as well as (r, s): accepting both
    would let anyone turn a genuine document into a different, still valid one."""
    from asn1crypto import algos

    try:
        value = algos.DSASignature.load(signature, strict=True)
        r, s = value["r"].native, value["s"].native
        minimal = algos.DSASignature({"r": r, "s": s}).dump() == signature
    except (ValueError, TypeError, KeyError):
        raise Reject("signature", NON_CANONICAL, "signature value") from None
    if not minimal:
        raise Reject("signature", NON_CANONICAL, "signature value")
    if not (0 < r < P256_ORDER and 0 < s <= P256_ORDER // 2):
        raise Reject("signature", NON_CANONICAL, "high S" if P256_ORDER // 2 < s < P256_ORDER else "signature value")
    return signature


def _spki(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
