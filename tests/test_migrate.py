"""`admin migrate --to URL` (issue 15, certcli.pgmigrate): a home's SQLite store copied into
PostgreSQL, every table and the audit chain as they are, checked, then used with
--database-url; refused when the target holds another store's data; interrupted by SIGKILL,
run again and complete.  SQLite to PostgreSQL by nature: it runs whatever
CERTCLI_TEST_BACKEND says (skipped without PostgreSQL, as the other PostgreSQL tests)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import NOW, ROOT, cert_row, write_roster

HOLDER_ID, HOLDER_PASSWORD = "110101199003074477", "demo-password-123"
DEMO_PASSPHRASE = "demo passphrase, not for production"
CERT = "2022ECO110100001"


def run(home: Path, *args, url: str = "", check: int | None = 0, now: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCLI_")}
    env.update(CERTCLI_HOME=str(home), CERTCLI_KEY_PASSPHRASE=DEMO_PASSPHRASE, CERTCLI_PASSWORD=HOLDER_PASSWORD,
               CERTCLI_DATABASE_URL=url, PYTHONPATH=str(ROOT), CERTCLI_LANG="en")
    if now:
        env["CERTCLI_NOW"] = now
    result = subprocess.run([sys.executable, "-m", "certcli", *map(str, args)], env=env, capture_output=True,
                            text=True, timeout=600)
    if check is not None:
        assert result.returncode == check, f"{args}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    """`certcli demo --keep`: keys, a roster with rejects, a holder, an annotation processed and
    downloaded, the trust bundle, a member's review, photo, details and certificate."""
    folder = tmp_path_factory.mktemp("demo") / "kept"
    result = run(folder.parent / "unused-home", "--json", "demo", "--keep", folder)
    assert json.loads(result.stdout)["verified"]
    return folder


def home_copied(folder: Path, tmp_path: Path) -> Path:
    """A test's own copy of a module's kept folder: its home."""
    copy = tmp_path / folder.parent.name
    shutil.copytree(folder, copy)
    return copy / "home"


@pytest.fixture
def demo_home(demo_folder, tmp_path) -> Path:
    return home_copied(demo_folder, tmp_path)


@pytest.fixture(scope="module")
def issued_folder(tmp_path_factory) -> Path:
    """A home with keys and examples/roster.csv issued: enough for the cases about when a copy
    is refused or made again (the whole demo store is copied in the slow case above)."""
    folder = tmp_path_factory.mktemp("issued") / "kept"
    run(folder / "home", "admin", "init")
    run(folder / "home", "admin", "issue", ROOT / "examples" / "roster.csv", check=6)   # one bad row, kept out
    return folder


@pytest.fixture
def issued_home(issued_folder, tmp_path) -> Path:
    return home_copied(issued_folder, tmp_path)


@pytest.fixture
def url() -> str:
    import postgres

    return postgres.database_url()


def migrate(home: Path, url: str, check: int | None = 0) -> subprocess.CompletedProcess:
    return run(home, "--json", "admin", "migrate", "--to", url, check=check)


@pytest.mark.slow  # ~23 s (a whole demo, then the copy): the smaller cases below cover the default run
def test_a_demo_store_is_copied_checked_and_usable(demo_home, url, tmp_path):
    report = json.loads(migrate(demo_home, url).stdout)
    assert report["ok"] and report["audit"]["ok"] and not report["skipped"]
    tables = {t["table"]: t for t in report["tables"]}
    for table in ("certificates", "accounts", "sessions", "annotations", "documents", "members", "member_reviews",
                  "member_documents", "region_policies", "terms", "scenarios", "issued_documents", "meta",
                  "audit_log", "paper_requests", "revocations", "guess_limits"):
        assert tables[table]["ok"], tables[table]
    assert tables["certificates"]["source_rows"] > 0 and tables["documents"]["source_rows"] == 2
    with sqlite3.connect(demo_home / "certcli.db") as db:
        head = db.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert report["audit"]["head"] == f"{head[0]}:{head[1]}"
    # the same answers from the copy as from the file
    for args in (("admin", "export", "--format", "jsonl"), ("admin", "audit", "export"), ("admin", "audit", "head")):
        assert run(demo_home, *args, url=url).stdout == run(demo_home, *args).stdout, args
    assert json.loads(run(demo_home, "--json", "admin", "audit", "verify", url=url).stdout)["ok"]
    run(demo_home, "login", "--id-number", HOLDER_ID, url=url)
    listed = json.loads(run(demo_home, "--json", "list", url=url).stdout)
    assert CERT in json.dumps(listed, ensure_ascii=False)
    run(demo_home, "info", CERT, url=url)
    run(demo_home, "download", CERT, "-o", tmp_path / "copy.pdf", url=url)       # the PDF bytes, as stored
    assert (tmp_path / "copy.pdf").read_bytes() == (demo_home.parent / f"{CERT}.pdf").read_bytes()
    verified = json.loads(run(demo_home, "--json", "verify", demo_home.parent / f"{CERT}.pdf", url=url).stdout)
    assert verified["valid"], verified
    # new rows get new ids: the identity sequences were set past the copied ones
    roster = write_roster(tmp_path / "more.csv", [cert_row(no="2026ECO110199999")])
    run(demo_home, "admin", "issue", roster, url=url)
    run(demo_home, "annotate", "2026ECO110199999", url=url)
    run(demo_home, "admin", "process", url=url)
    assert json.loads(run(demo_home, "--json", "admin", "audit", "verify", url=url).stdout)["ok"]


def test_running_it_again_copies_nothing_and_checks_again(issued_home, url):
    migrate(issued_home, url)
    again = json.loads(migrate(issued_home, url).stdout)
    assert again["ok"] and again["copied"] == [] and len(again["skipped"]) == len(again["tables"])


def test_a_database_holding_another_store_is_refused(issued_home, url, tmp_path):
    other = tmp_path / "other-home"
    run(other, "admin", "init", url=url)
    run(other, "admin", "issue", write_roster(tmp_path / "r.csv", [cert_row()]), url=url)
    refused = migrate(issued_home, url, check=7)
    error = json.loads(refused.stdout)["error"]
    assert error["code"] == "migration_target_in_use" and error["data"]["what"] == "other_store"
    assert "another store" in error["message"]
    # nothing of the other store was touched
    assert json.loads(run(other, "--json", "admin", "audit", "verify", url=url).stdout)["ok"]


def test_a_copy_in_use_is_not_overwritten_and_a_changed_source_is_copied_again(issued_home, url):
    migrate(issued_home, url)
    run(issued_home, "admin", "revoke", "2023AUD440300002", "--reason", "test", url=url)   # the copy is in use
    refused = json.loads(migrate(issued_home, url, check=7).stdout)["error"]
    assert refused["code"] == "migration_target_in_use" and refused["data"]["what"] == "changed_since_migration"


def test_a_source_that_moved_on_is_copied_again(issued_home, url):
    migrate(issued_home, url)
    run(issued_home, "admin", "revoke", "2023AUD440300002", "--reason", "test")    # the SQLite file moved on
    again = json.loads(migrate(issued_home, url).stdout)
    assert again["ok"] and again["skipped"] == [] and "certificates" in again["copied"]
    assert run(issued_home, "admin", "audit", "head", url=url).stdout == run(issued_home, "admin", "audit", "head").stdout


def big_home(tmp_path: Path, rows: int) -> Path:
    """A home whose certificates table takes a few seconds to copy."""
    from datetime import datetime

    from certcli.certificates import issuance
    from certcli.store import open_store
    from test_crash import make_roster

    home = tmp_path / "big"
    run(home, "admin", "init")
    make_roster(tmp_path / "big.csv", rows)
    store = open_store(home, database_url="")
    try:
        issuance.import_roster(store, tmp_path / "big.csv", now=datetime.fromisoformat(NOW))
    finally:
        store.close()
    return home


def ledger(url: str) -> dict:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('certcli_migration')").fetchone()[0] is None:
            return {}
        return dict(conn.execute("SELECT item, value FROM certcli_migration").fetchall())


@pytest.mark.slow
def test_a_killed_migration_run_again_completes(tmp_path, url):
    home = big_home(tmp_path, 100_000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCLI_")}
    env.update(CERTCLI_HOME=str(home), PYTHONPATH=str(ROOT))
    process = subprocess.Popen([sys.executable, "-m", "certcli", "--json", "admin", "migrate", "--to", url],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    # kill once some tables are copied (audit_log, accounts) and the big one is on its way
    while process.poll() is None and not any(item.startswith("table:audit_log") for item in ledger(url)):
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.01)
    alive = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert alive, "the migration had ended before the kill"
    left = ledger(url)
    assert "complete" not in left and "table:certificates" not in left
    again = json.loads(migrate(home, url).stdout)
    assert again["ok"] and "audit_log" in again["skipped"] and "certificates" in again["copied"]
    assert {t["table"]: t["target_rows"] for t in again["tables"]}["certificates"] == 100_000
    assert json.loads(run(home, "--json", "admin", "audit", "verify", url=url).stdout)["ok"]
