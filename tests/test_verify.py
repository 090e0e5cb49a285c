"""certcli verify (issue 5): PDF, offline QR, public lookup, trust bundles, key rotation.

Genuine documents come from our own pipeline.  Keys are made at the real time
(pdfsig checks certificates against the wall clock), so these flows run with
CERTCLI_NOW empty; a later ``now`` is passed explicitly to test windows.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import HOLDER_ID, Cli, cert_row, write_roster

REAL = {"CERTCLI_NOW": ""}
CERT_NO, EXEMPT_NO = "2024CST450100004", "2019TAX310100003"
PDF_CHECKS = ["pdf_structure", "byte_range", "coverage", "signature", "signer_chain", "seal_key",
              "certification", "qr_signature", "issued", "certificate_status", "annotation_window"]




class Genuine:
    """A home with keys, two certificates, one holder, and their downloaded PDFs."""

    def __init__(self, base: Path):
        self.base = base
        self.cli = Cli(base / "home")
        self.cli.now = None
        base.mkdir(parents=True, exist_ok=True)
        assert self.run("admin", "init").code == 0
        roster = write_roster(base / "r.csv", [
            cert_row(no=CERT_NO, qualification="造价工程师", level="一级", issued_on="2024-02-01"),
            cert_row(no=EXEMPT_NO, seal="association", issuer="中国注册税务师协会", qualification="税务师", level="",
                     issued_on="2019-06-20")])
        assert self.run("admin", "issue", roster).code == 0
        assert self.run("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
        self.login()
        assert self.run("annotate", CERT_NO, "--days", "30").code == 0
        self.run("download", EXEMPT_NO, "-o", base / "exempt.pdf")        # queues the exempt copy
        assert self.run("admin", "process").json["completed"] == 2
        self.pdf, self.exempt = base / "cert.pdf", base / "exempt.pdf"
        assert self.run("download", CERT_NO, "-o", self.pdf).code == 0
        assert self.run("download", EXEMPT_NO, "-o", self.exempt).code == 0
        self.bundle = self.export_bundle("trust.pem")
        from cryptography.hazmat.primitives.serialization import Encoding

        from certcli.pki.keys import IssuerKeys

        self.root = base / "root.pem"
        self.root.write_bytes(IssuerKeys(self.cli.home / "keys").root_certificate().public_bytes(Encoding.PEM))

    def run(self, *args, env=None, **kwargs):
        return self.cli(*args, env={**REAL, **(env or {})}, **kwargs)

    def login(self):
        assert self.run("login", "--id-number", HOLDER_ID).code == 0
        assert self.run("agree", "--yes").code == 0

    def export_bundle(self, name: str) -> Path:
        path = self.base / name
        assert self.run("admin", "trust", "-o", path).code == 0
        return path

    def verify(self, *args, now: str | None = None, home: Path | None = None, lang="en", json_mode=True):
        env = {"CERTCLI_NOW": now or ""}
        extra = ["--home", home] if home is not None else []
        return self.cli("verify", *args, *extra, env=env, lang=lang, json_mode=json_mode)

    def payload(self, pdf: Path | None = None) -> str:
        from io import BytesIO

        from pypdf import PdfReader

        return str(PdfReader(BytesIO((pdf or self.pdf).read_bytes())).metadata["/CertcliQR"])

    def context(self, trust: Path | None = None):
        from certcli.verification.checks import Context

        return Context.load(self.cli.home, trust)


def make_genuine(base: Path) -> Genuine:
    return Genuine(base)


def iso(instant: datetime) -> str:
    return instant.isoformat()


@pytest.fixture(scope="module")
def genuine(tmp_path_factory) -> Genuine:
    return make_genuine(tmp_path_factory.mktemp("verify"))


@pytest.fixture
def fresh(tmp_path) -> Genuine:
    """A home of its own, for tests that rotate or retire keys."""
    return make_genuine(tmp_path / "g")


def _checks(outcome) -> dict:
    return {c["name"]: c for c in outcome.json["checks"]}


# --- PDF: genuine documents ---------------------------------------------------------

def test_genuine_documents_valid_with_every_check_named(genuine):
    for pdf, window in ((genuine.pdf, "ok"), (genuine.exempt, "no_annotation")):
        result = genuine.verify(pdf)
        assert result.code == 0, result.out
        document = result.json
        assert document["valid"] and document["reason"] == "ok" and document["kind"] == "pdf"
        assert [c["name"] for c in document["checks"]] == PDF_CHECKS
        assert all(c["ok"] is True for c in document["checks"]), document
        assert _checks(result)["annotation_window"]["reason"] == window
        assert document["verdict"].startswith("VALID:")
        assert HOLDER_ID not in result.out and "王小明" not in result.out      # masked name only


def test_genuine_document_offline_with_bundle_in_empty_home(genuine, tmp_path):
    result = genuine.verify(genuine.pdf, "--trust", genuine.bundle, home=tmp_path / "empty")
    assert result.code == 0, result.out
    status = _checks(result)["certificate_status"]
    # no store: the signed bundle's revocation list, as of its date
    assert status["ok"] is True and status["reason"] == "not_revoked_as_of", status
    assert result.json["bundle_issued_at"] and "(status as of " in result.json["verdict"]
    issued = _checks(result)["issued"]                 # an active key: only the issuer's registry knows
    assert issued["ok"] is None and issued["reason"] == "registry_offline"


def test_no_trust_at_all_is_a_key_problem(genuine, tmp_path):
    for args in ((genuine.pdf,), ("--qr", genuine.payload())):
        result = genuine.verify(*args, home=tmp_path / "empty")
        assert result.code == 7 and result.error_code == "key_problem"


def test_human_output_one_sentence_in_both_languages(genuine, tmp_path):
    en = genuine.verify(genuine.pdf, json_mode=False)
    zh = genuine.verify(genuine.pdf, json_mode=False, lang="zh")
    assert en.code == zh.code == 0
    assert en.out.splitlines()[0].startswith("VALID: a genuine certificate signed by the issuer")
    assert "annotation valid through" in en.out.splitlines()[0]   # its last usable day, in words
    assert zh.out.splitlines()[0].startswith("有效：签发机构签发的真实证书，签名后未被修改")
    assert "Certificate no.: " + CERT_NO in en.out and "证书编号: " + CERT_NO in zh.out
    data = bytearray(genuine.pdf.read_bytes())
    data[data.index(b"/CertcliQR") + 20] ^= 1
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(bytes(data))
    en = genuine.verify(forged, json_mode=False)
    zh = genuine.verify(forged, json_mode=False, lang="zh")
    assert en.code == zh.code == 1
    assert en.out.splitlines()[0] == "NOT VALID: changed after signing"
    assert zh.out.splitlines()[0] == "无效：签名后被修改"
    assert "Traceback" not in en.out + en.err + zh.out + zh.err
    assert genuine.verify(forged, lang="zh").json["verdict"] == "无效：签名后被修改"


def test_annotation_window_and_exemption_over_time(genuine):
    until = genuine.verify(genuine.pdf).json["facts"]["valid_until"]
    end = datetime.fromisoformat(until)
    before = genuine.verify(genuine.pdf, now=iso(end - timedelta(seconds=1)))
    at = genuine.verify(genuine.pdf, now=iso(end))
    assert before.code == 0
    assert at.code == 1 and at.json["reason"] == "annotation_expired"
    assert at.json["verdict"] == "NOT VALID: the annotation has expired"
    later = datetime.fromisoformat(genuine.verify(genuine.exempt).json["facts"]["signed_at"]) + timedelta(days=5 * 365)
    assert genuine.verify(genuine.exempt, now=iso(later)).code == 0          # exempt: no window


def test_a_recorded_document_outlives_its_seal_certificate(genuine):
    """The chain model (issue 16): signed while the seal certificate was valid and in the issuer's
    registry, it stays valid after the certificate ends (tests/test_long_term.py has the rest)."""
    from certcli.pki.keys import IssuerKeys

    key_id = genuine.verify(genuine.exempt).json["facts"]["key_id"]
    seal = next(s for s in IssuerKeys(genuine.cli.home / "keys").seals() if s.key_id == key_id)
    result = genuine.verify(genuine.exempt, now=iso(seal.not_after))
    assert result.code == 0, result.out
    assert _checks(result)["signer_chain"]["reason"] == "valid_at_signing"
    assert _checks(result)["seal_key"]["reason"] == "signed_while_valid"
    before = genuine.verify(genuine.exempt, now=iso(seal.not_after - timedelta(days=1)))
    assert before.code == 0 and _checks(before)["seal_key"]["reason"] == "ok"


def test_before_signing_nothing_is_valid_yet(genuine):
    signed = datetime.fromisoformat(genuine.verify(genuine.pdf).json["facts"]["signed_at"])
    result = genuine.verify(genuine.pdf, now=iso(signed - timedelta(minutes=1)))
    assert result.code == 1 and result.json["reason"] == "not_yet_valid"


def test_revoked_certificate_is_not_valid(fresh, tmp_path):
    assert fresh.run("admin", "revoke", CERT_NO, "--reason", "issued in error").code == 0
    result = fresh.verify(fresh.pdf)
    assert result.code == 1 and result.json["reason"] == "certificate_revoked"
    qr = fresh.verify("--qr", fresh.payload())
    assert qr.code == 1 and qr.json["reason"] == "certificate_revoked"
    lookup = fresh.verify("--number", CERT_NO, "--name", "王小明")
    assert lookup.code == 1 and lookup.json["reason"] == "certificate_revoked"


# --- malformed input ---------------------------------------------------------------

def test_malformed_files_give_a_reason_never_a_traceback(genuine, tmp_path):
    data = genuine.pdf.read_bytes()
    cases = {
        "text.pdf": (b"hello, I am not a PDF\n", "not_a_pdf"),
        "empty.pdf": (b"", "not_a_pdf"),
        "half.pdf": (data[: len(data) // 2], "truncated"),
        "cut.pdf": (data[:-100], "truncated"),
        "header-only.pdf": (b"%PDF-1.7\n", "truncated"),
        "binary.pdf": (b"%PDF-1.4\n" + bytes(range(256)) * 50, "truncated"),
        "unsigned.pdf": (_unsigned_pdf(), "unsigned"),
    }
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        for json_mode in (True, False):
            result = genuine.verify(path, json_mode=json_mode)
            assert result.code == 1, (name, result.out, result.err)
            assert "Traceback" not in result.out + result.err
        assert genuine.verify(path).json["reason"] == reason, name


def _unsigned_pdf() -> bytes:
    from io import BytesIO

    from reportlab.pdfgen import canvas

    out = BytesIO()
    page = canvas.Canvas(out)
    page.drawString(100, 700, "Certificate")
    page.save()
    return out.getvalue()


def test_missing_file_directory_and_bad_bundle_exit_6(genuine, tmp_path):
    assert genuine.verify(tmp_path / "nope.pdf").error_code == "bad_input"
    assert genuine.verify(tmp_path).code == 6
    bad = tmp_path / "bad.pem"
    bad.write_text("not a bundle")
    assert genuine.verify(genuine.pdf, "--trust", bad).code == 6
    assert genuine.verify(genuine.pdf, "--trust", tmp_path / "missing.pem").code == 6


def test_too_large_is_refused_unread(genuine, tmp_path):
    from certcli.verification.checks import MAX_PDF_BYTES

    big = tmp_path / "big.pdf"
    with open(big, "wb") as handle:
        handle.write(genuine.pdf.read_bytes())
        handle.truncate(MAX_PDF_BYTES + 10)                 # sparse: no disk used
    result = genuine.verify(big)
    assert result.code == 1 and result.json["reason"] == "too_large"


def test_encrypted_pdf_is_named(genuine, tmp_path):
    from conftest import need_tool
    import subprocess

    qpdf = need_tool("qpdf")
    out = tmp_path / "enc.pdf"
    subprocess.run([qpdf, "--encrypt", "u", "o", "256", "--", str(genuine.pdf), str(out)], check=True,
                   capture_output=True)
    result = genuine.verify(out)
    assert result.code == 1 and result.json["reason"] == "encrypted"


# --- QR --------------------------------------------------------------------------------

def test_qr_offline_with_only_a_bundle(genuine, tmp_path):
    result = genuine.verify("--qr", genuine.payload(), "--trust", genuine.bundle, home=tmp_path / "empty")
    assert result.code == 0, result.out
    facts = result.json["facts"]
    assert facts["certificate_no"] == CERT_NO and facts["name"] == "王**" and facts["qualification"] == "造价工程师"
    assert facts["valid_until"] and HOLDER_ID not in result.out
    assert [c["name"] for c in result.json["checks"]] == ["qr_signature", "seal_key", "issued", "certificate_status",
                                                          "annotation_window"]
    human = genuine.verify("--qr", genuine.payload(), "--trust", genuine.bundle, home=tmp_path / "empty",
                           json_mode=False, lang="zh")
    assert human.out.startswith("有效：二维码由签发机构签名")


def test_qr_every_single_character_edit_is_not_valid(genuine):
    from certcli.verification import checks as verification

    context = genuine.context(genuine.bundle)
    payload = genuine.payload()
    now = datetime.fromisoformat(genuine.verify(genuine.pdf).json["facts"]["signed_at"]) + timedelta(hours=1)
    assert verification.verify_qr(payload, context, now).valid
    edits = set()
    for i, ch in enumerate(payload):
        edits.add(payload[:i] + payload[i + 1:])                                    # delete
        for other in ("A", "7", "Q", ch.lower(), "=", "é"):                         # substitute
            edits.add(payload[:i] + other + payload[i + 1:])
        edits.add(payload[:i] + "A" + payload[i:])                                   # insert
    edits |= {payload + " ", " " + payload, payload + "\n", payload + "A"}
    edits.discard(payload)
    for edited in edits:
        verdict = verification.verify_qr(edited, context, now)
        assert not verdict.valid, edited
        assert verdict.reason in ("not_a_certcli_qr", "qr_signature_invalid", "unknown_signing_key"), edited


def test_non_certcli_qr_text_is_named_not_expired(genuine):
    for text in ("https://example.com/verify?no=123", "", "hello", "CC1:", "WIFI:S:x;;", "二维码", "CC2:ABC"):
        result = genuine.verify("--qr", text)
        assert result.code == 1 and result.json["reason"] == "not_a_certcli_qr", text
        assert result.json["verdict"] == "NOT VALID: not a certcli certificate QR code"


def test_qr_window(genuine):
    until = genuine.verify(genuine.pdf).json["facts"]["valid_until"]
    result = genuine.verify("--qr", genuine.payload(), now=until)
    assert result.code == 1 and result.json["reason"] == "annotation_expired"


# --- public lookup ------------------------------------------------------------------------

def test_lookup_reveals_nothing_private_and_wrong_name_looks_like_unknown_number(genuine):
    good = genuine.verify("--number", CERT_NO, "--name", "王小明")
    assert good.code == 0
    facts = good.json["facts"]
    assert facts["qualification"] == "造价工程师" and facts["level"] == "一级" and facts["issued_on"] == "2024-02-01"
    assert facts["status"] == "valid" and facts["name"] == "王**"
    assert HOLDER_ID not in good.out and "4477" not in good.out and "王小明" not in good.out
    wrong_name = genuine.verify("--number", CERT_NO, "--name", "王小红")
    unknown = genuine.verify("--number", "2024CST450199999", "--name", "王小明")
    assert wrong_name.code == unknown.code == 1
    # identical but for checked_at: the real clock, and each lookup takes oracles.GUESS_FLOOR
    alike = [{k: v for k, v in json.loads(r.out).items() if k != "checked_at"} for r in (wrong_name, unknown)]
    assert alike[0] == alike[1]
    assert json.loads(wrong_name.out)["reason"] == "not_found"
    human = [genuine.verify("--number", n, "--name", m, json_mode=False).out
             for n, m in ((CERT_NO, "王小红"), ("2024CST450199999", "王小明"))]
    assert human[0] == human[1]


def test_lookup_usage_errors(genuine):
    assert genuine.verify("--number", CERT_NO).code == 2
    assert genuine.verify("--name", "王小明").code == 2
    assert genuine.verify(genuine.pdf, "--qr", "x").code == 2


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
    import sqlite3

    with sqlite3.connect(fresh.cli.home / "certcli.db") as db:           # as if the store never issued it
        db.execute("UPDATE annotations SET document_sha256 = NULL")
        db.execute("DELETE FROM documents")
        db.execute("DELETE FROM issued_documents")
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


def test_damaged_store_is_reported_not_crashed(genuine, tmp_path):
    home = tmp_path / "damaged"
    home.mkdir()
    (home / "certcli.db").write_bytes(b"this is not a database" * 100)
    result = genuine.verify(genuine.pdf, "--trust", genuine.bundle, home=home)
    assert result.code == 7 and result.error_code == "store_corrupt"


def test_cold_verify_skips_the_store_module(genuine):
    """verify is a cold command: it reads the store with sqlite3, not certcli.store, and
    loads no heavy store library (sqlite-utils, once used by certcli.store, cost ~0.3 s)."""
    import os
    import subprocess
    import sys

    code = ("import sys, atexit\n"
            "atexit.register(lambda: sys.stderr.write('HEAVY' if 'sqlite_utils' in sys.modules else 'LIGHT'))\n"
            "from certcli.cli import main\n"
            f"main(['verify', {str(genuine.pdf)!r}])\n")
    env = {**os.environ, "CERTCLI_HOME": str(genuine.cli.home), "CERTCLI_NOW": ""}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.endswith("LIGHT"), done.stderr
