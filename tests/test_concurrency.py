"""Many processes on one store at once: rules hold, nobody sees "database is locked" (issue 7).
On both backends (CERTCLI_TEST_BACKEND); tests/test_postgres.py races harder on PostgreSQL."""
import multiprocessing
from datetime import datetime

from certcli import accounts, rules
from certcli.certificates import holder
from certcli.certificates import issuance
from certcli.errors import CertcliError
from certcli.store import database_errors
from conftest import HOLDER_ID, cert_row, store_db, store_of, write_roster

PROCESSES = 8
ROUNDS = 200
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=rules.CST)
ctx = multiprocessing.get_context("fork")


def _seed(home, tmp_path, certificates: int):
    store = store_of(home, create=True)
    rows = [cert_row(no=f"R{n:05d}") for n in range(certificates)]
    report = issuance.import_roster(store, write_roster(tmp_path / "r.csv", rows), now=NOW)
    assert report.inserted == certificates
    account = accounts.register(store, id_type="resident_id", id_number=HOLDER_ID, name="王小明",
                                password="password-123", now=NOW)
    with store.transaction() as conn:  # two completed annotations each: one slot left in the window
        for cert_id, in conn.execute("SELECT id FROM certificates").fetchall():
            for day in ("2026-02-01", "2026-02-10"):
                conn.execute("INSERT INTO annotations (certificate_id, kind, scenario, days, applied_at, applied_day, "
                             "valid_until, status) VALUES (?, 'annotation', 'self-use', 5, ?, ?, ?, 'completed')",
                             (cert_id, day + "T09:00:00+08:00", day, day + "T00:00:00+08:00"))
    store.close()
    return account


def _annotator(home, account, barrier, results, rounds=ROUNDS):
    """One racer: each round, apply once for certificate R<round> at the barrier's signal."""
    store = store_of(home)
    for round_no in range(rounds):
        barrier.wait()
        try:
            holder.apply_annotation(store, account, f"R{round_no:05d}", scenario="self-use", days=30, now=NOW)
            results.put((round_no, "ok"))
        except CertcliError as error:
            results.put((round_no, error.code))
        except database_errors() as error:
            results.put((round_no, f"database: {error}"))
    store.close()


def test_eight_processes_racing_for_the_last_slot_never_exceed_the_quota(tmp_path):
    home = tmp_path / "home"
    account = _seed(home, tmp_path, ROUNDS)
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    workers = [ctx.Process(target=_annotator, args=(home, account, barrier, results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in range(PROCESSES * ROUNDS)]
    for worker in workers:
        worker.join(timeout=60)
    by_round: dict[int, list[str]] = {}
    for round_no, outcome in outcomes:
        by_round.setdefault(round_no, []).append(outcome)
    violations = [r for r, seen in by_round.items() if seen.count("ok") != 1]
    other = [o for _, o in outcomes if o not in ("ok", "quota_exceeded")]
    assert len(outcomes) == 1600 and not violations and not other, (violations[:5], other[:5])
    counted = store_db(home).execute(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM annotations GROUP BY certificate_id) AS per_certificate"
    ).fetchone()[0]
    assert counted == rules.QUOTA_LIMIT


def _register(home, barrier, results):
    store = store_of(home)
    barrier.wait()
    try:
        accounts.register(store, id_type="resident_id", id_number="11010519491231002X", name="李四",
                          password="password-123", now=NOW)
        results.put("ok")
    except CertcliError as error:
        results.put(error.code)
    except database_errors() as error:
        results.put(f"database: {error}")


def test_double_registration_races_register_exactly_once(tmp_path):
    home = tmp_path / "home"
    store_of(home, create=True).close()
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    workers = [ctx.Process(target=_register, args=(home, barrier, results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=60) for _ in range(PROCESSES))
    for worker in workers:
        worker.join(timeout=30)
    assert outcomes == ["already_registered"] * (PROCESSES - 1) + ["ok"]


def _import(home, roster, barrier, results):
    store = store_of(home)
    barrier.wait()
    try:
        report = issuance.import_roster(store, roster, now=NOW, batch_size=500)
        results.put((report.inserted, report.already_present, report.rejected))
    except (CertcliError, *database_errors()) as error:
        results.put(str(error))


def test_concurrent_overlapping_imports_store_each_row_once(tmp_path):
    home = tmp_path / "home"
    store_of(home, create=True).close()
    rosters = []
    for n in range(4):  # four rosters of 3,000 rows overlapping by half with the next
        rows = [cert_row(no=f"C{i:06d}") for i in range(n * 1500, n * 1500 + 3000)]
        rosters.append(write_roster(tmp_path / f"r{n}.csv", rows))
    barrier, results = ctx.Barrier(len(rosters)), ctx.Queue()
    workers = [ctx.Process(target=_import, args=(home, r, barrier, results)) for r in rosters]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=120) for _ in rosters]
    for worker in workers:
        worker.join(timeout=30)
    assert all(isinstance(r, tuple) for r in reports), reports
    assert sum(r[0] for r in reports) == 7500 and all(r[2] == 0 for r in reports)
    db = store_db(home)
    assert db.execute("SELECT count(*), count(DISTINCT certificate_no) FROM certificates").fetchone() == (7500, 7500)
