"""register / login / logout / agree through the CLI (R10, R11, lockout, sessions)."""
import os
import stat

from conftest import HOLDER_ID, PASSWORD, store_db


def test_register_validates_the_resident_id_check_character(cli):
    assert cli("admin", "init").code == 0
    bad = cli("register", "--name", "王小明", "--id-number", "110101199003074478")
    assert bad.code == 6 and bad.error_code == "invalid_id_number"
    ok = cli("register", "--name", "王小明", "--id-number", HOLDER_ID)
    assert ok.code == 0 and ok.json["id_number_masked"] == "1101**********4477"
    again = cli("register", "--name", "王小明", "--id-number", HOLDER_ID)
    assert again.code == 4 and again.error_code == "already_registered"


def test_password_from_stdin_and_never_echoed(cli):
    cli("admin", "init")
    result = cli("register", "--name", "李四", "--id-number", HOLDER_ID, "--password-stdin",
                 input="another-secret-9\n", env={"CERTCLI_PASSWORD": ""})
    assert result.code == 0
    assert "another-secret-9" not in result.out + result.err
    login = cli("login", "--id-number", HOLDER_ID, "--password-stdin", input="another-secret-9\n",
                env={"CERTCLI_PASSWORD": ""})
    assert login.code == 0, login.out


def test_missing_password_is_a_usage_error_not_a_prompt(cli):
    cli("admin", "init")
    result = cli("register", "--name", "李四", "--id-number", HOLDER_ID, env={"CERTCLI_PASSWORD": ""})
    assert result.code == 2 and result.error_code == "password_required"


def test_weak_password_refused(cli):
    cli("admin", "init")
    result = cli("register", "--name", "李四", "--id-number", HOLDER_ID, env={"CERTCLI_PASSWORD": "short"})
    assert result.code == 4 and result.error_code == "weak_password"


def test_session_file_is_private_and_token_stored_hashed(cli):
    cli("admin", "init")
    cli("register", "--name", "王小明", "--id-number", HOLDER_ID)
    assert cli("login", "--id-number", HOLDER_ID).code == 0
    session = cli.home / "session.json"
    assert stat.S_IMODE(os.stat(session).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cli.home).st_mode) == 0o700
    import json

    token = json.loads(session.read_text())["token"]
    stored = [r[0] for r in store_db(cli.home).execute("SELECT token_hash FROM sessions")]
    assert token not in stored and len(stored) == 1
    hashes = [r[0] for r in store_db(cli.home).execute("SELECT password_hash FROM accounts")]
    assert hashes[0].startswith("scrypt$") and PASSWORD not in hashes[0]


def test_login_failures_lock_the_account_for_15_minutes(cli):
    cli("admin", "init")
    cli("register", "--name", "王小明", "--id-number", HOLDER_ID)
    wrong = {"CERTCLI_PASSWORD": "wrong-password"}
    for attempt in range(4):
        result = cli("login", "--id-number", HOLDER_ID, env=wrong)
        assert result.code == 3 and result.error_code == "bad_credentials"
    fifth = cli("login", "--id-number", HOLDER_ID, env=wrong)
    assert fifth.code == 3 and fifth.error_code == "account_locked"
    # the right password is refused while locked, in a new process too (state is in the store)
    locked = cli("login", "--id-number", HOLDER_ID, now="2026-03-01T10:14:59+08:00")
    assert locked.error_code == "account_locked"
    assert cli("login", "--id-number", HOLDER_ID, now="2026-03-01T10:15:00+08:00").code == 0


def test_unknown_account_and_wrong_password_look_the_same(cli):
    cli("admin", "init")
    cli("register", "--name", "王小明", "--id-number", HOLDER_ID)
    unknown = cli("login", "--id-number", "11010519491231002X")
    wrong = cli("login", "--id-number", HOLDER_ID, env={"CERTCLI_PASSWORD": "wrong-password"})
    assert unknown.error_code == wrong.error_code == "bad_credentials"


def test_session_expires_after_8_idle_hours(issued):
    assert issued("list", now="2026-03-01T17:59:59+08:00").code == 0  # touches the session
    assert issued("list", now="2026-03-02T01:59:58+08:00").code == 0
    expired = issued("list", now="2026-03-02T09:59:58+08:00")
    assert expired.code == 3 and expired.error_code == "not_logged_in"


def test_logout_ends_the_session(issued):
    assert issued("logout").code == 0
    assert issued("list").error_code == "not_logged_in"
    assert not (issued.home / "session.json").exists()


def test_terms_must_be_accepted_and_again_for_a_new_version(cli, tmp_path):
    cli("admin", "init")
    cli("register", "--name", "王小明", "--id-number", HOLDER_ID)
    login = cli("login", "--id-number", HOLDER_ID)
    assert login.json["terms_accepted"] is False
    refused = cli("list")
    assert refused.code == 3 and refused.error_code == "terms_not_accepted"
    shown = cli("agree")  # JSON mode without --yes shows the text and accepts nothing
    assert shown.code == 4 and "90" in shown.json["text"]
    assert cli("agree", "--yes").json["terms_version"] == 1
    assert cli("list").code == 0
    (tmp_path / "zh.txt").write_text("新版服务须知", encoding="utf-8")
    (tmp_path / "en.txt").write_text("New terms", encoding="utf-8")
    assert cli("admin", "terms", "--zh", tmp_path / "zh.txt", "--en", tmp_path / "en.txt").json["terms_version"] == 2
    assert cli("list").error_code == "terms_not_accepted"
    assert cli("agree", "--yes").json["terms_version"] == 2
    assert cli("list").code == 0


def test_interactive_agree_prompts(cli):
    cli("admin", "init")
    cli("register", "--name", "王小明", "--id-number", HOLDER_ID)
    cli("login", "--id-number", HOLDER_ID)
    declined = cli("agree", input="n\n", json_mode=False, lang="zh")
    assert declined.code == 4 and "服务须知" in declined.out
    accepted = cli("agree", input="y\n", json_mode=False)
    assert accepted.code == 0 and cli("list").code == 0
