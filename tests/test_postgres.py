"""What only PostgreSQL has to show (issue 15): a database URL instead of the home's file,
`admin init` against a database that has a store (refused, or `--join`), a server that
cannot be reached, and the rules under many writers at once (the quota, the lockout counter,
the audit chain).  Every test here uses a throwaway database of its own (tests/postgres.py),
whatever CERTCLI_TEST_BACKEND says; the rest of the store-backed tests run on PostgreSQL with
CERTCLI_TEST_BACKEND=postgres."""
import multiprocessing
import os
import subprocess
import sys
from datetime import datetime, timedelta
from functools import partial

import pytest

import postgres
from certcli import accounts, audit, rules
from certcli.certificates import issuance
from certcli.errors import CertcliError
from certcli.store import database_errors
from test_concurrency import _annotator
from conftest import HOLDER_ID, PASSWORD, ROOT, Cli, cert_row, store_db, store_of, use_database, write_roster

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=rules.CST)
ctx = multiprocessing.get_context("fork")


@pytest.fixture
def url():
    return postgres.database_url()


@pytest.fixture
def pg(tmp_path, url) -> Cli:
    """A CLI whose home keeps its store in a fresh PostgreSQL database."""
    home = tmp_path / "home"
    use_database(home, url)
    return Cli(home)


def test_a_database_url_makes_no_sqlite_file_and_every_command_uses_it(pg, tmp_path):
    assert pg("admin", "init").code == 0
    roster = write_roster(tmp_path / "r.csv", [cert_row()])
    assert pg("admin", "issue", roster).json["inserted"] == 1
    assert pg("admin", "issue", roster).json["inserted"] == 0                 # a re-run adds nothing
    assert pg("register", "--name", "王小明", "--id-number", HOLDER_ID).code == 0
    assert pg.holder("agree", "--yes").code == 0
    assert pg.holder("annotate", "2022ECO110100001").code == 0
    assert pg("admin", "process").json["completed"] == 1
    assert pg.holder("download", "2022ECO110100001", "-o", tmp_path / "c.pdf").code == 0
    assert pg("verify", tmp_path / "c.pdf").code == 0
    assert pg("verify", "--number", "2022ECO110100001", "--name", "王小明").code == 0
    assert pg("admin", "audit", "verify").json["ok"]
    assert sorted(p.name for p in pg.home.iterdir()) == ["keys", "session.json"]   # no certcli.db
    assert store_db(pg.home).execute("SELECT count(*) FROM certificates").fetchone() == (1,)


def test_the_option_is_hoisted_and_wins_over_the_environment(tmp_path, url):
    home = tmp_path / "home"
    cli = Cli(home)
    env = {"CERTCLI_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    assert cli("admin", "init", "--database-url", url, env=env).code == 0     # after the command, too
    assert cli("--database-url", url, "admin", "stats", env=env).json["certificates"]["total"] == 0
    assert not (home / "certcli.db").exists()


def test_init_refuses_a_database_with_a_store_and_join_uses_it(pg, tmp_path, url):
    assert pg("admin", "init").code == 0
    assert pg("admin", "issue", write_roster(tmp_path / "r.csv", [cert_row()])).code == 0
    other = Cli(tmp_path / "second")
    use_database(other.home, url)
    refused = other("admin", "init")
    assert refused.code == 7 and refused.error_code == "store_exists"
    assert not (other.home / "keys").exists()                                 # refused before making keys
    joined = other("admin", "init", "--join")
    assert joined.code == 0, joined.out
    assert joined.json["created_keys"] is False and joined.json["created_store"] is False
    assert other("admin", "stats").json["certificates"]["total"] == 1        # the first home's certificate
    assert other("admin", "init", "--join").code == 0                         # joining again changes nothing
    assert pg("admin", "init").code == 0              # the issuer's own home again: nothing to do, as on SQLite
    stranger = Cli(tmp_path / "stranger")             # a home with another issuer's keys: never joined
    use_database(stranger.home, "")
    assert stranger("admin", "init").code == 0
    use_database(stranger.home, url)
    for args in (("admin", "init"), ("admin", "init", "--join")):
        assert stranger(*args).error_code == "store_other_issuer"
    plain = Cli(tmp_path / "plain")                                            # --join is for a database
    use_database(plain.home, "")
    assert plain("admin", "init", "--join").code == 2


def test_a_database_with_other_tables_is_refused(tmp_path, url):
    from certcli import pgstore

    conn = pgstore.connect(url)
    conn.execute("CREATE TABLE photos (id BIGINT)")
    conn.close()
    cli = Cli(tmp_path / "home")
    use_database(cli.home, url)
    result = cli("admin", "init")
    assert result.code == 7 and result.error_code == "store_corrupt"


@pytest.mark.parametrize("target", ["closed port", "missing database", "not a URL"])
def test_an_unreachable_database_is_a_clear_error_without_the_password(tmp_path, url, target):
    secret = "s3cret-Pw"
    bad = {"closed port": f"postgresql://certcli:{secret}@127.0.0.1:1/certs",
           "missing database": url.replace("postgres@", f"postgres:{secret}@").replace("/t", "/nosuch_t", 1),
           "not a URL": f"host=nowhere.invalid password={secret} dbname=x connect_timeout=2"}[target]
    env = dict(os.environ, CERTCLI_HOME=str(tmp_path / "home"), CERTCLI_DATABASE_URL=bad,
               PYTHONPATH=str(ROOT), CERTCLI_KEY_PASSPHRASE="a passphrase")
    for args in (["admin", "init"], ["list"], ["--json", "admin", "stats"]):
        run = subprocess.run([sys.executable, "-m", "certcli", *args], env=env, capture_output=True, text=True,
                             timeout=120)
        shown = run.stdout + run.stderr
        assert run.returncode == 7, shown
        assert "store_unavailable" in shown or "Cannot use the database" in shown, shown
        assert secret not in shown and "Traceback" not in shown, shown
    assert not (tmp_path / "home" / "certcli.db").exists()


def test_serve_with_worker_processes_answers_from_the_database(pg, tmp_path, url):
    import httpx

    from serving import Server

    assert pg("admin", "init").code == 0
    assert pg("admin", "issue", write_roster(tmp_path / "r.csv", [cert_row()])).code == 0
    with Server(pg.home, "--workers", "2", "--database-url", url) as server:
        for _ in range(4):   # whichever worker answers
            found = httpx.get(f"{server.url}/api/v1/lookup", params={"number": "2022ECO110100001", "name": "王小明"},
                              timeout=30)
            assert found.status_code == 200 and found.json()["valid"], found.text
    assert server.returncode == 0, server.log()[-2000:]
    assert not (pg.home / "certcli.db").exists()


def test_iterating_a_large_result_streams_it_through_a_server_side_cursor(tmp_path, url):
    """store.iterate (export, audit verify, a key's ledger): a chunk of rows at a time from a
    server-side cursor in a read-only transaction of its own, ended however the loop ends;
    inside the caller's transaction it lives in that one."""
    home = tmp_path / "home"
    use_database(home, url)
    store = store_of(home, create=True)
    rows = [(f"k{n:05d}", "v" * 100) for n in range(5000)]
    with store.transaction() as conn:
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows)
    sql = "SELECT key, value FROM meta WHERE key LIKE ? ORDER BY key"
    cursors = "SELECT count(*) FROM pg_cursors"
    stream = store.iterate(sql, ("k%",))
    assert [c[0] for c in stream.description] == ["key", "value"]
    seen = []
    for row in stream:
        seen.append(row)
        if len(seen) == 2500:    # mid-way: other queries still run on the same connection
            assert store.conn.execute(cursors).fetchone() == (1,) and store.conn.in_transaction
            assert store.one("SELECT value FROM meta WHERE key = ?", ("k00001",)) == {"value": "v" * 100}
    assert seen == rows and not store.conn.in_transaction and store.conn.execute(cursors).fetchone() == (0,)
    for row in store.iterate(sql, ("k%",)):
        break
    assert not store.conn.in_transaction and store.conn.execute(cursors).fetchone() == (0,)
    assert store.iterate(sql, ("k0000%",)).fetchall() == rows[:10]
    with store.transaction(immediate=False) as conn:
        assert sum(1 for _ in store.iterate(sql, ("k%",))) == 5000
        assert conn.in_transaction                                      # the caller's, still open
    with pytest.raises(database_errors()):                              # a bad query: the error, no transaction left
        store.iterate("SELECT nosuch FROM meta")
    assert not store.conn.in_transaction
    assert audit.verify(store).ok
    store.close()


def test_a_burst_at_serve_never_opens_more_database_connections_than_its_pool_allows(pg, tmp_path, url):
    """More concurrent lookups than the pool's bound: each waits for a pooled connection and
    is answered; the server's sessions (pg_stat_activity) never exceed the bound, which is
    half the database's CONNECTION LIMIT (certcli.server.pool.database_share)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    import psycopg

    from bench.pgcluster import database_name
    from serving import Server

    assert pg("admin", "init").code == 0
    assert pg("admin", "issue", write_roster(tmp_path / "r.csv", [cert_row()])).code == 0
    name, cap, burst = database_name(url), 3, 24
    watcher = psycopg.connect(postgres.admin_url(), autocommit=True)
    watcher.execute(f'ALTER DATABASE "{name}" CONNECTION LIMIT {2 * cap}')
    sessions, done = [], threading.Event()

    def watch():
        while not done.is_set():
            sessions.append(watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                            "AND application_name = 'certcli'", (name,)).fetchone()[0])
            done.wait(0.005)

    def lookup(_):
        return httpx.get(f"{server.url}/api/v1/lookup", params={"number": "2022ECO110100001", "name": "王小明"},
                         timeout=60)

    with Server(pg.home, "--database-url", url, "--lookup-rate", "off") as server:
        counting = threading.Thread(target=watch)
        counting.start()
        try:
            with ThreadPoolExecutor(burst) as clients:
                answers = list(clients.map(lookup, range(burst)))
        finally:
            done.set()
            counting.join(timeout=10)
    watcher.close()
    assert [a.status_code for a in answers] == [200] * burst, [a.text for a in answers if a.status_code != 200][:2]
    assert all(a.json()["valid"] for a in answers)
    assert max(sessions) == cap, (max(sessions), len(sessions))   # the bound reached, never passed
    assert "internal_error" not in server.log()


def test_the_sqlite_default_never_imports_psycopg(tmp_path):
    code = ("import sys\nfrom certcli.cli import main\ntry:\n    main(['--json', 'list'])\n"
            "except SystemExit:\n    pass\nprint('psycopg' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCLI_")}
    run = subprocess.run([sys.executable, "-c", code], env=dict(env, CERTCLI_HOME=str(tmp_path / "home")),
                         capture_output=True, text=True, timeout=60)
    assert run.stdout.strip().splitlines()[-1] == "False", run.stdout + run.stderr


# --- many writers at once ---------------------------------------------------------------------

def _race(target, args, processes, timeout=180):
    results = ctx.Queue()
    workers = [ctx.Process(target=target, args=(*args, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    return workers, results


@pytest.mark.slow  # 16 processes, ~5 s: CI runs it in the slow pass
def test_sixteen_processes_racing_for_the_last_quota_slot_never_win_twice(tmp_path, url):
    processes, rounds = 16, 200
    home = tmp_path / "home"
    use_database(home, url)
    store = store_of(home, create=True)
    rows = [cert_row(no=f"R{n:05d}") for n in range(rounds)]
    assert issuance.import_roster(store, write_roster(tmp_path / "r.csv", rows), now=NOW).inserted == rounds
    account = accounts.register(store, id_type="resident_id", id_number=HOLDER_ID, name="王小明",
                                password="password-123", now=NOW)
    with store.transaction() as conn:   # two counted annotations each: one slot left in the window
        for (cert_id,) in conn.execute("SELECT id FROM certificates").fetchall():
            for day in ("2026-02-01", "2026-02-10"):
                conn.execute("INSERT INTO annotations (certificate_id, kind, scenario, days, applied_at, applied_day, "
                             "valid_until, status) VALUES (?, 'annotation', 'self-use', 5, ?, ?, ?, 'completed')",
                             (cert_id, day + "T09:00:00+08:00", day, day + "T00:00:00+08:00"))
    store.close()
    barrier = ctx.Barrier(processes)
    workers, results = _race(partial(_annotator, rounds=rounds), (home, account, barrier), processes)
    outcomes = [results.get(timeout=300) for _ in range(processes * rounds)]
    for worker in workers:
        worker.join(timeout=60)
    wins: dict[int, int] = {}
    for round_no, outcome in outcomes:
        wins[round_no] = wins.get(round_no, 0) + (outcome == "ok")
    violations = [r for r, n in wins.items() if n != 1]
    other = [o for _, o in outcomes if o not in ("ok", "quota_exceeded")]
    assert not violations and not other, (violations[:5], other[:5])
    per_certificate = store_db(home).execute(
        "SELECT min(n), max(n) FROM (SELECT count(*) AS n FROM annotations GROUP BY certificate_id) AS c").fetchone()
    assert per_certificate == (rules.QUOTA_LIMIT, rules.QUOTA_LIMIT)
    assert audit.verify(store_of(home)).ok


def _wrong_login(home, now, barrier, results):
    store = store_of(home)
    barrier.wait()
    try:
        accounts.login(store, home, id_number=HOLDER_ID, password="not-the-password", now=now,
                       id_type="resident_id")
        results.put("ok")
    except CertcliError as error:
        results.put(error.code)
    except database_errors() as error:
        results.put(f"database: {error}")
    store.close()


def _wrong_logins(home, processes, now):
    barrier = ctx.Barrier(processes)
    workers, results = _race(_wrong_login, (home, now, barrier), processes)
    outcomes = sorted(results.get(timeout=120) for _ in range(processes))
    for worker in workers:
        worker.join(timeout=60)
    return outcomes


def test_concurrent_wrong_passwords_keep_the_lockout_counter_exact(tmp_path, url):
    home = tmp_path / "home"
    use_database(home, url)
    store = store_of(home, create=True)
    accounts.register(store, id_type="resident_id", id_number=HOLDER_ID, name="王小明", password=PASSWORD, now=NOW)
    store.close()
    # four at once: each is counted (a lost update would leave fewer)
    assert _wrong_logins(home, 4, NOW) == ["bad_credentials"] * 4
    row = store_db(home).execute("SELECT failed_logins, locked_until FROM accounts").fetchone()
    assert row == (4, None)
    # sixteen at once: exactly one more wrong password is checked, it locks the account; the rest are refused
    later = NOW + timedelta(minutes=1)
    assert _wrong_logins(home, 16, later) == ["account_locked"] * 16
    db = store_db(home)
    assert db.execute("SELECT failed_logins, locked_until FROM accounts").fetchone() == \
        (0, (later + rules.LOCKOUT).isoformat())
    failed = db.execute("SELECT count(*) FROM audit_log WHERE action = 'login_failed'").fetchone()[0]
    assert failed == rules.MAX_FAILED_LOGINS


def _audit_writer(home, writer, entries, barrier, results):
    store = store_of(home)
    barrier.wait()
    try:
        for n in range(entries):
            audit.record(store, now=NOW, actor=f"admin:{writer}", action="test_write", subject=str(n))
        results.put("ok")
    except (CertcliError, *database_errors()) as error:
        results.put(str(error))
    store.close()


def test_concurrent_audited_writers_leave_one_linear_chain(tmp_path, url):
    processes, entries = 8, 40
    home = tmp_path / "home"
    use_database(home, url)
    store_of(home, create=True).close()
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    workers = [ctx.Process(target=_audit_writer, args=(home, n, entries, barrier, results)) for n in range(processes)]
    for worker in workers:
        worker.start()
    assert [results.get(timeout=120) for _ in workers] == ["ok"] * processes
    for worker in workers:
        worker.join(timeout=60)
    store = store_of(home)
    check = audit.verify(store)
    assert check.ok and check.entries == processes * entries, check
    ids, links, heads = store.conn.execute(
        "SELECT count(DISTINCT id), count(DISTINCT prev_hash), count(DISTINCT hash) FROM audit_log").fetchone()
    assert ids == links == heads == processes * entries   # no two entries claim the same predecessor: no fork
    store.close()
    cli = Cli(home)
    assert cli("admin", "audit", "verify").json["ok"]
