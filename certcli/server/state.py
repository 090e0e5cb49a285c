"""What the routes of ``certcli serve`` share, one per worker process: the options, the
store pool, the rate limiters, the thread budgets and the scrypt threads.

Where each kind of work runs (measured with ``bench/server_bench.py``):

* **On the event loop**: a QR verification over the SQLite store (~0.3 ms: a signature
  check and a few indexed reads), with a connection from the pool.  A worker thread
  for it cost more than the work (the hand-over to the thread and back, and the
  thread switches under load).  With ``--database-url`` every query is a network round
  trip, so it goes to a worker thread like the rest.
* **In worker threads** (:meth:`ServerState.in_thread`), with budgets:
  everything that writes to the store or may wait on it (the holder service: SQLite's
  write lock), PDF checks (``pdf``: tens of ms of pyHanko), logins and registrations
  (``auth``), and the public oracles (``oracle``: lookups and member status, which wait
  out the 0.25 s floor of each guess, issue 12).
* **scrypt** (every login, registration and guess) on a fixed pool of threads, one per
  core (:func:`certcli.passwords.run_scrypt_in`): never more at once than the cores can
  compute, and never more 16 MiB work areas than cores (with one per request thread, a
  lookup load grew the RSS by hundreds of MiB).  It is libsodium's scrypt
  (:func:`fastest_scrypt`) where PyNaCl is installed: the same function, parameters
  and bytes, for ~20 % less CPU, and scrypt is the ceiling of logins and lookups.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import anyio.to_thread
from starlette.requests import Request

from certcli.server.http import RateLimiter
from certcli.server.options import ServeOptions
from certcli.server.pool import StorePool, thread_limiters

SCRYPT_MAXMEM = 64 * 2**20


def hashlib_scrypt(secret: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=dklen)


def fastest_scrypt():
    """libsodium's scrypt (PyNaCl) when it is installed and gives hashlib's bytes for a known
    answer, else hashlib's (OpenSSL's).  Same function (RFC 7914), same parameters, same
    output: hashes made by either verify with the other.  libsodium's Salsa20/8 core uses
    SSE2: ~33 ms of a core per login-strength scrypt here against OpenSSL's ~41 ms."""
    try:
        from nacl.bindings import crypto_pwhash_scryptsalsa208sha256_ll as sodium
    except ImportError:
        return hashlib_scrypt

    def scrypt(secret: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
        try:
            return sodium(secret, salt, n, r, p, dklen=dklen, maxmem=SCRYPT_MAXMEM)
        except Exception:  # noqa: BLE001 - parameters it refuses: hashlib decides (and raises its own error)
            return hashlib_scrypt(secret, salt, n, r, p, dklen)

    known = (b"certcli", b"known answer", 2**10, 8, 1, 32)
    try:
        same = scrypt(*known) == hashlib_scrypt(*known)
    except Exception:  # noqa: BLE001 - a broken build: not used
        same = False
    return scrypt if same else hashlib_scrypt


class ServerState:
    """What the routes share: options, the store pool, rate limiters, thread budgets."""

    def __init__(self, options: ServeOptions):
        self.options = options
        self.home = options.home
        self.pool = StorePool(options.home, workers=options.workers)
        self.lookups = RateLimiter(*options.lookup_rate) if options.lookup_rate else None
        self.logins = RateLimiter(*options.login_rate) if options.login_rate else None
        # a local SQLite store answers reads in microseconds; PostgreSQL is a round trip away
        self.reads_inline = not getattr(options, "database_url", None)
        self._threads: Optional[dict] = None
        self._scrypt: Optional[ThreadPoolExecutor] = None

    def threads(self, kind: Optional[str]):
        if kind is None:
            return None  # anyio's default budget
        if self._threads is None:
            self._threads = thread_limiters()
        return self._threads[kind]

    async def in_thread(self, work, kind: Optional[str] = None):
        return await anyio.to_thread.run_sync(work, limiter=self.threads(kind))

    # --- the scrypt threads (started with the server, see create_app's lifespan) ---------------

    def start(self) -> None:
        from certcli import passwords

        self._compute = fastest_scrypt()
        self._scrypt = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="certcli-scrypt")
        passwords.run_scrypt_in(self._run_scrypt)

    def _run_scrypt(self, *arguments) -> bytes:
        pool = self._scrypt
        try:
            future = pool.submit(self._compute, *arguments) if pool is not None else None
        except RuntimeError:    # shut down meanwhile (a request that outlived the shutdown)
            future = None
        return hashlib_scrypt(*arguments) if future is None else future.result()

    def stop(self) -> None:
        from certcli import passwords

        if self._scrypt is not None:
            passwords.run_scrypt_in(None)
            self._scrypt.shutdown(wait=True)
            self._scrypt = None
        self.pool.close()


def state(request: Request) -> ServerState:
    return request.app.state.server
