"""Issue 14, items 1, 2, 4, 5, 8, 9 and 15: no dead ends for users, driven through the real CLI.

Registration after a name or ID correction, names as rosters hold them, the demo's
summary, ``agree`` without a terminal, errors that name the thing and the fix, help
with Chinese terms and examples, and the README's list of commands that need the key
passphrase."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from conftest import HOLDER_ID, ROOT, cert_row, write_roster

CERT = "2022ECO110100001"
PASSPORT_CERT = "2022ECO110100009"
DOT_CERT = "2023AUD440300008"
DOT_ID = "11010519491231002X"


@pytest.fixture
def roster(cli, tmp_path):
    """A home with keys and certificates for 王小明, John Smith (passport) and 阿依古丽·买买提."""
    assert cli("admin", "init").code == 0
    rows = [cert_row(),
            dict(cert_row(no=PASSPORT_CERT, name="John  Smith"), id_type="passport", id_number="E12345678"),
            cert_row(no=DOT_CERT, name="阿依古丽·买买提", id_number=DOT_ID, qualification="审计专业技术资格",
                     level="初级", issued_on="2023-03-01")]
    assert cli("admin", "issue", write_roster(tmp_path / "roster.csv", rows)).code == 0
    return cli


def audit_actions(cli) -> list[dict]:
    return [json.loads(line) for line in cli("admin", "audit", "export", json_mode=False).out.splitlines()]


def sees(cli, id_number, *, id_type=None) -> list[str]:
    login = cli("login", "--id-number", id_number, *(["--id-type", id_type] if id_type else []))
    assert login.code == 0, login.out
    assert cli("agree", "--yes").code == 0
    return [c["certificate_no"] for c in cli("list").json["certificates"]]


# --- 1. registering again after a name or ID correction -----------------------------------------

def test_registering_again_replaces_an_account_that_sees_no_certificate(roster):
    typo = roster("register", "--name", "王小", "--id-number", HOLDER_ID)
    assert typo.code == 0 and "replaced" not in typo.json
    assert sees(roster, HOLDER_ID) == []
    listed = roster("list", json_mode=False)
    assert "register again" in listed.out

    # a name that matches no certificate either cannot replace it
    wrong = roster("register", "--name", "王大", "--id-number", HOLDER_ID)
    assert wrong.code == 4 and wrong.error_code == "already_registered"
    assert wrong.json["error"]["data"]["reason"] == "name_matches_no_certificate"

    fixed = roster("register", "--name", "王小明", "--id-number", HOLDER_ID,
                   env={"CERTCLI_PASSWORD": "a-new-password-2"})
    assert fixed.code == 0 and fixed.json["replaced"] == "details_corrected"
    assert roster("list").error_code == "not_logged_in"                     # the old session ended
    assert roster("login", "--id-number", HOLDER_ID).error_code == "bad_credentials"   # the old password too
    login = roster("login", "--id-number", HOLDER_ID, env={"CERTCLI_PASSWORD": "a-new-password-2"})
    assert login.code == 0 and login.json["terms_accepted"] is False       # the new holder accepts anew
    assert roster("agree", "--yes").code == 0
    assert [c["certificate_no"] for c in roster("list").json["certificates"]] == [CERT]

    [replaced] = [e for e in audit_actions(roster) if e["action"] == "account_replaced"]
    assert replaced["details"] == {"reason": "details_corrected", "old_name": "王*", "new_name": "王**"}
    assert replaced["subject"] == "1101**********4477"

    human = roster("register", "--name", "王大", "--id-number", HOLDER_ID, json_mode=False)
    assert human.code == 4 and "holds certificates" in human.err and "issuer" in human.err


def test_an_account_that_sees_certificates_cannot_be_taken_over(roster):
    assert roster("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
    for name in ("王小明", "王晓明"):
        taken = roster("register", "--name", name, "--id-number", HOLDER_ID,
                       env={"CERTCLI_PASSWORD": "attacker-password"})
        assert taken.code == 4 and taken.error_code == "already_registered"
        assert taken.json["error"]["data"]["reason"] == "account_has_certificates"
    assert sees(roster, HOLDER_ID) == [CERT]                                 # untouched
    assert not [e for e in audit_actions(roster) if e["action"] == "account_replaced"]


def test_admin_account_show_and_reset_settle_a_dispute(roster):
    assert roster("register", "--name", "王小明", "--id-number", HOLDER_ID,
                  env={"CERTCLI_PASSWORD": "someone-else-1"}).code == 0
    shown = roster("admin", "account", "show", HOLDER_ID)
    assert shown.code == 0 and shown.json["name"] == "王小明" and shown.json["matches_certificates"] is True
    assert shown.json["certificates"] == [{"certificate_no": CERT, "name": "王小明", "qualification": "经济专业技术资格",
                                           "status": "valid", "name_matches": True}]
    assert HOLDER_ID not in json.dumps(shown.json)                           # masked, like every public output
    human = roster("admin", "account", "show", HOLDER_ID, json_mode=False, lang="zh")
    assert human.code == 0 and "王小明" in human.out and CERT in human.out

    assert roster("admin", "account", "show", "110101199001010011").code == 5
    assert roster("admin", "account", "show", HOLDER_ID, "--id-type", "nope").code == 2

    no_key = roster("admin", "account", "reset", HOLDER_ID, env={"CERTCLI_KEY_PASSPHRASE": ""})
    assert no_key.error_code == "passphrase_required"
    reset = roster("admin", "account", "reset", HOLDER_ID, "--reason", "ID document checked on site")
    assert reset.code == 0 and reset.json["reset"] is True
    assert roster("login", "--id-number", HOLDER_ID, env={"CERTCLI_PASSWORD": "someone-else-1"}).code == 3
    assert roster("admin", "account", "show", HOLDER_ID).json["reset"] is True

    again = roster("register", "--name", "王小明", "--id-number", HOLDER_ID)
    assert again.code == 0 and again.json["replaced"] == "reset_by_administrator"
    assert sees(roster, HOLDER_ID) == [CERT]
    actions = [(e["actor"], e["action"]) for e in audit_actions(roster)]
    assert ("admin", "account_viewed") in actions and ("admin", "account_reset") in actions
    [entry] = [e for e in audit_actions(roster) if e["action"] == "account_reset"]
    assert entry["details"]["reason"] == "ID document checked on site"
    assert HOLDER_ID not in roster("admin", "audit", "export", json_mode=False).out


@pytest.mark.slow   # a server of its own; the remote flows run by default in tests/test_remote.py
def test_registering_again_and_unknown_member_status_are_the_same_remotely(tmp_path):
    """Remote mode (--server): the same replacement, refusals and not_found as locally."""
    from serving import Server, certcli, prepare_home

    home = prepare_home(tmp_path / "issuer")
    server = Server(home).wait_ready()
    try:
        client = tmp_path / "client"

        def remote(*args, **kwargs):
            return certcli(client, *args, server=server.url, **kwargs)

        assert remote("register", "--name", "王小", "--id-number", HOLDER_ID).code == 0
        wrong = remote("register", "--name", "王大", "--id-number", HOLDER_ID)
        assert wrong.code == 4 and wrong.json["error"]["data"]["reason"] == "name_matches_no_certificate"
        fixed = remote("register", "--name", "王 小明", "--id-number", HOLDER_ID)
        assert fixed.code == 0 and fixed.json["replaced"] == "details_corrected"
        taken = remote("register", "--name", "王小明", "--id-number", HOLDER_ID, json_mode=False)
        assert taken.code == 4 and "holds certificates" in taken.err
        assert remote("login", "--id-number", HOLDER_ID).code == 0 and remote("agree", "--yes").code == 0
        assert CERT in [c["certificate_no"] for c in remote("list").json["certificates"]]
        unknown = remote("member", "status", "--id-number", "11010519491231002X", "--name", "无此人")
        assert unknown.code == 5 and unknown.error_code == "not_found"
        bad = remote("member", "download", "--reveal", "address")
        assert bad.code == 2 and bad.error_code == "usage_error" and "approval_no" in bad.json["error"]["message"]
    finally:
        assert server.stop() == 0


# --- 2. names with spaces, Latin letters and the middle dot ------------------------------------

@pytest.mark.parametrize("name, id_type, id_number, certificate", [
    ("John Smith", "passport", "E12345678", PASSPORT_CERT),
    ("  john   SMITH ", "PASSPORT", "e12345678", PASSPORT_CERT),
    ("阿依古丽·买买提", "resident_id", DOT_ID, DOT_CERT),
    ("阿依古丽・买买提", "resident_id", DOT_ID, DOT_CERT),        # the katakana middle dot of some keyboards
    ("阿依古丽 · 买买提", "resident_id", DOT_ID, DOT_CERT),
    ("王　小明", "resident_id", HOLDER_ID, CERT),                # a full-width space between Chinese characters
])
def test_names_are_compared_as_the_roster_stores_them(roster, name, id_type, id_number, certificate):
    registered = roster("register", "--name", name, "--id-number", id_number, "--id-type", id_type)
    assert registered.code == 0, registered.out
    assert registered.json["name"] == " ".join(unicodedata.normalize("NFC", name).split())
    assert sees(roster, id_number.upper(), id_type=id_type.lower()) == [certificate]


def test_names_in_nfc_match_decomposed_input_and_lookups_ignore_latin_case(roster, tmp_path):
    composed = unicodedata.normalize("NFC", "José Núñez")
    row = dict(cert_row(no="2022ECO110100010", name=composed), id_type="passport", id_number="P7654321")
    assert roster("admin", "issue", write_roster(tmp_path / "more.csv", [row])).code == 0
    decomposed = unicodedata.normalize("NFD", "josé núñez")
    assert decomposed != composed.lower()
    assert roster("register", "--name", decomposed, "--id-number", "P7654321", "--id-type", "passport").code == 0
    assert sees(roster, "P7654321", id_type="passport") == ["2022ECO110100010"]
    lookup = roster("verify", "--number", PASSPORT_CERT, "--name", "JOHN SMITH")
    assert lookup.code == 0 and lookup.json["valid"]


@pytest.mark.parametrize("name, reason", [("", "required"), ("   ", "required"), ("1234", "invalid_name"),
                                          ("王\x07明", "invalid_name"), ("王" * 201, "too_long")])
def test_names_that_are_no_names_are_refused_with_the_reason(roster, name, reason):
    refused = roster("register", "--name", name, "--id-number", HOLDER_ID)
    assert refused.code == 6 and refused.json["error"]["data"]["reason"] == reason
    assert "--name" in refused.json["error"]["message"]


# --- 4. the demo's summary ---------------------------------------------------------------------

def _demo(*args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCLI_")}
    env.update(PYTHONPATH=str(ROOT), CERTCLI_LANG="en")
    return subprocess.run([sys.executable, "-m", "certcli", *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=cwd)


@pytest.mark.slow  # a whole demo run (~20 s); the default run keeps the --keep one
def test_the_demo_without_keep_names_no_path_that_is_gone_and_says_how_to_keep(tmp_path):
    done = _demo("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    output = done.stdout + done.stderr
    assert "certcli-demo-" not in output and "/tmp/" not in output
    for path in re.findall(r"(?<![\w.])(/[\w./-]+)", output):      # any absolute path left in the narration
        assert Path(path.rstrip(".,:;")).exists(), path
    summary = done.stdout[done.stdout.rindex("Demo complete"):]
    assert "deleted" in summary and "certcli demo --keep DIR" in summary and "export CERTCLI_HOME=" in summary
    assert list(tmp_path.iterdir()) == []                               # nothing left where it ran


@pytest.mark.slow  # a whole demo run (~20 s); the default run keeps the --keep one
def test_the_json_demo_without_keep_reports_no_paths(tmp_path):
    done = _demo("--json", "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert document["verified"] and not document["kept"]
    assert document["folder"] is None and document["pdf"] is None and document["home"] is None
    assert document["files"] == {}


@pytest.mark.slow   # the whole demo again (tests/test_demo.py runs it by default)
def test_the_demo_with_keep_ends_with_a_summary_whose_paths_exist(tmp_path):
    folder = tmp_path / "kept-demo"
    done = _demo("demo", "--keep", str(folder), cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    summary = done.stdout[done.stdout.rindex("Demo complete"):]
    assert str(folder.resolve()) in summary
    home = folder.resolve() / "home"
    assert f"export CERTCLI_HOME={home}" in summary
    for path in re.findall(re.escape(str(folder.resolve())) + r"[\w./-]*", done.stdout + done.stderr):
        assert Path(path.rstrip(".,:;")).exists(), path
    for name in ("2022ECO110100001.pdf", "member.pdf", "trust.pem"):
        assert f"{folder.resolve() / name}" in summary and (folder / name).exists()
    # carrying on in that home works
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCLI_")}
    env.update(PYTHONPATH=str(ROOT), CERTCLI_HOME=str(home), CERTCLI_PASSWORD="demo-password-123")
    login = subprocess.run([sys.executable, "-m", "certcli", "--json", "login", "--id-number", HOLDER_ID],
                           capture_output=True, text=True, env=env, timeout=60)
    assert login.returncode == 0, login.stdout + login.stderr
    again = _demo("demo", "--keep", str(folder), cwd=tmp_path)
    assert again.returncode == 2 and "not empty" in again.stderr


@pytest.mark.slow  # a whole demo run (~20 s); the default run keeps the --keep one
def test_the_json_demo_with_keep_reports_real_paths(tmp_path):
    from certcli.demo import run_demo

    document = run_demo(tmp_path / "d")       # what `--json demo --keep DIR` prints (test_demo.py runs that)
    assert document["verified"] and document["kept"]
    assert Path(document["folder"]).is_dir() and Path(document["home"]).is_dir()
    assert Path(document["pdf"]).read_bytes().startswith(b"%PDF")
    assert set(document["files"]) >= {"certificate_pdf", "member_pdf", "trust_bundle", "home"}
    assert all(Path(p).exists() for p in document["files"].values())


# --- 5. agree with no terminal --------------------------------------------------------------------

def test_agree_at_the_end_of_input_is_a_usage_error_that_says_use_yes(roster):
    assert roster("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
    assert roster("login", "--id-number", HOLDER_ID).code == 0
    for lang in ("en", "zh"):
        refused = roster("agree", input="", json_mode=False, lang=lang)
        assert refused.code == 2, refused.err
        assert "--yes" in refused.err and "Internal error" not in refused.err + refused.out
    assert roster("list").error_code == "terms_not_accepted"
    assert roster("agree", input="y\n", json_mode=False).code == 0


# --- 8. errors that name the thing and the fix -------------------------------------------------

@pytest.mark.parametrize("args, option, valid", [
    (("register", "--name", "王小明", "--id-number", HOLDER_ID, "--id-type", "passprt"), "--id-type", "passport"),
    (("login", "--id-number", HOLDER_ID, "--id-type", "idcard"), "--id-type", "resident_id"),
    (("member", "status", "--id-number", HOLDER_ID, "--name", "x", "--id-type", "x"), "--id-type", "passport"),
    (("admin", "region", "set", "北京", "--mode", "online"), "--mode", "electronic"),
    (("paper", "request", CERT, "--method", "post"), "--method", "onsite"),
    (("admin", "paper", "list", "--status", "done"), "--status", "handed_over"),
    (("admin", "member", "review", "2021CPA110000001", "--stage", "first", "--approve"), "--stage", "national"),
    (("admin", "member", "list", "--progress", "waiting"), "--progress", "awaiting_local"),
    (("member", "photo", "--use", "selfie"), "--use", "verified"),
    (("member", "download", "--reveal", "mobile,address"), "--reveal", "birth_date"),
    (("admin", "export", "--format", "xlsx"), "--format", "jsonl"),
    (("admin", "account", "show", HOLDER_ID, "--id-type", "x"), "--id-type", "taiwan_permit"),
])
def test_options_with_fixed_values_are_choices_listing_the_valid_ones(roster, args, option, valid):
    bad = roster(*args, json_mode=False)
    assert bad.code == 2, (bad.out, bad.err)
    assert option in bad.err and valid in bad.err


def test_choices_ignore_case(roster):
    assert roster("register", "--name", "John Smith", "--id-number", "E12345678", "--id-type", "Passport").code == 0
    assert roster("admin", "export", "--format", "JSONL", "-o", roster.home.parent / "x.jsonl").code == 0


def test_lookup_without_a_store_says_use_server_or_the_stores_home(cli):
    refused = cli("verify", "--number", CERT, "--name", "王小明")
    assert refused.code == 7 and refused.error_code == "lookup_needs_store"
    message = refused.json["error"]["message"]
    assert "--server" in message and "--home" in message and "trust bundle" in message
    human = cli("verify", "--number", CERT, "--name", "王小明", json_mode=False, lang="zh")
    assert human.code == 7 and "--server" in human.err


def test_an_unknown_member_status_is_not_found(roster):
    unknown = roster("member", "status", "--id-number", HOLDER_ID, "--name", "无此人")
    assert unknown.code == 5 and unknown.error_code == "not_found"
    assert unknown.json["error"]["data"]["what"] == "membership_application"
    human = roster("member", "status", "--id-number", HOLDER_ID, "--name", "无此人", json_mode=False)
    assert human.code == 5 and "check the ID document type and number" in human.err


def test_revoking_twice_says_already_revoked(roster):
    assert roster("admin", "revoke", CERT, "--reason", "fraud").code == 0
    again = roster("admin", "revoke", CERT)
    assert again.code == 4 and again.error_code == "certificate_revoked"
    assert "already revoked" in again.json["error"]["message"]
    assert "已经撤销" in roster("admin", "revoke", CERT, json_mode=False, lang="zh").err


def test_annotating_while_a_request_is_pending_says_download_when_it_completes(roster):
    assert roster("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
    assert sees(roster, HOLDER_ID) == [CERT]
    first = roster("annotate", CERT)
    assert first.code == 0
    again = roster("annotate", CERT, json_mode=False)
    assert again.code == 4
    assert "already being generated" in again.err and "download it when it completes" in again.err
    assert f"certcli download {CERT}" in again.err
    as_json = roster("renew", CERT)
    assert as_json.error_code == "annotation_pending"
    assert as_json.json["error"]["data"]["annotation_no"] == first.json["annotation_no"]
    # the download itself still says: generating
    download = roster("download", CERT, "-o", roster.home.parent / "x.pdf", json_mode=False)
    assert download.code == 4 and "Generating" in download.err


def test_rejected_rows_are_told_in_words_and_json_keeps_the_codes(roster, tmp_path):
    rows = [cert_row(no="R1", id_number="110101199003074478"), cert_row(no="R2", issued_on="2022-13-01"),
            cert_row(no="R3", seal="royal"), cert_row(no="R4", name="")]
    path = write_roster(tmp_path / "bad.csv", rows)
    for lang, words in (("en", ("wrong check character", "unreadable date", "“royal”", "required value missing")),
                        ("zh", ("校验位错误", "日期无法识别", "“royal”", "缺少必填项"))):
        human = roster("admin", "issue", path, "--dry-run", json_mode=False, lang=lang)
        assert human.code == 6
        for word in words:
            assert word in human.out, (word, human.out)
        for code in ("invalid_id_number", "check_character", "invalid_date", "invalid_seal", "missing_value",
                     "[id_number]", "issued_on", "id_number"):
            assert code not in human.out, (code, human.out)
    document = roster("admin", "issue", path, "--dry-run").json
    assert [r["reason"] for r in document["rejects"]] == ["invalid_id_number", "invalid_date", "invalid_seal",
                                                         "missing_value"]
    assert document["rejects"][0]["detail"] == "check_character"


def test_a_missing_photo_file_is_named(roster, tmp_path):
    missing = tmp_path / "no-such-photo.jpg"
    result = roster("admin", "member", "photo", "2021CPA110000001", missing, json_mode=False)
    assert result.code == 6 and str(missing) in result.err


# --- 9. --version and help -------------------------------------------------------------------

def test_version(cli):
    from certcli import __version__

    shown = cli("--version", json_mode=False)
    assert shown.code == 0 and shown.out.strip() == f"certcli {__version__}"


def _commands():
    import typer.main

    from certcli.cli import app

    found = []

    def walk(command, path):
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, path + [name])

    walk(typer.main.get_command(app), [])
    return found


def _display_width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_every_command_has_examples_a_chinese_term_and_a_summary():
    from certcli import i18n
    from certcli.commands._help import EXAMPLES

    paths = {" ".join(path) for path, _ in _commands()}
    assert paths == set(EXAMPLES), (paths ^ set(EXAMPLES))
    terms = {key[len("help."):] for key in i18n.messages() if key.startswith("help.")}
    assert terms == {path or "certcli" for path in paths}, terms ^ {path or "certcli" for path in paths}


@pytest.mark.parametrize("path", [path for path, _ in _commands()], ids=lambda p: " ".join(p) or "certcli")
def test_help_has_examples_the_chinese_term_no_rule_labels_and_fits_80_columns(cli, path):
    from certcli.commands._help import term_and_summary

    shown = cli(*path, "--help", json_mode=False, env={"COLUMNS": "80"})
    assert shown.code == 0
    text = shown.out
    zh = term_and_summary(" ".join(path))[0]
    assert zh in text
    if path:
        assert f"{zh} / {path[-1]}" in text                     # 申请加注 / annotate
    assert "Examples (示例):" in text and "  certcli " in text.split("Examples (示例):")[1]
    assert not re.search(r"\(R\d+", text) and "SPEC" not in text
    assert not [line for line in text.splitlines() if _display_width(line) > 80]
    commands = text.split("\nCommands:\n")[1].split("\n\n")[0] if "\nCommands:\n" in text else ""
    assert "..." not in commands and "…" not in commands          # no summary cut short


def test_help_examples_run_real_commands():
    import shlex

    from certcli.cli import hoist_global_options
    from certcli.commands._help import EXAMPLES

    commands = {tuple(path): command for path, command in _commands()}
    for examples in EXAMPLES.values():
        assert examples
        for example in examples:
            words = shlex.split(example.replace("\\\n", " "))
            assert words[0] == "certcli", example
            words = hoist_global_options(words[1:])
            while words and words[0].startswith("--"):                  # global options and their values
                words = words[2:] if words[0] in ("--lang", "--home", "--server") else words[1:]
            found = max((n for n in range(1, 4) if tuple(words[:n]) in commands), default=0)
            assert found and not hasattr(commands[tuple(words[:found])], "commands"), example


# --- 15. the README names exactly the commands that need the key passphrase -------------------------

def test_readme_names_exactly_the_admin_commands_that_need_the_passphrase():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = text.split("**The key passphrase.**", 1)[1].split("\n\n", 1)[0]
    need, _, rest = paragraph.partition("need none")
    named_need = set(re.findall(r"`(admin [a-z -]+?)`", need))
    named_none = set(re.findall(r"`(admin [a-z -]+?)`", rest))
    asking, not_asking = set(), set()
    for path, command in _commands():
        if not path or path[0] != "admin" or hasattr(command, "commands"):
            continue
        takes = any(p.name == "passphrase_stdin" for p in command.params)
        (asking if takes else not_asking).add(" ".join(path))
    assert named_need == asking, named_need ^ asking                   # admin init is among them (it creates one)
    assert named_none == not_asking, named_none ^ not_asking
    # and the code agrees: every command that takes --passphrase-stdin reads it (unlock, or init's new one)
    import inspect

    for path, command in _commands():
        if " ".join(path) in asking:
            source = inspect.getsource(command.callback)
            assert re.search(r"\b_?unlock\(|_move\(|read_secret\(\"passphrase\"", source), path
