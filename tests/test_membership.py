"""Membership e-certificates (SPEC §3, seed 003) through the CLI: two-stage review,
progress query and initial password, first-login password change, photo rules
(2009 vs 2010), personal details, download, disclosed QR details, annual
inspections, paper member certificates (invalid from 2025-12-31)."""
import io
import json
import os
import stat

import pytest
from PIL import Image

from external import scan_qr
from conftest import PASSWORD, store_db, store_of, write_roster

MEMBER_ID = "110101199003074477"
OLD_MEMBER_ID = "11010519491231002X"
APPROVAL = "京注协〔2021〕15号"
NEW_PASSWORD = "member-password-9"


def member_row(no="2021CPA110000001", name="赵六", id_number=MEMBER_ID, approved_on="2021-03-15",
               pass_year="2015", photo="exam.jpg", approval_no=APPROVAL, mobile="13800138000", email="",
               region="北京"):
    return {"certificate_no": no, "name": name, "id_type": "resident_id", "id_number": id_number,
            "qualification": "注册会计师非执业会员", "level": "", "issued_on": approved_on,
            "issuer": "中国注册会计师协会", "seal": "association", "region": region, "approval_no": approval_no,
            "photo": photo, "kind": "membership", "birth_date": "", "mobile": mobile, "email": email,
            "exam_pass_year": pass_year}


def jpeg(width=300, height=400, colour=(200, 180, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def members(cli, tmp_path):
    """A home with keys and two membership applications, neither reviewed."""
    assert cli("admin", "init").code == 0
    (tmp_path / "exam.jpg").write_bytes(jpeg())
    roster = write_roster(tmp_path / "members.csv", [
        member_row(),
        member_row(no="2008CPA310000002", name="钱七", id_number=OLD_MEMBER_ID, approved_on="2008-06-01",
                   pass_year="2009", photo="", approval_no="沪注协〔2008〕3号", mobile="", region="上海"),
    ])
    result = cli("admin", "issue", roster)
    assert result.code == 0, result.out
    return cli


def approve(cli, number="2021CPA110000001"):
    assert cli("admin", "member", "review", number, "--stage", "local", "--approve").code == 0
    assert cli("admin", "member", "review", number, "--stage", "national", "--approve").code == 0


def initial_password(cli, tmp_path, id_number=MEMBER_ID, name="赵六", approval_no=APPROVAL) -> str:
    target = tmp_path / f"initial-{id_number}.txt"
    result = cli("member", "status", "--id-number", id_number, "--name", name, "--approval-no", approval_no,
                 "--password-file", target)
    assert result.code == 0, result.out
    return target.read_text().strip()


def onboard(cli, tmp_path, number="2021CPA110000001", **who):
    """Approve, obtain the initial password, log in and replace it."""
    approve(cli, number)
    first = initial_password(cli, tmp_path, **who)
    login = cli("login", "--cert-number", number, env={"CERTCLI_PASSWORD": first,
                                                         "CERTCLI_NEW_PASSWORD": NEW_PASSWORD})
    assert login.code == 0 and login.json["password_changed"], login.out
    return {"CERTCLI_PASSWORD": NEW_PASSWORD}


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


# --- photo, details, download ----------------------------------------------------------------

@pytest.mark.parametrize("pass_year, allowed", [("2009", False), ("2010", True)])
def test_exam_photo_needs_a_pass_in_2010_or_later(cli, tmp_path, pass_year, allowed):
    cli("admin", "init")
    (tmp_path / "exam.jpg").write_bytes(jpeg())
    cli("admin", "issue", write_roster(tmp_path / "m.csv", [member_row(pass_year=pass_year)]))
    env = onboard(cli, tmp_path)
    result = cli("member", "photo", "--use", "exam", env=env)
    if allowed:
        assert result.code == 0 and result.json["source"] == "exam"
        return
    assert result.code == 4 and result.error_code == "photo_not_allowed"
    zh = cli("member", "photo", "--use", "exam", env=env, lang="zh")
    assert "现场核验" in zh.json["error"]["message"] and "2010" in zh.json["error"]["message"]
    assert cli("member", "photo", "--use", "verified", env=env).error_code == "photo_missing"
    (tmp_path / "onsite.jpg").write_bytes(jpeg(330, 480))
    assert cli("admin", "member", "photo", "2021CPA110000001", tmp_path / "onsite.jpg").code == 0
    assert cli("member", "photo", "--use", "verified", env=env).code == 0


@pytest.mark.parametrize("content, reason", [
    (b"\x89PNG\r\n\x1a\n" + b"0" * 100, "not_jpeg"),
    (b"\xff\xd8\xff\xe0" + b"truncated", "undecodable"),
    ("small", "dimensions"),
    ("huge", "too_large"),
])
def test_uploaded_photo_is_validated(members, tmp_path, content, reason):
    path = tmp_path / "photo.jpg"
    if content == "small":
        content = jpeg(50, 60)
    elif content == "huge":
        content = b"\xff\xd8\xff" + os.urandom(2 * 2**20 + 1)
    path.write_bytes(content)
    result = members("admin", "member", "photo", "2008CPA310000002", path)
    assert result.code == 6 and result.error_code == "bad_photo"
    assert result.json["error"]["data"]["reason"] == reason


@pytest.mark.parametrize("lang, photo_text, details_text", [
    ("en", "Choose the photo", "Confirm or complete your personal details"),
    ("zh", "请先选择会员证照片", "请先确认或补充个人信息"),
])
def test_download_names_the_missing_step(members, tmp_path, lang, photo_text, details_text):
    env = onboard(members, tmp_path)
    nothing = members("member", "download", "-o", tmp_path / "m.pdf", env=env, lang=lang)
    assert nothing.code == 4 and nothing.error_code == "photo_not_chosen"
    assert photo_text in nothing.json["error"]["message"]
    assert nothing.json["error"]["data"]["missing"] == ["photo", "details"]
    members("member", "photo", "--use", "exam", env=env)
    photo_only = members("member", "download", "-o", tmp_path / "m.pdf", env=env, lang=lang)
    assert photo_only.error_code == "details_not_confirmed" and details_text in photo_only.json["error"]["message"]
    incomplete = members("member", "confirm", "--yes", env=env)  # the roster has no email
    assert incomplete.code == 4 and incomplete.error_code == "details_incomplete"
    assert incomplete.json["error"]["data"]["missing"] == ["email"]
    assert members("member", "confirm", "--email", "not-an-email", "--yes", env=env).code == 6
    shown = members("member", "confirm", "--email", "zhao@example.cn", env=env)  # without --yes: nothing confirmed
    assert shown.code == 4 and shown.json["details"]["email"] == "zhao@example.cn"
    declined = members("member", "confirm", env=env, json_mode=False, input="n\n")
    assert declined.code == 4
    confirmed = members("member", "confirm", "--email", "zhao@example.cn", "--yes", env=env)
    assert confirmed.code == 0 and confirmed.json["details"] == {
        "birth_date": "1990-03-07", "mobile": "13800138000", "email": "zhao@example.cn"}
    pending = members("member", "download", "-o", tmp_path / "m.pdf", env=env, lang=lang)
    assert pending.code == 4 and pending.error_code == "document_pending"


def ready_member(members, tmp_path):
    env = onboard(members, tmp_path)
    members("member", "photo", "--use", "exam", env=env)
    assert members("member", "confirm", "--email", "zhao@example.cn", "--yes", env=env).code == 0
    assert members("admin", "member", "inspect", "2021CPA110000001", "--year", "2025", "--passed").code == 0
    return env


def download(members, env, path, *reveal):
    options = ("--reveal", reveal[0]) if reveal else ()
    first = members("member", "download", "-o", path, *options, env=env)
    if first.code == 4 and first.error_code == "document_pending":
        assert members("admin", "process").json["completed"] >= 1
        first = members("member", "download", "-o", path, *options, env=env)
    assert first.code == 0, first.out
    return first.json


def test_pending_member_certificates_are_counted_and_listed(members, tmp_path):
    env = ready_member(members, tmp_path)
    assert members("member", "download", "-o", tmp_path / "m.pdf", env=env).error_code == "document_pending"
    stats = members("admin", "stats").json["member_documents"]
    assert (stats["pending"], stats["overdue"]) == (1, 0)
    listed = members("admin", "pending").json["member_documents"]
    assert [(r["certificate_no"], r["overdue"]) for r in listed] == [("2021CPA110000001", False)]
    late = "2026-03-02T10:00:01+08:00"  # over 24 h later (R4)
    assert members("admin", "stats", now=late).json["member_documents"]["overdue"] == 1
    assert len(members("admin", "pending", "--overdue", now=late).json["member_documents"]) == 1
    human = members("admin", "pending", json_mode=False, now=late)
    assert listed[0]["document_no"] in human.out and "OVERDUE" in human.out
    assert members("admin", "process").json["completed"] == 1
    assert members("admin", "stats").json["member_documents"]["pending"] == 0


def qr_of(path) -> str:
    from pypdf import PdfReader

    return str(PdfReader(path).metadata["/CertcliQR"])


def test_member_pdf_shows_the_photo_and_verifies(members, tmp_path):
    env = ready_member(members, tmp_path)
    result = download(members, env, tmp_path / "m.pdf")
    assert result["disclosed"] == {"approval_no": APPROVAL, "inspection": "2025"}
    from pypdf import PdfReader

    page = PdfReader(tmp_path / "m.pdf").pages[0]
    assert len(page.images) == 1  # the photo
    text = page.extract_text()
    assert "2021CPA110000001" in text and "13800138000" not in text and APPROVAL in text
    verified = members("verify", tmp_path / "m.pdf")
    assert verified.code == 0 and verified.json["valid"], verified.out
    human = members("verify", tmp_path / "m.pdf", json_mode=False, lang="zh").out
    assert f"批准文号: {APPROVAL}" in human and "年检通过: 2025" in human   # disclosed details, in words
    # the same content is not signed twice
    assert members("member", "download", "-o", tmp_path / "again.pdf", env=env).code == 0
    assert (tmp_path / "again.pdf").read_bytes() == (tmp_path / "m.pdf").read_bytes()


def test_a_retired_key_s_member_certificates_are_signed_again(members, tmp_path):
    env = ready_member(members, tmp_path)
    download(members, env, tmp_path / "m.pdf")
    facts = members("verify", tmp_path / "m.pdf").json["facts"]
    retired = members("admin", "retire-seal", facts["key_id"], "--compromised-at", facts["signed_at"])
    assert retired.code == 0, retired.out
    assert len(retired.json["requeued"]["member_documents"]) == 1
    assert members("verify", tmp_path / "m.pdf").json["reason"] == "seal_compromised"
    pending = members("member", "download", "-o", tmp_path / "again.pdf", env=env)
    assert pending.code == 4 and pending.error_code == "document_pending"
    again = download(members, env, tmp_path / "again.pdf")
    assert again["document_no"] == retired.json["requeued"]["member_documents"][0]
    verified = members("verify", tmp_path / "again.pdf")
    assert verified.code == 0 and verified.json["facts"]["key_id"] == retired.json["rotated_to"]


@pytest.mark.parametrize("reveal, shown", [
    (None, {"approval_no", "inspection"}),
    ("none", set()),
    ("mobile,email", {"mobile", "email"}),
    ("all", {"approval_no", "birth_date", "mobile", "email", "inspection"}),  # no transfers: there are none
])
def test_verify_qr_shows_exactly_what_was_disclosed(members, tmp_path, reveal, shown):
    env = ready_member(members, tmp_path)
    download(members, env, tmp_path / "m.pdf", *([reveal] if reveal else []))
    members("admin", "trust", "-o", tmp_path / "trust.pem")
    payload = qr_of(tmp_path / "m.pdf")
    checked = members("verify", "--qr", payload, "--trust", tmp_path / "trust.pem")
    assert checked.code == 0 and checked.json["valid"]
    facts = checked.json["facts"]
    assert {k for k in ("approval_no", "birth_date", "mobile", "email", "inspection", "transfers")
            if k in facts} == shown
    if "mobile" in shown:
        assert facts["mobile"] == "13800138000"
    # any change to the payload breaks its signature
    forged = payload[:-3] + ("A" if payload[-3] != "A" else "B") + payload[-2:]
    assert members("verify", "--qr", forged, "--trust", tmp_path / "trust.pem").code == 1


def test_unknown_reveal_key_is_bad_input(members, tmp_path):
    env = ready_member(members, tmp_path)
    result = members("member", "download", "--reveal", "mobile,salary", env=env)
    # a usage error (exit 2) naming the key, as the JSON error document the CLI's one boundary prints
    assert result.code == 2 and result.error_code == "usage_error" and "salary" in result.out + result.err


def test_transfers_are_recorded_and_can_be_disclosed(members, tmp_path):
    env = ready_member(members, tmp_path)
    assert members("admin", "member", "transfer", "2021CPA110000001", "--to", "上海", "--on", "2023-05-01").code == 0
    result = download(members, env, tmp_path / "m.pdf", "transfers")
    assert result["disclosed"] == {"transfers": "2023-05-01 北京→上海"}
    assert members("member", "info", env=env).json["region"] == "上海"


def test_revoked_membership_cannot_be_downloaded(members, tmp_path):
    env = ready_member(members, tmp_path)
    members("member", "download", "-o", tmp_path / "m.pdf", env=env)  # pending
    assert members("admin", "revoke", "2021CPA110000001").code == 0
    assert members("admin", "process").json["completed"] == 0
    assert members("member", "download", env=env).error_code == "certificate_revoked"


# --- annual inspections, paper member certificates --------------------------------------------

def test_annual_inspection_flags_a_member_without_last_years_pass(members, tmp_path):
    env = onboard(members, tmp_path)
    info = members("member", "info", env=env).json["annual_inspection"]
    assert info == {"latest_passed": None, "overdue": True, "inspections": []}
    members("admin", "member", "inspect", "2021CPA110000001", "--year", "2024", "--passed")
    members("admin", "member", "inspect", "2021CPA110000001", "--year", "2025", "--failed")
    info = members("member", "info", env=env).json["annual_inspection"]
    assert info["latest_passed"] == 2024 and info["overdue"]
    members("admin", "member", "inspect", "2021CPA110000001", "--year", "2025", "--passed")
    info = members("member", "info", env=env).json["annual_inspection"]
    assert info["latest_passed"] == 2025 and not info["overdue"]
    assert members("member", "info", env=env).json["status"] == "valid"  # flagged, not invalid
    future = members("admin", "member", "inspect", "2021CPA110000001", "--year", "2027", "--passed")
    assert future.code == 6


@pytest.mark.parametrize("approved_on, now, state", [
    ("2020-12-31", "2025-12-30T23:59:59+08:00", "valid"),
    ("2020-12-31", "2025-12-31T00:00:00+08:00", "invalid"),
    ("2020-12-31", "2026-01-01T00:00:00+08:00", "invalid"),
    ("2021-01-01", "2025-12-30T23:59:59+08:00", "none"),
    ("2021-01-01", "2026-01-01T00:00:00+08:00", "none"),
])
def test_paper_member_certificates_lose_validity_on_2025_12_31(cli, tmp_path, approved_on, now, state):
    from datetime import datetime

    from certcli.membership.service import paper_member_status

    cli.now = "2025-06-01T10:00:00+08:00"
    cli("admin", "init")
    (tmp_path / "exam.jpg").write_bytes(jpeg())
    cli("admin", "issue", write_roster(tmp_path / "m.csv", [member_row(approved_on=approved_on)]))
    env = onboard(cli, tmp_path)
    assert cli("login", "--cert-number", "2021CPA110000001", env=env, now=now).code == 0  # sessions idle out
    assert cli("member", "info", env=env, now=now).json["paper_certificate"] == state
    zh = cli("member", "info", env=env, now=now, lang="zh", json_mode=False)
    assert {"valid": "2025年12月31日 起失效", "invalid": "自 2025年12月31日 起失效", "none": "仅发放电子会员证"}[state] \
        in zh.out
    # what `verify --number` adds for this membership (see membership.paper_member_status)
    status = paper_member_status(store_of(cli.home), "2021CPA110000001", "赵六", datetime.fromisoformat(now))
    assert status["facts"]["paper_certificate"] == state
    checks = {name: (ok, reason) for name, ok, reason, _detail in status["checks"]}
    if state == "invalid":
        assert checks["paper_certificate"] == (False, "paper_member_expired")
    elif state == "valid":
        assert checks["paper_certificate"] == (True, "paper_member_valid")
    else:
        assert "paper_certificate" not in checks


@pytest.mark.parametrize("now, valid", [("2025-12-30T23:59:59+08:00", True), ("2025-12-31T00:00:00+08:00", False),
                                        ("2026-01-01T00:00:00+08:00", False)])
def test_verify_number_says_the_paper_member_certificate_is_invalid(members, now, valid):
    approve(members, "2008CPA310000002")
    result = members("verify", "--number", "2008CPA310000002", "--name", "钱七", now=now)
    assert result.code == (0 if valid else 1) and result.json["valid"] is valid
    assert result.json["facts"]["paper_certificate"] == ("valid" if valid else "invalid")
    paper = next(c for c in result.json["checks"] if c["name"] == "paper_certificate")
    assert paper["reason"] == ("paper_member_valid" if valid else "paper_member_expired")
    zh = members("verify", "--number", "2008CPA310000002", "--name", "钱七", now=now, lang="zh", json_mode=False)
    assert ("有效至 2025年12月30日" if valid else "自 2025年12月31日 起失效；请核验电子会员证") in zh.out
    # approved from 2021 on: electronic only, nothing to lose validity
    approve(members)
    assert members("verify", "--number", "2021CPA110000001", "--name", "赵六", now=now).code == 0


def test_lookup_of_an_unapproved_membership_is_not_valid(members):
    from certcli.membership.service import paper_member_status
    from certcli.rules import CST
    from datetime import datetime

    status = paper_member_status(store_of(members.home), "2021CPA110000001", "赵六",
                                 datetime(2026, 3, 1, tzinfo=CST))
    assert ("membership", False, "member_not_approved", "") in status["checks"]
    assert status["facts"]["membership"] == "awaiting_local"
    public = members("verify", "--number", "2021CPA110000001", "--name", "赵六")
    assert public.code == 1 and not public.json["valid"]
    assert paper_member_status(store_of(members.home), "2021CPA110000001", "别人",
                               datetime(2026, 3, 1, tzinfo=CST)) is None


def test_members_get_no_paper_certificate(members, tmp_path):
    env = onboard(members, tmp_path)
    refused = members("paper", "request", "2021CPA110000001", "--method", "onsite", env=env)
    assert refused.code == 4 and refused.error_code == "paper_member_not_issued"


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


def test_member_qr_with_every_detail_still_scans(members, tmp_path):
    env = ready_member(members, tmp_path)
    members("admin", "member", "transfer", "2021CPA110000001", "--to", "新疆维吾尔自治区", "--on", "2023-05-01")
    download(members, env, tmp_path / "m.pdf", "all")
    decoded = scan_qr(tmp_path / "m.pdf", tmp_path)
    assert decoded == qr_of(tmp_path / "m.pdf")
    members("admin", "trust", "-o", tmp_path / "trust.pem")
    facts = members("verify", "--qr", decoded, "--trust", tmp_path / "trust.pem").json["facts"]
    assert facts["transfers"] == "2023-05-01 北京→新疆维吾尔自治区" and facts["email"] == "zhao@example.cn"
