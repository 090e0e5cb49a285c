"""The store: one SQLite file per home (the default), or a shared PostgreSQL database
(``--database-url`` / ``CERTCLI_DATABASE_URL``, issue 15).  Same SQL, same rules, same
transactions on both; the schema is :mod:`certcli.schema`.

**SQLite.**  WAL journal so readers never block the writer; a busy timeout so concurrent
commands wait instead of failing; ``synchronous=NORMAL`` because in WAL mode it cannot
corrupt the database on power loss, it can only lose the last transactions, which every
import and process run re-does idempotently.  Foreign keys are on.  A file that is not
ours, or is damaged, raises :class:`~certcli.errors.StoreCorrupt` instead of a traceback.
The schema version is ``PRAGMA user_version``, our mark ``PRAGMA application_id``.

**PostgreSQL** (:mod:`certcli.pgstore`: psycopg 3 behind sqlite3's ``execute`` API).
The version and our mark live in the one-row table ``certcli_schema``.  Concurrency keeps
the discipline the rules were written for, SQLite's one writer at a time:

* ``transaction(immediate=True)`` is ``BEGIN`` + ``pg_advisory_xact_lock(WRITER_LOCK)``:
  writers queue on one transaction-scoped advisory lock, as ``BEGIN IMMEDIATE`` queues
  them on SQLite's write lock, so every read-then-write rule (the quota R3, the login
  lockout counter, the guess limits) sees the last writer's commit.  The audit log needs
  this anyway: every audited write appends to one hash chain, so audited writers
  serialize on the chain head whatever we do; one lock makes the chain linear (no forks)
  by construction, with no retry loop.  We chose this over SERIALIZABLE + retry because
  the rules' code paths stay exactly those of SQLite (no transaction may be re-run, and
  some, like ``login``, act outside the store after their commit).
* Where a rule reads a row and then writes it, the read also takes the row lock
  (``SELECT … FOR UPDATE``, :func:`lock_rows`): the certificate row for the quota, the
  account row for lockout counters, the ``guess_limits`` row.  Under the writer lock these
  are uncontended; they keep each rule sound on its own if the writer lock is ever
  narrowed (e.g. for ``admin process`` claims, which use ``FOR UPDATE SKIP LOCKED``).
* Isolation is READ COMMITTED, PostgreSQL's default, and it must stay so: each statement
  takes a fresh snapshot *after* the advisory lock is granted, so it sees everything the
  previous writer committed (REPEATABLE READ would take its snapshot at the lock statement,
  before the wait, and read stale rows).
* Read-only work (plain queries, ``transaction(immediate=False)``) takes no lock and never
  waits for a writer, as WAL readers do not.

Connection failures (server down, authentication, no such database) are
:class:`~certcli.errors.StoreUnavailable`, naming the URL with its password masked.
"""
from __future__ import annotations

import os
import sqlite3
import sys
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

from certcli.errors import StoreCorrupt, StoreMissing, StoreUnwritable
from certcli.rules import CST
from certcli.schema import MIGRATIONS, REGISTRY_READY_KEY, SCHEMA_VERSION, dialect_of  # noqa: F401 - re-exported

APPLICATION_ID = 0x43455254  # "CERT": tells our stores from other SQLite files (and PostgreSQL schemas)
from certcli.home import database_url as resolve_database_url, store_file  # noqa: E402
BUSY_TIMEOUT_MS = 30_000
WRITER_LOCK = APPLICATION_ID      # the PostgreSQL advisory lock key every writer takes (see above)


def iso(instant: datetime | None) -> str | None:
    """Instants are stored as ISO 8601 in CST so that text order is time order."""
    return None if instant is None else instant.astimezone(CST).isoformat(timespec="seconds")


def parse_instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def parse_day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def lock_rows(conn) -> str:
    """The clause that row-locks what a SELECT read, for a rule that reads then writes:
    ``" FOR UPDATE"`` on PostgreSQL; nothing on SQLite, whose write lock covers the file."""
    return " FOR UPDATE" if dialect_of(conn) == "postgres" else ""


def database_errors() -> tuple:
    """The database driver errors in use (psycopg's only once it is loaded), for ``except``."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error,) if psycopg is None else (sqlite3.Error, psycopg.Error)


def integrity_errors() -> tuple:
    """A constraint violated (UNIQUE, CHECK, FOREIGN KEY) on either backend, for ``except``."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.IntegrityError,) if psycopg is None else (sqlite3.IntegrityError, psycopg.IntegrityError)


def __getattr__(name: str):
    # ``except store.IntegrityError`` / ``store.DatabaseError``: looked up when it is needed,
    # so it includes psycopg's classes exactly when psycopg is in use
    if name == "IntegrityError":
        return integrity_errors()
    if name == "DatabaseError":
        return database_errors()
    raise AttributeError(name)


class RowQueries:
    """Rows as dicts over ``self.conn``; shared by :class:`Store` and read-only views."""

    conn: Any

    def one(self, sql: str, params=()) -> dict | None:
        cursor = self.conn.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cursor.description], row))

    def all(self, sql: str, params=()) -> list[dict]:
        cursor = self.conn.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def iterate(self, sql: str, params=()):
        """:func:`iterate` over this store's connection."""
        return iterate(self.conn, sql, params)


def iterate(conn, sql: str, params=()):
    """A SELECT of any size to iterate, as tuples (``description`` names the columns), in
    bounded memory: SQLite's own cursor, which steps as it is read; on PostgreSQL, where
    ``conn.execute`` holds the whole result, a server-side cursor fetching a chunk at a time
    (:meth:`certcli.pgstore.Connection.stream`: no write on ``conn`` until it is done)."""
    stream = getattr(conn, "stream", None)
    return conn.execute(sql, params) if stream is None else stream(sql, params)


class Store(RowQueries):
    """An open certcli store.  ``conn`` has sqlite3's API on both backends (autocommit mode:
    every write goes through :meth:`transaction`); ``raw`` is the driver's own connection
    (``sqlite3.Connection`` or ``psycopg.Connection``, e.g. for COPY); ``dialect`` is
    ``"sqlite"`` or ``"postgres"``; ``path`` the SQLite file, or the URL with its password
    masked; ``created`` whether this open created the schema."""

    dialect = "sqlite"

    def __init__(self, path: Path | None, *, create: bool = False, database_url: str | None = None):
        self.created = False
        self.database_url = database_url or None
        if self.database_url:
            self._open_postgres(self.database_url, create)
            return
        self.path = Path(path)
        if not self.path.exists() and not create:
            raise StoreMissing(path=str(self.path))
        try:
            self.conn = self.raw = sqlite3.connect(
                self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
        except sqlite3.DatabaseError as error:
            raise translate_sqlite_error(error, self.path) from None
        try:
            self._configure()
            self._check_identity(create)
            self._migrate()
        except BaseException as error:
            # A store refused here is never used: close it now, not whenever it is collected (a
            # long-lived process, e.g. the server, would otherwise keep the file and its WAL open).
            self.conn.close()
            if isinstance(error, sqlite3.DatabaseError):
                raise translate_sqlite_error(error, self.path) from None
            raise

    @property
    def IntegrityError(self) -> tuple:  # noqa: N802 - reads like the exception class it stands for
        return integrity_errors()

    # --- SQLite -------------------------------------------------------------------------------

    def _configure(self) -> None:
        self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA foreign_keys = ON")

    def _check_identity(self, create: bool) -> None:
        app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id == APPLICATION_ID:
            return
        has_tables = self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id == 0 and not has_tables and create:
            self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self.created = True
            return
        raise StoreCorrupt(path=str(self.path), reason="foreign")

    # --- PostgreSQL ---------------------------------------------------------------------------

    def _open_postgres(self, url: str, create: bool) -> None:
        from certcli.pgstore import connect, masked

        self.dialect = "postgres"
        self.path = masked(url)
        self.conn = connect(url)
        self.raw = self.conn.raw
        try:
            if self._pg_version() is None:
                self._pg_refuse_foreign()
                if not create:
                    raise StoreMissing(path=self.path)
                with self.transaction():          # the writer lock: one process creates the schema
                    if self._pg_version() is None:
                        self._pg_refuse_foreign()
                        self.conn.execute("CREATE TABLE certcli_schema (application_id BIGINT NOT NULL, "
                                          "version BIGINT NOT NULL)")
                        self.conn.execute("INSERT INTO certcli_schema (application_id, version) VALUES (?, 0)",
                                          (APPLICATION_ID,))
                        self.created = True
            self._migrate()
        except BaseException:
            self.conn.close()
            raise

    def _pg_version(self) -> int | None:
        """The schema version, or None when the database holds no certcli store."""
        if self.conn.execute("SELECT to_regclass('certcli_schema')").fetchone()[0] is None:
            return None
        row = self.conn.execute("SELECT application_id, version FROM certcli_schema").fetchone()
        if row is None or row[0] != APPLICATION_ID:
            raise StoreCorrupt(path=self.path, reason="foreign")
        return row[1]

    def _pg_refuse_foreign(self) -> None:
        """A database with tables of its own but no certcli store is not ours to fill."""
        if self.conn.execute("SELECT count(*) FROM information_schema.tables "
                             "WHERE table_schema = current_schema()").fetchone()[0]:
            raise StoreCorrupt(path=self.path, reason="foreign")

    # --- both ---------------------------------------------------------------------------------

    def schema_version(self) -> int:
        if self.dialect == "postgres":
            return self._pg_version() or 0
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _set_schema_version(self, number: int) -> None:
        if self.dialect == "postgres":
            self.conn.execute("UPDATE certcli_schema SET version = ?", (number,))
        else:
            self.conn.execute(f"PRAGMA user_version = {int(number)}")

    def _migrate(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreCorrupt(path=str(self.path), reason="newer_schema")
        if version < 0:  # a damaged header
            raise StoreCorrupt(path=str(self.path), reason="schema_version")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                if self.schema_version() >= number:  # another process migrated meanwhile
                    continue
                MIGRATIONS[number - 1](self.conn)
                self._set_schema_version(number)

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[Any]:
        """One atomic unit.  ``immediate`` takes the write lock up front (SQLite: BEGIN
        IMMEDIATE; PostgreSQL: the writer advisory lock, see the module docstring), so a
        rule that reads then writes (the quota) cannot interleave with another writer."""
        if self.dialect == "postgres":
            try:
                self.conn.begin(WRITER_LOCK if immediate else None)
            except BaseException:   # e.g. Ctrl-C while waiting for the lock
                self._rollback()
                raise
        else:
            self.conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield self.conn
        except BaseException:
            # SQLite has already rolled back after some errors (a full disk, I/O):
            # a second ROLLBACK would fail and hide the error that matters.
            self._rollback()
            raise
        else:
            self.conn.execute("COMMIT")

    def _rollback(self) -> None:
        if self.dialect == "postgres":
            try:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - the connection is gone (the server rolled back): report the first error
                pass
        elif self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def integrity_ok(self) -> bool:
        """SQLite's own page-level check; PostgreSQL checks its pages itself (nothing to ask)."""
        if self.dialect == "postgres":
            return True
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        self.conn.close()


def translate_sqlite_error(error: sqlite3.Error, path: Path | str):
    """Map sqlite3 errors to the stable codes of SPEC §4."""
    text = str(error).lower()
    if "readonly" in text or "read-only" in text or "disk" in text and "full" in text or "unable to open" in text:
        return StoreUnwritable(path=str(path), reason=text)
    return StoreCorrupt(path=str(path), reason=text)


def translate_error(error: Exception, path: Path | str):
    """Map a database driver error (either backend) to the stable codes of SPEC §4."""
    if isinstance(error, sqlite3.Error):
        return translate_sqlite_error(error, path)
    from certcli.pgstore import translate

    return translate(error, str(path))


def open_store(home: Path, *, create: bool = False, database_url: str | None = None) -> Store:
    """The store of ``home``: its SQLite file, or a PostgreSQL database, in which case no file
    is created in the home.  The URL is ``database_url`` if given (``""``: the home's file
    whatever the environment), else the CLI's ``--database-url``, else ``CERTCLI_DATABASE_URL``
    (:func:`certcli.home.database_url`)."""
    url = resolve_database_url(database_url)
    if url:
        return Store(None, create=create, database_url=url)
    path = store_file(home)
    if create:
        try:
            os.makedirs(home, mode=0o700, exist_ok=True)
        except OSError as error:
            raise StoreUnwritable(path=str(path), reason=error.strerror or str(error)) from None
    return Store(path, create=create)
