"""Administrator operations on issued data: roster import, revocation, statistics.

Import commits one batch per transaction: a crash loses at most the batch in
flight, and because a re-run recognises rows already stored (same number, same
holder), running the same roster again completes the job and adds nothing twice.
Large rosters are parsed by a worker process while this one writes
(:mod:`certcli.roster.stream`).  On PostgreSQL a batch is stored with COPY and one
set-based insert (:mod:`certcli.certificates.copy_import`), with the same outcome.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from pathlib import Path
from typing import Callable

from certcli import audit, rules
from certcli.errors import CertificateRevoked, NotFound
from certcli.roster.parse import QUALIFICATION_DEFAULTS, STORED_COLUMNS, RosterWarning, RowError
from certcli.roster.stream import INSERT_COLUMNS, ParsedRoster
from certcli.store import Store, iso, parse_instant

BATCH_SIZE = 5000
MAX_REPORTED_REJECTS = 1000
# by row width: a plain qualification certificate's row leaves the membership columns to their defaults
_INSERT = {len(columns): f"INSERT INTO certificates ({', '.join(columns)}) "
                         f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT DO NOTHING"
           for columns in (STORED_COLUMNS, INSERT_COLUMNS)}
_LOOKUP_CHUNK = 900  # below SQLite's 999 host-parameter limit


@dataclass
class ImportReport:
    path: str
    encoding: str = ""
    format: str = ""
    dry_run: bool = False
    rows: int = 0
    inserted: int = 0
    already_present: int = 0
    rejected: int = 0
    rejects: list[RowError] = field(default_factory=list)
    seals: dict[str, str] = field(default_factory=dict)  # seal_id -> issuer, for key creation
    warnings: list[RosterWarning] = field(default_factory=list)  # header problems that cost no row
    sheet: str | None = None  # the worksheet read, for a workbook

    def reject(self, error: RowError, on_reject: Callable[[RowError], None] | None) -> None:
        self.rejected += 1
        if len(self.rejects) < MAX_REPORTED_REJECTS:
            self.rejects.append(error)
        if on_reject is not None:
            on_reject(error)


@dataclass
class _Batch:
    """Clean rows waiting to be stored; ``lines[i]`` is the roster line of ``rows[i]``."""

    lines: list[int] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)


def import_roster(
    store: Store,
    path: Path,
    *,
    now: datetime,
    dry_run: bool = False,
    check_text: Callable[[str, str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_reject: Callable[[RowError], None] | None = None,
    batch_size: int = BATCH_SIZE,
    parallel: bool | None = None,
    sheet: str | None = None,
    strict: bool = False,
) -> ImportReport:
    """Import ``path`` into ``store``.  ``parallel``: parse in a worker process
    (None: when the roster is large and there is a second core).  ``sheet``: the
    worksheet of a workbook (default: the first).  ``strict``: a header warning (an
    unknown or repeated column) is a :class:`BadRoster` error, raised before any row is stored."""
    report = ImportReport(path=str(path), dry_run=dry_run)
    # Fewer WAL checkpoints while a big roster streams in: each 5,000-row commit would
    # otherwise trigger one (measured: store writes 32 s -> 23 s for 1M rows).
    sqlite = store.dialect == "sqlite"
    if sqlite:
        store.conn.execute("PRAGMA wal_autocheckpoint = 100000")
    try:
        with ParsedRoster(path, today=rules.cst_day(now), imported_at=iso(now), check_text=check_text,
                          parallel=parallel, chunk_rows=batch_size, sheet=sheet, strict=strict) as roster:
            return _import(store, roster, report, now, dry_run, progress, on_reject, batch_size)
    finally:
        if sqlite:
            store.conn.execute("PRAGMA wal_autocheckpoint = 1000")


def _import(store, roster, report, now, dry_run, progress, on_reject, batch_size) -> ImportReport:
    report.encoding, report.format, report.sheet = roster.header.encoding, roster.header.format, roster.header.sheet
    seen_in_dry_run: set[str] = set()
    batch = _Batch()
    for chunk in roster.chunks():
        report.rows += chunk.records
        report.warnings += chunk.warnings
        for error in chunk.errors:
            report.reject(error, on_reject)
        for seal_id, issuer in chunk.seals.items():
            report.seals.setdefault(seal_id, issuer)
        batch.lines += chunk.lines
        batch.rows += chunk.rows
        if len(batch.rows) >= batch_size:
            _flush(store, batch, report, now, dry_run, seen_in_dry_run, on_reject)
            batch = _Batch()
            if progress:
                progress(chunk.bytes_read, roster.header.size)
    _flush(store, batch, report, now, dry_run, seen_in_dry_run, on_reject)
    if progress:
        progress(roster.header.size, roster.header.size)
    report.rejects.sort(key=lambda error: error.line)
    return report


def _existing(store: Store, numbers: list[str]) -> dict[str, tuple]:
    found = {}
    for start in range(0, len(numbers), _LOOKUP_CHUNK):
        chunk = numbers[start:start + _LOOKUP_CHUNK]
        marks = ",".join("?" * len(chunk))
        for no, *rest in store.conn.execute(
            f"SELECT certificate_no, name, id_type, id_number, qualification "
            f"FROM certificates WHERE certificate_no IN ({marks})", chunk
        ):
            found[no] = tuple(rest)
    return found


def _flush(store, batch: _Batch, report, now, dry_run, seen_in_dry_run, on_reject) -> None:
    if not batch.rows:
        return
    if not dry_run and store.dialect == "sqlite" and _store_all_new(store, batch, report, now):
        return
    # a dry run only reads: no write lock for it
    with store.transaction(immediate=not dry_run) as conn:
        if not dry_run and store.dialect == "postgres":    # COPY, then one set-based insert
            from certcli.certificates.copy_import import store_batch

            full = [row if len(row) == len(INSERT_COLUMNS) else row + QUALIFICATION_DEFAULTS for row in batch.rows]
            inserted = store_batch(store, batch.lines, full, report, on_reject)
        else:
            fresh = _classify(store, batch, report, seen_in_dry_run, on_reject)
            if dry_run:
                seen_in_dry_run.update(fresh)
                report.inserted += len(fresh)
                return
            inserted = _insert(conn, list(fresh.values()))
            report.already_present += len(fresh) - inserted  # a concurrent import stored them first
        _audit(conn, batch, report, now, inserted)


def _audit(conn, batch: _Batch, report, now, inserted: int) -> None:
    audit.append(conn, now=now, actor="admin", action="issue", subject=report.path.rsplit("/", 1)[-1],
                 lines=f"{batch.lines[0]}-{batch.lines[-1]}", inserted=inserted)
    report.inserted += inserted


class _NotAllNew(Exception):
    """Undoes the transaction of a batch that holds a number already stored."""


def _store_all_new(store, batch: _Batch, report, now) -> bool:
    """The common case, a roster not seen before: store the batch with no lookups, in
    a transaction of its own.  If any number is already stored (a re-run) or repeated,
    roll that transaction back and return False.  (A rollback, not a savepoint: under a
    savepoint SQLite keeps the original of each page it changes in a statement journal,
    measured ~5% of a 100k-row import.)"""
    if len({row[0] for row in batch.rows}) != len(batch.rows):
        return False
    try:
        with store.transaction() as conn:
            if _insert(conn, batch.rows) != len(batch.rows):
                raise _NotAllNew
            _audit(conn, batch, report, now, len(batch.rows))
    except _NotAllNew:
        return False
    return True


def _insert(conn, rows: list[tuple]) -> int:
    """Store ``rows`` in roster order (ids as SQLite gives them); the rows inserted."""
    if len(set(map(len, rows))) <= 1:  # the usual batch: all plain, or all membership certificates
        return max(conn.executemany(_INSERT[len(rows[0])], rows).rowcount, 0) if rows else 0
    inserted = start = 0
    for width, run in groupby(rows, len):
        count = sum(1 for _ in run)
        inserted += max(conn.executemany(_INSERT[width], rows[start:start + count]).rowcount, 0)
        start += count
    return inserted


def _classify(store, batch: _Batch, report, seen_in_dry_run, on_reject) -> dict[str, tuple]:
    """The rows of ``batch`` not stored yet; counts the ones already present (same
    holder) and rejects numbers already issued to someone else."""
    existing = _existing(store, [row[0] for row in batch.rows])
    fresh: dict[str, tuple] = {}
    for line, row in zip(batch.lines, batch.rows):
        number, holder = row[0], row[1:5]  # name, id_type, id_number, qualification
        prior = existing.get(number)
        if prior is None and number in fresh:
            prior = fresh[number][1:5]
        if prior is None and number in seen_in_dry_run:
            report.already_present += 1
        elif prior is None:
            fresh[number] = row
        elif holder == prior:
            report.already_present += 1
        else:
            report.reject(RowError(line, "conflicting_certificate_no", "certificate_no",
                                   "number already issued to another holder", number), on_reject)
    return fresh


def revoke(store: Store, certificate_no: str, *, reason: str | None, now: datetime) -> dict:
    with store.transaction() as conn:
        row = store.one("SELECT id, status, revoked_at FROM certificates WHERE certificate_no = ?",
                        (certificate_no,))
        if row is None:
            raise NotFound(what="certificate", value=certificate_no)
        if row["status"] == "revoked":
            raise CertificateRevoked(certificate_no=certificate_no, what="revocation",
                                     revoked_at=parse_instant(row["revoked_at"]))
        conn.execute(
            "UPDATE certificates SET status = 'revoked', revoked_at = ?, revoke_reason = ? WHERE id = ?",
            (iso(now), reason, row["id"]),
        )
        conn.execute("INSERT INTO revocations (certificate_id, revoked_at, reason) VALUES (?, ?, ?)",
                     (row["id"], iso(now), reason))
        audit.append(conn, now=now, actor="admin", action="revoke", subject=certificate_no, reason=reason)
        # Nothing pending may be completed for a revoked certificate.
        conn.execute("UPDATE annotations SET status = 'cancelled', failure_reason = 'certificate_revoked' "
                     "WHERE certificate_id = ? AND status = 'pending'", (row["id"],))
    return {"certificate_no": certificate_no, "status": "revoked", "revoked_at": iso(now), "reason": reason}
