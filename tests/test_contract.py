"""SPEC §4 as scripts see it: JSON documents, exit codes, global flags, no tracebacks."""
import json
import os
import subprocess
import sys

import pytest

from conftest import EXIT_INTERNAL, NOW, PASSPHRASE, PASSWORD, ROOT


def run(home, *args, stdin=None, extra_env=None):
    env = dict(os.environ, CERTCLI_HOME=str(home), CERTCLI_NOW=NOW, CERTCLI_KEY_PASSPHRASE=PASSPHRASE,
               CERTCLI_PASSWORD=PASSWORD, PYTHONPATH=str(ROOT))
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "certcli", *args], capture_output=True, text=True, env=env,
                          input=stdin, cwd=ROOT)


def test_cli_module_imports_no_heavy_library():
    code = ("import sys, certcli.cli; heavy = [m for m in ('reportlab', 'pyhanko', 'cryptography', 'sqlite_utils', "
            "'pypdf', 'qrcode') if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout


def test_global_flags_anywhere_and_one_json_document(tmp_path):
    home = tmp_path / "h"
    assert run(home, "admin", "init", "--json").returncode == 0
    result = run(home, "admin", "stats", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["certificates"]["total"] == 0
    result = run(tmp_path / "other", "--json", "admin", "stats", "--home", str(home))
    assert json.loads(result.stdout)["certificates"]["total"] == 0


def test_usage_errors_exit_2_and_are_json_in_json_mode(tmp_path):
    result = run(tmp_path, "--json", "annotate")
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["code"] == "usage_error"
    human = run(tmp_path, "annotate", "--days", "many")
    assert human.returncode != EXIT_INTERNAL, human.stderr
    assert human.returncode == 2 and "Traceback" not in human.stderr


def test_bad_clock_value_is_a_clear_error(tmp_path):
    result = run(tmp_path, "--json", "admin", "stats", extra_env={"CERTCLI_NOW": "yesterday"})
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["code"] == "bad_time"


@pytest.mark.parametrize("args", [
    ("info", "\u202e\u0000x"), ("annotate", "x" * 5000), ("download", "../../etc/passwd"),
    ("verify", "--number", "", "--name", ""), ("admin", "issue", "/dev/null"), ("admin", "revoke", "🙂"),
    ("verify", "--qr", "garbage"), ("login", "--id-number", "\udcff"),
])
def test_odd_input_never_shows_a_traceback(tmp_path, args):
    run(tmp_path / "h", "admin", "init")
    safe_args = [a.replace("\x00", "") for a in args]
    result = run(tmp_path / "h", "--json", *safe_args)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode != EXIT_INTERNAL, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert result.returncode in (1, 2, 3, 4, 5, 6, 7)
    assert "error" in document or "valid" in document


def test_secrets_never_in_output(tmp_path):
    home = tmp_path / "h"
    outputs = [run(home, "--json", "admin", "init"), run(home, "admin", "init"),
               run(home, "--json", "register", "--name", "王小明", "--id-number", "110101199003074477"),
               run(home, "--json", "login", "--id-number", "110101199003074477"),
               run(home, "--json", "login", "--id-number", "110101199003074477",
                   extra_env={"CERTCLI_PASSWORD": "wrong-password-x"}),
               run(home, "--json", "admin", "trust")]
    for result in outputs:
        text = result.stdout + result.stderr
        assert result.returncode != EXIT_INTERNAL, text
        assert PASSPHRASE not in text and PASSWORD not in text and "wrong-password-x" not in text
        assert "PRIVATE KEY" not in text


def test_python_dash_m_and_version_of_help(tmp_path):
    result = run(tmp_path, "--help")
    assert result.returncode == 0 and "annotate" in result.stdout and "admin" in result.stdout
