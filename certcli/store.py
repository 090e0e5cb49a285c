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

from certcli.errors import StoreCorrupt, StoreMissing, StoreUnwritable
from certcli.rules import CST

APPLICATION_ID = 0x43455254  # "CERT": tells our stores from other SQLite files
from certcli.home import STORE_FILENAME, store_file  # noqa: F401 - STORE_FILENAME re-exported
BUSY_TIMEOUT_MS = 30_000


def iso(instant: datetime | None) -> str | None:
    """Instants are stored as ISO 8601 in CST so that text order is time order."""
    return None if instant is None else instant.astimezone(CST).isoformat(timespec="seconds")


def parse_instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def parse_day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _v1(db: sqlite3.Connection) -> None:
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


def _v2_audit(db: sqlite3.Connection) -> None:
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


def _v3_members_regions(db: sqlite3.Connection) -> None:
    """Membership e-certificates (certcli.membership.service), regional issuance policy and
    paper collection (certcli.regions.service)."""
    for column in ("birth_date TEXT", "mobile TEXT", "email TEXT", "exam_pass_year INTEGER"):
        db.execute(f"ALTER TABLE certificates ADD COLUMN {column}")
    # partial: members are few next to a million qualification certificates
    db.execute("CREATE INDEX idx_certificates_members ON certificates (kind, issued_on) "
               "WHERE kind = 'membership'")
    db.execute("""
        CREATE TABLE members (
            certificate_id INTEGER PRIMARY KEY REFERENCES certificates (id),
            local_review TEXT NOT NULL DEFAULT 'pending' CHECK (local_review IN ('pending', 'approved', 'rejected')),
            national_review TEXT NOT NULL DEFAULT 'pending'
                CHECK (national_review IN ('pending', 'approved', 'rejected')),
            approved_at TEXT,
            account_id INTEGER REFERENCES accounts (id),
            password_state TEXT CHECK (password_state IN ('armed', 'revealed', 'changed')),
            password_revealed_at TEXT,
            status_failures INTEGER NOT NULL DEFAULT 0,
            status_locked_until TEXT,
            photo_source TEXT CHECK (photo_source IN ('exam', 'verified')),
            photo_jpeg BLOB,
            verified_photo_jpeg BLOB,
            verified_photo_at TEXT,
            details_confirmed_at TEXT
        )""")
    db.execute("CREATE INDEX idx_members_account ON members (account_id)")
    db.execute("""
        CREATE TABLE member_reviews (
            id INTEGER PRIMARY KEY,
            certificate_id INTEGER NOT NULL REFERENCES certificates (id),
            stage TEXT NOT NULL CHECK (stage IN ('local', 'national')),
            decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
            reason TEXT,
            decided_at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX idx_member_reviews_certificate ON member_reviews (certificate_id)")
    db.execute("""
        CREATE TABLE member_inspections (
            certificate_id INTEGER NOT NULL REFERENCES certificates (id),
            year INTEGER NOT NULL,
            passed INTEGER NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (certificate_id, year)
        )""")
    db.execute("""
        CREATE TABLE member_transfers (
            id INTEGER PRIMARY KEY,
            certificate_id INTEGER NOT NULL REFERENCES certificates (id),
            from_region TEXT,
            to_region TEXT NOT NULL,
            transferred_on TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX idx_member_transfers_certificate ON member_transfers (certificate_id)")
    db.execute("""
        CREATE TABLE member_documents (
            id INTEGER PRIMARY KEY,
            document_no TEXT UNIQUE,
            certificate_id INTEGER NOT NULL REFERENCES certificates (id),
            content_key TEXT NOT NULL,
            reveal TEXT NOT NULL,
            disclosed TEXT NOT NULL,
            photo_jpeg BLOB NOT NULL,
            requested_at TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed')),
            completed_at TEXT,
            document_sha256 TEXT REFERENCES documents (sha256),
            failure_reason TEXT
        )""")
    db.execute("CREATE INDEX idx_member_documents_certificate ON member_documents (certificate_id, content_key)")
    db.execute("CREATE INDEX idx_member_documents_status ON member_documents (status)")
    db.execute("""
        CREATE TABLE region_policies (
            id INTEGER PRIMARY KEY,
            region TEXT NOT NULL,
            region_key TEXT NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('electronic', 'paper', 'both')),
            since TEXT,
            collection_after_months INTEGER,
            set_at TEXT NOT NULL,
            set_by TEXT NOT NULL DEFAULT 'admin'
        )""")
    db.execute("CREATE INDEX idx_region_policies_key ON region_policies (region_key)")
    # Seed 000: Beijing and Guangxi stopped issuing paper certificates.
    db.execute("INSERT INTO region_policies (region, region_key, mode, since, set_at, set_by) VALUES "
               "('北京', '北京', 'electronic', '2021-02-01', '2021-02-01T00:00:00+08:00', 'builtin'), "
               "('广西', '广西', 'electronic', '2020-01-14', '2020-01-14T00:00:00+08:00', 'builtin')")
    db.execute("""
        CREATE TABLE paper_requests (
            id INTEGER PRIMARY KEY,
            request_no TEXT UNIQUE,
            certificate_id INTEGER NOT NULL REFERENCES certificates (id),
            account_id INTEGER REFERENCES accounts (id),
            method TEXT NOT NULL CHECK (method IN ('onsite', 'mail')),
            proxy INTEGER NOT NULL DEFAULT 0,
            address TEXT,
            status TEXT NOT NULL CHECK (status IN ('requested', 'ready', 'handed_over', 'mailed')),
            requested_at TEXT NOT NULL,
            ready_at TEXT,
            closed_at TEXT,
            tracking_no TEXT
        )""")
    db.execute("CREATE INDEX idx_paper_requests_certificate ON paper_requests (certificate_id)")
    db.execute("CREATE INDEX idx_paper_requests_status ON paper_requests (status, requested_at)")


REGISTRY_READY_KEY = "issued_registry"   # meta: 'complete' once every stored document is in the registry


def _v4_issued_documents(db: sqlite3.Connection) -> None:
    """The issued-document registry (certcli.certificates.registry): one row per thing a
    seal key signed for the issuer, a PDF (``digest`` = SHA-256 over its /ByteRange, the
    CMS messageDigest) and its QR payload (SHA-256 of the payload's signed bytes).
    Verification with the store accepts exactly these.  WITHOUT ROWID: the digest is the
    key; ``idx_issued_documents_key`` walks one key's digests in order (its ledger)."""
    db.execute("""
        CREATE TABLE issued_documents (
            digest TEXT PRIMARY KEY,
            form TEXT NOT NULL CHECK (form IN ('pdf', 'qr')),
            document_no TEXT,
            certificate_no TEXT NOT NULL,
            name TEXT NOT NULL,
            qualification TEXT NOT NULL,
            seal_id TEXT NOT NULL,
            key_id TEXT NOT NULL,
            signed_at TEXT NOT NULL,
            document_sha256 TEXT
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX idx_issued_documents_key ON issued_documents (key_id, digest, signed_at)")
    db.execute("CREATE INDEX idx_issued_documents_file ON issued_documents (document_sha256)")
    # which qualifications each seal may sign (the trust bundle): an index seek per pair
    db.execute("CREATE INDEX idx_certificates_seal ON certificates (seal_id, qualification)")
    # a store with no document yet has nothing to backfill
    db.execute("INSERT OR REPLACE INTO meta (key, value) SELECT ?, 'complete' WHERE NOT EXISTS "
               "(SELECT 1 FROM documents)", (REGISTRY_READY_KEY,))


def _v5_guess_limits(db: sqlite3.Connection) -> None:
    """Misses of the public oracles (``member status``, ``verify --number --name``) per key
    (certcli.oracles; the rule is certcli.rules.after_missed_guess).  A key is an HMAC of the
    normalised name or number under ``meta.guess_key``, so guessed ID numbers are not kept."""
    db.execute("""
        CREATE TABLE guess_limits (
            scope TEXT NOT NULL,
            key_hash TEXT NOT NULL,
            misses INTEGER NOT NULL DEFAULT 0,
            window_start TEXT,
            locked_until TEXT,
            strikes INTEGER NOT NULL DEFAULT 0,
            last_miss_at TEXT,
            PRIMARY KEY (scope, key_hash)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX idx_guess_limits_last ON guess_limits (last_miss_at)")
    db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('guess_key', ?)", (os.urandom(32).hex(),))


# Forward migrations, in order; index + 1 is the schema version each produces.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2_audit, _v3_members_regions,
                                                          _v4_issued_documents, _v5_guess_limits]
SCHEMA_VERSION = len(MIGRATIONS)


class RowQueries:
    """Rows as dicts over ``self.conn``; shared by :class:`Store` and read-only views."""

    conn: sqlite3.Connection

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


class Store(RowQueries):
    """An open certcli store over one ``sqlite3`` connection (``conn``, autocommit mode:
    every write goes through :meth:`transaction`)."""

    def __init__(self, path: Path, *, create: bool = False):
        self.path = Path(path)
        if not self.path.exists() and not create:
            raise StoreMissing(path=str(self.path))
        try:
            self.conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
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
            raise StoreCorrupt(path=str(self.path), reason="newer_schema")
        if version < 0:  # a damaged header
            raise StoreCorrupt(path=str(self.path), reason="schema_version")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                current = self.conn.execute("PRAGMA user_version").fetchone()[0]
                if current >= number:  # another process migrated meanwhile
                    continue
                MIGRATIONS[number - 1](self.conn)
                self.conn.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """One atomic unit.  IMMEDIATE takes the write lock up front, so a rule
        that reads then writes (the quota) cannot interleave with another writer."""
        self.conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield self.conn
        except BaseException:
            # SQLite has already rolled back after some errors (a full disk, I/O):
            # a second ROLLBACK would fail and hide the error that matters.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

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
    path = store_file(home)
    if create:
        try:
            os.makedirs(home, mode=0o700, exist_ok=True)
        except OSError as error:
            raise StoreUnwritable(path=str(path), reason=error.strerror or str(error)) from None
    return Store(path, create=create)
