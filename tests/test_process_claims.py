"""Several `admin process` runs at once share the queue through claims (issue 15,
certcli.certificates.claims): each request is signed and recorded exactly once, and a run
killed mid-batch loses nothing, its claims going to the others.

Both backends, whatever CERTCLI_TEST_BACKEND says (claims are the point of these tests):
SQLite (runs of one machine queue on the file's write lock) and PostgreSQL (FOR UPDATE SKIP
LOCKED).  Every run is a real `certcli admin process` process.  The default run keeps 200
requests; 2,000 requests over 4 runs is marked ``slow``.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from test_crash import certcli, env_for
from test_crash import pending_home as crash_pending_home

CLAIM_SECONDS = 3
WAIT = 600.0   # hang guard


# The PostgreSQL cases run in CI's slow pass (with the 2,000-request case), keeping the default
# run under five minutes; the SQLite cases run in both, but for the concurrent runs (slow too).
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def database(request) -> str:
    """``""`` (the home's SQLite file) or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return ""
    import postgres

    return postgres.database_url()


def open_home(home: Path, url: str):
    from certcli.store import open_store

    return open_store(home, database_url=url)


def figure(home: Path, url: str, sql: str, params=()):
    store = open_home(home, url)
    try:
        return store.conn.execute(sql, params).fetchone()[0]
    finally:
        store.close()


def pending_home(tmp_path: Path, url: str, documents: int) -> tuple[Path, dict]:
    """A home (its store: the SQLite file or ``url``) with ``documents`` pending annotations
    of one holder: keys and roster through the CLI, the applications through the library."""
    return crash_pending_home(tmp_path, documents, url=url, numbers="Q{:05d}")


def start_run(home: Path, env: dict, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "certcli", "--json", "admin", "process",
                             "--claim-seconds", str(CLAIM_SECONDS), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(runs: list[subprocess.Popen]) -> list[dict]:
    import json

    reports = []
    for run in runs:
        out, err = run.communicate(timeout=WAIT)
        assert run.returncode == 0, out + err
        reports.append(json.loads(out))
    return reports


def assert_each_signed_once(home: Path, url: str, documents: int) -> None:
    """Every request completed, one document, two registry rows (PDF, QR) and one `process`
    audit entry each; no claim left; the audit chain linear and intact."""
    store = open_home(home, url)
    try:
        q = lambda sql: store.conn.execute(sql).fetchone()[0]  # noqa: E731
        assert store.conn.execute("SELECT status, count(*) FROM annotations GROUP BY status").fetchall() \
            == [("completed", documents)]
        assert q("SELECT count(DISTINCT document_sha256) FROM annotations") == documents
        assert q("SELECT count(*) FROM documents") == documents
        assert q("SELECT count(*) FROM issued_documents") == 2 * documents
        assert q("SELECT count(*) FROM issued_documents WHERE form = 'pdf'") == documents
        assert q("SELECT count(*) FROM audit_log WHERE action = 'process'") == documents
        assert q("SELECT count(DISTINCT subject) FROM audit_log WHERE action = 'process'") == documents
        assert q("SELECT count(*) FROM annotations WHERE claimed_by IS NOT NULL OR claim_expires IS NOT NULL") == 0
    finally:
        store.close()


def concurrent_runs(tmp_path: Path, url: str, documents: int, runs: int) -> None:
    home, env = pending_home(tmp_path, url, documents)
    started = [start_run(home, env, "--workers", "1") for _ in range(runs)]
    reports = finish(started)
    assert sum(r["completed"] for r in reports) == documents
    assert all(r["failed"] == 0 for r in reports)
    assert_each_signed_once(home, url, documents)
    check = certcli(home, "admin", "audit", "verify", env=env)
    assert check.returncode == 0, check.stdout


@pytest.mark.slow  # ~7 s on SQLite: CI runs it in the slow pass (the default run stays under 5 minutes)
def test_concurrent_runs_sign_each_request_once(tmp_path, database):
    concurrent_runs(tmp_path, database, documents=200, runs=4)


@pytest.mark.slow
def test_four_runs_over_two_thousand_requests_sign_each_once(tmp_path, database):
    concurrent_runs(tmp_path, database, documents=2000, runs=4)


def held_by(home: Path, url: str, pid: int) -> int:
    return figure(home, url, "SELECT count(*) FROM annotations WHERE status = 'pending' AND claimed_by LIKE ?",
                  (f"%/{pid}/%",))


def kill_while_holding(home: Path, url: str, victim: subprocess.Popen, completed_at_least: int) -> None:
    """SIGKILL ``victim`` once it holds claims and the runs have completed some requests."""
    deadline = time.monotonic() + WAIT
    while victim.poll() is None:
        assert time.monotonic() < deadline, "no progress: the runs hang"
        done = figure(home, url, "SELECT count(*) FROM annotations WHERE status = 'completed'")
        if done >= completed_at_least and held_by(home, url, victim.pid):
            break
        time.sleep(0.02)
    alive = victim.poll() is None
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert alive and victim.returncode == -signal.SIGKILL, "the run had ended before the kill"


@pytest.mark.slow   # two kills and a lease to wait out; the default run keeps the concurrent runs and the lone kill
def test_runs_killed_mid_batch_lose_nothing(tmp_path, database):
    """Two of four runs are killed while they hold claims.  The first is seen gone (same
    machine): the others take its claims at once.  The second's claims are made to look
    like those of a run on another machine, which no one can see die: the others wait for
    its leases (CLAIM_SECONDS) to end, then take them."""
    documents = 200
    home, env = pending_home(tmp_path, database, documents)
    local_victim, remote_victim, *others = [start_run(home, env, "--workers", "1") for _ in range(4)]
    kill_while_holding(home, database, local_victim, completed_at_least=10)
    kill_while_holding(home, database, remote_victim, completed_at_least=10)
    store = open_home(home, database)
    try:
        with store.transaction() as conn:
            moved = conn.execute("UPDATE annotations SET claimed_by = ? WHERE claimed_by LIKE ? AND status = 'pending'",
                                 (f"elsewhere/{remote_victim.pid}/1/another-machine/0", f"%/{remote_victim.pid}/%"))
        assert moved.rowcount > 0
    finally:
        store.close()
    reports = finish(others)
    assert_each_signed_once(home, database, documents)
    assert sum(r["completed"] for r in reports) <= documents    # the rest: recorded by the killed runs
    check = certcli(home, "admin", "audit", "verify", env=env)
    assert check.returncode == 0, check.stdout


def test_a_rerun_completes_what_a_killed_lone_run_held(tmp_path, database):
    home, env = pending_home(tmp_path, database, 100)
    victim = start_run(home, env, "--workers", "2")
    kill_while_holding(home, database, victim, completed_at_least=1)
    assert figure(home, database, "SELECT count(*) FROM annotations WHERE claimed_by IS NOT NULL") > 0
    rerun = certcli(home, "admin", "process", env=env)      # default lease: the claims of a dead local run go at once
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_each_signed_once(home, database, 100)


def test_claims_use_the_wall_clock_not_the_frozen_one(tmp_path, database):
    """CERTCLI_NOW freezes business time (env_for sets it); a lease still ends by the real clock."""
    from certcli.certificates import claims

    home = tmp_path / "home"
    env = dict(env_for(home), CERTCLI_DATABASE_URL=database)
    assert certcli(home, "admin", "init", env=env).returncode == 0
    store = open_home(home, database)
    try:
        wall = store.conn.execute(f"SELECT {claims.wall_ms(store)}").fetchone()[0]
    finally:
        store.close()
    assert abs(wall / 1000 - time.time()) < 5


def test_a_run_records_only_what_it_still_holds(issued):
    """A run whose lease ran out and whose request another run claimed records nothing for
    it: the result is the other run's to record.  (In-process, on the selected backend.)"""
    from conftest import store_of

    from certcli.certificates import claims, processing
    from certcli.rules import CST

    assert issued("annotate", "2022ECO110100001").code == 0
    first, second = claims.Claimant.this_process(), claims.Claimant.this_process()
    assert first.token != second.token
    store = store_of(issued.home)
    try:
        got = claims.claim(store, first, 10, 60)
        assert list(got) == ["annotations"] and len(got["annotations"]) == 1
        request_id = got["annotations"][0]
        assert claims.claim(store, second, 10, 60) == {}            # held: nothing for the second run
        with store.transaction() as conn:                          # the first run's lease runs out
            conn.execute("UPDATE annotations SET claim_expires = 0 WHERE id = ?", (request_id,))
        assert claims.claim(store, second, 10, 60) == {"annotations": [request_id]}
        now = datetime.now(CST)
        result = [("annotation", request_id, None, ("boom", "boom: test"), None)]
        late = processing.ProcessReport(failures=[])
        processing._store_results(store, result, late, now, first)
        assert late.failed == 0
        holder_report = processing.ProcessReport(failures=[])
        processing._store_results(store, result, holder_report, now, second)
        assert holder_report.failed == 1
        row = store.conn.execute("SELECT status, claimed_by FROM annotations WHERE id = ?", (request_id,)).fetchone()
        assert row == ("failed", None)
    finally:
        store.close()
