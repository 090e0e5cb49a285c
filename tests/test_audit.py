"""The audit log: every action recorded, any tampering detected and located."""
import json

import pytest

from conftest import store_db

CERT = "2022ECO110100001"


@pytest.fixture
def busy(issued, tmp_path):
    issued("login", "--id-number", "110101199003074477", env={"CERTCLI_PASSWORD": "wrong-password"})
    issued("annotate", CERT)
    issued("admin", "process")
    issued("download", CERT, "-o", tmp_path / "c.pdf")
    issued("admin", "revoke", "2023AUD440300002", "--reason", "test")
    return issued


def actions(cli):
    return [e["action"] for e in map(json.loads, cli("admin", "audit", "export", json_mode=False).out.splitlines())]


def test_every_kind_of_action_is_recorded(busy):
    recorded = actions(busy)
    for action in ("issue", "register", "login", "terms_accepted", "login_failed", "annotate", "process",
                   "download", "revoke"):
        assert action in recorded, action
    text = busy("admin", "audit", "export", json_mode=False).out
    assert "110101199003074477" not in text  # no full ID numbers in the log
    assert busy("admin", "audit", "verify").json == {"ok": True, "entries": len(recorded), "first_bad_id": None,
                                                     "problem": None}


def tamper(cli, sql):
    db = store_db(cli.home)
    db.execute(sql)
    db.commit()
    db.close()


@pytest.mark.parametrize("sql,first_bad,problem", [
    ("UPDATE audit_log SET actor = 'someone' WHERE id = 3", 3, "edited"),
    ("UPDATE audit_log SET details = '{\"reason\":\"other\"}' WHERE action = 'revoke'", None, "edited"),
    ("DELETE FROM audit_log WHERE id = 4", 5, "missing_or_reordered"),
    ("UPDATE audit_log SET at = '2020-01-01T00:00:00+08:00' WHERE id = 2", 2, "edited"),
])
def test_tampering_is_detected_and_located(busy, sql, first_bad, problem):
    tamper(busy, sql)
    result = busy("admin", "audit", "verify")
    assert result.code == 1 and result.json["problem"] == problem
    if first_bad:
        assert result.json["first_bad_id"] == first_bad


def test_reordering_and_truncation_are_detected(busy):
    total = busy("admin", "audit", "verify").json["entries"]
    tamper(busy, "UPDATE audit_log SET id = -1 WHERE id = 2")
    tamper(busy, "UPDATE audit_log SET id = 2 WHERE id = 3")
    tamper(busy, "UPDATE audit_log SET id = 3 WHERE id = -1")
    assert busy("admin", "audit", "verify").json["first_bad_id"] == 2
    tamper(busy, "UPDATE audit_log SET id = -1 WHERE id = 3")
    tamper(busy, "UPDATE audit_log SET id = 3 WHERE id = 2")
    tamper(busy, "UPDATE audit_log SET id = 2 WHERE id = -1")
    assert busy("admin", "audit", "verify").json["ok"]
    tamper(busy, f"DELETE FROM audit_log WHERE id = {total}")
    truncated = busy("admin", "audit", "verify").json
    assert truncated["problem"] == "truncated" and truncated["first_bad_id"] == total


def test_head_is_a_witness(busy):
    head = busy("admin", "audit", "head").json
    assert head["entries"] == busy("admin", "audit", "verify").json["entries"] and len(head["hash"]) == 64
