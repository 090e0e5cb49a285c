"""Membership e-certificates (SPEC §3, seed 003) through the CLI, up to the member's first
login: the roster's member columns, two-stage review, progress query and initial password,
first-login password change, and no secret in JSON or the audit log.  The helpers and the
``members`` home are in tests/membership_helpers.py."""
import json
import os
import stat

import pytest

from conftest import PASSWORD, store_db, write_roster
from membership_helpers import APPROVAL, MEMBER_ID, NEW_PASSWORD, approve, initial_password, jpeg, member_row
from membership_helpers import members  # noqa: F401 - the fixture


# --- two-stage review -------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_national_review_cannot_come_before_local(members, lang):
    early = members("admin", "member", "review", "2021CPA110000001", "--stage", "national", "--approve", lang=lang)
    assert early.code == 4 and early.error_code == "review_out_of_order"
    assert ("地方注协" if lang == "zh" else "local association") in early.json["error"]["message"]
    status = members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六").json["applications"][0]
    assert status["progress"] == "awaiting_local" and status["reviews"] == []


def test_rejection_needs_a_reason_is_shown_and_can_be_reviewed_again(members):
    no_reason = members("admin", "member", "review", "2021CPA110000001", "--stage", "local", "--reject")
    assert no_reason.code == 6
    assert members("admin", "member", "review", "2021CPA110000001", "--stage", "local", "--reject",
                   "--reason", "材料不全").code == 0
    status = members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六", lang="zh", json_mode=False)
    assert "地方注协初核未通过" in status.out and "材料不全" in status.out
    assert members("admin", "member", "review", "2021CPA110000001", "--stage", "national", "--approve").error_code \
        == "review_out_of_order"
    approve(members)
    closed = members("admin", "member", "review", "2021CPA110000001", "--stage", "national", "--reject",
                     "--reason", "late")
    assert closed.code == 4 and closed.error_code == "review_closed"
    assert members("admin", "member", "list", "--progress", "approved").json["members"][0]["certificate_no"] \
        == "2021CPA110000001"
    table = members("admin", "member", "list", lang="zh", json_mode=False).out
    assert "证书编号" in table and "审核进度" in table and "2021CPA110000001" in table   # a table with headers


def test_review_needs_the_key_passphrase(members):
    refused = members("admin", "member", "review", "2021CPA110000001", "--stage", "local", "--approve",
                      env={"CERTCLI_KEY_PASSPHRASE": "wrong passphrase"})
    assert refused.code == 3 and refused.error_code == "wrong_passphrase"


# --- progress query, initial password, first login ------------------------------------------

def test_progress_query_reveals_the_certificate_number_and_initial_password_once(members, tmp_path):
    before = members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六", "--approval-no", APPROVAL)
    assert "certificate_no" not in before.json["applications"][0]
    approve(members)
    no_approval = members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六").json["applications"][0]
    assert no_approval["credentials"] == "approval_no_needed" and "certificate_no" not in no_approval
    # JSON never carries the secret: without a file to put it in, nothing is issued
    kept = members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六", "--approval-no", APPROVAL)
    assert kept.json["applications"][0]["credentials"] == "initial_password_available"
    target = tmp_path / "initial.txt"
    issued = members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六", "--approval-no", APPROVAL,
                     "--password-file", target)
    entry = issued.json["applications"][0]
    assert entry["certificate_no"] == "2021CPA110000001" and entry["credentials"] == "initial_password"
    password = target.read_text().strip()
    assert len(password) == 14 and password not in issued.out
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    again = members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六", "--approval-no", APPROVAL)
    assert again.json["applications"][0]["credentials"] == "revealed" and password not in again.out
    hashes = [r[0] for r in store_db(members.home).execute(
        "SELECT password_hash FROM accounts WHERE id_type = 'member'")]
    assert hashes[0].startswith("scrypt$") and password not in hashes[0]


def test_password_is_not_issued_when_it_cannot_be_delivered(members, tmp_path):
    approve(members)
    failed = members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六", "--approval-no", APPROVAL,
                     "--password-file", tmp_path / "missing-folder" / "initial.txt")
    assert failed.code == 6 and failed.json["error"]["data"]["field"] == "--password-file"
    assert initial_password(members, tmp_path)  # still there to be issued


def test_human_progress_query_shows_the_password_in_chinese(members):
    approve(members)
    shown = members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六", "--approval-no", APPROVAL,
                    json_mode=False, lang="zh")
    assert shown.code == 0 and "证书编号：2021CPA110000001" in shown.out and "初始密码：" in shown.out


def test_wrong_approval_numbers_lock_the_query(members):
    approve(members)
    for _ in range(4):
        wrong = members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六", "--approval-no", "guess")
        assert wrong.code == 3 and wrong.error_code == "bad_credentials"
        assert "approval number" in wrong.json["error"]["message"]
    assert members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六", "--approval-no",
                   "guess").error_code == "account_locked"
    locked = members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六", "--approval-no", APPROVAL)
    assert locked.error_code == "account_locked"
    later = members("member", "status", "--id-number", MEMBER_ID, "--name", "赵六", "--approval-no", APPROVAL,
                    now="2026-03-01T10:15:00+08:00")
    assert later.code == 0


def test_initial_password_must_be_changed_at_first_login(members, tmp_path):
    approve(members)
    first = initial_password(members, tmp_path)
    plain = members("login", "--cert-number", "2021CPA110000001", env={"CERTCLI_PASSWORD": first})
    assert plain.code == 3 and plain.error_code == "password_change_required"
    assert members("member", "info").error_code == "not_logged_in"  # no session was left open
    same = members("login", "--cert-number", "2021CPA110000001",
                   env={"CERTCLI_PASSWORD": first, "CERTCLI_NEW_PASSWORD": first})
    assert same.code == 4 and same.error_code == "password_not_changed"
    weak = members("login", "--cert-number", "2021CPA110000001",
                   env={"CERTCLI_PASSWORD": first, "CERTCLI_NEW_PASSWORD": "short"})
    assert weak.error_code == "weak_password"
    changed = members("login", "--cert-number", "2021CPA110000001", "--password-stdin",
                      input=f"{first}\n{NEW_PASSWORD}\n", env={"CERTCLI_PASSWORD": ""})
    assert changed.code == 0 and changed.json["password_changed"]
    assert members("login", "--cert-number", "2021CPA110000001",
                   env={"CERTCLI_PASSWORD": first}).error_code == "bad_credentials"
    again = members("login", "--cert-number", "2021cpa110000001", env={"CERTCLI_PASSWORD": NEW_PASSWORD})
    assert again.code == 0 and not again.json["password_changed"]
    assert members("member", "info").json["certificate_no"] == "2021CPA110000001"


def test_reset_password_lets_the_member_obtain_a_new_one(members, tmp_path):
    approve(members)
    first = initial_password(members, tmp_path)
    assert members("admin", "member", "reset-password", "2021CPA110000001").code == 0
    second = initial_password(members, tmp_path)
    assert second != first
    assert members("login", "--cert-number", "2021CPA110000001",
                   env={"CERTCLI_PASSWORD": first, "CERTCLI_NEW_PASSWORD": NEW_PASSWORD}).error_code \
        == "bad_credentials"


def test_member_commands_need_a_member_login(members):
    members("register", "--name", "赵六", "--id-number", MEMBER_ID)
    members("login", "--id-number", MEMBER_ID)
    members("agree", "--yes")
    refused = members("member", "info")
    assert refused.code == 3 and refused.error_code == "member_login_required"
    # a membership is not a qualification certificate: the holder's list does not show it
    assert members("list").json["certificates"] == []
    assert members("info", "2021CPA110000001").error_code == "not_found"


# --- roster columns -----------------------------------------------------------------------------

def test_member_roster_columns_are_validated_by_line(cli, tmp_path):
    cli("admin", "init")
    rows = [member_row(no="M1"), member_row(no="M2", mobile="12345"), member_row(no="M3", email="x@"),
            member_row(no="M4", pass_year="1890"), {**member_row(no="M5"), "kind": "club"},
            {**member_row(no="M6"), "birth_date": "2090-01-01"}]
    result = cli("admin", "issue", write_roster(tmp_path / "m.csv", rows))
    assert result.code == 6 and result.json["inserted"] == 1
    assert [(e["line"], e["reason"]) for e in result.json["rejects"]] == [
        (3, "invalid_mobile"), (4, "invalid_email"), (5, "invalid_year"), (6, "invalid_kind"), (7, "invalid_date")]


def test_chinese_member_headers(cli, tmp_path):
    cli("admin", "init")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(jpeg())
    header = "证书编号,姓名,证件号码,资格名称,签发日期,发证机构,类别,批准文号,手机,邮箱,考试通过年度,考试照片,地区\n"
    line = (f"2021CPA1,赵六,{MEMBER_ID},注册会计师非执业会员,2021-03-15,中国注册会计师协会,会员,{APPROVAL},"
            "13800138000,zhao@example.cn,2012,photos/a.jpg,北京\n")
    (tmp_path / "m.csv").write_text(header + line, encoding="utf-8")
    assert cli("admin", "issue", tmp_path / "m.csv").code == 0
    row = store_db(cli.home).execute(
        "SELECT kind, mobile, email, exam_pass_year, photo FROM certificates").fetchone()
    assert row[:4] == ("membership", "13800138000", "zhao@example.cn", 2012)
    assert row[4] == str(tmp_path / "photos" / "a.jpg")  # kept absolute: resolves after the import


def test_secrets_never_reach_json_or_the_audit_log(members, tmp_path):
    approve(members)
    password = initial_password(members, tmp_path)
    members("login", "--cert-number", "2021CPA110000001",
            env={"CERTCLI_PASSWORD": password, "CERTCLI_NEW_PASSWORD": NEW_PASSWORD})
    log = json.dumps(store_db(members.home).execute(
        "SELECT * FROM audit_log").fetchall(), ensure_ascii=False)
    assert password not in log and NEW_PASSWORD not in log and PASSWORD not in log
    assert "member_review" in log and "member_password_issued" in log and "member_password_changed" in log
