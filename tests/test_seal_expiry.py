"""Issue 12, item 9: `admin process` never signs with an expired, expiring or retired
seal key (it rotates the seal first, or signs nothing), and `admin stats` warns about
seal and root certificates that end within 180 days.

The home is made at NOW (2026-03-01): seal certificates run 10 years from the day
before (to 2036-02-28 10:00 CST), the root 20 years (to 2046-02-28 10:00 CST)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from conftest import HOLDER_ID, PASSPHRASE, cert_row, write_roster
from certcli import rules
from certcli.errors import KeyProblem
from certcli.pki.keys import IssuerKeys

SEAL_END = datetime.fromisoformat("2036-02-28T10:00:00+08:00")
ROOT_END = datetime.fromisoformat("2046-02-28T10:00:00+08:00")
NUMBER = "2022ECO110100001"


def at(instant: datetime) -> str:
    return instant.isoformat()


@pytest.fixture
def home(cli, tmp_path):
    """Keys and one ministry certificate; its holder registered (nothing applied yet)."""
    assert cli("admin", "init").code == 0
    assert cli("admin", "issue", write_roster(tmp_path / "roster.csv", [cert_row()])).code == 0
    assert cli("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
    return cli


def apply_at(cli, when: str):
    assert cli.holder("agree", "--yes", now=when).code == 0
    applied = cli.holder("annotate", NUMBER, now=when)
    assert applied.code == 0, applied.out


def keys_of(cli) -> IssuerKeys:
    return IssuerKeys(cli.home / "keys")


def audit_actions(cli, action: str) -> list[dict]:
    exported = cli("admin", "audit", "export")
    assert exported.code == 0, exported.out
    return [entry for entry in map(json.loads, exported.out.splitlines()) if entry["action"] == action]


# --- admin process ---------------------------------------------------------------------

def test_a_seal_in_force_is_not_rotated(home):
    apply_at(home, home.now)
    before = keys_of(home).active_seal("ministry").key_id
    done = home("admin", "process")
    assert done.code == 0 and done.json["completed"] == 1, done.out
    assert done.json["rotated_before_signing"] == []
    assert keys_of(home).active_seal("ministry").key_id == before
    assert audit_actions(home, "rotate_seal") == []


@pytest.mark.parametrize("when", [SEAL_END + timedelta(days=400),           # long expired
                                  SEAL_END - timedelta(days=30)],           # ends inside a 90-day window
                         ids=["expired", "ending_within_the_longest_window"])
def test_process_rotates_an_expiring_seal_first_and_the_pdf_verifies(home, tmp_path, when):
    late = at(when)
    old = keys_of(home).active_seal("ministry")
    apply_at(home, late)
    done = home("admin", "process", now=late)
    assert done.code == 0 and done.json["completed"] == 1 and done.json["failed"] == 0, done.out
    [rotated] = done.json["rotated_before_signing"]
    assert rotated["seal_id"] == "ministry" and rotated["old_key_id"] == old.key_id
    new = keys_of(home).active_seal("ministry")
    assert rotated["new_key_id"] == new.key_id != old.key_id
    assert datetime.fromisoformat(rotated["not_after"]) == SEAL_END
    assert new.not_after >= when + rules.SIGNING_MARGIN           # the new certificate outlives the window
    # audited, and the old key stays in the bundle as rotated
    [entry] = audit_actions(home, "rotate_seal")
    assert {k: entry["details"].get(k) for k in ("old_key_id", "new_key_id", "why")} == {
        "old_key_id": old.key_id, "new_key_id": new.key_id, "why": "expiring"}
    statuses = {s.key_id: s.status for s in keys_of(home).seals()}
    assert statuses == {old.key_id: "rotated", new.key_id: "active"}
    # the holder's file is signed by the new key and verifies at that time
    pdf = tmp_path / "late.pdf"
    assert home.holder("download", NUMBER, "-o", pdf, now=late).code == 0
    verdict = home("verify", pdf, now=late)
    assert verdict.code == 0, verdict.out
    assert verdict.json["facts"]["key_id"] == new.key_id
    # the next run has nothing more to rotate
    next_day = at(when + timedelta(days=1))
    apply_at(home, next_day)
    again = home("admin", "process", now=next_day)
    assert again.json["completed"] == 1 and again.json["rotated_before_signing"] == []


def test_process_says_in_words_that_it_rotated(home):
    late = at(SEAL_END + timedelta(days=1))
    apply_at(home, late)
    done = home("admin", "process", now=late, json_mode=False)
    assert done.code == 0, done.out
    lines = done.out.splitlines()
    assert "rotated before signing" in lines[0] and "admin trust" in lines[0]
    assert lines[-1] == "1 completed, 0 failed."
    zh = home("admin", "process", now=late, json_mode=False, lang="zh")   # nothing pending: no notice
    assert zh.code == 0 and "更换密钥" not in zh.out


@pytest.mark.parametrize("when", [ROOT_END + timedelta(days=1),              # the root has ended
                                  ROOT_END - timedelta(days=30)],            # ends inside a 90-day window
                         ids=["root_expired", "root_ending"])
def test_a_root_that_cannot_certify_a_signing_key_signs_nothing(home, when):
    late = at(when)
    seals_before = [s.key_id for s in keys_of(home).seals()]
    apply_at(home, late)
    refused = home("admin", "process", now=late)
    assert refused.code == 7 and refused.error_code == "root_expired", refused.out
    data = refused.json["error"]["data"]
    assert datetime.fromisoformat(data["not_after"]) == ROOT_END and data["margin_days"] == 91
    assert "Nothing was signed" in refused.json["error"]["message"]
    # nothing signed, nothing rotated: the request is still pending
    assert [s.key_id for s in keys_of(home).seals()] == seals_before
    assert home.holder("download", NUMBER, "-o", "x.pdf", now=late).error_code == "annotation_pending"
    assert audit_actions(home, "process") == [] and audit_actions(home, "rotate_seal") == []
    words = home("admin", "process", now=late, json_mode=False, lang="zh")
    assert words.code == 7 and "根证书" in words.err + words.out


def test_a_clock_before_the_keys_signs_nothing_and_rotates_nothing(home):
    apply_at(home, home.now)
    seals_before = [s.key_id for s in keys_of(home).seals()]
    early = home("admin", "process", now="2020-01-01T10:00:00+08:00")
    assert early.code == 7 and early.error_code == "key_problem", early.out
    assert "CERTCLI_NOW" in early.json["error"]["message"]
    assert [s.key_id for s in keys_of(home).seals()] == seals_before


def test_a_retired_key_is_never_active(home, tmp_path):
    keys = keys_of(home)
    old = keys.active_seal("ministry").key_id
    retired = home("admin", "retire-seal", old, "--compromised-at", "2026-02-01T00:00:00+08:00")
    assert retired.code == 0, retired.out
    apply_at(home, home.now)
    assert home("admin", "process").json["completed"] == 1
    pdf = tmp_path / "after.pdf"
    assert home.holder("download", NUMBER, "-o", pdf).code == 0
    assert home("verify", pdf).json["facts"]["key_id"] != old
    # even a manifest that calls the retired key active does not make it one
    manifest_path = home.home / "keys" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["seals"]:
        entry["status"] = "active" if entry["key_id"] == old else "rotated"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(Exception) as found:
        keys_of(home).active_seal("ministry")
    assert getattr(found.value, "code", "") == "not_found"


def test_the_signer_refuses_a_key_that_may_not_sign_then(home):
    """The last line of defence, in every worker: even without the rotation before it."""
    from certcli.documents.signers import SealSigners

    keys_dir = home.home / "keys"
    assert SealSigners(keys_dir, PASSPHRASE.encode(), datetime.fromisoformat(home.now)).get("ministry")
    with pytest.raises(KeyProblem) as expired:
        SealSigners(keys_dir, PASSPHRASE.encode(), SEAL_END - timedelta(days=1)).get("ministry")
    assert expired.value.reason == "seal_expiring"
    with pytest.raises(KeyProblem) as early:
        SealSigners(keys_dir, PASSPHRASE.encode(), datetime.fromisoformat("2020-01-01T00:00:00+08:00")).get("ministry")
    assert early.value.reason == "seal_not_yet_valid"


# --- admin stats -----------------------------------------------------------------------

def test_stats_has_no_warning_while_certificates_run_long(home):
    assert home("admin", "stats").json["warnings"] == []
    assert home("admin", "stats", now=at(SEAL_END - timedelta(days=181))).json["warnings"] == []


def test_stats_warns_about_a_seal_ending_within_180_days(home):
    seal = keys_of(home).active_seal("ministry")
    warnings = home("admin", "stats", now=at(SEAL_END - timedelta(days=179, hours=1))).json["warnings"]
    assert warnings == [{"kind": "seal_expiring", "key_id": seal.key_id, "seal_id": "ministry",
                         "not_after": SEAL_END.isoformat(), "days_left": 179, "expired": False}]
    words = home("admin", "stats", now=at(SEAL_END - timedelta(days=10)), json_mode=False)
    assert words.out.splitlines()[0].startswith("Warning: the seal ministry certificate")
    assert "in 10 days" in words.out and "admin rotate-seal ministry" in words.out
    zh = home("admin", "stats", now=at(SEAL_END - timedelta(days=10)), json_mode=False, lang="zh")
    assert "剩余 10 天" in zh.out


def test_stats_warns_about_an_expired_seal(home):
    [warning] = home("admin", "stats", now=at(SEAL_END + timedelta(days=3))).json["warnings"]
    assert warning["kind"] == "seal_expiring" and warning["expired"] and warning["days_left"] == -3
    words = home("admin", "stats", now=at(SEAL_END + timedelta(days=3)), json_mode=False)
    assert "expired 28 Feb 2036 10:00 (Beijing time)" in words.out


def test_stats_warns_about_the_root_and_a_rotated_seal_is_not_warned_about(home):
    when = ROOT_END - timedelta(days=100)
    late = at(when)
    assert home("admin", "rotate-seal", "ministry", now=late).code == 0
    warnings = home("admin", "stats", now=late).json["warnings"]
    # the new seal certificate ends with the root: both are warned about, the old (rotated) key is not
    assert [(w["kind"], w["days_left"]) for w in warnings] == [("root_expiring", 100), ("seal_expiring", 100)]
    assert warnings[0]["seal_id"] is None
    words = home("admin", "stats", now=late, json_mode=False)
    assert "the issuer root certificate" in words.out.splitlines()[0]


# --- the rules -------------------------------------------------------------------------

def test_signing_and_expiry_rules():
    start = datetime(2026, 1, 1, tzinfo=rules.CST)
    end = start + timedelta(days=3650)
    assert rules.signing_problem(start, end, start) is None
    assert rules.signing_problem(start, end, start - timedelta(seconds=1)) == "not_yet_valid"
    assert rules.signing_problem(start, end, end - rules.SIGNING_MARGIN) is None
    assert rules.signing_problem(start, end, end - rules.SIGNING_MARGIN + timedelta(seconds=1)) == "expiring"
    assert rules.signing_problem(start, end, end + timedelta(days=1)) == "expiring"
    assert rules.SIGNING_MARGIN > timedelta(days=rules.MAX_ANNOTATION_DAYS)
    assert rules.expiry_warning(end, end - timedelta(days=181)) is None
    assert rules.expiry_warning(end, end - timedelta(days=180)) == 180
    assert rules.expiry_warning(end, end - timedelta(hours=1)) == 0
    assert rules.expiry_warning(end, end + timedelta(days=2)) == -2
