"""The store pool of ``certcli serve`` (:class:`StorePool`) and what sizes it.

One connection per request at a time, a bounded number open (a request waits for one,
then 503).  The bound is the worker process's thread budgets (:func:`thread_budgets`,
also what :mod:`certcli.server.state` limits its worker threads with) and, on
PostgreSQL, this worker's share of the connections the database allows
(:func:`database_share`).  Kept apart from :mod:`certcli.server.http` so that the pool
loads no web framework: it is a store concern the routes only borrow from.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from certcli.errors import CertcliError


def database_errors() -> tuple:
    """sqlite3's errors and, with ``--database-url``, psycopg's (looked up when one is raised)."""
    from certcli import store

    return store.database_errors()


class StorePool:
    """Open stores, one per request at a time, reused across requests (opening one checks the
    schema).  At most ``max_open`` are open at once, in use and idle together: a request that
    finds them all in use waits for one, up to ``wait`` seconds, then gets
    :class:`~certcli.errors.StoreUnavailable` (reason ``busy``: HTTP 503 + Retry-After) instead
    of a connection the database would refuse.  The bound (:func:`pool_size`) is what this
    process's threads can use at once, and on PostgreSQL also this worker's share of the
    connections the database allows, learnt at the first open.  A connection left in a
    transaction or hit by a database error is closed instead of reused, and so is one beyond
    ``max_idle`` idle ones (a burst of lookups holds one each for 0.25 s; each keeps a page
    cache of its own)."""

    def __init__(self, home: Path, max_open: Optional[int] = None, max_idle: int = 16, wait: float = 10.0,
                 workers: int = 1):
        self.home = Path(home)
        self.workers = max(1, workers)
        self.max_open = max(1, max_open or pool_size())
        self.max_idle = max(1, max_idle)
        self.wait = wait
        # until the first open has read the database's limits (PostgreSQL), one open at a time
        self._sized = max_open is not None
        self._idle: list = []
        self._open = 0            # in use + idle + being opened or closed
        self._closed = False
        self._cond = threading.Condition()

    @contextmanager
    def store(self):
        store = self._acquire()
        reusable = False
        try:
            yield store
            reusable = True
        except database_errors():
            raise
        except BaseException:
            reusable = True
            raise
        finally:
            self._release(store, reusable)

    def _acquire(self):
        deadline = None
        with self._cond:
            while True:
                if self._idle:
                    return self._idle.pop()
                if self._open < (self.max_open if self._sized else 1):
                    self._open += 1
                    break
                deadline = deadline or time.monotonic() + self.wait
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._busy()
                self._cond.wait(left)
        store = None
        try:
            from certcli.store import open_store

            store = open_store(self.home)
            if not self._sized:
                self._size(store)
        except BaseException:
            if store is not None:
                store.close()
            with self._cond:
                self._open -= 1
                self._cond.notify()
            raise
        return store

    def _size(self, store) -> None:
        share = database_share(store, self.workers) if store.dialect == "postgres" else None
        with self._cond:
            self.max_open = max(1, min(self.max_open, share or self.max_open))
            self.max_idle = min(self.max_idle, self.max_open)
            self._sized = True
            self._cond.notify_all()

    def _release(self, store, reusable: bool) -> None:
        reusable = reusable and not store.conn.in_transaction and not getattr(store.conn, "broken", False)
        with self._cond:
            if reusable and not self._closed and len(self._idle) < self.max_idle:
                self._idle.append(store)
                self._cond.notify()
                return
        try:
            store.close()
        finally:
            with self._cond:          # counted until it is closed: never more sessions than max_open
                self._open -= 1
                self._cond.notify()

    def _busy(self):
        from certcli.errors import StoreUnavailable
        from certcli.home import database_url, store_file

        url = database_url()
        if url:
            from certcli.pgstore import masked

            where = masked(url)
        else:
            where = str(store_file(self.home))
        return StoreUnavailable(url=where, reason=f"busy: all {self.max_open} database connections of this "
                                                  f"server process stayed in use for {self.wait:g} s")

    @property
    def open_count(self) -> int:
        with self._cond:
            return self._open

    def close(self) -> None:
        with self._cond:
            idle, self._idle, self._closed = self._idle, [], True
            self._open -= len(idle)
            self._cond.notify_all()
        for store in idle:
            store.close()


ANYIO_THREADS = 40   # anyio's default thread budget (anyio.to_thread), shared by the routes without their own


def thread_budgets(cpus: Optional[int] = None) -> dict:
    """Worker-thread budgets: PDF checks (CPU-bound) one per core; logins and registrations
    twice the scrypt threads (certcli.server.state), to keep those busy; the public oracles,
    which mostly wait out each guess's 0.25 s floor, their own (never the holders' threads).
    Everything else shares anyio's default (:data:`ANYIO_THREADS`)."""
    cpus = cpus or os.cpu_count() or 2
    return {"auth": 2 * cpus, "pdf": max(1, cpus), "oracle": 64}


def thread_limiters(cpus: Optional[int] = None) -> dict:
    """An ``anyio.CapacityLimiter`` per budget of :func:`thread_budgets`."""
    import anyio

    return {kind: anyio.CapacityLimiter(count) for kind, count in thread_budgets(cpus).items()}


def pool_size(cpus: Optional[int] = None) -> int:
    """How many requests of one worker process can use a store at once: one per thread of its
    budgets, and the event loop (a QR check on SQLite).  On SQLite the pool's bound: no request
    ever waits for a connection.  On PostgreSQL :func:`database_share` may lower it."""
    return sum(thread_budgets(cpus).values()) + ANYIO_THREADS + 1


FALLBACK_SHARE = 16   # connections per worker when the database's limits cannot be read


def database_share(store, workers: int = 1) -> int:
    """One worker process's share of the PostgreSQL connections the database allows: the least of
    the server's ``max_connections`` (less the reserved ones) and the database's and the role's
    ``CONNECTION LIMIT``; half of it for ``serve`` (the rest for ``admin process`` runs, the CLI
    and other machines), split among the ``workers``."""
    try:
        row = store.conn.execute(
            "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
            " - coalesce(current_setting('reserved_connections', true)::int, 0),"
            " (SELECT datconnlimit FROM pg_database WHERE datname = current_database()),"
            " (SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user)").fetchone()
    except (CertcliError, *database_errors()):      # e.g. the connection lost meanwhile
        return FALLBACK_SHARE
    allowed = min(limit for limit in row if limit is not None and limit >= 0)
    return max(1, allowed // 2 // max(1, workers))
