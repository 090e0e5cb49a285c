"""``admin migrate --to URL``: copy a home's SQLite store into PostgreSQL, then check the copy.

Every table of the SQLite file is copied as it is (ids, blobs, the hash-chained audit log
byte for byte), parents before children, each table with ``COPY`` in one transaction of
its own that also records the table as done in ``certcli_migration`` (a small ledger table
of the target).  Interrupted (a kill, a lost connection), a run leaves whole tables only;
run again, it skips the tables recorded as done and copies the rest afresh.  Afterwards
each identity sequence is set past its table's largest id, so new rows get new ids.

The copy is then checked: the rows of every table counted on both sides, and the audit
chain verified on the target with certcli's own verifier (:func:`certcli.audit.verify`),
its head equal to the source's.

A target that holds another store's data is refused (:class:`MigrationTargetInUse`): its
audit chain head is not an entry of the source's chain, or it was written to since a
previous migration.  A source that changed since an interrupted or earlier run is copied
again from the start.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from certcli import audit
from certcli.errors import MigrationCheckFailed, MigrationTargetInUse
from certcli.store import Store, open_store

LEDGER = "certcli_migration"
GENESIS_HEAD = "0:" + audit.GENESIS
_DATA_TABLES = ("certificates", "accounts", "audit_log", "annotations", "documents")   # any row: a store in use


@dataclass
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


@dataclass
class MigrationReport:
    source: str
    target: str
    copied: list[str] = field(default_factory=list)     # this run
    skipped: list[str] = field(default_factory=list)    # done by an earlier, interrupted run
    tables: list[TableCount] = field(default_factory=list)
    audit_entries: int = 0
    audit_ok: bool = False
    audit_head: str = GENESIS_HEAD

    @property
    def ok(self) -> bool:
        return self.audit_ok and all(t.ok for t in self.tables)

    def as_json(self) -> dict:
        return {"source": self.source, "target": self.target, "ok": self.ok, "copied": self.copied,
                "skipped": self.skipped, "audit": {"ok": self.audit_ok, "entries": self.audit_entries,
                                                    "head": self.audit_head},
                "tables": [{"table": t.table, "source_rows": t.source, "target_rows": t.target, "ok": t.ok}
                           for t in self.tables]}


def source_tables(source: Store) -> list[str]:
    """The SQLite store's tables, each after the tables its foreign keys name."""
    names = sorted(row[0] for row in source.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    parents = {name: {row[2] for row in source.conn.execute(f"PRAGMA foreign_key_list({name})")} - {name}
               for name in names}
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] <= set(ordered)]
        if not ready:                                    # a cycle: keep the rest as they are
            ready = [n for n in names if n not in ordered]
        ordered += ready
    return ordered


def head_of(store: Store) -> str:
    row = store.conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return GENESIS_HEAD if row is None else f"{row[0]}:{row[1]}"


def _in_chain(source: Store, head: str) -> bool:
    """Is ``head`` (``id:hash``) an entry of the source's audit chain (or its empty start)?"""
    if head == GENESIS_HEAD:
        return True
    entry_id, _, digest = head.partition(":")
    row = source.conn.execute("SELECT hash FROM audit_log WHERE id = ?", (int(entry_id),)).fetchone()
    return row is not None and row[0] == digest


def _ledger(target: Store) -> dict[str, str]:
    with target.transaction() as conn:
        conn.execute(f'CREATE TABLE IF NOT EXISTS {LEDGER} (item TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL)')
    return dict(target.conn.execute(f"SELECT item, value FROM {LEDGER}").fetchall())


def _holds_data(target: Store) -> bool:
    return any(target.conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0] for table in _DATA_TABLES)


def _tables_done(source: Store, target: Store, ledger: dict[str, str], source_head: str, where: str) -> set[str]:
    """The tables an earlier run copied and that need no copy now; refuses another store's data."""
    recorded = ledger.get("source_head")
    if recorded is None:
        if _holds_data(target):
            raise MigrationTargetInUse(url=where, what="other_store", head=head_of(target))
        return set()
    if not _in_chain(source, recorded):
        raise MigrationTargetInUse(url=where, what="other_store", head=recorded)
    if "complete" in ledger and head_of(target) != recorded:
        raise MigrationTargetInUse(url=where, what="changed_since_migration", head=head_of(target))
    if recorded != source_head:
        return set()                                    # the source moved on: copy it all again
    return {item.split(":", 1)[1] for item in ledger if item.startswith("table:")}


def _columns(source: Store, table: str) -> list[str]:
    return [row[1] for row in source.conn.execute(f"PRAGMA table_info({table})")]


def _copy_table(source: Store, target: Store, table: str, columns: list[str]) -> int:
    """One transaction: the table's rows with COPY, its identity sequence, the ledger entry."""
    names = ", ".join(columns)
    rows = 0
    with target.transaction() as conn:
        with target.raw.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                read = source.conn.execute(f"SELECT {names} FROM {table}")
                while batch := read.fetchmany(1000):
                    for row in batch:
                        copy.write_row(row)
                    rows += len(batch)
        if "id" in columns:
            sequence = conn.execute("SELECT pg_get_serial_sequence(?, 'id')", (table,)).fetchone()[0]
            if sequence is not None:
                conn.execute("SELECT setval(?, (SELECT max(id) FROM " + table + "), true) "
                             "WHERE EXISTS (SELECT 1 FROM " + table + ")", (sequence,))
        conn.execute(f"INSERT INTO {LEDGER} (item, value) VALUES (?, ?)", (f"table:{table}", str(rows)))
    return rows


def migrate(home: Path, url: str, *, progress: Callable[[str, int, int], None] | None = None) -> MigrationReport:
    """Copy ``home``'s SQLite store into the PostgreSQL database at ``url`` and check the copy.
    ``progress(table, index, count)`` before each table is copied."""
    source = open_store(home, database_url="")
    try:
        target = open_store(home, create=True, database_url=url)
        try:
            return _migrate(source, target, progress)
        finally:
            target.close()
    finally:
        source.close()


def _migrate(source: Store, target: Store, progress) -> MigrationReport:
    report = MigrationReport(source=str(source.path), target=str(target.path))
    with source.transaction(immediate=False):           # one consistent snapshot of the source
        tables = source_tables(source)
        source_head = head_of(source)
        ledger = _ledger(target)
        done = _tables_done(source, target, ledger, source_head, str(target.path)) & set(tables)
        with target.transaction() as conn:
            if not done:
                conn.execute(f"DELETE FROM {LEDGER}")
            conn.execute(f"INSERT INTO {LEDGER} (item, value) VALUES ('source_head', ?) "
                         "ON CONFLICT (item) DO UPDATE SET value = excluded.value", (source_head,))
            conn.execute(f"DELETE FROM {LEDGER} WHERE item = 'complete'")
            for table in reversed(tables):              # children first: what is left of a partial copy
                if table not in done:
                    conn.execute(f"DELETE FROM {table}")
        for index, table in enumerate(tables):
            if table in done:
                report.skipped.append(table)
                continue
            if progress:
                progress(table, index, len(tables))
            _copy_table(source, target, table, _columns(source, table))
            report.copied.append(table)
        count = lambda store, table: store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: E731
        report.tables = [TableCount(table, count(source, table), count(target, table)) for table in tables]
    check = audit.verify(target)
    report.audit_entries, report.audit_head = check.entries, head_of(target)
    report.audit_ok = check.ok and report.audit_head == source_head
    if not report.ok:
        raise MigrationCheckFailed(url=str(target.path), tables=", ".join(t.table for t in report.tables if not t.ok),
                                   audit="verified" if report.audit_ok else "broken")
    with target.transaction() as conn:
        conn.execute(f"INSERT INTO {LEDGER} (item, value) VALUES ('complete', ?) "
                     "ON CONFLICT (item) DO UPDATE SET value = excluded.value", (source_head,))
    return report
