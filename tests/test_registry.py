"""The issued-document registry (issue 12): with the store, a document is VALID only if the
issuer issued exactly it.  Driven through the real CLI; the registry is read straight from the
store (either backend: conftest.store_rows)."""
from __future__ import annotations

import hashlib
import json

import pytest

from conftest import HOLDER_ID, Cli, cert_row, copy_home_and_store, store_db, store_execute, store_of, store_rows, \
    write_roster
from test_trust_bundle import CERT_NO, EXEMPT_NO, T0, T1, Issuer, checks, payload


@pytest.fixture
def issuer(tmp_path) -> Issuer:
    return Issuer(tmp_path / "issuer")


def _rows(home) -> list[dict]:
    return store_rows(home, "SELECT * FROM issued_documents ORDER BY certificate_no, form")


def _copy(issuer: Issuer, name: str) -> Cli:
    """Issuer.copy with the store too (on PostgreSQL the issuer's database is not in the folder)."""
    thief = Cli(copy_home_and_store(issuer.cli.home, issuer.base / name))
    thief.now = T1
    return thief


def _message_digest(pdf: bytes) -> str:
    """The CMS messageDigest signed attribute, read independently of certcli."""
    import re

    from asn1crypto import cms

    match = re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", pdf)
    signed = cms.ContentInfo.load(bytes.fromhex(match.group(1).decode()), strict=False)   # padding ignored
    attrs = signed["content"]["signer_infos"][0]["signed_attrs"]
    return next(a["values"][0].native for a in attrs if a["type"].native == "message_digest").hex()


def test_processing_records_each_document_and_its_qr_in_the_same_transaction(issuer):
    from certcli.documents.qrpayload import signed_digest

    rows = _rows(issuer.cli.home)
    assert [(r["certificate_no"], r["form"]) for r in rows] == [(EXEMPT_NO, "pdf"), (EXEMPT_NO, "qr"),
                                                                 (CERT_NO, "pdf"), (CERT_NO, "qr")]
    by = {(r["certificate_no"], r["form"]): r for r in rows}
    for number, pdf in ((CERT_NO, issuer.pdf), (EXEMPT_NO, issuer.exempt)):
        data = pdf.read_bytes()
        record = by[(number, "pdf")]
        # the signed digest (CMS messageDigest over the /ByteRange), never the whole file's hash
        assert record["digest"] == _message_digest(data) != hashlib.sha256(data).hexdigest()
        assert record["document_sha256"] == hashlib.sha256(data).hexdigest()
        assert by[(number, "qr")]["digest"] == signed_digest(payload(pdf))
        assert record["name"] == "王小明" and record["signed_at"] == T0
        assert record["key_id"] == issuer.verify(pdf).json["facts"]["key_id"]
    assert by[(CERT_NO, "pdf")]["qualification"] == "造价工程师" and by[(CERT_NO, "pdf")]["seal_id"] == "ministry"
    assert by[(CERT_NO, "pdf")]["document_no"] and by[(CERT_NO, "pdf")]["document_no"] == by[(CERT_NO, "qr")]["document_no"]
    # each completed request has its registry rows: none without, none extra
    completed = {row["document_sha256"] for row in
                 store_rows(issuer.cli.home, "SELECT document_sha256 FROM annotations WHERE status = 'completed'")}
    assert completed == {r["document_sha256"] for r in rows}


def test_genuine_documents_are_valid_with_the_store_and_name_their_record(issuer):
    for args in ((issuer.pdf,), (issuer.exempt,), ("--qr", payload(issuer.pdf)), ("--qr", payload(issuer.exempt))):
        result = issuer.verify(*args)
        assert result.code == 0, result.out
        assert checks(result)["issued"]["ok"] is True


def test_a_never_issued_certificate_number_is_not_valid_with_the_store(issuer):
    """A copy of the issuer's home issues a number the issuer never issued and signs it: every
    signature is genuine, the issuer's store has no such certificate and no such document."""
    thief = _copy(issuer, "thief")
    roster = write_roster(issuer.base / "fake.csv", [cert_row(no="2024CST450199999", qualification="造价工程师",
                                                              level="一级", issued_on="2024-02-01")])
    assert thief("admin", "issue", roster).code == 0
    assert thief("login", "--id-number", HOLDER_ID).code == 0
    assert thief("annotate", "2024CST450199999", "--days", "30").code == 0
    assert thief("admin", "process").json["completed"] == 1
    forged = issuer.base / "never.pdf"
    assert thief("download", "2024CST450199999", "-o", forged).code == 0
    assert thief("verify", forged).code == 0                                     # the thief's own store agrees
    for args in ((forged,), ("--qr", payload(forged))):
        result = issuer.verify(*args, now=T1)
        assert result.code == 1, result.out
        assert result.json["reason"] == "not_issued"
        assert checks(result)["issued"]["reason"] == "not_issued"
        assert checks(result)["certificate_status"] == {"name": "certificate_status", "ok": False,
                                                        "reason": "not_issued", "detail": ""}
    human = issuer.verify(forged, now=T1, json_mode=False)
    assert human.out.splitlines()[0] == "NOT VALID: the issuer never issued this (it is not in the issuer's records)"
    # a well-signed document of a real certificate that the issuer never recorded: its own reason too
    thief2 = _copy(issuer, "thief2")
    assert thief2("login", "--id-number", HOLDER_ID).code == 0
    assert thief2("renew", CERT_NO, "--days", "60").code == 0
    assert thief2("admin", "process").json["completed"] == 1
    unrecorded = issuer.base / "unrecorded.pdf"
    assert thief2("download", CERT_NO, "-o", unrecorded).code == 0
    for args in ((unrecorded,), ("--qr", payload(unrecorded))):
        result = issuer.verify(*args, now=T1)
        assert result.code == 1 and result.json["reason"] == "not_issued", result.out
        assert checks(result)["certificate_status"]["ok"] is True            # the certificate itself is fine


def test_the_record_must_match_the_certificate(issuer):
    """The digest is recorded, but the certificate no longer says what the document says."""
    store_execute(issuer.cli.home, ("UPDATE certificates SET name = '王晓明' WHERE certificate_no = ?", (CERT_NO,)))
    for args in ((issuer.pdf,), ("--qr", payload(issuer.pdf))):
        result = issuer.verify(*args)
        assert result.code == 1 and result.json["reason"] == "document_mismatch", result.out
        assert checks(result)["issued"]["detail"] == "name"


def test_old_store_is_backfilled_once_and_until_then_says_so(issuer):
    home = issuer.cli.home
    recorded = _rows(home)
    from certcli import schema

    store_execute(home, "DROP TABLE issued_documents",           # a store from before the registry
                  "DROP INDEX idx_certificates_seal", "DELETE FROM meta WHERE key = 'issued_registry'")
    result = issuer.verify(issuer.pdf)                           # read-only: nothing migrated, nothing guessed
    assert result.code == 1 and result.json["reason"] == "registry_not_ready", result.out
    with store_db(home) as db:                                   # its migration: an empty registry, not ready
        schema._v4_issued_documents(db)
    db.close()
    assert issuer.verify(issuer.pdf).json["reason"] == "registry_not_ready"
    assert issuer.verify("--qr", payload(issuer.pdf)).json["reason"] == "registry_not_ready"
    assert issuer.cli("admin", "process").code == 0              # process (or trust, rotate, retire) backfills
    assert sorted(map(sorted, (r.items() for r in _rows(home)))) == sorted(map(sorted, (r.items() for r in recorded)))
    for args in ((issuer.pdf,), (issuer.exempt,), ("--qr", payload(issuer.pdf))):
        assert issuer.verify(*args).code == 0
    assert issuer.cli("admin", "trust").code == 0                # idempotent: nothing added twice
    assert len(_rows(home)) == len(recorded)
    entries = store_rows(home, "SELECT details FROM audit_log WHERE action = 'registry_backfill'")
    assert len(entries) == 1 and json.loads(entries[0]["details"])["documents"] == 2
    assert issuer.cli("admin", "audit", "verify").code == 0


def test_rotate_seal_closes_a_ledger_without_parsing_a_pdf(issuer, monkeypatch):
    from certcli.certificates import registry

    def no_pdf_parsing(*args, **kwargs):
        raise AssertionError("rotate-seal parsed a PDF")

    monkeypatch.setattr(registry, "pdf_facts", no_pdf_parsing)
    monkeypatch.setattr(registry, "_payload", no_pdf_parsing)
    old = issuer.key_id("ministry")
    rotated = issuer.cli("admin", "rotate-seal", "ministry", now=T1)
    assert rotated.code == 0, rotated.out
    store = store_of(issuer.cli.home)
    try:
        ledger = registry.ledger(store, old)
    finally:
        store.close()
    assert rotated.json["ledger"] == {"count": 2, "sha256": ledger.sha256}
    assert "its ledger" in issuer.cli("admin", "rotate-seal", "ministry", now=T1, json_mode=False).out
