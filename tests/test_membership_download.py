"""Membership e-certificates (SPEC §3, seed 003) through the CLI, from the member's photo to
the signed certificate: photo rules (2009 vs 2010), personal details, download, the disclosed
QR details, transfers, revocation, and a key retired after signing."""
import os

import pytest

from conftest import write_roster
from external import scan_qr
from membership_helpers import APPROVAL, download, jpeg, member_row, onboard, qr_of, ready_member
from membership_helpers import members  # noqa: F401 - the fixture


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


def test_member_qr_with_every_detail_still_scans(members, tmp_path):
    env = ready_member(members, tmp_path)
    members("admin", "member", "transfer", "2021CPA110000001", "--to", "新疆维吾尔自治区", "--on", "2023-05-01")
    download(members, env, tmp_path / "m.pdf", "all")
    decoded = scan_qr(tmp_path / "m.pdf", tmp_path)
    assert decoded == qr_of(tmp_path / "m.pdf")
    members("admin", "trust", "-o", tmp_path / "trust.pem")
    facts = members("verify", "--qr", decoded, "--trust", tmp_path / "trust.pem").json["facts"]
    assert facts["transfers"] == "2023-05-01 北京→新疆维吾尔自治区" and facts["email"] == "zhao@example.cn"
