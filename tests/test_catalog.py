"""The one message catalog (certcli/data/messages.json): every code, label and
reason the program shows has Chinese and English words, and nothing else
holds user-facing text pairs."""
import ast
import json
import re
from pathlib import Path

import pytest

from certcli import errors, i18n
from certcli.regions import rules as region_rules

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "certcli" / "data" / "messages.json"


def test_catalog_is_pairs_of_non_empty_zh_and_en():
    catalog = json.loads(CATALOG.read_text(encoding="utf-8"))
    assert catalog == i18n.messages()
    for key, pair in catalog.items():
        assert isinstance(pair, list) and len(pair) == 2 and all(pair), key
        assert re.search(r"[\u4e00-\u9fff：]", pair[0]), key                      # the zh side is Chinese
        assert set(re.findall(r"\{(\w+)\}", pair[0])) == set(re.findall(r"\{(\w+)\}", pair[1])), key


def test_every_error_code_has_a_message():
    codes = {value.code for value in vars(errors).values()
             if isinstance(value, type) and issubclass(value, errors.CertcliError) and value is not errors.CertcliError}
    assert codes and not [code for code in codes if not i18n.has(code)]


@pytest.mark.parametrize("method, proxy", [("onsite", False), ("onsite", True), ("mail", False)])
def test_every_checklist_item_has_words(method, proxy):
    for item in region_rules.checklist(method, proxy):
        assert i18n.has(f"checklist.{item}")


def test_every_verification_reason_in_the_code_has_words():
    used = set()
    for path in (ROOT / "certcli" / "verification").glob("*.py"):
        used |= set(re.findall(r'(?:Reject|_fail|verdict\.add)\([^)]*?"[a-z_]+",\s*(?:False|True|None)?,?\s*"([a-z_]+)"',
                               path.read_text(encoding="utf-8")))
    used |= set(re.findall(r'Reject\("[a-z_]+", "([a-z_]+)"', (ROOT / "certcli" / "verification" / "cms.py").read_text()))
    assert len(used) > 20
    assert not [reason for reason in used if not i18n.has(f"reason.{reason}")]


def test_no_module_keeps_its_own_zh_en_pairs():
    """("中文", "English") tuples belong in the catalog, not in code."""
    offenders = []
    for path in sorted((ROOT / "certcli").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple) and len(node.elts) == 2 and \
                    all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts) and \
                    re.search(r"[\u4e00-\u9fff]", node.elts[0].value) and \
                    re.fullmatch(r"[\x20-\x7e]+", node.elts[1].value) and " " in node.elts[1].value:
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


def test_every_roster_reject_reason_has_words():
    used = set()
    for name in ("roster/parse.py", "certificates/issuance.py", "membership/rules.py"):
        text = (ROOT / "certcli" / name).read_text(encoding="utf-8")
        used |= set(re.findall(r'(?:_Reject|FieldProblem)\("([a-z_]+)"', text))
        used |= set(re.findall(r'RowError\([^,]+, "([a-z_]+)"', text))
    assert len(used) > 12
    assert not [reason for reason in used if not i18n.has(f"row.{reason}")]


def test_error_messages_show_codes_in_words_and_json_keeps_the_codes(cli, tmp_path):
    (tmp_path / "bad.csv").write_text("foo,bar\n1,2\n")
    assert cli("admin", "init").code == 0
    zh = cli("admin", "issue", tmp_path / "bad.csv", lang="zh")
    assert zh.json["error"]["data"]["reason"] == "missing_columns"
    assert "缺少必需的列" in zh.json["error"]["message"] and "certificate_no" in zh.json["error"]["message"]
    wrong = cli("register", "--name", "张三", "--id-number", "110101199003074478", lang="zh")
    assert wrong.error_code == "invalid_id_number" and "校验位错误" in wrong.json["error"]["message"]
    assert wrong.json["error"]["data"]["reason"] == "check_character"
