"""Membership e-certificates (SPEC §3, seed 003) over time: annual inspections, and paper
member certificates (invalid from 2025-12-31), as ``member info`` and ``verify --number`` show them."""
import pytest

from conftest import store_of, write_roster
from membership_helpers import approve, jpeg, member_row, onboard
from membership_helpers import members  # noqa: F401 - the fixture


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
