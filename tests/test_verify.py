"""certcli verify (issue 5): genuine PDFs, malformed input, offline QR, public lookup, over one
genuine home built once for the module (tests/genuine_documents.py).  Key rotation and
retirement, which change the home, are in tests/test_verify_seal_keys.py.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from conftest import HOLDER_ID, backend_env, sqlite_only
from genuine_documents import CERT_NO, Genuine, iso, make_genuine, unsigned_pdf
from genuine_documents import fresh  # noqa: F401 - the fixture

PDF_CHECKS = ["pdf_structure", "byte_range", "coverage", "signature", "signer_chain", "seal_key",
              "certification", "qr_signature", "issued", "certificate_status", "annotation_window"]


@pytest.fixture(scope="module")
def genuine(tmp_path_factory) -> Genuine:
    return make_genuine(tmp_path_factory.mktemp("verify"))


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
        "unsigned.pdf": (unsigned_pdf(), "unsigned"),
    }
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        for json_mode in (True, False):
            result = genuine.verify(path, json_mode=json_mode)
            assert result.code == 1, (name, result.out, result.err)
            assert "Traceback" not in result.out + result.err
        assert genuine.verify(path).json["reason"] == reason, name



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


@sqlite_only
def test_damaged_store_is_reported_not_crashed(genuine, tmp_path):
    """SQLite only: the damage is to a home's file (a PostgreSQL server checks its own pages)."""
    home = tmp_path / "damaged"
    home.mkdir()
    (home / "certcli.db").write_bytes(b"this is not a database" * 100)
    result = genuine.verify(genuine.pdf, "--trust", genuine.bundle, home=home)
    assert result.code == 7 and result.error_code == "store_corrupt"


def test_cold_verify_skips_the_store_module(genuine):
    """verify is a cold command: it reads the store with sqlite3, not certcli.store, and
    loads no heavy store library (sqlite-utils, once used by certcli.store, cost ~0.3 s);
    on PostgreSQL (CERTCLI_DATABASE_URL) neither."""
    import os
    import subprocess
    import sys

    code = ("import sys, atexit\n"
            "atexit.register(lambda: sys.stderr.write('HEAVY' if 'sqlite_utils' in sys.modules else 'LIGHT'))\n"
            "from certcli.cli import main\n"
            f"main(['verify', {str(genuine.pdf)!r}])\n")
    env = {**os.environ, "CERTCLI_HOME": str(genuine.cli.home), "CERTCLI_NOW": "", **backend_env(genuine.cli.home)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.endswith("LIGHT"), done.stderr
