"""A tamper-evident audit log: every entry carries the hash of the one before.

Entries are appended inside the caller's transaction, so an action and its
record commit together or not at all.  ``verify`` recomputes the chain and
names the first entry that was edited, deleted or moved.  The chain head is
also kept in ``meta`` so that removing the newest entries is detected too
(an attacker with write access to the file could rewrite both; an external
copy of ``admin audit head`` is the witness against that).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from certcli.store import Store, iso, iterate

GENESIS = "0" * 64
HEAD_KEY = "audit_head"


def _digest(prev_hash: str, entry_id: int, at: str, actor: str, action: str, subject: str | None,
            details: str) -> str:
    canonical = json.dumps([entry_id, at, actor, action, subject, details], ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def append(conn, *, now: datetime, actor: str, action: str, subject: str | None = None,
           **details) -> None:
    """Record one action.  Call inside a write transaction (``store.transaction()``: on SQLite
    BEGIN IMMEDIATE, on PostgreSQL the writer lock), which makes reading the chain head and
    appending after it one step: concurrent writers queue, so the chain stays linear."""
    last = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    entry_id, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = iso(now)
    body = json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
    digest = _digest(prev_hash, entry_id, at, actor, action, subject, body)
    conn.execute(
        "INSERT INTO audit_log (id, at, actor, action, subject, details, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (entry_id, at, actor, action, subject, body, prev_hash, digest),
    )
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 (HEAD_KEY, f"{entry_id}:{digest}"))


def record(store: Store, *, now: datetime, actor: str, action: str, subject: str | None = None, **details) -> None:
    """Record one action in a transaction of its own."""
    with store.transaction() as conn:
        append(conn, now=now, actor=actor, action=action, subject=subject, **details)


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    entries: int
    first_bad_id: int | None = None
    problem: str | None = None  # edited | missing_or_reordered | truncated


_CHAIN = "SELECT id, at, actor, action, subject, details, prev_hash, hash FROM audit_log ORDER BY id"


def verify(store: Store) -> AuditCheck:
    prev_hash, expected_id, count = GENESIS, 1, 0
    for row in iterate(store.conn, _CHAIN):
        entry_id, at, actor, action, subject, details, stored_prev, stored_hash = row
        if entry_id != expected_id or stored_prev != prev_hash:
            return AuditCheck(False, count, entry_id, "missing_or_reordered")
        if _digest(prev_hash, entry_id, at, actor, action, subject, details) != stored_hash:
            return AuditCheck(False, count, entry_id, "edited")
        prev_hash, expected_id, count = stored_hash, expected_id + 1, count + 1
    head = store.get_meta(HEAD_KEY)
    if head is not None and head != f"{count}:{prev_hash}":
        return AuditCheck(False, count, count + 1, "truncated")
    return AuditCheck(True, count)


def entries(store: Store) -> Iterator[dict]:
    cursor = iterate(store.conn, _CHAIN)
    names = [c[0] for c in cursor.description]
    for row in cursor:
        entry = dict(zip(names, row))
        entry["details"] = json.loads(entry["details"])
        yield entry
