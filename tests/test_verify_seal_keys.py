"""certcli verify after the issuer changes its seal keys (issue 5): a rotated key, the trust
bundles before and after, a retired (compromised) key and the documents signed again.  Each test
rotates or retires keys, so each builds a genuine home of its own (``fresh``,
tests/genuine_documents.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from genuine_documents import CERT_NO, iso
from genuine_documents import fresh  # noqa: F401 - the fixture


# --- trust bundles and key rotation ------------------------------------------------------------

def test_a_rotated_key_that_signs_after_its_rotation_is_refused(fresh, tmp_path):
    """Rotation is recorded (manifest and trust bundle); the old key's signatures
    count up to the rotation plus a grace hour for a processing run in flight."""
    from certcli.verification import checks as verification
    from certcli.pki.keys import IssuerKeys
    from certcli.documents.signing import PdfSealSigner
    from certcli.pki.trust_bundle import parse_trust_bundle
    from conftest import PASSPHRASE

    old_seal = IssuerKeys(fresh.cli.home / "keys").load_seal("ministry", PASSPHRASE.encode())
    rotated = fresh.run("admin", "rotate-seal", "ministry")
    assert rotated.code == 0, rotated.out
    old = next(s for s in rotated.json["seals"] if s["key_id"] == old_seal.info.key_id)
    assert old["status"] == "rotated"
    rotated_at = datetime.fromisoformat(old["rotated_at"])      # this home runs on the real clock
    bundle = parse_trust_bundle(fresh.export_bundle("after.pem").read_text("utf-8"))
    assert bundle.keys[old_seal.info.key_id][0].rotated_at == rotated_at
    original = fresh.pdf.read_bytes()
    unsigned = original[:original.index(b"%%EOF") + 6]          # the rendered page, before signing
    context = fresh.context()
    try:
        for delay, reason in ((timedelta(minutes=59), None), (timedelta(hours=1), "seal_rotated"),
                              (timedelta(days=3), "seal_rotated")):
            at = rotated_at + delay
            verdict = verification.verify_pdf(PdfSealSigner(old_seal).sign(unsigned, signing_time=at), context, at)
            seal_key = verdict.get("seal_key")
            assert (seal_key.ok, seal_key.reason) == ((True, "ok") if reason is None else (False, reason))
            if reason:
                assert verdict.reason == reason and not verdict.valid
    finally:
        context.close()
    assert fresh.verify(fresh.pdf).code == 0          # signed before the rotation: still valid


def test_rotation_keeps_old_documents_valid_and_new_bundle_verifies_both(fresh, tmp_path):
    old_bundle = fresh.bundle
    rotated = fresh.run("admin", "rotate-seal", "ministry")
    assert rotated.code == 0, rotated.out
    old_key, new_key = rotated.json["old_key_id"], rotated.json["new_key_id"]
    assert old_key != new_key
    fresh.login()
    assert fresh.run("renew", CERT_NO, "--days", "60").code == 0
    assert fresh.run("admin", "process").json["completed"] == 1
    new_pdf = tmp_path / "new.pdf"
    assert fresh.run("download", CERT_NO, "-o", new_pdf).code == 0
    new_bundle = fresh.export_bundle("trust-after.pem")
    empty = tmp_path / "empty"
    for pdf, key in ((fresh.pdf, old_key), (new_pdf, new_key)):
        for args in ((), ("--trust", new_bundle)):
            result = fresh.verify(pdf, *args, home=empty if args else None)
            assert result.code == 0, result.out
            assert result.json["facts"]["key_id"] == key
    assert fresh.verify("--qr", fresh.payload(), "--trust", new_bundle, home=empty).code == 0
    # A bundle exported before the rotation does not know the new key.
    stale = fresh.verify(new_pdf, "--trust", old_bundle, home=empty)
    assert stale.code == 1 and stale.json["reason"] == "unknown_seal_key"
    # The old document still ends with its own window.
    until = fresh.verify(fresh.pdf).json["facts"]["valid_until"]
    assert fresh.verify(fresh.pdf, now=until).json["reason"] == "annotation_expired"


def test_retired_key_invalidates_signatures_from_the_compromise_on(fresh, tmp_path):
    signed = datetime.fromisoformat(fresh.verify(fresh.pdf).json["facts"]["signed_at"])
    key_id = fresh.verify(fresh.pdf).json["facts"]["key_id"]
    # Compromised after signing: the document stays valid.
    after = fresh.run("admin", "retire-seal", key_id, "--compromised-at", iso(signed + timedelta(minutes=5)))
    assert after.code == 0, after.out
    assert after.json["rotated_to"]                                   # the active key was replaced
    assert after.json["requeued"] == {"annotations": [], "member_documents": []}
    new_key = after.json["rotated_to"]
    assert fresh.verify(fresh.pdf).code == 0
    bundle = fresh.export_bundle("retired.pem")
    assert "# status: retired" in bundle.read_text()
    assert fresh.verify(fresh.pdf, "--trust", bundle, home=tmp_path / "e").code == 0
    # Compromised at or before signing: not valid, from the home and from a fresh bundle.
    again = fresh.run("admin", "retire-seal", key_id, "--compromised-at", iso(signed))
    assert again.code == 0 and again.json["rotated_to"] is None
    result = fresh.verify(fresh.pdf)
    assert result.code == 1 and result.json["reason"] == "seal_compromised"
    assert result.json["verdict"] == "NOT VALID: the seal key was retired: signed after it was compromised"
    bundle = fresh.export_bundle("retired2.pem")
    offline = fresh.verify(fresh.pdf, "--trust", bundle, home=tmp_path / "e")
    assert offline.code == 1 and offline.json["reason"] == "seal_compromised"
    assert fresh.verify("--qr", fresh.payload(), "--trust", bundle, home=tmp_path / "e").json["reason"] == \
        "seal_compromised"
    # The holder is owed a valid copy: the request was queued again, and is signed with the new key.
    assert len(again.json["requeued"]["annotations"]) == 1
    fresh.login()
    waiting = fresh.run("download", CERT_NO, "-o", tmp_path / "w.pdf")
    assert waiting.code == 4 and waiting.error_code == "annotation_pending"
    assert fresh.run("admin", "process").json["completed"] == 1
    reissued = tmp_path / "reissued.pdf"
    assert fresh.run("download", CERT_NO, "-o", reissued).code == 0
    check = fresh.verify(reissued)
    assert check.code == 0 and check.json["facts"]["key_id"] == new_key, check.out
    assert check.json["facts"]["valid_until"] == fresh.verify(fresh.pdf).json["facts"]["valid_until"]
    # Issuing goes on with the replacement key.
    assert fresh.run("renew", CERT_NO, "--days", "60").code == 0
    assert fresh.run("admin", "process").json["completed"] == 1
    new_pdf = tmp_path / "new.pdf"
    assert fresh.run("download", CERT_NO, "-o", new_pdf).code == 0
    assert fresh.verify(new_pdf).code == 0


def test_retired_key_backdated_forgery_needs_the_store(fresh):
    """With the issuer's store at hand a retired key only vouches for documents the
    store issued: a file the store never saw is refused even if /M is backdated."""
    from certcli.verification import checks as verification

    key_id = fresh.verify(fresh.pdf).json["facts"]["key_id"]
    signed = datetime.fromisoformat(fresh.verify(fresh.pdf).json["facts"]["signed_at"])
    assert fresh.run("admin", "retire-seal", key_id, "--compromised-at", iso(signed + timedelta(hours=1))).code == 0
    context = fresh.context()
    assert verification.verify_pdf(fresh.pdf.read_bytes(), context, signed + timedelta(hours=2)).valid
    context.close()
    from conftest import store_execute

    store_execute(fresh.cli.home, "UPDATE annotations SET document_sha256 = NULL",   # as if the store
                  "DELETE FROM documents", "DELETE FROM issued_documents")           # never issued it
    context = fresh.context()
    verdict = verification.verify_pdf(fresh.pdf.read_bytes(), context, signed + timedelta(hours=2))
    assert not verdict.valid and verdict.reason == "seal_compromised"
    context.close()


def test_seal_admin_errors(fresh):
    assert fresh.run("admin", "rotate-seal", "nope").code == 5
    assert fresh.run("admin", "retire-seal", "0000000000000000", "--compromised-at", "2026-01-01").code == 5
    assert fresh.run("admin", "retire-seal", "0000000000000000", "--compromised-at", "yesterday").code == 2
    wrong = fresh.run("admin", "rotate-seal", "ministry", env={"CERTCLI_KEY_PASSPHRASE": "wrong"})
    assert wrong.code == 3 and wrong.error_code == "wrong_passphrase"
    human = fresh.run("admin", "rotate-seal", "ministry", json_mode=False, lang="zh")
    assert human.code == 0 and "已更换密钥" in human.out
