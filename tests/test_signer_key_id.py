"""Which key signed a document: one helper (certcli.documents.cms) for verification
and for re-queueing after a key is retired, reading the CMS at its exact DER
length.  Stripping the zero padding instead cut short the ~1 in 256 signatures
whose DER ends in a 0x00 byte of its own, so re-queueing missed them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import blank_pdf

from certcli.certificates import requeue
from certcli.documents import cms
from certcli.documents.signing import PdfSealSigner
from certcli.pki.keys import IssuerKeys
from certcli.verification.context import Context
from certcli.verification.pdf import locate_signature, verify_pdf

CST = timezone(timedelta(hours=8))
PASS = b"seal passphrase"
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=CST)
MAX_TRIES = 6000   # P(no DER ending in 0x00) = (255/256)**6000 ≈ 6e-11; ~5 ms a signature


def _blank_pdf() -> bytes:
    return blank_pdf("2022ECO110100001")


@pytest.fixture(scope="module")
def seal_env(tmp_path_factory):
    keys = IssuerKeys(tmp_path_factory.mktemp("cms") / "keys")
    keys.init(PASS, NOW)
    seal = keys.load_seal("ministry", PASS)
    return {"keys": keys, "seal": seal, "signer": PdfSealSigner(seal)}


@pytest.fixture(scope="module")
def zero_ended(seal_env):
    """A genuine signed PDF whose CMS DER ends in 0x00: sign until one does."""
    pdf = _blank_pdf()
    for _ in range(MAX_TRIES):
        signed = seal_env["signer"].sign(pdf, signing_time=NOW)
        contents = locate_signature(signed).contents
        if cms.cms_der(contents)[-1] == 0:
            return signed
    pytest.fail("no signature DER ending in 0x00 found")


def test_a_der_ending_in_zero_names_its_signer(seal_env, zero_ended):
    key_id = seal_env["seal"].info.key_id
    contents = locate_signature(zero_ended).contents
    der = cms.cms_der(contents)
    assert der[-1] == 0 and contents[len(der):].strip(b"\0") == b""
    assert len(contents.rstrip(b"\0")) < len(der)          # what the old code parsed: cut short
    assert cms.signer_key_id(contents) == key_id
    assert requeue.signer_key_id(zero_ended) == key_id


def test_verification_reads_the_same_der(seal_env, zero_ended):
    """The signature stage accepts the genuine zero-ended DER (the document has no
    QR payload, so only the stages up to the signature are asked about)."""
    keys = seal_env["keys"]
    context = Context(keys.root_certificate(), keys.public_keys(), None)
    verdict = verify_pdf(zero_ended, context, NOW + timedelta(hours=1))
    checks = {c.name: c for c in verdict.checks}
    assert checks["signature"].ok is True, verdict.to_json()
    assert checks["signer_chain"].ok is True and checks["certification"].ok is True
    assert verdict.reason == "missing_qr"


def test_hand_built_padding(seal_env):
    """A /Contents built by hand: a DER whose last byte is 0x00, then zero padding."""
    signed = seal_env["signer"].sign(_blank_pdf(), signing_time=NOW)
    der = cms.cms_der(locate_signature(signed).contents)
    body = der[:-1] + b"\0"           # the same structure, its signature's last byte now 0x00
    assert cms.cms_der(body + b"\0" * 100) == body
    assert cms.signer_key_id(body + b"\0" * 100) == seal_env["seal"].info.key_id
    assert cms.signer_key_id(body) == seal_env["seal"].info.key_id
    with pytest.raises(ValueError):
        cms.cms_der(body + b"\0\x01\0")                      # padding must be zeros
    with pytest.raises(ValueError):
        cms.cms_der(body[:-2])                                 # shorter than its header says


@pytest.mark.parametrize("raw", [b"", b"\0" * 40, b"\x31\x03abc", b"\x30\x84\0\0\0\1x", b"\x30\x82\x01",
                                 b"\x30\x03abc", b"\x30\x00" + b"\0" * 8])
def test_garbage_names_no_signer(raw):
    assert cms.signer_key_id(raw) is None


def test_der_length_forms():
    assert cms.der_length(b"\x30\x05") == 7
    assert cms.der_length(b"\x30\x81\x80") == 3 + 0x80
    assert cms.der_length(b"\x30\x82\x01\x00") == 4 + 256
    for raw in (b"\x30", b"\x04\x01", b"\x30\x80", b"\x30\x84\0\0\0\1"):
        with pytest.raises(ValueError):
            cms.der_length(raw)
