"""Long-term validity (issue 16, item 2): the chain model, travelling 11 and 21 years ahead.

A signature made while its seal certificate was valid, and recorded in that key's list of what it
legitimately signed (the issuer's registry with the store; the key's ledger in a signed trust
bundle offline), stays valid after the certificate ends.  Annotation windows still apply; a
document signed after the end (a stolen key, its clock set back) is NOT valid; after the ROOT has
ended too, only the issuer's registry or a bundle the root signed while in force vouches.

The issuer home is made at T0 (2026-03-01 10:00 CST): seal certificates run to 2036-02-28 10:00,
the root to 2046-02-28 10:00.  It never rotates a key: they simply expire."""
from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import HOLDER_ID, Cli, cert_row, write_roster
from membership_helpers import OLD_MEMBER_ID, jpeg, member_row, onboard, qr_of

T0 = "2026-03-01T10:00:00+08:00"
SEAL_END = datetime.fromisoformat("2036-02-28T10:00:00+08:00")
ROOT_END = datetime.fromisoformat("2046-02-28T10:00:00+08:00")
PLUS_11 = "2037-03-01T10:00:00+08:00"
PLUS_21 = "2047-03-01T10:00:00+08:00"
CERT_NO, EXEMPT_NO, MEMBER_NO, FAKE_NO = "2024CST450100004", "2019TAX310100003", "2021CPA110000001", \
    "2019TAX310100777"
SEAL_END_TEXT = "2036-02-28 10:00 (UTC+8)"


class LongTerm:
    """An issuer home at T0 with an annotated certificate (30 days), an exempt copy and a member
    certificate, all signed and downloaded; ``early.pem`` exported at T0 (every key active: no
    ledgers), ``late.pem`` at +11 y (the expired keys closed: their ledgers beside it)."""

    def __init__(self, base: Path):
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.cli = Cli(base / "home")
        self.cli.now = T0
        cli = self.cli
        assert cli("admin", "init").code == 0
        assert cli("admin", "issue", write_roster(base / "roster.csv", [
            cert_row(no=CERT_NO, qualification="造价工程师", level="一级", issued_on="2024-02-01"),
            cert_row(no=EXEMPT_NO, seal="association", issuer="中国注册税务师协会", qualification="税务师", level="",
                     issued_on="2019-06-20")])).code == 0
        (base / "exam.jpg").write_bytes(jpeg())
        assert cli("admin", "issue", write_roster(base / "members.csv", [
            member_row(no=MEMBER_NO, id_number=OLD_MEMBER_ID)])).code == 0
        assert cli("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
        assert cli.holder("agree", "--yes").code == 0
        assert cli.holder("annotate", CERT_NO, "--days", "30").code == 0
        assert cli.holder("download", EXEMPT_NO, "-o", base / "queue.pdf").code == 4      # queues the exempt copy
        self.member_env = onboard(cli, base, number=MEMBER_NO, id_number=OLD_MEMBER_ID)
        assert cli("member", "photo", "--use", "exam", env=self.member_env).code == 0
        assert cli("member", "confirm", "--email", "zhao@example.cn", "--yes", env=self.member_env).code == 0
        assert cli("member", "download", "-o", base / "queue.pdf", env=self.member_env).code == 4
        processed = cli("admin", "process")
        assert processed.code == 0 and processed.json["completed"] == 3, processed.out
        self.pdf, self.exempt, self.member = base / "cert.pdf", base / "exempt.pdf", base / "member.pdf"
        assert cli("member", "download", "-o", self.member, env=self.member_env).code == 0
        assert cli.holder("download", CERT_NO, "-o", self.pdf).code == 0
        assert cli.holder("download", EXEMPT_NO, "-o", self.exempt).code == 0
        self.early = self.trust("early.pem", now=T0)
        self.late = self.trust("late.pem", now=PLUS_11)

    def trust(self, name: str, now: str, cli: Cli | None = None) -> Path:
        path = self.base / name
        result = (cli or self.cli)("admin", "trust", "-o", path, now=now)
        assert result.code == 0, result.out + result.err
        return path

    def verify(self, *args, now: str, bundle: Path | None = None, cli: Cli | None = None, **kwargs):
        """With the store, or (``bundle``) offline in an empty home."""
        offline = ("--trust", bundle, "--home", self.base / "empty") if bundle is not None else ()
        return (cli or self.cli)("verify", *args, *offline, now=now, **kwargs)

    def copy(self, name: str, now: str) -> Cli:
        shutil.copytree(self.cli.home, self.base / name)
        other = Cli(self.base / name)
        other.now = now
        return other


@pytest.fixture(scope="module")
def term(tmp_path_factory) -> LongTerm:
    return LongTerm(tmp_path_factory.mktemp("long-term"))


def checks(outcome) -> dict:
    return {c["name"]: c for c in outcome.json["checks"]}


def documents(term: LongTerm) -> dict:
    """The documents that need no annotation: exempt copy and member certificate, PDF and QR."""
    return {"exempt_pdf": (term.exempt,), "exempt_qr": ("--qr", qr_of(term.exempt)),
            "member_pdf": (term.member,), "member_qr": ("--qr", qr_of(term.member))}


# --- +11 years: the seal certificates have expired ------------------------------------------

@pytest.mark.parametrize("where", ["store", "offline"])
@pytest.mark.parametrize("name", ["exempt_pdf", "exempt_qr", "member_pdf", "member_qr"])
def test_documents_without_annotation_stay_valid_after_the_seal_certificate(term, name, where):
    args = documents(term)[name]
    for now in (T0, PLUS_11):
        result = term.verify(*args, now=now, bundle=term.late if where == "offline" else None)
        assert result.code == 0, (now, result.out)
    found = checks(result)
    assert found["seal_key"]["ok"] and found["seal_key"]["reason"] == "signed_while_valid"
    assert found["seal_key"]["detail"] == SEAL_END_TEXT
    assert found["issued"]["reason"] == ("ok" if where == "store" else "in_ledger")
    if name.endswith("pdf"):
        assert found["signer_chain"]["ok"] and found["signer_chain"]["reason"] == "valid_at_signing"
    if name.startswith("member"):
        assert result.json["facts"]["certificate_no"] == MEMBER_NO


def test_verify_says_the_document_was_signed_while_the_certificate_was_valid(term):
    wide = {"COLUMNS": "220"}                 # one table row per check
    en = term.verify(term.exempt, now=PLUS_11, json_mode=False, env=wide)
    zh = term.verify(term.exempt, now=PLUS_11, json_mode=False, lang="zh", env=wide)
    assert en.code == zh.code == 0, en.out
    assert "signed while the seal certificate was valid (the issuer recorded it); the certificate expired on " \
           "28 Feb 2036 10:00 (Beijing time)" in en.out, en.out
    assert "issued by the issuer root, valid when it signed (expired since): 中国注册税务师协会电子证书专用章" in en.out
    assert "签署时电子印章证书有效（签发机构有记录）；证书到期于 2036年02月28日 10:00（北京时间）" in zh.out, zh.out


def test_an_annotated_document_is_still_invalid_after_its_window(term):
    for bundle in (None, term.late):
        result = term.verify(term.pdf, now=PLUS_11, bundle=bundle)
        assert result.code == 1 and result.json["reason"] == "annotation_expired", result.out
        assert checks(result)["seal_key"]["reason"] == "signed_while_valid"      # the seal part still holds
        qr = term.verify("--qr", qr_of(term.pdf), now=PLUS_11, bundle=bundle)
        assert qr.code == 1 and qr.json["reason"] == "annotation_expired", qr.out


def test_a_bundle_exported_before_the_expiry_cannot_vouch_for_it(term):
    """The key was active when ``early.pem`` was signed: no ledger, so nothing offline shows what it
    signed; the verifier needs a bundle exported after the expiry (``admin stats`` says so)."""
    for args in documents(term).values():
        result = term.verify(*args, now=PLUS_11, bundle=term.early)
        assert result.code == 1 and checks(result)["seal_key"]["reason"] == "seal_expired", result.out
        assert checks(result)["issued"]["reason"] == "registry_offline"


def test_the_bundle_exported_after_the_expiry_carries_the_never_rotated_keys_ledgers(term):
    from certcli.pki.keys import IssuerKeys
    from certcli.pki.trust_bundle import parse_trust_bundle

    bundle = parse_trust_bundle(term.late.read_text("utf-8"))
    seals = IssuerKeys(term.cli.home / "keys").seals()
    assert {s.status for s in seals} == {"active"} and all(s.not_after == SEAL_END for s in seals)
    assert set(bundle.ledgers) == {s.key_id for s in seals}
    assert all((term.base / "late.ledgers" / ref.file_name).stat().st_size == 16 * ref.count
               for ref in bundle.ledgers.values())
    assert parse_trust_bundle(term.early.read_text("utf-8")).ledgers == {}


def test_a_document_signed_after_the_expiry_with_a_stolen_key_is_not_valid(term):
    """A thief copies the issuer's home after the seal certificates ended and signs with its clock
    set back into their validity: an exempt copy of a real certificate, and one of a certificate
    the issuer never issued.  Their /M claims a time inside the validity, but neither is in the
    issuer's registry nor in the key's ledger."""
    back = "2035-06-01T10:00:00+08:00"
    thief = term.copy("thief", now=back)
    with sqlite3.connect(thief.home / "certcli.db") as db:
        db.execute("DELETE FROM annotations WHERE kind = 'exempt_copy'")
    assert thief("admin", "issue", write_roster(term.base / "fake.csv", [
        cert_row(no=FAKE_NO, seal="association", issuer="中国注册税务师协会", qualification="税务师", level="",
                 issued_on="2019-06-20")])).code == 0
    for number in (EXEMPT_NO, FAKE_NO):
        assert thief.holder("download", number, "-o", term.base / "queue.pdf").code == 4
    assert thief("admin", "process").json["completed"] == 2
    forged = {number: term.base / f"forged-{number}.pdf" for number in (EXEMPT_NO, FAKE_NO)}
    for number, path in forged.items():
        assert thief.holder("download", number, "-o", path).code == 0
        assert term.verify(path, now=back, cli=thief).code == 0                # VALID in the thief's copy
    for args in ((forged[EXEMPT_NO],), (forged[FAKE_NO],), ("--qr", qr_of(forged[FAKE_NO]))):
        online = term.verify(*args, now=PLUS_11)
        offline = term.verify(*args, now=PLUS_11, bundle=term.late)
        for result, issued in ((online, "not_issued"), (offline, "not_in_ledger")):
            assert result.code == 1, (args, result.out)
            assert checks(result)["seal_key"]["reason"] == "seal_expired"
            assert checks(result)["issued"]["reason"] == issued
    assert term.verify(forged[EXEMPT_NO], now=PLUS_11).json["facts"]["signed_at"].startswith("2035-06-01")


# --- +21 years: the root has expired too -----------------------------------------------------

@pytest.mark.parametrize("name", ["exempt_pdf", "exempt_qr", "member_pdf", "member_qr"])
def test_after_the_root_expires_the_registry_and_a_bundle_signed_before_still_vouch(term, name):
    args = documents(term)[name]
    for bundle in (None, term.late):                 # late.pem: signed at +11 y, while the root was in force
        result = term.verify(*args, now=PLUS_21, bundle=bundle)
        assert result.code == 0, result.out
        assert checks(result)["seal_key"]["reason"] == "signed_while_valid"
    annotated = term.verify(term.pdf, now=PLUS_21, bundle=term.late)
    assert annotated.code == 1 and annotated.json["reason"] == "annotation_expired"


def test_an_expired_root_signs_no_bundle_and_a_bundle_it_signed_after_proves_nothing(term):
    refused = term.cli("admin", "trust", "-o", term.base / "refused.pem", now=PLUS_21)
    assert refused.code == 7 and refused.error_code == "key_problem", refused.out
    assert refused.json["error"]["data"]["reason"] == "bundle_after_root_expiry"
    assert "last bundle" in refused.json["error"]["message"] and not (term.base / "refused.pem").exists()
    # the root key signs one anyway (as whoever holds a key nobody guards any more could)
    path = _bundle_signed_after_the_root(term, term.base / "after-root.pem")
    for args in documents(term).values():
        result = term.verify(*args, now=PLUS_21, bundle=path)
        assert result.code == 1 and result.json["reason"] == "bundle_after_root_expired", result.out
        assert checks(result)["issued"]["reason"] == "in_ledger"


def _bundle_signed_after_the_root(term: LongTerm, path: Path) -> Path:
    """``late.pem``'s content, signed again by the root key with ``issued_at`` after its end."""
    from certcli.pki.keys import IssuerKeys
    from certcli.pki.trust_bundle import REVOCATION_ENTRY_BYTES, SealEntry, build_bundle, parse_trust_bundle

    from conftest import PASSPHRASE

    late = parse_trust_bundle(term.late.read_text("utf-8"))
    keys = IssuerKeys(term.cli.home / "keys")
    seals = [SealEntry(info, certificate, tuple(sorted(late.qualifications[key_id])), late.ledgers.get(key_id))
             for (key_id, (info, _)), certificate in zip(late.keys.items(), late.seal_certificates)]
    revoked = [late.revoked[i:i + REVOCATION_ENTRY_BYTES] for i in range(0, len(late.revoked), REVOCATION_ENTRY_BYTES)]
    issued_at = ROOT_END + timedelta(days=30)
    text = build_bundle(late.root, seals, revoked=revoked, issued_at=issued_at, next_update=issued_at + timedelta(days=7),
                        sign=lambda data: keys.root_sign(data, PASSPHRASE.encode()))
    path.write_text(text, encoding="utf-8")
    shutil.copytree(term.base / "late.ledgers", path.with_name(path.stem + ".ledgers"))
    return path


# --- warned ahead, renewed: documents signed before a renewal keep verifying ---------------

def test_stats_warns_180_days_ahead_and_says_what_happens_after(term):
    warned = term.cli("admin", "stats", now=(SEAL_END - timedelta(days=179)).isoformat()).json["warnings"]
    assert [w["kind"] for w in warned] == ["seal_expiring"] * 3              # ministry, tax and CPA seals
    assert term.cli("admin", "stats", now=(SEAL_END - timedelta(days=181)).isoformat()).json["warnings"] == []
    after = term.cli("admin", "stats", now=PLUS_11, json_mode=False).out
    assert "documents it signed while it was valid keep verifying" in " ".join(after.split())
    root = term.cli("admin", "stats", now=(ROOT_END - timedelta(days=100)).isoformat(), json_mode=False).out
    assert "export a last trust bundle" in " ".join(root.split())
    kinds = [w["kind"] for w in term.cli("admin", "stats", now=(ROOT_END - timedelta(days=100)).isoformat())
             .json["warnings"]]
    assert "root_expiring" in kinds


def test_documents_signed_before_a_renewal_keep_verifying(term):
    """The issuer heeds the warning: it renews its three seals (``admin rotate-seal``) 150 days before
    they end and exports the bundle again; what the old keys signed verifies then and at +11 y,
    with the store and offline, and new documents are signed by the new keys."""
    renewal = (SEAL_END - timedelta(days=150)).isoformat()
    issuer = term.copy("renewed", now=renewal)
    from certcli.pki.keys import IssuerKeys

    old = {s.seal_id: s.key_id for s in IssuerKeys(issuer.home / "keys").seals()}
    for seal_id in old:
        rotated = issuer("admin", "rotate-seal", seal_id)
        assert rotated.code == 0 and rotated.json["ledger"]["count"] == 2, rotated.out   # its PDF and QR
    assert issuer("admin", "stats").json["warnings"] == []                       # the new certificates run on
    bundle = term.trust("renewed.pem", now=renewal, cli=issuer)
    for now in (renewal, PLUS_11):
        for args in documents(term).values():
            for where in (None, bundle):
                result = term.verify(*args, now=now, bundle=where, cli=issuer)
                assert result.code == 0, (now, args, result.out)
                assert result.json["facts"]["key_id"] in old.values()
    # a new annotation at +11 y is signed by the renewed ministry key and is valid
    assert issuer.holder("renew", CERT_NO, "--days", "30", now=PLUS_11).code == 0
    assert issuer("admin", "process", now=PLUS_11).json["completed"] == 1
    fresh = term.base / "renewed-cert.pdf"
    assert issuer.holder("download", CERT_NO, "-o", fresh, now=PLUS_11).code == 0
    result = term.verify(fresh, now=PLUS_11, cli=issuer)
    assert result.code == 0 and result.json["facts"]["key_id"] not in old.values(), result.out
    assert checks(result)["seal_key"]["reason"] == "ok"


# --- the pure rules ---------------------------------------------------------------------------

def test_chain_standing_rule():
    from certcli import rules

    start, end = datetime(2026, 2, 28, 10, tzinfo=rules.CST), SEAL_END
    inside, later = start + timedelta(days=1), end + timedelta(days=3650)
    standing = rules.chain_standing
    assert standing(start, end, start - timedelta(seconds=1), recorded=True) == "not_yet_valid"
    assert standing(start, end, inside, recorded=False) == "in_force"
    assert standing(start, end, end, recorded=True, signed_at=inside) == "signed_while_valid"
    assert standing(start, end, later, recorded=True, signed_at=None) == "signed_while_valid"   # a ledger entry
    assert standing(start, end, later, recorded=False, signed_at=inside) == "expired"          # a claim alone
    assert standing(start, end, later, recorded=True, signed_at=end) == "expired"              # signed at the end
    assert standing(start, end, later, recorded=True, signed_at=start - timedelta(seconds=1)) == "expired"
    assert rules.root_vouches(ROOT_END, ROOT_END - timedelta(seconds=1), None)
    assert rules.root_vouches(ROOT_END, ROOT_END + timedelta(days=1), ROOT_END - timedelta(days=1))
    assert not rules.root_vouches(ROOT_END, ROOT_END + timedelta(days=1), ROOT_END)
    assert not rules.root_vouches(ROOT_END, ROOT_END, None)
