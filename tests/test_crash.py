"""SIGKILL in the middle of `admin issue` and `admin process`: the store stays consistent
and a re-run completes the job exactly as one clean run would (issue 7)."""
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from certcli import rules
from conftest import NOW, PASSPHRASE, PASSWORD, ROOT

ROWS = int(os.environ.get("CERTCLI_CRASH_ROWS", "200000"))
KILLS = 20


def make_roster(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("certificate_no,name,id_type,id_number,qualification,level,issued_on,issuer,seal\r\n")
        for i in range(rows):
            first17 = f"110101{1960 + i % 40:04d}0101{i % 1000:03d}"
            number = first17 + rules.resident_id_check_char(first17)
            handle.write(f"K{i:08d},王小明,resident_id,{number},经济专业技术资格,中级,2022-01-14,"
                         f"人力资源和社会保障部,ministry\r\n")


def env_for(home):
    return dict(os.environ, CERTCLI_HOME=str(home), CERTCLI_NOW=NOW, CERTCLI_KEY_PASSPHRASE=PASSPHRASE,
                CERTCLI_PASSWORD=PASSWORD, PYTHONPATH=str(ROOT))


def certcli(home, *args, **kw):
    return subprocess.run([sys.executable, "-m", "certcli", "--json", *map(str, args)], env=env_for(home),
                          capture_output=True, text=True, **kw)


def start(home, *args):
    return subprocess.Popen([sys.executable, "-m", "certcli", "--json", *map(str, args)], env=env_for(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def roster_workers(roster):
    """Live parsing workers (certcli.roster.stream) for ``roster``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if b"certcli.roster.stream" in cmdline and str(roster).encode() in cmdline:
            found.append(int(pid))
    return found


def no_orphan_worker(roster, timeout=10.0):
    deadline = time.monotonic() + timeout
    while roster_workers(roster) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not roster_workers(roster)


def snapshot(home):
    db = sqlite3.connect(home / "certcli.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return db.execute("SELECT certificate_no, name, id_number, qualification, issued_on, seal_id, status "
                      "FROM certificates ORDER BY certificate_no").fetchall()


@pytest.fixture(scope="module")
def roster(tmp_path_factory):
    path = tmp_path_factory.mktemp("crash") / "big.csv"
    make_roster(path, ROWS)
    return path


def test_killed_imports_then_a_rerun_equal_one_clean_run(roster, tmp_path):
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    for home in (clean, crashed):
        assert certcli(home, "admin", "init").returncode == 0
    started = time.monotonic()
    assert certcli(clean, "admin", "issue", roster).returncode == 0
    assert not roster_workers(roster)
    full_run = time.monotonic() - started
    expected = snapshot(clean)
    assert len(expected) == ROWS
    rng = random.Random(7)
    kills = 0
    for _ in range(KILLS):
        process = start(crashed, "admin", "issue", roster)
        time.sleep(rng.uniform(0.3, max(0.4, full_run)))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
        assert no_orphan_worker(roster), "the parsing worker outlived its killed importer"
        partial = snapshot(crashed)  # consistent after every kill
        assert len(partial) == len(set(partial)) <= ROWS
    result = certcli(crashed, "admin", "issue", roster)
    assert result.returncode == 0, result.stdout
    assert snapshot(crashed) == expected  # nothing lost, nothing duplicated
    assert kills >= KILLS // 2, f"only {kills} kills landed mid-import"
    audit = certcli(crashed, "admin", "audit", "verify")
    assert audit.returncode == 0, audit.stdout


def test_killed_processing_never_serves_half_a_pdf(tmp_path):
    from conftest import cert_row, write_roster

    home = tmp_path / "home"
    real = {"CERTCLI_NOW": ""}  # signing keys are checked against the wall clock by validators
    rows = [cert_row(no=f"P{i:04d}") for i in range(60)]
    roster = write_roster(tmp_path / "r.csv", rows)
    env = dict(env_for(home), **real)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "certcli", "--json", *map(str, args)], env=env,
                              capture_output=True, text=True)

    assert run("admin", "init").returncode == 0
    assert run("admin", "issue", roster).returncode == 0
    assert run("register", "--name", "王小明", "--id-number", rows[0]["id_number"]).returncode == 0
    assert run("login", "--id-number", rows[0]["id_number"]).returncode == 0
    assert run("agree", "--yes").returncode == 0
    for row in rows:
        assert run("annotate", row["certificate_no"], "--days", "30").returncode == 0
    rng = random.Random(3)
    for _ in range(3):
        process = subprocess.Popen([sys.executable, "-m", "certcli", "admin", "process", "--workers", "2"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.8, 2.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        db = sqlite3.connect(home / "certcli.db")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # a completed annotation always points at a whole stored document
        broken = db.execute("SELECT count(*) FROM annotations a LEFT JOIN documents d ON d.sha256 = "
                            "a.document_sha256 WHERE a.status = 'completed' AND d.sha256 IS NULL").fetchone()[0]
        assert broken == 0
    assert run("admin", "process").returncode == 0
    db = sqlite3.connect(home / "certcli.db")
    assert db.execute("SELECT status, count(*) FROM annotations GROUP BY status").fetchall() == [("completed", 60)]
    import hashlib

    for digest, pdf in db.execute("SELECT sha256, pdf FROM documents"):
        assert hashlib.sha256(pdf).hexdigest() == digest
    out = tmp_path / "p.pdf"
    assert run("download", "P0042", "-o", out).returncode == 0
    assert run("verify", out).returncode == 0
