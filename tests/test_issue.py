"""admin init / issue / revoke / stats: rosters in every accepted form, bad rows, re-runs."""
import json
import os
import stat

import pytest

from conftest import HOLDER_ID, cert_row, store_db, write_roster

CHINESE_HEADER = "证书编号,姓名,证件类型,证件号码,资格名称,级别,签发日期,发证机构\r\n"
CHINESE_ROW = "2022ECO110100009,王小明,居民身份证,110101199003074477,经济专业技术资格,中级,2022年1月14日,人力资源和社会保障部\r\n"


@pytest.fixture
def admin(cli):
    assert cli("admin", "init").code == 0
    return cli


def count(cli, sql="SELECT count(*) FROM certificates"):
    return store_db(cli.home).execute(sql).fetchone()[0]


def test_init_creates_private_keys_and_store(admin):
    keys = admin.home / "keys"
    assert stat.S_IMODE(os.stat(admin.home).st_mode) == 0o700
    private = [p for p in keys.rglob("*") if p.is_file() and "key" in p.name]
    assert private, "no key files"
    for path in private:
        if path.suffix == ".pem" and b"PRIVATE KEY" in path.read_bytes():
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    again = admin("admin", "init")
    assert again.code == 0 and again.json["created_keys"] is False


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_chinese_headers_in_each_encoding(admin, tmp_path, encoding):
    path = tmp_path / "roster.csv"
    path.write_bytes((CHINESE_HEADER + CHINESE_ROW).encode(encoding))
    result = admin("admin", "issue", path)
    assert result.code == 0, result.out
    assert result.json["inserted"] == 1
    assert result.json["encoding"] == encoding
    name = store_db(admin.home).execute("SELECT name, issued_on FROM certificates").fetchone()
    assert name == ("王小明", "2022-01-14")


def test_json_lines_roster(admin, tmp_path):
    path = tmp_path / "roster.jsonl"
    rows = [cert_row(), {**cert_row(no="X2"), "id_number": "bad"}, "not json"]
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    result = admin("admin", "issue", path)
    assert result.code == 6
    assert result.json["inserted"] == 1
    assert [(r["line"], r["reason"]) for r in result.json["rejects"]] == [(2, "invalid_id_number"),
                                                                       (3, "malformed_json")]


def test_bad_rows_reported_by_line_good_rows_kept_rerun_adds_nothing(admin, tmp_path):
    rows = [cert_row(no="A1"), cert_row(no="A2", id_number="110101199003074478"), cert_row(no="A3", issued_on="2022-13-01"),
            cert_row(no="A4", name=""), cert_row(no="A5", seal="gold"), cert_row(no="A6", issued_on="2027-01-01"),
            cert_row(no="A7")]
    path = write_roster(tmp_path / "r.csv", rows)
    first = admin("admin", "issue", path)
    assert first.code == 6
    assert (first.json["inserted"], first.json["rejected"]) == (2, 5)
    assert {(r["line"], r["reason"]) for r in first.json["rejects"]} == {
        (3, "invalid_id_number"), (4, "invalid_date"), (5, "missing_value"), (6, "invalid_seal"),
        (7, "date_out_of_range")}
    second = admin("admin", "issue", path)
    assert (second.json["inserted"], second.json["already_present"]) == (0, 2)
    assert count(admin) == 2


def test_conflicting_number_rejected_and_in_file_duplicates_once(admin, tmp_path):
    admin("admin", "issue", write_roster(tmp_path / "a.csv", [cert_row(no="B1")]))
    rows = [cert_row(no="B1", name="李四", id_number="11010519491231002X"), cert_row(no="B2"), cert_row(no="B2")]
    result = admin("admin", "issue", write_roster(tmp_path / "b.csv", rows))
    assert result.json["rejects"][0]["reason"] == "conflicting_certificate_no"
    assert (result.json["inserted"], result.json["already_present"]) == (1, 1)
    assert count(admin) == 2


def test_dry_run_stores_nothing_and_needs_no_passphrase(admin, tmp_path):
    path = write_roster(tmp_path / "r.csv", [cert_row(no="C1"), cert_row(no="C2")])
    result = admin("admin", "issue", path, "--dry-run", env={"CERTCLI_KEY_PASSPHRASE": ""})
    assert result.code == 0 and result.json["inserted"] == 2 and result.json["dry_run"]
    assert count(admin) == 0


def test_issue_needs_the_right_passphrase(admin, tmp_path):
    path = write_roster(tmp_path / "r.csv", [cert_row(no="D1")])
    wrong = admin("admin", "issue", path, env={"CERTCLI_KEY_PASSPHRASE": "nope"})
    assert wrong.code == 3 and wrong.error_code == "wrong_passphrase"
    missing = admin("admin", "issue", path, env={"CERTCLI_KEY_PASSPHRASE": ""})
    assert missing.code == 2 and missing.error_code == "passphrase_required"
    assert count(admin) == 0


def test_missing_columns_and_unreadable_files(admin, tmp_path):
    (tmp_path / "bad.csv").write_text("foo,bar\n1,2\n")
    result = admin("admin", "issue", tmp_path / "bad.csv")
    assert result.code == 6 and result.error_code == "bad_roster"
    missing = admin("admin", "issue", tmp_path / "nope.csv")
    assert missing.code == 6 and missing.error_code == "bad_roster"


def test_undecodable_row_rejected_others_kept(admin, tmp_path):
    good = ",".join(cert_row(no="E1").values()).encode()
    bad = ",".join(cert_row(no="E2").values()).encode().replace("王小明".encode(), b"\xff\xfe\xfd")
    header = ",".join(cert_row().keys()).encode()
    (tmp_path / "mixed.csv").write_bytes(header + b"\n" + good + b"\n" + bad + b"\n")
    result = admin("admin", "issue", tmp_path / "mixed.csv")
    assert result.json["inserted"] == 1 and result.json["rejects"][0]["line"] == 3


def test_rejects_file_and_unsupported_character(admin, tmp_path):
    rows = [cert_row(no="F1"), cert_row(no="F2", name="王\ue000")]
    out = tmp_path / "rejects.csv"
    result = admin("admin", "issue", write_roster(tmp_path / "r.csv", rows), "--rejects", out)
    assert result.json["rejects"][0]["reason"] == "unsupported_character"
    assert "U+E000" in result.json["rejects"][0]["detail"]
    assert "F2" in out.read_text(encoding="utf-8-sig")


def test_revoke_and_stats(admin, tmp_path):
    admin("admin", "issue", write_roster(tmp_path / "r.csv", [cert_row(no="G1"), cert_row(no="G2")]))
    revoked = admin("admin", "revoke", "G1", "--reason", "fraud")
    assert revoked.code == 0 and revoked.json["status"] == "revoked"
    assert admin("admin", "revoke", "G1").error_code == "certificate_revoked"
    assert admin("admin", "revoke", "NOPE").code == 5
    stats = admin("admin", "stats").json
    assert stats["certificates"] == {"total": 2, "valid": 1, "revoked": 1}


def test_export_masks_ids_and_neutralises_formulas(admin, tmp_path):
    admin("admin", "issue", write_roster(tmp_path / "r.csv", [cert_row(no="H1", qualification="=cmd|' /C calc'!A0")]))
    out = tmp_path / "export.csv"
    assert admin("admin", "export", "-o", out).code == 0
    text = out.read_text(encoding="utf-8-sig")
    assert "'=cmd" in text and HOLDER_ID not in text and "1101**********4477" in text
