"""Claims: several ``admin process`` runs share one queue of pending document requests.

Each run takes a *claim* on a small batch of pending requests before it signs them
(``claimed_by`` = the run's :class:`Claimant` token, ``claim_expires`` = the end of its
lease), in a short transaction of its own:

* PostgreSQL: ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``, without the
  store's writer lock, so runs on many machines claim side by side and never wait for
  each other's rows;
* SQLite: the same UPDATE inside a ``BEGIN IMMEDIATE`` transaction (the file's write lock
  serialises the runs of the one machine).

A run signs outside any transaction, then records a result only for a request it still
holds (:func:`held`, row-locked on PostgreSQL), so no request is completed twice.  While
it signs it renews its leases (:func:`renew`); when it ends, normally or not, it releases
what it still holds (:func:`release`).  A run that dies (SIGKILL, power cut) releases
nothing: its claims expire at the end of their lease and another run takes them.  On the
same machine there is no need to wait for that: a claim names its process, and a run that
sees the process gone (:func:`release_dead`) frees its claims at once.

The lease is operational, not a business rule: it is measured with the real wall clock,
never with ``CERTCLI_NOW`` (which tests and audits freeze), and on PostgreSQL with the
database server's clock, so that machines whose clocks differ still agree on when a
lease ends.
"""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from certcli.store import Store

DEFAULT_CLAIM_SECONDS = 300
# request table -> (its alias in the claim query, the order runs take its requests in)
TABLES = {"member_documents": ("d", "d.id"), "annotations": ("a", "a.applied_at, a.id")}
_WALL_MS = {  # the wall clock in milliseconds since the epoch, read by the database
    "sqlite": "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    "postgres": "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
}


def wall_ms(store: Store) -> str:
    """SQL for the current wall-clock time in ms (see the module docstring: not CERTCLI_NOW)."""
    return _WALL_MS[store.dialect]


def _machine() -> str | None:
    """What makes a process id meaningful: the running kernel (its boot id) and the pid
    namespace (containers on one kernel have their own).  None where /proc does not say."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            boot = handle.read().strip()
        return f"{boot}-{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return None


def _started(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), or None if there is no
    such live process (none, or a zombie: killed, not yet reaped): tells a live process from
    a later one that reused its id."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rpartition(")")[2].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


@dataclass(frozen=True)
class Claimant:
    """One ``admin process`` run: ``token`` goes into ``claimed_by``:
    ``host/pid/start/machine/nonce`` (the host name for people reading the table)."""

    token: str

    @classmethod
    def this_process(cls) -> Claimant:
        pid = os.getpid()
        host = socket.gethostname().replace("/", "_")[:64]
        return cls(f"{host}/{pid}/{_started(pid) or '-'}/{_machine() or '-'}/{uuid.uuid4().hex[:12]}")


def _dead_here(token: str, machine: str | None) -> bool:
    """True only when ``token`` names a process of this machine that is gone."""
    parts = token.split("/")
    if machine is None or len(parts) != 5 or parts[3] != machine or not parts[1].isdigit():
        return False
    started = _started(int(parts[1]))
    return started is None or started != parts[2]


def _claim_sql(store: Store, table: str) -> str:
    alias, order = TABLES[table]
    skip = f" FOR UPDATE OF {alias} SKIP LOCKED" if store.dialect == "postgres" else ""
    wall = wall_ms(store)
    return (f"UPDATE {table} SET claimed_by = ?, claim_expires = {wall} + ? WHERE id IN ("
            f"SELECT {alias}.id FROM {table} {alias} JOIN certificates c ON c.id = {alias}.certificate_id "
            f"WHERE {alias}.status = 'pending' AND c.status = 'valid' "
            f"AND ({alias}.claimed_by IS NULL OR {alias}.claim_expires < {wall}) "
            f"ORDER BY {order} LIMIT ?{skip}) RETURNING id")


def claim(store: Store, claimant: Claimant, count: int, lease_seconds: float) -> dict[str, list[int]]:
    """Claim at most ``count`` claimable requests (member certificates first, then
    annotation documents, oldest first): ``{table: [request id, ...]}``."""
    claimed: dict[str, list[int]] = {}
    lease_ms = int(lease_seconds * 1000)
    # PostgreSQL: row locks and SKIP LOCKED, no writer lock; SQLite: the file's write lock
    with store.transaction(immediate=store.dialect == "sqlite") as conn:
        for table in TABLES:
            if count <= 0:
                break
            ids = sorted(row[0] for row in conn.execute(_claim_sql(store, table),
                                                        (claimant.token, lease_ms, count)).fetchall())
            if ids:
                claimed[table] = ids
                count -= len(ids)
    return claimed


def claimable(store: Store) -> int:
    """How many pending requests of valid certificates no live claim holds."""
    wall = wall_ms(store)
    total = 0
    for table, (alias, _) in TABLES.items():
        total += store.conn.execute(
            f"SELECT count(*) FROM {table} {alias} JOIN certificates c ON c.id = {alias}.certificate_id "
            f"WHERE {alias}.status = 'pending' AND c.status = 'valid' "
            f"AND ({alias}.claimed_by IS NULL OR {alias}.claim_expires < {wall})").fetchone()[0]
    return total


def renew(store: Store, claimant: Claimant, lease_seconds: float) -> None:
    """Extend the lease of every request this run still holds."""
    with store.transaction(immediate=store.dialect == "sqlite") as conn:
        for table in TABLES:
            conn.execute(f"UPDATE {table} SET claim_expires = {wall_ms(store)} + ? "
                         "WHERE claimed_by = ? AND status = 'pending'", (int(lease_seconds * 1000), claimant.token))


def release(store: Store, claimant: Claimant) -> None:
    """Give back every request this run still holds (it ends, or stops at ``--limit``)."""
    with store.transaction(immediate=store.dialect == "sqlite") as conn:
        for table in TABLES:
            conn.execute(f"UPDATE {table} SET claimed_by = NULL, claim_expires = NULL WHERE claimed_by = ?",
                         (claimant.token,))


def held(conn, store: Store, claimant: Claimant, table: str) -> set[int]:
    """Inside the transaction that records results: the ids of ``table`` this run still
    holds, row-locked on PostgreSQL so that no other run can claim them before it commits."""
    lock = " FOR UPDATE" if store.dialect == "postgres" else ""
    return {row[0] for row in conn.execute(f"SELECT id FROM {table} WHERE claimed_by = ? AND status = 'pending'"
                                           f"{lock}", (claimant.token,)).fetchall()}


@dataclass(frozen=True)
class Others:
    """Pending requests held by other runs' live claims."""

    count: int
    first_expiry_seconds: float   # until the first of those leases ends


def others(store: Store, claimant: Claimant) -> Others:
    wall = wall_ms(store)
    count, first = 0, None
    for table, (alias, _) in TABLES.items():
        n, soonest = store.conn.execute(
            f"SELECT count(*), min({alias}.claim_expires) - {wall} FROM {table} {alias} "
            f"JOIN certificates c ON c.id = {alias}.certificate_id "
            f"WHERE {alias}.claimed_by IS NOT NULL AND {alias}.claimed_by <> ? AND {alias}.status = 'pending' "
            f"AND c.status = 'valid' AND {alias}.claim_expires >= {wall}", (claimant.token,)).fetchone()
        count += n
        if soonest is not None:
            first = soonest if first is None else min(first, soonest)
    return Others(count, max(0.0, (first or 0) / 1000))


def release_dead(store: Store) -> int:
    """Free the claims of runs of this machine whose process is gone (killed): no need to
    wait for their leases.  Returns the requests freed."""
    machine = _machine()
    if machine is None:
        return 0
    freed = 0
    for table in TABLES:
        tokens = [row[0] for row in store.conn.execute(
            f"SELECT DISTINCT claimed_by FROM {table} WHERE claimed_by IS NOT NULL AND status = 'pending'")]
        dead = [token for token in tokens if _dead_here(token, machine)]
        if not dead:
            continue
        with store.transaction(immediate=store.dialect == "sqlite") as conn:
            for token in dead:
                freed += conn.execute(f"UPDATE {table} SET claimed_by = NULL, claim_expires = NULL "
                                      "WHERE claimed_by = ? AND status = 'pending'", (token,)).rowcount
    return freed
