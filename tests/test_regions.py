"""Regional issuance policy and paper-certificate collection (SPEC §3, seeds 000, 002)
through the CLI: electronic / paper / both, --since by issue day, the collection
window after results, checklists per method, the administrator's moves."""
from datetime import date

import pytest

from conftest import HOLDER_ID, cert_row, write_roster

ONLY_PAPER, ONLY_ELECTRONIC, BOTH = "2025ACC650100003", "2025ACC110100001", "2025ACC320100002"


def row(no, region, issued_on):
    return {**cert_row(no=no, qualification="会计专业技术资格", level="初级", issued_on=issued_on), "region": region}


@pytest.fixture
def regional(cli, tmp_path):
    """Three certificates of one holder in 新疆 (set to paper only), 北京 (built in: electronic
    only since 2021-02-01) and 江苏 (no policy: both)."""
    assert cli("admin", "init").code == 0
    roster = write_roster(tmp_path / "r.csv", [
        row(ONLY_PAPER, "新疆维吾尔自治区", "2025-10-20"), row(ONLY_ELECTRONIC, "北京市", "2025-06-20"),
        row(BOTH, "江苏", "2025-12-20"), row("2023ACC650100009", "新疆", "2023-12-31")])
    assert cli("admin", "issue", roster).code == 0
    assert cli("admin", "region", "set", "新疆", "--mode", "paper", "--since", "2024-01-01").code == 0
    cli("register", "--name", "王小明", "--id-number", HOLDER_ID)
    cli("login", "--id-number", HOLDER_ID)
    cli("agree", "--yes")
    return cli


def test_builtin_and_set_policies_are_listed(regional):
    listed = {r["region"]: r for r in regional("admin", "region", "list").json["regions"]}
    assert listed["北京"]["mode"] == "electronic" and listed["北京"]["set_by"] == "builtin"
    assert listed["广西"]["mode"] == "electronic"
    assert listed["新疆"] == {**listed["新疆"], "mode": "paper", "since": "2024-01-01", "collection_after_months": 2}
    zh = regional("admin", "region", "list", lang="zh", json_mode=False)
    assert "北京：仅发放电子证书（自 2021年02月01日 起）" in zh.out


def test_region_set_validates(regional):
    assert regional("admin", "region", "set", "新疆", "--mode", "holographic").code == 2  # a typer choice: lists the valid modes
    assert regional("admin", "region", "set", "新疆", "--mode", "both", "--since", "someday").code == 6
    assert regional("admin", "region", "set", "新疆", "--mode", "both", "--collection-after-months", "99").code == 6
    assert regional("admin", "region", "set", "新疆", "--mode", "both",
                    env={"CERTCLI_KEY_PASSPHRASE": "wrong passphrase"}).error_code == "wrong_passphrase"


@pytest.mark.parametrize("lang, text", [("en", "issues paper certificates only"), ("zh", "只发放纸质证书")])
def test_paper_only_region_refuses_electronic_download(regional, tmp_path, lang, text):
    for command in (("download", ONLY_PAPER, "-o", tmp_path / "x.pdf"), ("annotate", ONLY_PAPER)):
        refused = regional(*command, lang=lang)
        assert refused.code == 4 and refused.error_code == "electronic_not_issued"
        message = refused.json["error"]["message"]
        assert text in message and f"certcli paper request {ONLY_PAPER}" in message
    assert regional("paper", "request", ONLY_PAPER, "--method", "onsite").code == 0


@pytest.mark.parametrize("lang, text", [("en", "no longer issued in 北京"), ("zh", "北京（自 2021年02月01日 起）已不再发放纸质证书")])
def test_electronic_only_region_refuses_paper_requests(regional, lang, text):
    refused = regional("paper", "request", ONLY_ELECTRONIC, "--method", "onsite", lang=lang)
    assert refused.code == 4 and refused.error_code == "paper_not_issued"
    assert text in refused.json["error"]["message"]
    assert regional("annotate", ONLY_ELECTRONIC).code == 0


def test_both_region_allows_both(regional):
    assert regional("annotate", BOTH).code == 0
    assert regional("paper", "request", BOTH, "--method", "mail").code == 0


def test_policy_applies_from_its_since_day_by_issue_date(regional):
    # issued 2023-12-31, before 新疆 went paper-only on 2024-01-01: both forms
    assert regional("annotate", "2023ACC650100009").code == 0
    assert regional("annotate", ONLY_PAPER).error_code == "electronic_not_issued"  # issued 2025-10-20


def test_setting_a_region_again_replaces_it(regional):
    assert regional("admin", "region", "set", "新疆", "--mode", "both", "--since", "2024-01-01").code == 0
    assert regional("annotate", ONLY_PAPER).code == 0
    assert [r["mode"] for r in regional("admin", "region", "list").json["regions"] if r["region"] == "新疆"] == ["both"]


@pytest.mark.parametrize("now, opens", [("2026-02-19T23:59:59+08:00", False), ("2026-02-20T00:00:00+08:00", True)])
def test_collection_opens_two_months_after_results(regional, now, opens):
    result = regional.holder("paper", "request", BOTH, "--method", "onsite", now=now)
    if opens:
        assert result.code == 0
    else:
        assert result.code == 4 and result.error_code == "paper_collection_not_open"
        assert result.json["error"]["data"]["opens_on"] == "2026-02-20"


def test_collection_delay_is_configurable(regional):
    regional("admin", "region", "set", "江苏", "--mode", "both", "--collection-after-months", "3")
    early = regional.holder("paper", "request", BOTH, "--method", "onsite", now="2026-03-19T12:00:00+08:00")
    assert early.error_code == "paper_collection_not_open" and early.json["error"]["data"]["opens_on"] == "2026-03-20"
    zh = regional.holder("paper", "request", BOTH, "--method", "onsite", now="2026-03-19T12:00:00+08:00", lang="zh")
    assert "2026年03月20日 起开放" in zh.json["error"]["message"]


@pytest.mark.parametrize("method, proxy, items", [
    ("onsite", False, ["score_report", "degree_original", "id_card_original", "photos", "registration_form"]),
    ("onsite", True, ["score_report", "degree_original", "id_card_original", "photos", "registration_form",
                      "power_of_attorney", "both_ids"]),
    ("mail", False, ["application_form", "id_card_copy", "signed_receipt", "postage"]),
])
def test_request_prints_the_checklist_for_its_method(regional, method, proxy, items):
    result = regional("paper", "request", BOTH, "--method", method, *(["--proxy"] if proxy else []))
    assert result.code == 0
    assert [i["item"] for i in result.json["checklist"]] == items
    assert result.json["request_no"].startswith("PR20260301")


def test_checklist_in_chinese(regional):
    shown = regional("paper", "request", BOTH, "--method", "onsite", "--proxy", json_mode=False, lang="zh")
    assert shown.code == 0
    for text in ("成绩合格单", "学历（学位）证书原件", "本人身份证原件", "照片", "一式两份", "委托书", "双方身份证原件"):
        assert text in shown.out


def test_bad_method_and_proxy_by_mail(regional):
    assert regional("paper", "request", BOTH, "--method", "drone").code == 2  # a typer choice
    assert regional("paper", "request", BOTH, "--method", "mail", "--proxy").code == 6


def test_one_request_per_certificate(regional):
    assert regional("paper", "request", BOTH, "--method", "onsite").code == 0
    again = regional("paper", "request", BOTH, "--method", "mail")
    assert again.code == 4 and again.error_code == "paper_request_exists"


def test_other_holders_certificate_is_not_found(regional, tmp_path):
    regional("admin", "issue", write_roster(tmp_path / "o.csv", [
        {**cert_row(no="2025ACC320100099", name="李䶮", id_number="11010519491231002X"), "region": "江苏"}]))
    assert regional("paper", "request", "2025ACC320100099", "--method", "onsite").code == 5


def test_onsite_request_moves_to_handed_over(regional):
    number = regional("paper", "request", BOTH, "--method", "onsite").json["request_no"]
    assert regional("admin", "paper", "handed-over", number).error_code == "paper_request_state"
    assert regional("admin", "paper", "ready", BOTH).json["status"] == "ready"  # by certificate number too
    assert regional("admin", "paper", "mailed", number, "--tracking", "SF1").error_code == "paper_request_state"
    assert regional("admin", "paper", "handed-over", number).json["status"] == "handed_over"
    assert regional("admin", "paper", "ready", number).code == 4
    status = regional("paper", "status").json["requests"][0]
    assert status["status"] == "handed_over" and status["closed_at"]


def test_mail_request_moves_to_mailed_with_tracking(regional):
    number = regional("paper", "request", BOTH, "--method", "mail", "--address", "南京市某路1号").json["request_no"]
    assert regional("admin", "paper", "list", "--status", "requested").json["requests"][0]["request_no"] == number
    regional("admin", "paper", "ready", number)
    assert regional("admin", "paper", "mailed", number).code == 2  # --tracking is required
    assert regional("admin", "paper", "handed-over", number).error_code == "paper_request_state"
    moved = regional("admin", "paper", "mailed", number, "--tracking", "SF1234567890")
    assert moved.json == {**moved.json, "status": "mailed", "tracking_no": "SF1234567890"}
    shown = regional("paper", "status", json_mode=False, lang="zh")
    assert "已寄出" in shown.out and "SF1234567890" in shown.out
    assert regional("admin", "paper", "list", "--status", "mailed").json["requests"][0]["tracking_no"] == "SF1234567890"
    table = regional("admin", "paper", "list", json_mode=False).out
    assert "Request no." in table and "Collection" in table and number in table   # a table with headers
    assert regional("admin", "paper", "ready", "PR-NOPE").code == 5


def test_revoked_certificate_gets_no_paper(regional):
    regional("admin", "revoke", BOTH)
    assert regional("paper", "request", BOTH, "--method", "onsite").error_code == "certificate_revoked"


def test_paper_commands_need_login_and_terms(regional):
    regional("logout")
    assert regional("paper", "status").error_code == "not_logged_in"


# --- pure rules ------------------------------------------------------------------------------

def test_region_names_match_with_or_without_suffix():
    from certcli.regions.rules import region_key

    assert region_key("北京市") == region_key("北京") == "北京"
    assert region_key("广西壮族自治区") == "广西" and region_key("新疆维吾尔自治区") == "新疆"
    assert region_key("Beijing") == region_key("beijing")
    assert region_key("市") == "市"


def test_add_months_keeps_the_day_or_clamps_to_month_end():
    from certcli.regions.rules import add_months

    assert add_months(date(2025, 12, 20), 2) == date(2026, 2, 20)
    assert add_months(date(2025, 12, 31), 2) == date(2026, 2, 28)
    assert add_months(date(2023, 12, 31), 2) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 30), 0) == date(2025, 11, 30)


def test_effective_policy_picks_the_latest_start_on_or_before_issue():
    from certcli.regions.rules import Policy, effective_policy

    policies = [Policy("X", "paper"), Policy("X", "electronic", date(2022, 1, 1)),
                Policy("X", "both", date(2024, 1, 1))]
    assert effective_policy(policies, "X", date(2021, 12, 31)).mode == "paper"
    assert effective_policy(policies, "X", date(2022, 1, 1)).mode == "electronic"
    assert effective_policy(policies, "X", date(2024, 6, 1)).mode == "both"
    assert effective_policy(policies, "Y", date(2024, 6, 1)).mode == "both"
    assert effective_policy(policies, None, date(2024, 6, 1)).mode == "both"
