"""Canonical signatures (issue 12): certcli writes one exact DER CMS with a low-S
ECDSA value, and verification accepts nothing else.

The attack corpus (high-S twins, reordered / dropped / added certificates, BER
lengths, NULL parameters, other ECDSA OIDs, non-minimal INTEGERs) is in
``tests/attack_corpus.py`` (``cms_*``); here: the signing side, and the checks one
by one on the verification stage itself.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from conftest import blank_pdf
from asn1crypto import algos, cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from certcli.documents.cms import P256_ORDER, cms_der, low_s
from certcli.documents.signing import PdfSealSigner
from certcli.pki.keys import IssuerKeys
from certcli.verification.context import Context, Reject
from certcli.verification.pdf import locate_signature

CST = timezone(timedelta(hours=8))
PASS = b"seal passphrase"
NOW = datetime.now(CST).replace(microsecond=0)


_pdf = blank_pdf


@pytest.fixture(scope="module")
def seal(tmp_path_factory):
    keys = IssuerKeys(tmp_path_factory.mktemp("canonical") / "keys")
    keys.init(PASS, NOW)
    return keys, keys.load_seal("ministry", PASS)


def _cms(pdf: bytes) -> bytes:
    return cms_der(locate_signature(pdf).contents)


def _s(der_signature: bytes) -> int:
    return decode_dss_signature(der_signature)[1]


def test_low_s_normalises_and_keeps_the_signature_valid(seal):
    _, loaded = seal
    key = loaded.private_key
    data = b"certcli low-S"
    seen_high = False
    for _ in range(64):                              # about half of raw ECDSA values are high-S
        raw = key.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(raw)
        seen_high |= s > P256_ORDER // 2
        fixed = low_s(raw)
        assert decode_dss_signature(fixed) == (r, min(s, P256_ORDER - s))
        assert low_s(fixed) == fixed == encode_dss_signature(*decode_dss_signature(fixed))
        key.public_key().verify(fixed, data, ec.ECDSA(hashes.SHA256()))    # still verifies
    assert seen_high


def test_every_signed_document_is_low_s_and_exact_der(seal):
    """Both ways the signer makes a CMS (the spliced template and pyHanko's own
    path through ``async_sign_raw``) write low-S; the container re-encodes to itself.
    24 documents: all low-S by luck alone would be a 1 in 16 million chance."""
    keys, loaded = seal
    signer = PdfSealSigner(loaded)
    for i in range(24):
        der = _cms(signer.sign(_pdf(f"document {i}"), signing_time=NOW - timedelta(minutes=1)))
        assert cms.ContentInfo.load(der).dump(force=True) == der
        si = cms.ContentInfo.load(der)["content"]["signer_infos"][0]
        signature = si["signature"].native
        assert _s(signature) <= P256_ORDER // 2
        assert algos.DSASignature.load(signature).dump(force=True) == signature
    for _ in range(16):                              # pyHanko's generic path (timestamps, other attributes)
        assert _s(asyncio.run(signer._signer.async_sign_raw(b"data", "sha256"))) <= P256_ORDER // 2


def test_certificates_are_the_seal_and_its_root_in_der_order(seal):
    keys, loaded = seal
    der = _cms(PdfSealSigner(loaded).sign(_pdf("order"), signing_time=NOW - timedelta(minutes=1)))
    certificates = [c.chosen.dump() for c in cms.ContentInfo.load(der)["content"]["certificates"]]
    from cryptography.hazmat.primitives.serialization import Encoding

    expected = {loaded.certificate.public_bytes(Encoding.DER), keys.root_certificate().public_bytes(Encoding.DER)}
    assert set(certificates) == expected and len(certificates) == 2
    assert certificates == sorted(certificates)      # DER: a SET OF is sorted by encoding


def _context(keys) -> Context:
    return Context(keys.root_certificate(), keys.public_keys(), None)


def _stage_two(pdf: bytes, keys):
    from certcli.verification.cms import check_cms

    found = locate_signature(pdf)
    assert found.reason == "ok"
    return check_cms(pdf, found, _context(keys))


def test_stage_two_accepts_ours_and_names_each_re_encoding(seal):
    """The CMS stage on its own: the genuine container passes; each edit of an unsigned
    part is ``non_canonical_signature`` with a short detail saying what differs."""
    from attack_corpus import ATTACKS

    keys, loaded = seal
    genuine = PdfSealSigner(loaded).sign(_pdf("stage two"), signing_time=NOW - timedelta(minutes=1))
    key_id, found_seal, _ = _stage_two(genuine, keys)
    assert found_seal is not None and key_id == loaded.info.key_id
    expected = {"cms_high_s": "high S", "cms_root_dropped": "certificates", "cms_certificate_added": "certificates",
                "cms_certificates_reordered": "certificates", "cms_ber_outer_long_length": "re-encoded",
                "cms_ber_outer_indefinite_length": "length", "cms_ber_outer_four_byte_length": "length",
                "cms_signature_algorithm_null_parameters": "algorithm",
                "cms_signature_algorithm_sha384_label": "algorithm", "cms_signed_data_version_changed": "version",
                "cms_signature_integer_not_minimal": "signature value"}
    for name, detail in expected.items():
        with pytest.raises(Reject) as caught:
            _stage_two(ATTACKS[name][0](genuine), keys)
        assert (caught.value.check, caught.value.reason, caught.value.detail) == \
            ("signature", "non_canonical_signature", detail), name
