"""The SQLite store: schema, forward migrations, transactions.

One file per home.  WAL journal so readers never block the writer; a busy
timeout so concurrent commands wait instead of failing; ``synchronous=NORMAL``
because in WAL mode it cannot corrupt the database on power loss, it can only
lose the last transactions, which every import and process run re-does
idempotently.  Foreign keys are on.  A file that is not ours, or is damaged,
raises :class:`~certcli.errors.StoreCorrupt` instead of a traceback.
"""
from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterator

import sqlite_utils

from certcli.errors import StoreCorrupt, StoreMissing, StoreUnwritable
from certcli.rules import CST

APPLICATION_ID = 0x43455254  # "CERT": tells our stores from other SQLite files
STORE_FILENAME = "certcli.db"
BUSY_TIMEOUT_MS = 30_000


def iso(instant: datetime | None) -> str | None:
    """Instants are stored as ISO 8601 in CST so that text order is time order."""
    return None if instant is None else instant.astimezone(CST).isoformat(timespec="seconds")


def parse_instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def parse_day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _v1(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("""
        CREATE TABLE certificates (
            id INTEGER PRIMARY KEY,
            certificate_no TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL DEFAULT 'qualification',
            name TEXT NOT NULL,
            id_type TEXT NOT NULL,
            id_number TEXT NOT NULL,
            qualification TEXT NOT NULL,
            level TEXT NOT NULL,
            specialty TEXT,
            issued_on TEXT NOT NULL,
            issuer TEXT NOT NULL,
            seal TEXT NOT NULL CHECK (seal IN ('ministry', 'association')),
            seal_id TEXT NOT NULL,
            region TEXT,
            approval_no TEXT,
            photo TEXT,
            status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked')),
            revoked_at TEXT,
            revoke_reason TEXT,
            imported_at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX idx_certificates_holder ON certificates (id_type, id_number)")
    db.execute("CREATE INDEX idx_certificates_stats ON certificates (qualification, status)")
    db.execute("""
        CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            id_type TEXT NOT NULL,
            id_number TEXT NOT NULL,
            name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            terms_version INTEGER,
            terms_accepted_at TEXT,
            UNIQUE (id_type, id_number)
        )""")
    db.execute("""
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX idx_sessions_account ON sessions (account_id)")
    db.execute("""
        CREATE TABLE documents (
            sha256 TEXT PRIMARY KEY,
            pdf BLOB NOT NULL,
            created_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE annotations (
            id INTEGER PRIMARY KEY,
            annotation_no TEXT UNIQUE,
            certificate_id INTEGER NOT NULL REFERENCES certificates (id),
            account_id INTEGER REFERENCES accounts (id),
            kind TEXT NOT NULL DEFAULT 'annotation' CHECK (kind IN ('annotation', 'exempt_copy')),
            scenario TEXT,
            days INTEGER,
            applied_at TEXT NOT NULL,
            applied_day TEXT NOT NULL,
            valid_until TEXT,
            status TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'cancelled')),
            completed_at TEXT,
            document_sha256 TEXT REFERENCES documents (sha256),
            failure_reason TEXT
        )""")
    db.execute("CREATE INDEX idx_annotations_certificate ON annotations (certificate_id, applied_day)")
    db.execute("CREATE INDEX idx_annotations_status ON annotations (status, applied_at)")
    db.execute("""
        CREATE TABLE scenarios (
            code TEXT PRIMARY KEY,
            label_zh TEXT NOT NULL,
            label_en TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1
        )""")
    db.execute("INSERT INTO scenarios (code, label_zh, label_en) VALUES ('self-use', '本人调用', 'Self use')")
    db.execute("""
        CREATE TABLE terms (
            version INTEGER PRIMARY KEY,
            text_zh TEXT NOT NULL,
            text_en TEXT NOT NULL,
            published_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE revocations (
            id INTEGER PRIMARY KEY,
            certificate_id INTEGER NOT NULL REFERENCES certificates (id),
            revoked_at TEXT NOT NULL,
            reason TEXT
        )""")


def _v2_audit(db: sqlite_utils.Database) -> None:
    """A hash-chained, append-only audit log (see certcli.audit)."""
    db.execute("""
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT,
            details TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""")


# Forward migrations, in order; index + 1 is the schema version each produces.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2_audit]
SCHEMA_VERSION = len(MIGRATIONS)


class Store:
    """An open certcli store.  ``db`` is the sqlite-utils Database.

    Writes inside :meth:`transaction` use ``conn.execute`` directly: sqlite-utils'
    write helpers wrap themselves in ``with conn:``, which would commit our outer
    transaction halfway through.
    """

    def __init__(self, path: Path, *, create: bool = False):
        self.path = Path(path)
        if not self.path.exists() and not create:
            raise StoreMissing(path=str(self.path))
        try:
            self.conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            self.db = sqlite_utils.Database(self.conn)
            self._configure()
            self._check_identity(create)
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise translate_sqlite_error(error, self.path) from None

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
            return
        raise StoreCorrupt(path=str(self.path), reason="foreign")

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreCorrupt(path=str(self.path), reason="newer_schema", version=version)
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                current = self.conn.execute("PRAGMA user_version").fetchone()[0]
                if current >= number:  # another process migrated meanwhile
                    continue
                MIGRATIONS[number - 1](self.db)
                self.conn.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """One atomic unit.  IMMEDIATE takes the write lock up front, so a rule
        that reads then writes (the quota) cannot interleave with another writer."""
        self.conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

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

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        self.conn.close()


def translate_sqlite_error(error: sqlite3.Error, path: Path | str):
    """Map sqlite3 errors to the stable codes of SPEC §4."""
    text = str(error).lower()
    if "readonly" in text or "read-only" in text or "disk" in text and "full" in text or "unable to open" in text:
        return StoreUnwritable(path=str(path), reason=text)
    return StoreCorrupt(path=str(path), reason=text)


def open_store(home: Path, *, create: bool = False) -> Store:
    path = Path(home) / STORE_FILENAME
    if create:
        try:
            os.makedirs(home, mode=0o700, exist_ok=True)
        except OSError as error:
            raise StoreUnwritable(path=str(path), reason=error.strerror or str(error)) from None
    return Store(path, create=create)
