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
from pathlib import Path
from typing import Callable

from certcli import audit, rules
from certcli.errors import CertificateRevoked, NotFound
from certcli.roster.parse import RosterWarning, RowError
from certcli.roster.stream import INSERT_COLUMNS, ParsedRoster
from certcli.store import Store, iso, parse_instant

BATCH_SIZE = 5000
MAX_REPORTED_REJECTS = 1000
_INSERT = (f"INSERT INTO certificates ({', '.join(INSERT_COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(INSERT_COLUMNS))}) ON CONFLICT DO NOTHING")
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
    # a dry run only reads: no write lock for it
    with store.transaction(immediate=not dry_run) as conn:
        if not dry_run and store.dialect == "postgres":    # COPY, then one set-based insert
            from certcli.certificates.copy_import import store_batch

            inserted = store_batch(store, batch.lines, batch.rows, report, on_reject)
        elif not dry_run and _insert_all_new(conn, batch.rows):
            inserted = len(batch.rows)
        else:
            fresh = _classify(store, batch, report, seen_in_dry_run, on_reject)
            if dry_run:
                seen_in_dry_run.update(fresh)
                report.inserted += len(fresh)
                return
            inserted = max(conn.executemany(_INSERT, list(fresh.values())).rowcount, 0)
            report.already_present += len(fresh) - inserted  # a concurrent import stored them first
        audit.append(conn, now=now, actor="admin", action="issue", subject=report.path.rsplit("/", 1)[-1],
                     lines=f"{batch.lines[0]}-{batch.lines[-1]}", inserted=inserted)
        report.inserted += inserted


def _insert_all_new(conn, rows: list[tuple]) -> bool:
    """The common case, a roster not seen before: store the batch with no lookups.
    If any number is already stored (a re-run) or repeated, undo and return False."""
    if len({row[0] for row in rows}) != len(rows):
        return False
    conn.execute("SAVEPOINT batch")
    all_new = conn.executemany(_INSERT, rows).rowcount == len(rows)
    if not all_new:
        conn.execute("ROLLBACK TO batch")
    conn.execute("RELEASE batch")
    return all_new


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
