"""The signed trust bundle (issue 12): authenticated, dated, with revocation, key history,
the qualifications each seal may sign, and the ledgers of closed keys.

Everything drives the real CLI on an issuer home with a fixed clock (CERTCLI_NOW), so
the dates of signing, compromise and bundles are the test's to choose.
"""
from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from conftest import EXIT_INTERNAL, HOLDER_ID, Cli, cert_row, write_roster

T0 = "2026-03-01T10:00:00+08:00"          # the issuer signs the genuine documents
T1 = "2026-03-03T10:00:00+08:00"          # a thief signs with a copy of the issuer's home
COMPROMISED = "2026-03-05T00:00:00+08:00"  # what the issuer later gives as the compromise (after the theft)
T2 = "2026-03-10T10:00:00+08:00"          # the issuer retires the keys and publishes a new bundle
CERT_NO, EXEMPT_NO, OTHER_NO = "2024CST450100004", "2019TAX310100003", "2023AUD440300002"


class Issuer:
    """An issuer home at T0 with an annotated ministry certificate and an exempt association
    one, both downloaded, and a bundle exported (``trust.pem``)."""

    def __init__(self, base: Path):
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.cli = Cli(base / "home")
        self.cli.now = T0
        assert self.cli("admin", "init").code == 0
        roster = write_roster(base / "roster.csv", [
            cert_row(no=CERT_NO, qualification="造价工程师", level="一级", issued_on="2024-02-01"),
            cert_row(no=EXEMPT_NO, seal="association", issuer="中国注册税务师协会", qualification="税务师", level="",
                     issued_on="2019-06-20"),
            cert_row(no=OTHER_NO, name="李䶮", id_number="11010519491231002X", qualification="审计专业技术资格",
                     level="初级", issued_on="2023-03-01")])
        assert self.cli("admin", "issue", roster).code == 0
        assert self.cli("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
        self.pdf, self.exempt = base / "cert.pdf", base / "exempt.pdf"
        sign_documents(self.cli, base, self.pdf, self.exempt, T0)
        self.bundle = self.trust("trust.pem")

    def trust(self, name: str, *args, now: str | None = None) -> Path:
        path = self.base / name
        result = self.cli("admin", "trust", "-o", path, *args, now=now)
        assert result.code == 0, result.out + result.err
        return path

    def verify(self, *args, now: str | None = None, home: Path | None = None, json_mode=True, lang="en"):
        extra = ["--home", home] if home is not None else []
        return self.cli("verify", *args, *extra, now=now, json_mode=json_mode, lang=lang)

    def offline(self, *args, bundle: Path | None = None, now: str | None = None, **kwargs):
        """Verify in an empty home: only the bundle (and its ledgers) to go by."""
        return self.verify(*args, "--trust", bundle or self.bundle, now=now, home=self.base / "empty", **kwargs)

    def key_id(self, seal_id: str) -> str:
        from certcli.pki.keys import IssuerKeys

        return IssuerKeys(self.cli.home / "keys").active_seal(seal_id).key_id

    def seal_id_of(self, certificate_no: str) -> str:
        with sqlite3.connect(self.cli.home / "certcli.db") as db:
            return db.execute("SELECT seal_id FROM certificates WHERE certificate_no = ?", (certificate_no,)).fetchone()[0]

    def copy(self, name: str, now: str = T1) -> Cli:
        """A copy of the whole issuer home (keys, passphrase-protected; the thief has the passphrase)."""
        shutil.copytree(self.cli.home, self.base / name)
        thief = Cli(self.base / name)
        thief.now = now
        return thief


def sign_documents(cli: Cli, base: Path, pdf: Path, exempt: Path, now: str) -> None:
    """As the holder: annotate CERT_NO, queue the exempt copy; as the administrator: process; download both."""
    assert cli("login", "--id-number", HOLDER_ID, now=now).code == 0
    assert cli("agree", "--yes", now=now).code == 0
    annotated = cli("annotate", CERT_NO, "--days", "30", now=now)
    assert annotated.code == 0, annotated.out
    cli("download", EXEMPT_NO, "-o", exempt, now=now)                   # exempt: queues a signed copy
    processed = cli("admin", "process", now=now)
    assert processed.code == 0 and processed.json["completed"] == 2, processed.out
    assert cli("download", CERT_NO, "-o", pdf, now=now).code == 0
    assert cli("download", EXEMPT_NO, "-o", exempt, now=now).code == 0


def payload(pdf: Path) -> str:
    from io import BytesIO

    from pypdf import PdfReader

    return str(PdfReader(BytesIO(pdf.read_bytes())).metadata["/CertcliQR"])


def checks(outcome) -> dict:
    return {c["name"]: c for c in outcome.json["checks"]}


@pytest.fixture
def issuer(tmp_path) -> Issuer:
    return Issuer(tmp_path / "issuer")


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Issuer:
    """One issuer for the tests that change nothing in it."""
    return Issuer(tmp_path_factory.mktemp("bundle"))


# --- the bundle is signed and complete -------------------------------------------------------

def test_bundle_is_signed_dated_and_carries_history_qualifications_and_revocations(shared):
    from certcli.pki.trust_bundle import parse_trust_bundle

    text = shared.bundle.read_text("utf-8")
    assert "PRIVATE" not in text and "-----BEGIN CERTCLI TRUST SIGNATURE-----" in text
    bundle = parse_trust_bundle(text)
    assert bundle.issued_at.isoformat() == "2026-03-01T02:00:00+00:00"
    assert (bundle.next_update - bundle.issued_at).days == 7                    # the default
    ministry, tax = shared.key_id("ministry"), shared.key_id(shared.seal_id_of(EXEMPT_NO))
    assert bundle.qualifications[ministry] == {"CST", "AUD"} and bundle.qualifications[tax] == {"TAX"}
    assert not bundle.ledgers and not bundle.revoked                            # nothing closed, nothing revoked
    # admin trust needs the key passphrase: the root signs
    wrong = shared.cli("admin", "trust", env={"CERTCLI_KEY_PASSPHRASE": "wrong"})
    assert wrong.code == 3 and wrong.error_code == "wrong_passphrase"
    out = shared.cli("admin", "trust", "--valid-days", "30", json_mode=False)
    assert out.code == 0 and out.out.startswith("# certcli trust bundle")
    assert (parse_trust_bundle(out.out).next_update - bundle.issued_at).days == 30
    assert shared.cli("admin", "trust", "--valid-days", "0").code == 6
    document = shared.cli("admin", "trust").json
    assert document["issued_at"].startswith("2026-03-01T10:00:00") and document["revoked"] == 0
    # the home keeps the latest bundle for `certcli serve`, which never holds the passphrase
    assert (shared.cli.home / "trust.pem").read_text("utf-8") == document["bundle"]


def test_verify_with_a_bundle_says_status_as_of_its_date(shared):
    for args in ((shared.pdf,), ("--qr", payload(shared.pdf))):
        result = shared.offline(*args)
        assert result.code == 0, result.out
        assert result.json["bundle_issued_at"] == "2026-03-01T10:00:00+08:00"
        assert result.json["bundle_next_update"] == "2026-03-08T10:00:00+08:00" and result.json["warnings"] == []
        assert checks(result)["certificate_status"]["reason"] == "not_revoked_as_of"
        assert "(status as of " in result.json["verdict"]
        human = shared.offline(*args, json_mode=False)
        assert human.out.splitlines()[0] == result.json["verdict"]          # the date in the first line
        assert "Trust bundle: status as of " in human.out
        zh = shared.offline(*args, json_mode=False, lang="zh")
        assert "（状态截至 " in zh.out.splitlines()[0] and "依据信任包：证书状态截至 " in zh.out


# --- revocation offline ------------------------------------------------------------------------

def test_revoked_certificate_is_not_valid_offline_with_a_fresh_bundle(issuer):
    qr = payload(issuer.pdf)
    assert issuer.cli("admin", "revoke", CERT_NO, "--reason", "exam misconduct", now=T1).code == 0
    fresh = issuer.trust("revoked.pem", now=T1)
    assert "# revoked certificates: 1" in fresh.read_text("utf-8")
    for args in ((issuer.pdf,), ("--qr", qr)):
        result = issuer.offline(*args, bundle=fresh, now=T1)
        assert result.code == 1 and result.json["reason"] == "certificate_revoked", result.out
        assert result.json["bundle_issued_at"] == T1 and checks(result)["certificate_status"]["detail"]
        # what offline verification cannot do: a bundle older than the revocation does not know it
        stale = issuer.offline(*args, now=T1)
        assert stale.code == 0 and "(status as of " in stale.json["verdict"]
        assert stale.json["bundle_issued_at"] == T0
    # the list holds truncated hashes only: no number, name or ID number in the file
    text = fresh.read_text("utf-8")
    assert CERT_NO not in text and "王小明" not in text and HOLDER_ID not in text
    # the other certificates are unaffected
    assert issuer.offline(issuer.exempt, bundle=fresh, now=T1).code == 0


# --- freshness: next_update and --max-bundle-age -----------------------------------------------------

def test_old_bundle_warns_past_next_update_and_strict_verifiers_refuse_it(issuer):
    short = issuer.trust("short.pem", "--valid-days", "1")
    later = "2026-03-04T10:00:00+08:00"                                          # three days on
    result = issuer.offline(issuer.pdf, bundle=short, now=later)
    assert result.code == 0, result.out
    assert [w["code"] for w in result.json["warnings"]] == ["bundle_past_next_update"]
    human = issuer.offline(issuer.pdf, bundle=short, now=later, json_mode=False)
    assert human.code == 0 and "past its next update (" in human.out
    zh = issuer.offline(issuer.pdf, bundle=short, now=later, json_mode=False, lang="zh")
    assert "信任包已过更新期限" in zh.out
    for args in ((issuer.pdf,), ("--qr", payload(issuer.pdf))):
        strict = issuer.offline(*args, "--max-bundle-age", "2d", bundle=short, now=later)
        assert strict.code == 1 and strict.json["reason"] == "bundle_stale", strict.out
        assert issuer.offline(*args, "--max-bundle-age", "7d", bundle=short, now=later).code == 0
    assert issuer.verify(issuer.pdf, "--max-bundle-age", "7d").code == 2           # only with --trust
    assert issuer.offline(issuer.pdf, "--max-bundle-age", "soon").code == 2


# --- an edited bundle is refused ----------------------------------------------------------------

def _reencoded_manifest(text: str, change) -> str:
    """The manifest decoded, changed and encoded again, as a careful forger would."""
    import base64

    begin, end = "-----BEGIN CERTCLI TRUST MANIFEST-----\n", "-----END CERTCLI TRUST MANIFEST-----"
    start, stop = text.index(begin) + len(begin), text.index(end)
    manifest = base64.b64decode(text[start:stop].replace("\n", ""))
    changed = change(manifest)
    assert changed != manifest
    encoded = base64.b64encode(changed).decode()
    return text[:start] + "".join(encoded[i:i + 64] + "\n" for i in range(0, len(encoded), 64)) + text[stop:]


def _edits(text: str) -> dict[str, str]:
    manifest = text.index("-----BEGIN CERTCLI TRUST MANIFEST-----")
    certificates = []
    at = text.find("-----BEGIN CERTIFICATE-----")
    while at >= 0:
        end = text.index("-----END CERTIFICATE-----", at) + len("-----END CERTIFICATE-----")
        certificates.append(text[at:end])
        at = text.find("-----BEGIN CERTIFICATE-----", end)
    first, second = certificates[1], certificates[2]                           # two seal certificates
    status = text.index("# status: ")
    return {
        "manifest_byte": text[:manifest + 60] + ("X" if text[manifest + 60] != "X" else "Y") + text[manifest + 61:],
        "manifest_status": _reencoded_manifest(text, lambda m: m.replace(b'"status":"active"', b'"status":"rotated"', 1)),
        "manifest_qualification_added": _reencoded_manifest(text, lambda m: m.replace(b'"TAX"', b'"CST","TAX"', 1)),
        "status_line_deleted": text[:status] + text[text.index("\n", status) + 1:],
        "status_line_edited": text.replace("# status: active", "# status: retired", 1),
        "certificates_swapped": text.replace(first, "@@").replace(second, first).replace("@@", second),
        "revocation_removed": text.replace(text[text.index("-----BEGIN CERTCLI REVOCATION LIST-----"):
                                                text.index("-----BEGIN CERTCLI TRUST MANIFEST-----")], ""),
        "signature_removed": text[:text.index("-----BEGIN CERTCLI TRUST SIGNATURE-----")],
        "line_appended": text + "# trust me\n",
        "old_unsigned_format": "".join(c + "\n" for c in certificates),
    }


EDITS = ("manifest_byte", "manifest_status", "manifest_qualification_added", "status_line_deleted", "status_line_edited", "certificates_swapped",
         "revocation_removed", "signature_removed", "line_appended", "old_unsigned_format")


@pytest.mark.parametrize("edit", EDITS)
def test_an_edited_bundle_is_refused_with_a_clear_error(shared, tmp_path, edit):
    edited = tmp_path / "edited.pem"
    edited.write_text(_edits(shared.bundle.read_text("utf-8"))[edit], "utf-8")
    for args in ((shared.pdf,), ("--qr", payload(shared.pdf))):
        result = shared.offline(*args, bundle=edited)
        assert result.code == 6, (edit, result.out)
        assert result.error_code == "bad_trust_bundle"
        assert result.json["error"]["data"]["reason"].startswith("bundle_")
    human = shared.offline(shared.pdf, bundle=edited, json_mode=False)
    assert human.code == 6 and "Trust bundle refused" in human.out + human.err and "Traceback" not in human.err


def test_hostile_bundles_fail_fast_with_bad_input(shared, tmp_path):
    cases = {
        "begin_lines": ("-----BEGIN CERTIFICATE-----\n" * 40_000)[:2**20],
        "one_begin_then_garbage": "-----BEGIN CERTIFICATE-----\n" + ("QUJD" * 16 + "\n") * 15_000,
        "one_long_line": "-----BEGIN CERTIFICATE-----" * 38_000,
        "comments_only": ("# status: active\n" * 60_000)[:2**20],
        "over_the_cap": "#" * (2**20 + 1),
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.pem"
        path.write_text(text, "ascii")
        assert path.stat().st_size <= 2**20 + 1
        started = time.perf_counter()
        result = shared.offline(shared.pdf, bundle=path)
        elapsed = time.perf_counter() - started
        assert result.code == 6 and result.code != EXIT_INTERNAL, (name, result.out)
        assert result.error_code in ("bad_trust_bundle", "bad_input"), name
        assert elapsed < 1.0, (name, elapsed)


# --- ledgers: a key that stops signing can't be backdated ---------------------------------------------

def test_rotated_key_documents_verify_by_its_ledger_online_and_offline(issuer):
    old = issuer.key_id("ministry")
    thief = issuer.copy("thief", now="2026-03-02T10:00:00+08:00")            # taken before the rotation
    rotated = issuer.cli("admin", "rotate-seal", "ministry", now=T1)
    assert rotated.code == 0, rotated.out
    assert rotated.json["ledger"]["count"] == 2                             # the PDF and its QR payload
    after = issuer.trust("after.pem", now=T1)
    ledger = issuer.base / "after.ledgers" / f"{old}.bin"
    assert ledger.stat().st_size == 2 * 16
    entries = [ledger.read_bytes()[i:i + 16] for i in (0, 16)]
    assert entries == sorted(entries)
    assert "# ledger: 2 documents" in after.read_text("utf-8")
    for args in ((issuer.pdf,), ("--qr", payload(issuer.pdf))):
        assert issuer.verify(*args, now=T1).code == 0
        result = issuer.offline(*args, bundle=after, now=T1)
        assert result.code == 0, result.out
        assert checks(result)["issued"]["ok"] is True and checks(result)["issued"]["reason"] == "in_ledger"
    # the old key, in a copy taken before the rotation, signs a document dated before the rotation:
    # the signing time is the key holder's to write, the ledger is not
    forged = issuer.base / "forged.pdf"
    assert thief("login", "--id-number", HOLDER_ID).code == 0
    assert thief("renew", CERT_NO, "--days", "60").code == 0
    processed = thief("admin", "process")
    assert processed.json["completed"] == 1, processed.out
    assert thief("download", CERT_NO, "-o", forged).code == 0
    for args in ((forged,), ("--qr", payload(forged))):
        result = issuer.offline(*args, bundle=after, now=T1)
        assert result.code == 1 and checks(result)["issued"]["reason"] == "not_in_ledger", result.out
        assert issuer.verify(*args, now=T1).code == 1


def test_missing_or_altered_ledger_is_not_valid_naming_the_file(issuer, tmp_path):
    old = issuer.key_id("ministry")
    assert issuer.cli("admin", "rotate-seal", "ministry", now=T1).code == 0
    after = issuer.trust("after.pem", now=T1)
    moved = tmp_path / "elsewhere"
    shutil.move(issuer.base / "after.ledgers", moved)
    result = issuer.offline(issuer.pdf, bundle=after, now=T1)
    assert result.code == 1 and result.json["reason"] == "ledger_missing", result.out
    assert checks(result)["issued"]["detail"].endswith(f"after.ledgers/{old}.bin")
    human = issuer.offline(issuer.pdf, bundle=after, now=T1, json_mode=False)
    assert f"{old}.bin" in human.out and "ledger file is missing" in human.out
    assert issuer.offline(issuer.pdf, "--ledgers", moved, bundle=after, now=T1).code == 0
    data = bytearray((moved / f"{old}.bin").read_bytes())
    data[3] ^= 1
    (moved / f"{old}.bin").write_bytes(bytes(data))
    altered = issuer.offline(issuer.pdf, "--ledgers", moved, bundle=after, now=T1)
    assert altered.code == 1 and altered.json["reason"] == "ledger_mismatch"
    # the exempt document's key is still active: it needs no ledger
    assert issuer.offline(issuer.exempt, bundle=after, now=T1).code == 0


def test_stdout_bundle_and_ledgers_folder(issuer, tmp_path):
    assert issuer.cli("admin", "rotate-seal", "ministry", now=T1).code == 0
    out = issuer.cli("admin", "trust", "--ledgers", tmp_path / "L", now=T1, json_mode=False)
    assert out.code == 0 and out.out.startswith("# certcli trust bundle")
    bundle = tmp_path / "stdout.pem"
    bundle.write_text(out.out, "utf-8")
    assert issuer.offline(issuer.pdf, "--ledgers", tmp_path / "L", bundle=bundle, now=T1).code == 0
    document = issuer.cli("admin", "trust", now=T1).json                    # JSON: the ledgers are named
    assert [ledger["count"] for ledger in document["ledgers"]] == [2] and document["ledgers"][0]["file"] is None


def test_a_key_whose_certificate_expired_is_closed_with_its_ledger(shared, tmp_path):
    """No rotation ran, yet the seal certificates have ended: their keys sign no more, so the
    bundle carries their ledgers too, and what they signed while valid stays valid offline (the
    chain model, issue 16; tests/test_long_term.py); a bundle from before has no ledger for them."""
    from certcli.pki.trust_bundle import parse_trust_bundle

    later = "2036-06-01T10:00:00+08:00"                      # seal certificates last 10 years
    path = tmp_path / "late.pem"
    assert shared.cli("admin", "trust", "-o", path, now=later).code == 0
    bundle = parse_trust_bundle(path.read_text("utf-8"))
    ministry, tax = shared.key_id("ministry"), shared.key_id(shared.seal_id_of(EXEMPT_NO))
    assert {key: ref.count for key, ref in bundle.ledgers.items()} == {ministry: 2, tax: 2}
    assert (tmp_path / "late.ledgers" / f"{ministry}.bin").stat().st_size == 32
    result = shared.offline(shared.exempt, bundle=path, now=later)
    assert result.code == 0, result.out
    assert checks(result)["signer_chain"]["reason"] == "valid_at_signing"
    assert (checks(result)["seal_key"]["reason"], checks(result)["issued"]["reason"]) == ("signed_while_valid",
                                                                                       "in_ledger")
    old = shared.offline(shared.exempt, bundle=shared.bundle, now=later)      # exported before: no ledger
    assert old.code == 1 and checks(old)["signer_chain"]["reason"] == "seal_expired", old.out
    shared.trust("trust.pem")                                 # the shared home's latest bundle again
