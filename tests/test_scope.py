"""certcli scope (证书查询验证范围) and the FAQ (常见问题解答, seed 004), in zh and en."""
import pytest

from certcli import catalog

REQUIRED_TOPICS = ("legal-effect", "annotation", "quota", "expired", "exempt", "empty-list")


def test_scope_without_a_store_is_the_builtin_catalogue(cli):
    result = cli("scope")
    assert result.code == 0
    rows = {r["qualification"]: r for r in result.json["qualifications"]}
    ministry = [r for r in rows.values() if r["seal"] == "ministry"]
    assert len(ministry) == 24 and all(r["annotation"] == "required" for r in ministry)
    for name in ("拍卖师", "税务师", "银行业专业人员职业资格"):
        assert rows[name]["seal"] == "association" and rows[name]["annotation"] == "required_from_2021_12_17"
    assert result.json["ministry_seal_from"] == "2021-12-17"
    assert len(rows) == len(catalog.MINISTRY_QUALIFICATIONS) + len(catalog.ASSOCIATION_QUALIFICATIONS)


def test_scope_counts_what_the_store_holds(issued):
    result = issued("scope", "--store-only").json
    counts = {r["qualification"]: r["certificates"] for r in result["qualifications"]}
    assert counts == {"经济专业技术资格": 1, "税务师": 1, "审计专业技术资格": 1}
    assert result["in_store"] == 3


def test_scope_includes_qualifications_outside_the_catalogue(issued, tmp_path):
    from conftest import cert_row, write_roster

    issued("admin", "issue", write_roster(tmp_path / "x.csv", [
        cert_row(no="2024XYZ000000001", qualification="某行业资格", seal="association", issuer="某行业协会")]))
    row = next(r for r in issued("scope").json["qualifications"] if r["qualification"] == "某行业资格")
    assert row == {**row, "in_catalogue": False, "seal": "association", "certificates": 1}


@pytest.mark.parametrize("lang, header, ministry", [("en", "Annotation", "ministry seal"),
                                                      ("zh", "加注", "人社部专用章")])
def test_scope_table_in_both_languages(cli, lang, header, ministry):
    shown = cli("scope", json_mode=False, lang=lang)
    assert shown.code == 0 and header in shown.out and ministry in shown.out and "拍卖师" in shown.out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_faq_answers_every_topic_in_both_languages(cli, lang):
    entries = cli("faq", lang=lang).json["faq"]
    topics = [e["topic"] for e in entries]
    assert set(REQUIRED_TOPICS) <= set(topics)
    assert all(e["question"] and e["answer"] for e in entries)
    by_topic = {e["topic"]: e["answer"] for e in entries}
    if lang == "zh":
        assert "同等法律效力" in by_topic["legal-effect"] and "90日内同一证书可存在3次有效加注" in by_topic["quota"]
        assert "2021年12月17日之前" in by_topic["exempt"] and "重新注册" in by_topic["empty-list"]
    else:
        assert "same legal effect" in by_topic["legal-effect"] and "3 annotations within 90 days" in by_topic["quota"]
        assert "2021-12-17" in by_topic["exempt"] and "register again" in by_topic["empty-list"]


def test_faq_one_topic_and_the_help_alias(cli):
    one = cli("faq", "expired").json["faq"]
    assert len(one) == 1 and "certcli renew" in one[0]["answer"]
    assert cli("help", "faq", "expired").json == cli("faq", "expired").json
    human = cli("help", "faq", "annotation", json_mode=False, lang="zh")
    assert "什么是电子证书加注" in human.out


def test_faq_unknown_topic(cli):
    result = cli("faq", "weather")
    assert result.code == 5 and "quota" in result.json["error"]["message"]
