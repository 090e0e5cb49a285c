"""Issue 14, items 10-14: complete Chinese output, one date style per language, tables that
read at 80 columns, member certificates shown and drawn as what they are.  Every test drives
the real CLI (``--lang zh`` / ``--lang en``); the PDFs are read back with pdftotext."""
import re
import subprocess
from datetime import date, datetime, timedelta, timezone

import pytest

from conftest import HOLDER_ID, cert_row, need_tool, write_roster
from membership_helpers import APPROVAL, ready_member
from membership_helpers import download as member_download
from membership_helpers import members  # noqa: F401 - the fixture

CERT = "2022ECO110100001"
APPLIED = "2026-03-01T10:00:00+08:00"       # day D = 2026-03-01; 90 days: usable until the start of D+90
LAST_DAY = "2026-05-29"                     # D+89, the last usable day
CST = timezone(timedelta(hours=8))


@pytest.fixture
def annotated(issued, tmp_path):
    """The conftest holder with one completed 90-day annotation and its PDF."""
    assert issued.holder("annotate", CERT, now=APPLIED).code == 0
    assert issued("admin", "process", now=APPLIED).code == 0
    assert issued.holder("download", CERT, "-o", tmp_path / "cert.pdf").code == 0
    issued.pdf = tmp_path / "cert.pdf"
    return issued


def english_words(text: str) -> set[str]:
    """Lower-case ASCII words (codes look like this: ministry, self-use, active) outside of
    numbers and identifiers (certificate and annotation numbers, key ids carry digits)."""
    tokens = re.findall(r"[A-Za-z0-9_\-.]+", text)
    return {t for t in tokens if not any(c.isdigit() for c in t) and re.search(r"[a-z]{2,}", t)}


# --- item 10: all Chinese ------------------------------------------------------------------

CODES = {"ministry", "association", "self-use", "active", "pending", "valid", "revoked", "expired", "exempt",
         "none", "count", "check", "result", "explanation", "UTC", "OVERDUE", "rows", "passed"}


def test_zh_human_output_has_no_english_codes_or_labels(annotated):
    cli = annotated
    assert cli.holder("annotate", CERT, "--days", "30").code == 0        # one request waiting
    outputs = {
        "list": cli.holder("list", json_mode=False, lang="zh"),
        "info": cli.holder("info", CERT, json_mode=False, lang="zh"),
        "verify": cli("verify", cli.pdf, json_mode=False, lang="zh"),
        "verify --number": cli("verify", "--number", CERT, "--name", "王小明", json_mode=False, lang="zh"),
        "stats": cli("admin", "stats", json_mode=False, lang="zh"),
        "pending": cli("admin", "pending", json_mode=False, lang="zh"),
        "pending overdue": cli("admin", "pending", json_mode=False, lang="zh", now="2026-03-03T10:00:00+08:00"),
    }
    for name, result in outputs.items():
        assert result.code == 0, (name, result.out, result.err)
        leaked = english_words(result.out) | {word for word in CODES if word in result.out}
        assert not leaked, (name, leaked, result.out)
    info = outputs["info"].out
    assert "本人调用" in info and "90 天" in info and "self-use" not in info          # the history in words
    assert "通过 人社部专用章" in outputs["verify"].out                                 # not "通过 ministry"
    assert "申请编号" in outputs["pending"].out and "已超时" in outputs["pending overdue"].out


def test_en_tables_use_words_too(annotated):
    info = annotated.holder("info", CERT, json_mode=False).out
    assert "Self use" in info and "90 days" in info and "self-use" not in info
    verify = annotated("verify", annotated.pdf, json_mode=False).out
    assert "passed ministry seal" in verify and "passed ministry\n" not in verify
    assert "Qualification code" not in verify            # the name is shown; the code only in --json


# --- item 11: one date style per language ----------------------------------------------------

def test_the_validity_end_is_the_last_usable_day_in_words(annotated):
    cli = annotated
    zh = cli.holder("info", CERT, json_mode=False, lang="zh").out
    en = cli.holder("info", CERT, json_mode=False).out
    assert "加注: 有效期至 2026年05月29日（北京时间）" in zh
    assert "Annotation: valid through 29 May 2026 (Beijing time)" in en
    assert "签发日期: 2022年01月14日" in zh and "Issued on: 14 Jan 2022" in en
    for text in (zh, en):
        assert "2026-05-30" not in text and "UTC+8" not in text and "00:00" not in text
    for lang, line in (("zh", "有效期至 2026年05月29日（北京时间）"), ("en", "valid through 29 May 2026 (Beijing time)")):
        verified = cli("verify", cli.pdf, json_mode=False, lang=lang).out
        assert line in verified.splitlines()[0]                  # the verdict sentence
        assert "UTC+8" not in verified and "2026-05-30" not in verified
    applied = cli.holder("renew", CERT, "--days", "1", json_mode=False, lang="zh", now="2026-03-02T09:00:00+08:00")
    assert applied.code == 0 and "有效期至 2026年03月02日（北京时间）" in applied.out   # 1 day: that day only


def test_json_keeps_instants_and_adds_valid_through(annotated):
    cli = annotated
    until = "2026-05-30T00:00:00+08:00"
    listed = {c["certificate_no"]: c for c in cli.holder("list").json["certificates"]}
    assert listed[CERT]["annotation"]["valid_until"] == until
    assert listed[CERT]["annotation"]["valid_through"] == LAST_DAY
    assert listed["2019TAX310100003"]["annotation"]["valid_through"] is None          # exempt: no end
    info = cli.holder("info", CERT).json
    assert info["annotation"]["valid_through"] == LAST_DAY
    assert [(a["valid_until"], a["valid_through"]) for a in info["annotations"]] == [(until, LAST_DAY)]
    assert info["annotations"][0]["scenario"] == "self-use"                            # codes stay codes
    applied = cli.holder("annotate", CERT, "--days", "30").json
    assert applied["valid_until"] == "2026-03-31T00:00:00+08:00" and applied["valid_through"] == "2026-03-30"
    saved = cli.holder("download", CERT, "-o", cli.home.parent / "again.pdf").json
    assert saved["valid_until"] == until and saved["valid_through"] == LAST_DAY
    facts = cli("verify", cli.pdf).json["facts"]
    assert facts["valid_until"] == until and facts["valid_through"] == LAST_DAY
    assert datetime.fromisoformat(facts["valid_from"]).tzinfo is not None


def test_an_expired_annotation_says_its_last_day(annotated):
    late = "2026-06-01T10:00:00+08:00"
    refused = annotated.holder("download", CERT, "-o", annotated.home.parent / "late.pdf", now=late)
    assert refused.error_code == "annotation_expired"
    assert refused.json["error"]["data"]["valid_until"] == "2026-05-30T00:00:00+08:00"   # data: the instant
    assert "valid through 29 May 2026" in refused.json["error"]["message"]              # words: the last day
    zh = annotated.holder("download", CERT, now=late, lang="zh")
    assert "2026年05月29日" in zh.json["error"]["message"]


def test_the_pdf_page_shows_the_last_day(annotated):
    text = subprocess.run([need_tool("pdftotext"), "-enc", "UTF-8", str(annotated.pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "2026年05月29日（北京时间）" in text and "UTC+8" not in text and "2026-05-30" not in text
    assert "有效期至" in text and "2022年01月14日" in text
    assert "证书加注" in text and "级" in text            # the qualification-certificate layout stays


def test_date_rules_and_words():
    from certcli import i18n, rules

    start_of_next = datetime(2026, 5, 30, tzinfo=rules.CST)
    assert rules.valid_through(start_of_next) == date(2026, 5, 29)
    assert rules.valid_through(datetime(2026, 5, 30, 0, 0, 1, tzinfo=rules.CST)) == date(2026, 5, 30)
    assert rules.valid_through(rules.valid_until(date(2026, 3, 1), 90)) == rules.last_usable_day(date(2026, 3, 1), 90)
    assert rules.valid_through(datetime(2026, 5, 29, 16, 0, tzinfo=timezone.utc)) == date(2026, 5, 29)
    assert i18n.format_day(date(2026, 5, 29), "zh", zone=True) == "2026年05月29日（北京时间）"
    assert i18n.format_day("2026-05-29", "en", zone=True) == "29 May 2026 (Beijing time)"
    assert i18n.format_instant("2026-03-01T02:00:00+00:00", "zh") == "2026年03月01日 10:00（北京时间）"
    assert i18n.format_instant(datetime(2026, 3, 1, 10, 0, tzinfo=CST), "en") == "1 Mar 2026 10:00 (Beijing time)"
    assert i18n.localize_dates("ended 2026-03-01 10:00 (UTC+8).", "en") == "ended 1 Mar 2026 10:00 (Beijing time)."
    for until in (start_of_next, datetime(2026, 5, 29, 16, 0, tzinfo=timezone.utc), datetime(2026, 5, 30, 9, 30,
                                                                                           tzinfo=rules.CST)):
        assert i18n.last_day(until) == i18n.last_day(until.isoformat()) == rules.valid_through(until)


# --- item 12: tables at 80 columns, counts, what was written, revoked ------------------------

def _cells(line: str) -> int:
    from rich.cells import cell_len

    return cell_len(line)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tables_read_at_80_columns(annotated, lang):
    cli = annotated
    assert cli.holder("annotate", CERT, "--days", "30").code == 0
    narrow = {"COLUMNS": "80"}
    results = {
        "list": cli.holder("list", json_mode=False, lang=lang, env=narrow),
        "info": cli.holder("info", CERT, json_mode=False, lang=lang, env=narrow),
        "pending": cli("admin", "pending", json_mode=False, lang=lang, env=narrow, now="2026-03-03T10:00:00+08:00"),
        "verify": cli("verify", cli.pdf, json_mode=False, lang=lang, env=narrow),
        "stats": cli("admin", "stats", json_mode=False, lang=lang, env=narrow),
    }
    for name, result in results.items():
        assert result.code == 0, (name, result.out)
        for line in result.out.splitlines():
            if line[:1] in "┏┃┡│└━╇─┗ ":           # table lines (long sentences wrap as the terminal likes)
                assert _cells(line) <= 80, (name, line)
    table = results["list"].out
    headers = ("Certificate no.", "Qualification", "Issued", "Status", "Annotation") if lang == "en" \
        else ("证书编号", "资格名称", "签发日期", "状态", "加注")
    for header in headers:                                      # whole, not broken inside a word
        assert header in table, (header, table)
    day = "29 May 2026" if lang == "en" else "2026年05月29日"
    assert day in table and "2022ECO110100001" in table         # dates and numbers on one line
    pending = results["pending"].out
    assert ("Request no." if lang == "en" else "申请编号") in pending                    # a header
    assert ("OVERDUE" if lang == "en" else "已超时") in pending
    assert ("1 pending request, 1 overdue" if lang == "en" else "共 1 条待处理申请，其中 1 条超过 24 小时") in pending


def test_a_table_too_wide_for_the_terminal_becomes_records(annotated):
    narrow = annotated.holder("list", json_mode=False, env={"COLUMNS": "50"})
    assert "Certificate no.: 2022ECO110100001" in narrow.out
    assert all(_cells(line) <= 50 for line in narrow.out.splitlines())


def test_one_row_is_one_row_and_files_written_are_named(cli, tmp_path):
    assert cli("admin", "init").code == 0
    roster = write_roster(tmp_path / "one.csv", [cert_row()])
    single = cli("admin", "issue", roster, "--dry-run", json_mode=False)
    assert "1 row: would insert 1" in single.out and "1 rows" not in single.out
    assert cli("admin", "issue", roster, json_mode=False).out.startswith("1 row:")
    bad = write_roster(tmp_path / "bad.csv", [cert_row(no="2022ECO110100009", id_number="110101199003074478"),
                                              cert_row(no="2022ECO110100008")])
    rejects = tmp_path / "rejects.csv"
    result = cli("admin", "issue", bad, "--rejects", rejects, json_mode=False)
    assert result.code == 6 and "2 rows:" in result.out
    assert f"Wrote 1 rejected row (line, certificate no., reason) to {rejects}" in result.out
    assert rejects.read_text(encoding="utf-8-sig").count("\n") == 2
    zh = cli("admin", "issue", bad, "--rejects", rejects, json_mode=False, lang="zh")
    assert f"已将 1 个被拒绝的行（行号、证书编号、原因）写入 {rejects}" in zh.out
    exported = cli("admin", "export", "-o", tmp_path / "all.csv", json_mode=False)
    assert f"Wrote 2 certificates to {tmp_path / 'all.csv'} (CSV, ID numbers masked)." in exported.out
    one = cli("admin", "export", "-o", tmp_path / "all.jsonl", "--format", "jsonl", "--full-id", json_mode=False,
              lang="zh")
    assert "已将 2 张证书导出到" in one.out and "含完整证件号码" in one.out


def test_download_says_what_it_saved(annotated):
    target = annotated.home.parent / "named.pdf"
    en = annotated.holder("download", CERT, "-o", target, json_mode=False)
    assert en.out.strip() == f"Saved the signed PDF of {CERT} to {target} (annotation valid through 29 May 2026 " \
                             f"(Beijing time))"
    zh = annotated.holder("download", CERT, "-o", target, json_mode=False, lang="zh")
    assert zh.out.strip() == f"已保存证书 {CERT} 的签名 PDF：{target}（加注有效期至 2026年05月29日（北京时间））"


def test_a_revoked_certificate_never_shows_valid_through(annotated):
    assert annotated("admin", "revoke", CERT, "--reason", "issued in error").code == 0
    for lang in ("en", "zh"):
        listed = annotated.holder("list", json_mode=False, lang=lang).out
        info = annotated.holder("info", CERT, json_mode=False, lang=lang).out
        for text in (listed, info):
            assert "valid through" not in text and "有效期至" not in text and "active until" not in text
        assert ("revoked" if lang == "en" else "已撤销") in listed
        assert ("none in force: the certificate is revoked" if lang == "en" else "证书已撤销，加注不可使用") in info


# --- items 13, 14: member certificates ------------------------------------------------------

def test_member_certificate_is_verified_by_name_and_drawn_without_empty_rows(members, tmp_path):  # noqa: F811
    env = ready_member(members, tmp_path)
    pdf = tmp_path / "member.pdf"
    result = member_download(members, env, pdf)
    assert result["disclosed"] == {"approval_no": APPROVAL, "inspection": "2025"}
    zh = members("verify", pdf, json_mode=False, lang="zh")
    en = members("verify", pdf, json_mode=False)
    assert zh.code == en.code == 0
    assert "资格名称: 注册会计师非执业会员" in zh.out and "资格代码" not in zh.out and "QABAAB" not in zh.out
    assert "Qualification: 注册会计师非执业会员" in en.out and "Qualification code" not in en.out
    facts = members("verify", pdf).json["facts"]
    assert facts["qualification"] == "注册会计师非执业会员" and facts["qualification_code"] == "QABAAB"
    assert facts["valid_until"] is None and facts["valid_through"] is None
    text = subprocess.run([need_tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "级" not in text                                   # no empty level row
    assert "无需加注" not in text and "证书加注" not in text     # no annotation box on a membership
    assert "注册会计师非执业会员证书" in text and APPROVAL in text and "2025 年度" in text
    assert "2021年03月15日" in text                           # the page's own date style
    from pypdf import PdfReader

    assert len(PdfReader(pdf).pages[0].images) == 1           # the photo


def test_member_page_without_the_inspection_disclosed(members, tmp_path):  # noqa: F811
    env = ready_member(members, tmp_path)
    pdf = tmp_path / "member.pdf"
    member_download(members, env, pdf, "mobile")
    text = subprocess.run([need_tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert APPROVAL in text                                   # its approval number, always
    assert "年检" not in text and "13800138000" in text        # only what was disclosed
    assert "级" not in text and "无需加注" not in text


def test_member_qualification_name_offline_from_the_catalog():
    from certcli import catalog

    assert catalog.qualification_code("注册会计师非执业会员") == "QABAAB"     # documents already signed
    assert catalog.qualification_name("QABAAB") == "注册会计师非执业会员"


def test_verify_names_an_uncatalogued_qualification_from_the_store(cli, tmp_path):
    assert cli("admin", "init").code == 0
    row = cert_row(no="2024XYZ110100001", qualification="某某专业资格", seal="ministry")
    assert cli("admin", "issue", write_roster(tmp_path / "r.csv", [row])).code == 0
    assert cli("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
    assert cli("login", "--id-number", HOLDER_ID).code == 0 and cli("agree", "--yes").code == 0
    assert cli("annotate", "2024XYZ110100001").code == 0 and cli("admin", "process").code == 0
    assert cli("download", "2024XYZ110100001", "-o", tmp_path / "x.pdf").code == 0
    human = cli("verify", tmp_path / "x.pdf", json_mode=False, lang="zh").out
    assert "资格名称: 某某专业资格" in human and "资格代码" not in human


def test_a_chinese_locale_means_chinese_output(annotated):
    """No --lang: the locale decides (LANG=zh_CN.UTF-8), as for a holder on a Chinese desktop."""
    from typer.testing import CliRunner

    from certcli.cli import app

    env = {"CERTCLI_HOME": str(annotated.home), "CERTCLI_NOW": APPLIED, "LANG": "zh_CN.UTF-8",
           "LC_ALL": None, "LC_MESSAGES": None, "CERTCLI_LANG": None, "COLUMNS": "80"}
    result = CliRunner().invoke(app, ["verify", str(annotated.pdf)], env=env, catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout.startswith("有效：") and "有效期至 2026年05月29日（北京时间）" in result.stdout
    assert not english_words(result.stdout), result.stdout


# --- click's own usage errors (exit 2) in the user's language --------------------------------

# kind: (arguments, the zh message, a part of click's English message)
USAGE_ERRORS = {
    "missing argument": (["annotate"], "缺少参数 'certificate_no'。", "Missing argument 'certificate_no'."),
    "missing option": (["admin", "paper", "mailed", "PR20260301000001"], "缺少选项 '--tracking'。",
                       "Missing option '--tracking'."),
    "missing choice": (["admin", "region", "set", "北京"], "缺少选项 '--mode'。可选值：electronic, paper, both",
                       "Missing option '--mode'."),
    "no such option": (["login", "--foo"], "没有这个选项：--foo", "No such option: --foo"),
    "no such option, suggested": (["login", "--id"], "没有这个选项：--id（可能的选项：--id-type）",
                                  "No such option: --id (Possible options: --id-type)"),
    "no such root option": (["--bogus"], "没有这个选项：--bogus", "No such option: --bogus"),
    "not an integer": (["annotate", CERT, "--days", "many"], "'--days' 的值无效：应为整数。",
                       "Invalid value for '--days': 'many'"),
    "out of range": (["serve", "--port", "0"], "'--port' 的值无效：应为 1<=x<=65535 范围内的整数。",
                     "Invalid value for '--port': 0 is not in the range 1<=x<=65535."),
    "not a choice": (["admin", "region", "set", "北京", "--mode", "holo"],
                     "'--mode' 的值无效：应为以下之一：electronic, paper, both。", "Invalid value for '--mode': 'holo'"),
    "callback's own": (["member", "download", "--reveal", "salary"], "'--reveal' 的值无效：'salary' 不能显示；可选：",
                       "Invalid value for '--reveal': 'salary' cannot be revealed; choose from: "),
    "option without its value": (["annotate", CERT, "--days"], "选项 '--days' 需要一个值。",
                                 "Option '--days' requires an argument."),
    "flag with a value": (["admin", "issue", "roster.csv", "--dry-run=yes"], "选项 '--dry-run' 不接受值。",
                          "Option '--dry-run' does not take a value."),
    "extra argument": (["info", CERT, "extra"], "多余的参数：extra", "Got unexpected extra argument(s) (extra)"),
    "no such command": (["nosuch"], "没有这个命令：'nosuch'", "No such command 'nosuch'."),
    "no such command, suggested": (["admin", "prcess"], "没有这个命令：'prcess'（您是不是要用 'process'？）",
                                   "No such command 'prcess'. Did you mean 'process'?"),
}


@pytest.mark.parametrize("kind", USAGE_ERRORS)
def test_click_usage_errors_in_chinese_and_english(cli, kind):
    args, zh, en = USAGE_ERRORS[kind]
    human = cli(*args, json_mode=False, lang="zh")
    assert human.code == 2 and human.out == ""
    assert f"错误：{zh}" in human.err and "Error" not in human.err and "Usage" not in human.err, human.err
    document = cli(*args, lang="zh")
    assert document.code == 2 and document.error_code == "usage_error" and document.err == ""
    assert document.json["error"]["message"].startswith(zh)
    english = cli(*args, json_mode=False, lang="en")
    assert english.code == 2 and f"Error: {en}" in english.err and "错误" not in english.err
    english_document = cli(*args, lang="en")
    assert english_document.code == 2 and english_document.error_code == "usage_error"
    assert english_document.json["error"]["message"].startswith(en)


def test_a_usage_error_shows_the_usage_line_and_help_hint_in_chinese(cli):
    zh = cli("annotate", json_mode=False, lang="zh").err
    assert zh == ("用法：certcli annotate [OPTIONS] {certificate_no}\n"
                  "运行 'certcli annotate --help' 查看帮助。\n\n"
                  "错误：缺少参数 'certificate_no'。\n")
    en = cli("annotate", json_mode=False, lang="en").err
    assert en == ("Usage: certcli annotate [OPTIONS] {certificate_no}\n"
                  "Try 'certcli annotate --help' for help.\n\n"
                  "Error: Missing argument 'certificate_no'.\n")


def test_a_chinese_locale_means_chinese_usage_errors(tmp_path):
    from typer.testing import CliRunner

    from certcli.cli import app

    env = {"CERTCLI_HOME": str(tmp_path), "LANG": "zh_CN.UTF-8", "LC_ALL": None, "LC_MESSAGES": None,
           "CERTCLI_LANG": None}
    result = CliRunner().invoke(app, ["admin", "prcess"], env=env, catch_exceptions=False)
    assert result.exit_code == 2 and "错误：没有这个命令：'prcess'（您是不是要用 'process'？）" in result.stderr
    result = CliRunner().invoke(app, ["--json", "login", "--foo"], env={**env, "LANG": None, "CERTCLI_LANG": "zh"})
    assert result.exit_code == 2 and '"message": "没有这个选项：--foo"' in result.stdout


def test_an_unknown_click_error_keeps_clicks_text():
    from certcli.commands._runtime import click_module
    from certcli.commands._usage_errors import usage_message

    assert usage_message(click_module().exceptions.UsageError("Something new."), "zh") == "Something new."


def test_the_migration_check_says_the_audit_chain_in_words():
    from certcli.errors import MigrationCheckFailed

    for audit, words in (("verified", "完整"), ("broken", "不完整")):
        zh = MigrationCheckFailed(url="postgresql://db/certs", tables="", audit=audit).message("zh")
        assert f"审计链：{words}" in zh and audit not in zh, zh
        assert f"the audit chain on the copy: {audit}." in MigrationCheckFailed(
            url="postgresql://db/certs", tables="", audit=audit).message("en")
