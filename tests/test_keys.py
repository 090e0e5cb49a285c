"""Issuer PKI: files, encryption at rest, certificates, rotation, trust bundle."""
from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certcli.errors import BadInput, BadTrustBundle, KeyProblem, NotFound, WrongPassphrase
from certcli.pki.keys import (
    MINISTRY_SEAL_NAME,
    IssuerKeys,
    key_id_of,
    quiet_subject,
)
from certcli.pki.trust_bundle import parse_trust_bundle


def issuer_bundle_pem(keys: IssuerKeys, passphrase: bytes | None = None) -> str:
    """The signed bundle of a keys folder alone (no store: no certificates, no revocations)."""
    from certcli.certificates.trust import publish

    return publish(keys, None, passphrase or PASS, NOW).text

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=CST)
PASS = b"correct horse battery staple"


@pytest.fixture
def keys(tmp_path) -> IssuerKeys:
    k = IssuerKeys(tmp_path / "home" / "keys")
    k.init(PASS, NOW)
    return k


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_init_layout_and_modes(keys):
    assert keys.exists()
    assert stat.S_IMODE(keys.dir.stat().st_mode) == 0o700
    files = list(keys.dir.iterdir())
    assert {p.name for p in files} >= {"manifest.json"}
    assert len([p for p in files if p.name.endswith(".key.pem")]) == 2   # root + ministry
    for p in files:
        if p.name.endswith(".key.pem") or p.name == "manifest.json":
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    assert not [p for p in files if p.name.startswith(".")], "temp files left behind"


def test_private_keys_encrypted_at_rest(keys):
    for p in keys.dir.glob("*.key.pem"):
        data = p.read_bytes()
        assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert b"BEGIN PRIVATE KEY" not in data and b"BEGIN EC PRIVATE KEY" not in data
        with pytest.raises(TypeError):
            serialization.load_pem_private_key(data, password=None)
        with pytest.raises(ValueError):  # the passphrase alone is not the key: it is scrypt-stretched first
            serialization.load_pem_private_key(data, password=PASS)
        key = serialization.load_pem_private_key(data, password=keys._stretch(PASS))
        assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"


def test_wrong_passphrase(keys):
    with pytest.raises(WrongPassphrase):
        keys.check_passphrase(b"wrong")
    with pytest.raises(WrongPassphrase):
        keys.load_seal("ministry", b"wrong")
    with pytest.raises(WrongPassphrase):
        keys.load_seal("ministry", b"")
    keys.check_passphrase(PASS)
    loaded = keys.load_seal("ministry", PASS)
    assert key_id_of(loaded.private_key.public_key()) == loaded.info.key_id
    assert loaded.chain == [keys.root_certificate()]


def test_init_refuses_existing_keys(keys):
    before = _snapshot(keys.dir)
    with pytest.raises(KeyProblem):
        IssuerKeys(keys.dir).init(PASS, NOW)
    assert _snapshot(keys.dir) == before


def test_init_rejects_empty_passphrase(tmp_path):
    with pytest.raises(KeyProblem):
        IssuerKeys(tmp_path / "k").init(b"", NOW)


def test_ensure_seal_wrong_passphrase_leaves_no_state(keys):
    before = _snapshot(keys.dir)
    with pytest.raises(WrongPassphrase):
        keys.ensure_seal("assoc-3f2a9c1d", "中国拍卖行业协会", b"wrong", NOW)
    assert _snapshot(keys.dir) == before
    assert [s.seal_id for s in IssuerKeys(keys.dir).seals()] == ["ministry"]


def test_ensure_seal_creates_once(keys):
    info = keys.ensure_seal("assoc-3f2a9c1d", "中国拍卖行业协会", PASS, NOW)
    assert info.status == "active" and info.name == "中国拍卖行业协会"
    again = keys.ensure_seal("assoc-3f2a9c1d", "中国拍卖行业协会", b"not even checked", NOW)
    assert again == info
    fresh = IssuerKeys(keys.dir)                     # re-read from disk
    assert fresh.active_seal("assoc-3f2a9c1d") == info
    assert fresh.load_seal("assoc-3f2a9c1d", PASS).info == info
    with pytest.raises(BadInput):
        keys.ensure_seal("Bad_Id", "x", PASS, NOW)
    with pytest.raises(BadInput):
        keys.ensure_seal("too-long", "名" * 65, PASS, NOW)


def test_missing_seal_not_found(keys):
    with pytest.raises(NotFound):
        keys.active_seal("nope")
    with pytest.raises(NotFound):
        keys.load_seal("nope", PASS)


def _ext(cert, cls):
    return cert.extensions.get_extension_for_class(cls)


def test_certificate_profile(keys):
    root = keys.root_certificate()
    seal = keys.load_seal("ministry", PASS)
    cert = seal.certificate
    bc = _ext(root, x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = _ext(root, x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    root_ski = _ext(root, x509.SubjectKeyIdentifier).value
    assert quiet_subject(root) == root.issuer
    root.verify_directly_issued_by(root)

    bc = _ext(cert, x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    ku = _ext(cert, x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    assert _ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == root_ski.digest
    assert _ext(cert, x509.SubjectKeyIdentifier).value.digest
    subject = quiet_subject(cert)
    cn = subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    org = subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert cn == org == MINISTRY_SEAL_NAME == seal.info.name
    cert.verify_directly_issued_by(root)
    assert cert.not_valid_before_utc == NOW - timedelta(days=1)
    assert root.not_valid_before_utc == NOW - timedelta(days=1)
    assert cert.not_valid_after_utc.year - cert.not_valid_before_utc.year == 10
    assert root.not_valid_after_utc.year - root.not_valid_before_utc.year == 20
    assert seal.info.not_before == cert.not_valid_before_utc
    for c in (root, cert):
        assert isinstance(c.public_key(), ec.EllipticCurvePublicKey)
        assert c.public_key().curve.name == "secp256r1"
        assert c.signature_hash_algorithm.name == "sha256"


def test_key_id_definition(keys):
    info = keys.active_seal("ministry")
    cert = keys.load_seal("ministry", PASS).certificate
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    assert info.key_id == hashlib.sha256(spki).digest()[:8].hex()
    assert len(info.key_id) == 16


def test_rotate_and_retire_update_manifest(keys):
    old = keys.active_seal("ministry")
    later = NOW + timedelta(days=30)
    new = keys.rotate_seal("ministry", PASS, later)
    assert new.key_id != old.key_id and new.status == "active"
    assert new.not_before == later - timedelta(days=1)
    manifest = json.loads((keys.dir / "manifest.json").read_text("utf-8"))
    status = {e["key_id"]: e["status"] for e in manifest["seals"]}
    assert status == {old.key_id: "rotated", new.key_id: "active"}
    assert IssuerKeys(keys.dir).active_seal("ministry").key_id == new.key_id
    assert keys.load_seal("ministry", PASS).info.key_id == new.key_id

    with pytest.raises(WrongPassphrase):
        keys.retire_seal(old.key_id, NOW + timedelta(days=3), b"wrong")
    retired = keys.retire_seal(old.key_id, NOW + timedelta(days=3), PASS)
    assert retired.status == "retired" and retired.retired_at == NOW + timedelta(days=3)
    manifest = json.loads((keys.dir / "manifest.json").read_text("utf-8"))
    entry = next(e for e in manifest["seals"] if e["key_id"] == old.key_id)
    assert entry["status"] == "retired" and entry["retired_at"].startswith("2026-03-04T02:00:00")
    pub = IssuerKeys(keys.dir).public_keys()                  # both kept for verification
    assert set(pub) == {old.key_id, new.key_id}
    assert pub[old.key_id][0].status == "retired"
    with pytest.raises(NotFound):
        keys.retire_seal("0000000000000000", NOW, PASS)
    with pytest.raises(NotFound):
        keys.rotate_seal("nope", PASS, NOW)


def test_trust_bundle_is_public_and_parses_back(keys):
    keys.ensure_seal("assoc-1", "中国拍卖行业协会", PASS, NOW)
    old = keys.active_seal("ministry")
    keys.rotate_seal("ministry", PASS, NOW + timedelta(days=1))
    keys.retire_seal(old.key_id, NOW + timedelta(days=2), PASS)
    pem = issuer_bundle_pem(keys)
    assert "PRIVATE" not in pem and "ENCRYPTED" not in pem
    assert pem.count("-----BEGIN CERTIFICATE-----") == 4
    for info in keys.seals():
        assert f"# key_id: {info.key_id}" in pem
        assert f"# seal_id: {info.seal_id}" in pem
    assert "# status: retired" in pem and "# status: active" in pem

    bundle = parse_trust_bundle(pem)
    assert bundle.root == keys.root_certificate()
    expected = keys.public_keys()
    assert set(bundle.keys) == set(expected)
    for kid, (info, public_key) in bundle.keys.items():
        assert info == expected[kid][0]
        assert public_key == expected[kid][1]


def test_trust_bundle_rejects_foreign_or_private(keys, tmp_path):
    other = IssuerKeys(tmp_path / "other")
    other.init(b"x", NOW)
    mine = issuer_bundle_pem(keys)
    theirs = issuer_bundle_pem(other, b"x")
    foreign_seal = theirs[theirs.index("# seal_id"):]
    with pytest.raises(BadTrustBundle):
        parse_trust_bundle(mine + foreign_seal)
    with pytest.raises(BadTrustBundle):
        parse_trust_bundle(foreign_seal)                       # no root at all
    key_pem = next(keys.dir.glob("root-*.key.pem")).read_text()
    with pytest.raises(BadTrustBundle) as refused:
        parse_trust_bundle(mine + key_pem)
    assert refused.value.reason == "bundle_contains_private_key"
    # their seal certificate in place of ours: the signed manifest names another certificate
    seal_pem = lambda text: text[text.index("-----BEGIN CERTIFICATE-----", text.index("# seal_id")):]
    ours, foreign = seal_pem(mine), seal_pem(theirs)
    ours = ours[:ours.index("-----END CERTIFICATE-----")]
    foreign = foreign[:foreign.index("-----END CERTIFICATE-----")]
    with pytest.raises(BadTrustBundle) as refused:
        parse_trust_bundle(mine.replace(ours, foreign))
    assert refused.value.reason == "bundle_certificate_mismatch"


def test_light_modules_do_not_import_pyhanko():
    code = ("import sys, certcli.pki.keys, certcli.documents.qrpayload, certcli.documents.signing; "
            "print(sorted(m for m in sys.modules if m.startswith('pyhanko')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], check=True)
    assert out.stdout.strip() == "[]"
