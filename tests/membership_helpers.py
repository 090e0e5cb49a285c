"""Membership e-certificates in the tests (SPEC §3, seed 003): roster rows, the ``members``
home (two applications, neither reviewed) and the steps of a member's way to a downloaded
certificate: two-stage approval, the initial password, the first login, photo and details.
Shared by tests/test_membership_*.py and the tests that start from a member (verify URLs,
processing, Chinese output, long-term validation)."""
import io

import pytest
from PIL import Image

from conftest import write_roster

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


def qr_of(path) -> str:
    from pypdf import PdfReader

    return str(PdfReader(path).metadata["/CertcliQR"])
