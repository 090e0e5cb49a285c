"""Rosters as administrators really have them (issue 14, items 3, 6, 7): a misspelt
column is named (``--strict`` refuses it), Excel workbooks are read (typed dates, ID
numbers Excel stored as numbers refused with their reason), and files that are not a
roster get a hint that names the likely cause and the fix, never "required columns
missing".  Driven through the real CLI; the worker process and in-process parsing must
agree."""
import codecs
import io
import json
import sqlite3
import subprocess
import sys
import zipfile
from datetime import date, datetime

import pytest

from certcli import rules
from certcli.certificates import issuance
from certcli.documents.glyphs import check_text_renderable
from certcli.errors import BadRoster
from certcli.store import open_store
from conftest import HOLDER_ID, ROOT, cert_row, write_roster

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=rules.CST)
EN_HEADER = list(cert_row().keys())
ZH_HEADER = ["证书编号", "姓名", "证件类型", "证件号码", "资格名称", "级别", "签发日期", "发证机构"]


@pytest.fixture
def admin(cli):
    assert cli("admin", "init").code == 0
    return cli


def count(cli) -> int:
    return sqlite3.connect(cli.home / "certcli.db").execute("SELECT count(*) FROM certificates").fetchone()[0]


def holder_id(i: int) -> str:
    first17 = f"110101{1960 + i % 40:04d}0101{i % 1000:03d}"
    return first17 + rules.resident_id_check_char(first17)


def import_into(home, path, parallel, **kwargs):
    store = open_store(home, create=True)
    try:
        return issuance.import_roster(store, path, now=NOW, check_text=check_text_renderable, parallel=parallel,
                                      batch_size=300, **kwargs)
    finally:
        store.close()


def outcome(report):
    return (report.rows, report.inserted, report.already_present, report.rejected,
            [(e.line, e.reason, e.field, e.certificate_no) for e in report.rejects],
            [w.as_json() for w in report.warnings], report.format, report.sheet)


def snapshot(home):
    return sqlite3.connect(home / "certcli.db").execute(
        "SELECT certificate_no, name, id_type, id_number, qualification, level, issued_on, issuer, seal, region "
        "FROM certificates ORDER BY certificate_no").fetchall()


# --- 3. A misspelt optional column is named, not dropped silently ----------------------------

def test_misspelt_column_is_a_warning_with_the_nearest_column(admin, tmp_path):
    rows = [{**cert_row(no=f"R{i}", id_number=holder_id(i)), "regoin": "北京"} for i in range(4)]
    path = write_roster(tmp_path / "r.csv", rows)
    dry = admin("admin", "issue", path, "--dry-run")
    assert dry.code == 0 and dry.json["inserted"] == 4
    assert dry.json["warnings"] == [{"kind": "unknown_column", "column": "regoin", "suggestion": "region"}]
    human = admin("admin", "issue", path, "--dry-run", json_mode=False)
    assert "regoin" in human.out and "“region”" in human.out and "would insert 4" in human.out
    zh = admin("admin", "issue", path, "--dry-run", json_mode=False, lang="zh")
    assert "不是名单的列" in zh.out and "“region”" in zh.out and "unknown_column" not in zh.out
    # the import itself goes on, and says so too
    real = admin("admin", "issue", path)
    assert real.code == 0 and real.json["inserted"] == 4 and real.json["warnings"][0]["column"] == "regoin"


def test_strict_refuses_an_unknown_column_before_anything_is_stored(admin, tmp_path):
    path = write_roster(tmp_path / "r.csv", [{**cert_row(no="S1"), "regoin": "北京"}])
    for extra in ([], ["--dry-run"]):
        result = admin("admin", "issue", path, "--strict", *extra)
        assert result.code == 6 and result.error_code == "bad_roster"
        assert result.json["error"]["data"] == {"reason": "unknown_column", "detail": ["regoin → region"]}
        assert "regoin → region" in result.json["error"]["message"]
    assert count(admin) == 0
    zh = admin("admin", "issue", path, "--strict", json_mode=False, lang="zh")
    assert zh.code == 6 and "--strict" in zh.err and "regoin → region" in zh.err and "unknown_column" not in zh.err
    clean = write_roster(tmp_path / "clean.csv", [{**cert_row(no="S1"), "region": "北京"}])
    assert admin("admin", "issue", clean, "--strict").code == 0 and count(admin) == 1


def test_chinese_headers_are_matched_too(admin, tmp_path):
    header = ["证书编号", "姓　名", "证件类型", "*证件号码", "资格名称", "级别", "签发日期", "发证机构", "专业名", "备注"]
    row = ["Z1", "王小明", "居民身份证", HOLDER_ID, "经济专业技术资格", "中级", "2022-01-14", "人力资源和社会保障部",
           "金融", "补发"]
    path = tmp_path / "zh.csv"
    path.write_bytes((",".join(header) + "\r\n" + ",".join(row) + "\r\n").encode("gb18030"))
    result = admin("admin", "issue", path, "--dry-run")
    assert result.code == 0 and result.json["inserted"] == 1  # "姓　名" and "*证件号码" are the columns they look like
    assert result.json["warnings"] == [{"kind": "unknown_column", "column": "专业名", "suggestion": "专业"},
                                       {"kind": "unknown_column", "column": "备注", "suggestion": None}]
    human = admin("admin", "issue", path, "--dry-run", json_mode=False, lang="zh")
    assert "“专业名”不是名单的列" in human.out and "是否应为“专业”" in human.out


def test_a_repeated_column_is_named(admin, tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text(",".join(EN_HEADER + ["姓名"]) + "\n" + ",".join(list(cert_row().values()) + ["别人"]) + "\n",
                    encoding="utf-8")
    result = admin("admin", "issue", path, "--dry-run")
    assert result.json["warnings"] == [{"kind": "duplicate_column", "column": "姓名", "suggestion": None}]
    assert admin("admin", "issue", path, "--strict").json["error"]["data"]["reason"] == "duplicate_column"
    admin("admin", "issue", path)
    assert sqlite3.connect(admin.home / "certcli.db").execute("SELECT name FROM certificates").fetchone() == ("王小明",)


def test_json_lines_unknown_keys(admin, tmp_path):
    path = tmp_path / "r.jsonl"
    records = [{**cert_row(no="J1"), "regoin": "北京"}, cert_row(no="J2", id_number=holder_id(2)),
               {**cert_row(no="J3", id_number=holder_id(3)), "speciality": "金融"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    result = admin("admin", "issue", path, "--dry-run")
    assert result.code == 0 and result.json["inserted"] == 3
    assert [(w["column"], w["suggestion"]) for w in result.json["warnings"]] == [("regoin", "region"),
                                                                                   ("speciality", "specialty")]
    strict = admin("admin", "issue", path, "--strict")
    assert strict.code == 6 and strict.json["error"]["data"]["reason"] == "unknown_column" and count(admin) == 0
    # an unknown key that first appears in a later record: that record is refused (strict), the rest kept
    later = tmp_path / "later.jsonl"
    later.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[1:]), encoding="utf-8")
    result = admin("admin", "issue", later, "--strict")
    assert result.code == 6 and result.json["inserted"] == 1
    assert [(r["line"], r["reason"], r["field"]) for r in result.json["rejects"]] == [(2, "unknown_column",
                                                                                        "speciality")]


def test_warnings_and_strict_are_the_same_from_the_worker(tmp_path):
    rows = [{**cert_row(no=f"W{i:05d}", id_number=holder_id(i)), "regoin": "北京"} for i in range(300)]
    path = write_roster(tmp_path / "r.csv", rows)
    outcomes, errors = [], []
    for parallel in (False, True):
        outcomes.append(outcome(import_into(tmp_path / f"home-{parallel}", path, parallel, dry_run=True)))
        with pytest.raises(BadRoster) as caught:
            import_into(tmp_path / f"strict-{parallel}", path, parallel, strict=True)
        errors.append(caught.value.data)
        assert snapshot(tmp_path / f"strict-{parallel}") == []
    assert outcomes[0] == outcomes[1] and outcomes[0][5][0]["suggestion"] == "region"
    assert errors[0] == errors[1] and errors[0]["reason"] == "unknown_column"


# --- 6. Excel workbooks ------------------------------------------------------------------------

def roster_workbook(path, rows: int = 2000, *, title_row=True, sheets=("说明",)):
    """A workbook as an office keeps one: a notes sheet first, then the roster under a title
    row, dates as date cells or as text, and, at known rows, IDs that Excel stored as numbers."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    for name in sheets:
        book.create_sheet(name).append(["名单在下一个工作表"])
    sheet = book.create_sheet("名单")
    expected_bad = {}
    if title_row:
        sheet.append(["2022 年度经济专业技术资格证书名单"])
    sheet.append(ZH_HEADER + ["地区"])
    line = 2 if title_row else 1
    for i in range(rows):
        line += 1
        issued = date(2022, 1, 14) if i % 2 else "2022年1月14日"   # a typed date cell, or text
        number = holder_id(i)
        if i % 250 == 7:
            number = float(number)                                  # Excel: 1.10101199003074E+17
            expected_bad[line] = "id_number_stored_as_number"
        elif i % 250 == 9:
            number = int(number[:15] + "000") if number[-1] != "X" else number
            if isinstance(number, int):
                expected_bad[line] = "id_number_stored_as_number"   # digits after the 15th lost
        sheet.append([f"X{i:06d}", f"王{i % 50}", "居民身份证", number, "经济专业技术资格", "中级", issued,
                      "人力资源和社会保障部", "北京" if i % 3 else None])
        if i == 10:
            sheet.append([])                                        # an empty row in the middle
            line += 1
    book.save(path)
    return path, expected_bad


def test_an_excel_workbook_through_the_cli(admin, tmp_path):
    path, expected_bad = roster_workbook(tmp_path / "roster.xlsx")
    result = admin("admin", "issue", path, "--sheet", "名单")
    assert result.code == 6, result.out
    document = result.json
    assert (document["format"], document["sheet"]) == ("xlsx", "名单")
    assert document["rows"] == 2000 and document["rejected"] == len(expected_bad) > 5
    # lines are the sheet's row numbers (a title row, the header, and an empty row after X000010)
    assert {(r["line"], r["reason"]) for r in document["rejects"]} == set(expected_bad.items())
    assert all(r["field"] == "id_number" for r in document["rejects"])
    assert document["inserted"] == 2000 - len(expected_bad) == count(admin)
    db = sqlite3.connect(admin.home / "certcli.db")
    assert db.execute("SELECT issued_on, region FROM certificates WHERE certificate_no = 'X000001'").fetchone() == \
        ("2022-01-14", "北京")
    assert db.execute("SELECT issued_on, region FROM certificates WHERE certificate_no = 'X000000'").fetchone() == \
        ("2022-01-14", None)
    assert max(expected_bad) > 1000  # rows after the empty one keep their sheet numbers
    again = admin("admin", "issue", path, "--sheet", "名单")
    assert (again.json["inserted"], again.json["already_present"]) == (0, document["inserted"])
    assert count(admin) == document["inserted"]
    human = admin("admin", "issue", path, "--sheet", "名单", "--dry-run", json_mode=False)
    assert "store the ID column as text in Excel" in human.out
    zh = admin("admin", "issue", path, "--sheet", "名单", "--dry-run", json_mode=False, lang="zh")
    assert "“文本”格式" in zh.out


def test_the_first_sheet_by_default_and_sheets_by_name_or_number(admin, tmp_path):
    path, _ = roster_workbook(tmp_path / "one.xlsx", rows=3, title_row=False, sheets=())
    first = admin("admin", "issue", path, "--dry-run")
    assert first.code == 0 and first.json["sheet"] == "名单" and first.json["inserted"] == 3
    path, _ = roster_workbook(tmp_path / "two.xlsx", rows=3)
    notes = admin("admin", "issue", path, "--dry-run")      # the first sheet holds only a note
    assert notes.code == 6 and notes.json["error"]["data"] == {"reason": "empty_sheet", "detail": ["说明", "名单"]}
    assert "--sheet" in notes.json["error"]["message"]
    by_number = admin("admin", "issue", path, "--sheet", "2", "--dry-run")
    assert by_number.json["sheet"] == "名单" and by_number.json["inserted"] == 3
    unknown = admin("admin", "issue", path, "--sheet", "Sheet9")
    assert unknown.code == 6 and unknown.error_code == "bad_roster"
    assert unknown.json["error"]["data"] == {"reason": "unknown_sheet", "detail": ["说明", "名单"]}
    assert "说明, 名单" in unknown.json["error"]["message"]
    zh = admin("admin", "issue", path, "--sheet", "Sheet9", json_mode=False, lang="zh")
    assert "没有这个工作表" in zh.err and "说明, 名单" in zh.err
    csv_with_sheet = admin("admin", "issue", write_roster(tmp_path / "r.csv", [cert_row()]), "--sheet", "名单")
    assert csv_with_sheet.json["error"]["data"]["reason"] == "sheet_needs_workbook"
    assert count(admin) == 0


class Raw(str):
    """A number cell written exactly as given (as Excel, or a program, puts it into the sheet's XML)."""


def _workbook(path, rows, header=EN_HEADER):
    import re

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([f"@RAW@{cell}" if isinstance(cell, Raw) else cell for cell in row])
    book.save(path)
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    xml, raws = re.subn(r't="inlineStr"><is><t>@RAW@([^<]*)</t></is>', r't="n"><v>\1</v>', xml)
    assert raws == sum(isinstance(cell, Raw) for row in rows for cell in row)
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def test_id_numbers_stored_as_numbers(admin, tmp_path):
    def row(no, id_type, number):
        return [no, "王小明", id_type, number, "经济专业技术资格", "中级", date(2022, 1, 14),
                "人力资源和社会保障部", "ministry"]

    path = _workbook(tmp_path / "ids.xlsx", [
        row("N1", "other", 12345678),                      # a whole number that fits: its digits
        row("N2", "resident_id", Raw("1.10101199003074E+17")),  # as Excel stores 110101199003074477
        row("N3", "resident_id", Raw(HOLDER_ID)),           # all 18 digits, as a program may write them
        row("N4", "resident_id", Raw("110101199003074000")),  # 15 digits then zeros: Excel lost the rest
        row("N5", "other", 12345678.5),                    # a float, whatever its value
        row("N6", "resident_id", Raw("110101199003074478")),  # exact, but a wrong check character
    ])
    import openpyxl

    cells = [r[3] for r in openpyxl.load_workbook(path, read_only=True).active.iter_rows(min_row=2, values_only=True)]
    assert [type(c) for c in cells[:5]] == [int, float, int, int, float]
    result = admin("admin", "issue", path)
    assert {(r["certificate_no"], r["reason"]) for r in result.json["rejects"]} == {
        ("N2", "id_number_stored_as_number"), ("N4", "id_number_stored_as_number"),
        ("N5", "id_number_stored_as_number"), ("N6", "invalid_id_number")}
    assert [r["line"] for r in result.json["rejects"]] == [3, 5, 6, 7]
    stored = dict(sqlite3.connect(admin.home / "certcli.db").execute(
        "SELECT certificate_no, id_number FROM certificates").fetchall())
    assert stored == {"N1": "12345678", "N3": HOLDER_ID}


def test_other_numbers_that_lost_digits_and_odd_cells(admin, tmp_path):
    path = _workbook(tmp_path / "odd.xlsx", [
        [2022110100001, "王小明", None, HOLDER_ID, "经济专业技术资格", "中级", datetime(2022, 1, 14, 0, 0),
         "人力资源和社会保障部", None],                             # a numeric certificate number that fits
        [2.0221101000012345e+19, "王小明", None, HOLDER_ID, "经济专业技术资格", "中级", "2022/01/14",
         "人力资源和社会保障部", None],                             # one Excel cut short
        ["Q3", "王小明", None, HOLDER_ID, "经济专业技术资格", "中级", "2022-01-14", "人力资源和社会保障部",
         None, None, "stray"],                                     # a cell beyond the header
        ["Q4", "王小明", None, HOLDER_ID, "经济专业技术资格", "中级", date(2031, 1, 1), "人力资源和社会保障部", None],
        ["Q5", "  ", None, HOLDER_ID, "经济专业技术资格", True, "2022-01-14", "人力资源和社会保障部", None],
    ])
    result = admin("admin", "issue", path)
    assert result.json["inserted"] == 1
    assert [(r["line"], r["reason"], r["field"]) for r in result.json["rejects"]] == [
        (3, "stored_as_number", "certificate_no"), (4, "too_many_columns", ""),
        (5, "date_out_of_range", "issued_on"), (6, "missing_value", "name")]
    assert sqlite3.connect(admin.home / "certcli.db").execute("SELECT certificate_no FROM certificates").fetchall() \
        == [("2022110100001",)]


def test_a_date_typed_as_excels_day_number_is_that_day(admin, tmp_path):
    path = _workbook(tmp_path / "serial.xlsx", [
        ["S1", "王小明", None, HOLDER_ID, "经济专业技术资格", "中级", 44575, "人力资源和社会保障部", None],
        ["S2", "王小明", None, HOLDER_ID, "经济专业技术资格", "中级", 44575.0, "人力资源和社会保障部", None],
        ["S3", "王小明", None, HOLDER_ID, "经济专业技术资格", "中级", 20220114, "人力资源和社会保障部", None],
    ])
    result = admin("admin", "issue", path)
    assert result.json["inserted"] == 3, result.out     # 44575 is Excel's day number of 2022-01-14
    assert sqlite3.connect(admin.home / "certcli.db").execute(
        "SELECT DISTINCT issued_on FROM certificates").fetchall() == [("2022-01-14",)]


def test_a_workbook_is_the_same_from_the_worker(tmp_path):
    path, expected_bad = roster_workbook(tmp_path / "roster.xlsx", rows=1200, sheets=())
    outcomes = []
    for parallel in (False, True):
        home = tmp_path / f"home-{parallel}"
        report = import_into(home, path, parallel)
        assert {(e.line, e.reason) for e in report.rejects} == set(expected_bad.items())
        rerun = import_into(home, path, parallel)
        assert (rerun.inserted, rerun.already_present) == (0, report.inserted)
        outcomes.append((outcome(report), snapshot(home)))
    assert outcomes[0] == outcomes[1]
    with pytest.raises(BadRoster) as caught:
        import_into(tmp_path / "h", path, True, sheet="nope")
    assert caught.value.data["reason"] == "unknown_sheet"


def test_a_damaged_workbook_is_a_bad_roster(admin, tmp_path):
    path, _ = roster_workbook(tmp_path / "r.xlsx", rows=20, sheets=())
    data = path.read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(data[: len(data) // 2])
    result = admin("admin", "issue", tmp_path / "cut.xlsx")
    assert result.code == 6 and result.json["error"]["data"]["reason"] == "damaged_workbook"


def test_workbook_readers_are_imported_only_for_a_workbook(tmp_path):
    roster = write_roster(tmp_path / "r.csv", [cert_row()])
    code = ("import sys, datetime, certcli.cli\n"
            "from certcli.roster.parse import Roster\n"
            f"with Roster({str(roster)!r}, today=datetime.date(2026, 3, 1)) as r: list(r.rows())\n"
            "sys.exit(1 if {'openpyxl', 'python_calamine'} & set(sys.modules) else 0)\n")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


# --- 7. Files that are not a roster get the right hint ----------------------------------------

def _csv_text(delimiter=","):
    buffer = io.StringIO()
    import csv

    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(ZH_HEADER)
    writer.writerow(["T1", "王小明", "居民身份证", HOLDER_ID, "经济专业技术资格", "中级", "2022-01-14",
                     "人力资源和社会保障部"])
    return buffer.getvalue()


@pytest.mark.parametrize("name, content, reason, words_en, words_zh", [
    ("unicode.txt", codecs.BOM_UTF16_LE + _csv_text("\t").encode("utf-16-le"), "utf16",
     "saved as UTF-16 (Unicode text)", "UTF-16"),
    ("unicode-be.csv", codecs.BOM_UTF16_BE + _csv_text().encode("utf-16-be"), "utf16", "CSV UTF-8", "UTF-16"),
    ("no-bom.csv", "certificate_no,name,id_number\r\n".encode("utf-16-le"), "utf16", "UTF-16", "UTF-16"),
    ("no-bom-zh.csv", _csv_text().encode("utf-16-le"), "utf16", "UTF-16", "UTF-16"),
    ("semicolons.csv", _csv_text(";").encode("utf-8"), "semicolon_separated", "separated by semicolons", "分号"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024), "old_excel", "old-format Excel", "旧版 Excel"),
    ("old-as.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024), "old_excel", "save it as .xlsx",
     ".xlsx"),
    ("export.xls", b"<html><body><table><tr><td>1</td></tr></table></body></html>", "web_page", "web page", "网页"),
    ("binary.csv", b"\x89PNG\r\x00\x00\x00\rIHDR\x00\x00\n", "not_text", "not a text file", "不是文本文件"),
])
def test_not_a_roster_gets_its_cause_and_fix(admin, tmp_path, name, content, reason, words_en, words_zh):
    path = tmp_path / name
    path.write_bytes(content)
    result = admin("admin", "issue", path)
    assert result.code == 6 and result.error_code == "bad_roster"
    assert result.json["error"]["data"]["reason"] == reason            # --json keeps the code
    assert words_en in result.json["error"]["message"] and name in result.json["error"]["message"]
    for lang, words in (("en", words_en), ("zh", words_zh)):
        human = admin("admin", "issue", path, json_mode=False, lang=lang)
        assert human.code == 6 and words in human.err and reason not in human.err
        assert "missing" not in human.err and "缺少必需的列" not in human.err
    assert count(admin) == 0


def test_an_ods_or_other_zip_named_as_a_roster(admin, tmp_path):
    path = tmp_path / "roster.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    result = admin("admin", "issue", path)
    assert result.json["error"]["data"]["reason"] == "not_a_workbook"
    assert "not an Excel workbook" in result.json["error"]["message"]


def test_a_workbook_named_csv_is_read_as_a_workbook(admin, tmp_path):
    path = _workbook(tmp_path / "book.xlsx", [list(cert_row(no="V1").values())])
    disguised = tmp_path / "roster.csv"
    disguised.write_bytes(path.read_bytes())
    result = admin("admin", "issue", disguised)
    assert result.code == 0 and result.json["format"] == "xlsx" and result.json["inserted"] == 1


def test_tab_separated_text_is_read(admin, tmp_path):
    path = tmp_path / "roster.txt"
    path.write_bytes(_csv_text("\t").encode("gb18030"))   # Excel's "Text (Tab delimited)" on a Chinese Windows
    result = admin("admin", "issue", path)
    assert result.code == 0 and result.json["format"] == "tsv" and result.json["inserted"] == 1
    assert result.json["encoding"] == "gb18030"


def test_a_missing_file_is_named(admin, tmp_path):
    path = tmp_path / "folder" / "nope.csv"
    result = admin("admin", "issue", path)
    assert result.code == 6 and result.json["error"]["data"]["reason"] == "file_not_found"
    assert str(path) in result.json["error"]["message"] and "no such file" in result.json["error"]["message"]
    zh = admin("admin", "issue", path, json_mode=False, lang="zh")
    assert str(path) in zh.err and "找不到该文件" in zh.err
    folder = admin("admin", "issue", tmp_path)
    assert folder.json["error"]["data"]["reason"] == "not_a_regular_file"


def test_not_a_roster_is_the_same_from_the_worker(tmp_path):
    cases = {"u16.csv": codecs.BOM_UTF16_LE + _csv_text().encode("utf-16-le"),
             "semi.csv": _csv_text(";").encode(), "old.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64)}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        errors = []
        for parallel in (False, True):
            with pytest.raises(BadRoster) as caught:
                import_into(tmp_path / f"home-{parallel}", tmp_path / name, parallel)
            errors.append(caught.value.data)
        assert errors[0] == errors[1]
    tsv = tmp_path / "t.tsv"
    tsv.write_text(_csv_text("\t"), encoding="utf-8")
    assert outcome(import_into(tmp_path / "a", tsv, False)) == outcome(import_into(tmp_path / "b", tsv, True))


def test_every_new_reason_has_words():
    from certcli import i18n

    for key in ("row.id_number_stored_as_number", "row.stored_as_number", "row.unknown_column",
                "warning.unknown_column", "warning.duplicate_column"):
        assert i18n.has(key), key
    for reason in ("file_not_found", "utf16", "semicolon_separated", "old_excel", "not_a_workbook",
                   "damaged_workbook", "web_page", "not_text", "unknown_sheet", "empty_sheet", "sheet_needs_workbook",
                   "unknown_column", "duplicate_column", "not_a_regular_file"):
        assert i18n.has(f"why.{reason}"), reason


def test_odd_cells_and_damaged_workbooks_never_crash(tmp_path):
    """Any cell values, and any bytes flipped inside a workbook: a report or a bad_roster, never a traceback."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    good = _workbook(tmp_path / "good.xlsx", [list(cert_row(no="G1").values())]).read_bytes()
    text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)  # what a cell can hold
    cell = st.one_of(st.none(), text, st.integers(), st.floats(allow_nan=True),
                     st.booleans(), st.dates(), st.datetimes())

    def attempt(path):
        try:
            return import_into(tmp_path / "home", path, False, dry_run=True)
        except BadRoster:
            return None

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(rows=st.lists(st.lists(cell, max_size=12), max_size=6))
    def odd_cells(rows):
        path = _workbook(tmp_path / "odd.xlsx", rows + [list(cert_row(no="G2").values())])
        report = attempt(path)
        assert report is not None and report.inserted + report.already_present + report.rejected >= 1

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(at=st.integers(0, len(good) - 1), junk=st.binary(min_size=1, max_size=64))
    def damaged(at, junk):
        path = tmp_path / "damaged.xlsx"
        path.write_bytes(good[:at] + junk + good[at + len(junk):])
        attempt(path)

    odd_cells()
    damaged()
