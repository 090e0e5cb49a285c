"""The store: damaged or foreign files, missing stores, schema versions, pragmas."""
import sqlite3

from certcli import store as store_module
from conftest import BACKEND, sqlite_only, store_db, store_of


def test_missing_store_says_run_init(cli):
    result = cli("admin", "stats")
    assert result.code == 7 and result.error_code == "store_missing"


@sqlite_only
def test_damaged_file_is_store_corrupt_not_a_traceback(cli):
    """SQLite only: the damage is to the home's file (a PostgreSQL server checks its own pages)."""
    cli.home.mkdir(parents=True)
    (cli.home / "certcli.db").write_bytes(b"this is not a database" * 100)
    for command in (("admin", "stats"), ("list",), ("login", "--id-number", "110101199003074477")):
        result = cli(*command)
        assert result.code == 7 and result.error_code == "store_corrupt", result.out
        assert "Traceback" not in result.out + result.err


@sqlite_only
def test_truncated_store_is_store_corrupt(cli):
    """SQLite only: truncates the home's file after a WAL checkpoint."""
    assert cli("admin", "init").code == 0
    db = cli.home / "certcli.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = db.read_bytes()
    db.write_bytes(data[:4096] + b"\x00" * 100)
    result = cli("admin", "stats")
    assert result.code == 7 and result.error_code == "store_corrupt"


@sqlite_only
def test_foreign_sqlite_file_is_refused(cli):
    """SQLite only: a foreign SQLite file (tests/test_postgres.py: a foreign database)."""
    cli.home.mkdir(parents=True)
    conn = sqlite3.connect(cli.home / "certcli.db")
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.commit()
    conn.close()
    result = cli("admin", "init")
    assert result.code == 7 and result.error_code == "store_corrupt"
    assert sqlite3.connect(cli.home / "certcli.db").execute("SELECT count(*) FROM photos").fetchone() == (0,)


def test_newer_schema_is_refused(cli):
    cli("admin", "init")
    conn = store_db(cli.home)
    if BACKEND == "postgres":   # no file header there: the version is a row
        conn.execute("UPDATE certcli_schema SET version = ?", (store_module.SCHEMA_VERSION + 1,))
    else:
        conn.execute(f"PRAGMA user_version = {store_module.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    assert cli("admin", "stats").error_code == "store_corrupt"


def test_schema_version_and_dialect(tmp_path):
    store = store_of(tmp_path / "home", create=True)
    assert store.schema_version() == store_module.SCHEMA_VERSION and store.created
    assert store.dialect == BACKEND and store.integrity_ok()
    with store.transaction() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('50%', '?')")   # literal % and ? pass through
    store.set_meta("50%", "it's ?")
    assert store.get_meta("50%") == "it's ?"
    try:
        with store.transaction() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('50%', 'again')")
    except store.IntegrityError:
        pass
    else:
        raise AssertionError("a duplicate key must raise the store's IntegrityError")
    assert store.get_meta("50%") == "it's ?"
    store.close()
    assert not store_of(tmp_path / "home").created


@sqlite_only
def test_pragmas_and_indexes(tmp_path):
    """SQLite only: PRAGMAs and SQLite's query plans."""
    store = store_module.open_store(tmp_path / "home", create=True)
    conn = store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store_module.SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == store_module.APPLICATION_ID
    plans = {
        "SELECT * FROM certificates WHERE certificate_no = 'x'": "certificate_no",
        "SELECT * FROM certificates WHERE id_type = 'r' AND id_number = 'x' AND name = 'n'": "idx_certificates_holder",
        "SELECT * FROM annotations WHERE certificate_id = 1 AND kind = 'annotation'": "idx_annotations_certificate",
        "SELECT * FROM annotations WHERE status = 'pending' ORDER BY applied_at": "idx_annotations_status",
        "SELECT * FROM accounts WHERE id_type = 'r' AND id_number = 'x'": "sqlite_autoindex_accounts",
    }
    for sql, index in plans.items():
        plan = " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "USING" in plan and (index in plan or "PRIMARY KEY" in plan or "INDEX" in plan), (sql, plan)
    assert store.integrity_ok()


def test_transaction_rolls_back_on_error(tmp_path):
    store = store_of(tmp_path / "home", create=True)
    try:
        with store.transaction() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.get_meta("a") is None
