"""A stolen seal key (issue 12): a thief with a copy of the issuer's home signs documents
backdated before the compromise date the issuer later gives, and a seal signs a qualification it
may not sign.  Neither is valid, online or offline; the genuine documents stay valid.
"""
from __future__ import annotations


# --- issue 12: a stolen seal key, backdated; a seal on another's qualification ---------------------
# (tests/test_trust_bundle.py builds the issuer home with a fixed clock; the thief copies it whole)

def _forge_with_a_copy(issuer, name: str):
    """A thief with a copy of the issuer's home (keys and passphrase) signs, with its clock
    set before the compromise date the issuer will give: a new annotation document of a real
    certificate, a new exempt copy of the real exempt certificate, and an exempt certificate
    the issuer never issued (exempt documents have no window at all)."""
    import sqlite3

    from conftest import HOLDER_ID, cert_row, write_roster
    from test_trust_bundle import CERT_NO, EXEMPT_NO

    thief = issuer.copy(name)                                       # signs at T1, before COMPROMISED
    with sqlite3.connect(thief.home / "certcli.db") as db:          # the copy is the thief's to edit
        db.execute("DELETE FROM annotations WHERE kind = 'exempt_copy'")
    fake = write_roster(issuer.base / "fake.csv", [cert_row(no=FAKE_EXEMPT_NO, seal="association", level="",
                                                            issuer="中国注册税务师协会", qualification="税务师",
                                                            issued_on="2019-06-20")])
    assert thief("admin", "issue", fake).code == 0
    assert thief("login", "--id-number", HOLDER_ID).code == 0
    assert thief("renew", CERT_NO, "--days", "90").code == 0
    for number in (EXEMPT_NO, FAKE_EXEMPT_NO):
        assert thief("download", number, "-o", issuer.base / "queue.pdf").code == 4
    processed = thief("admin", "process")
    assert processed.code == 0 and processed.json["completed"] == 3, processed.out
    forged = {number: issuer.base / f"{name}-{number}.pdf" for number in (CERT_NO, EXEMPT_NO, FAKE_EXEMPT_NO)}
    for number, path in forged.items():
        assert thief("download", number, "-o", path).code == 0
        assert thief("verify", path).code == 0                     # VALID in the thief's copy
    return forged


FAKE_EXEMPT_NO = "2019TAX310100777"


def test_stolen_key_backdated_forgery_is_not_valid_online_or_offline(tmp_path):
    from test_trust_bundle import CERT_NO, COMPROMISED, EXEMPT_NO, T2, Issuer, checks, payload

    issuer = Issuer(tmp_path / "issuer")
    forged = _forge_with_a_copy(issuer, "thief")
    # The issuer learns of the theft and retires both seal keys the copy held, giving a compromise
    # instant LATER than the forgeries' claimed signing time.
    for seal_id in ("ministry", issuer.seal_id_of(EXEMPT_NO)):
        retired = issuer.cli("admin", "retire-seal", issuer.key_id(seal_id), "--compromised-at", COMPROMISED, now=T2)
        assert retired.code == 0, retired.out
        assert retired.json["ledger"]["count"] == 2 and retired.json["requeued"]["annotations"] == []
    human = issuer.cli("admin", "retire-seal", retired.json["key_id"], "--compromised-at", COMPROMISED, now=T2,
                       json_mode=False)
    assert "whatever signing time it claims" in human.out
    bundle = issuer.trust("after.pem", now=T2)
    forgeries = [(forged[CERT_NO],), ("--qr", payload(forged[CERT_NO])), (forged[EXEMPT_NO],),
                 (forged[FAKE_EXEMPT_NO],), ("--qr", payload(forged[FAKE_EXEMPT_NO]))]
    for args in forgeries:
        online = issuer.verify(*args, now=T2)
        offline = issuer.offline(*args, bundle=bundle, now=T2)
        for result, reason in ((online, "not_issued"), (offline, "not_in_ledger")):
            assert result.code == 1, (args, result.out)
            assert result.json["reason"] == "seal_compromised", result.json
            assert checks(result)["issued"]["reason"] == reason
    # The re-signed exempt copy's QR payload says, byte for byte, what the issuer signed (an exempt
    # payload carries no time): the same signed bytes, the same registry entry, a true statement.
    assert payload(forged[EXEMPT_NO]) != payload(issuer.exempt)
    from certcli.documents.qrpayload import signed_digest

    assert signed_digest(payload(forged[EXEMPT_NO])) == signed_digest(payload(issuer.exempt))
    # the genuine documents those keys signed before the compromise stay valid, online and offline
    for document in (issuer.pdf, issuer.exempt):
        for args in ((document,), ("--qr", payload(document))):
            assert issuer.verify(*args, now=T2).code == 0, document
            offline = issuer.offline(*args, bundle=bundle, now=T2)
            assert offline.code == 0, offline.out
            assert checks(offline)["issued"]["reason"] == "in_ledger"
    # a compromise date even later (a month after the theft) changes nothing
    later = "2026-04-01T00:00:00+08:00"
    assert issuer.cli("admin", "retire-seal", retired.json["key_id"], "--compromised-at", later, now=T2).code == 0
    bundle = issuer.trust("later.pem", now=T2)
    for args in forgeries[3:]:
        assert issuer.offline(*args, bundle=bundle, now=T2).code == 1
        assert issuer.verify(*args, now=T2).code == 1


def test_a_seal_on_a_qualification_it_may_not_sign_is_not_valid(tmp_path):
    """The tax association's key signs a ministry qualification (造价工程师), in a copy of
    the issuer's home where the certificate was switched to that seal."""
    import sqlite3

    from conftest import HOLDER_ID
    from test_trust_bundle import CERT_NO, EXEMPT_NO, T1, Issuer, checks, payload

    issuer = Issuer(tmp_path / "issuer")
    tax_seal = issuer.seal_id_of(EXEMPT_NO)
    thief = issuer.copy("thief")
    with sqlite3.connect(thief.home / "certcli.db") as db:
        db.execute("UPDATE certificates SET seal = 'association', seal_id = ?, issuer = '中国注册税务师协会' "
                   "WHERE certificate_no = ?", (tax_seal, CERT_NO))
    assert thief("login", "--id-number", HOLDER_ID).code == 0
    assert thief("renew", CERT_NO, "--days", "60").code == 0
    assert thief("admin", "process").json["completed"] == 1
    wrong = tmp_path / "wrong-seal.pdf"
    assert thief("download", CERT_NO, "-o", wrong).code == 0
    assert thief("verify", wrong).json["facts"]["key_id"] == issuer.key_id(tax_seal)
    for args in ((wrong,), ("--qr", payload(wrong))):
        for result in (issuer.verify(*args, now=T1), issuer.offline(*args, now=T1)):
            assert result.code == 1, result.out
            assert result.json["reason"] == "seal_not_for_qualification", result.json
            assert checks(result)["seal_key"]["detail"].endswith(": CST")
